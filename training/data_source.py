"""What a data source records so that it can be found and checked again from anywhere.

``datasets.load`` returns a ``Dataset`` whose ``source`` a checkpoint (and the graph exported
from it) keeps. A spec as the user typed it (``mydigits.npz``) names another file, or none, once
the command runs in another folder, so the source records:

- ``spec``: what :func:`datasets.load` takes, resolved: an absolute file path, ``mnist:`` with an
  absolute folder, or ``digits``; ``given``: the spec as typed;
- the arguments that shape the data: ``seed``, ``pool``, ``binarise``, ``train_limit``;
- how it was split and scaled: ``val_fraction``, ``test_split``, ``scale`` (features are divided
  by it before clipping to [0, 1]);
- ``sha256``: a digest of the file(s) read (for ``digits``, of scikit-learn's arrays), so that a
  later load can say that the data changed since (:func:`changed`).
"""
from __future__ import annotations

import hashlib
import os

from spintronic.graph.files import file_sha256

#: IDX files of an MNIST folder whose digest is recorded (the four :func:`datasets.load_mnist` reads)
IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")


def resolve(spec: str) -> str:
    """The spec with its file or folder made absolute (``digits`` as it is)."""
    if spec.startswith("mnist:"):
        return "mnist:" + os.path.abspath(spec[len("mnist:"):])
    if spec == "digits":
        return spec
    return os.path.abspath(spec)


def find_recorded(spec: str, base: str | None) -> str:
    """A recorded spec made absolute where its file or folder is found, from here or else beside
    ``base`` (the folder of the checkpoint or graph that recorded it: specs recorded before they
    were resolved are relative to where training ran); unchanged when found nowhere."""
    if spec == "digits":
        return spec
    mnist = spec.startswith("mnist:")
    path = spec[len("mnist:"):] if mnist else spec
    if os.path.isabs(path):
        return spec
    for where in (path, os.path.join(base, path) if base else None):
        if where and os.path.exists(where):
            return ("mnist:" if mnist else "") + os.path.abspath(where)
    return spec


def file_digest(paths: list[str]) -> str:
    """sha256 over the files' bytes, in order (one file: its plain sha256)."""
    if len(paths) == 1:
        return file_sha256(paths[0])
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{os.path.basename(path)}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def array_digest(*arrays) -> str:
    """sha256 over arrays' dtype, shape and bytes (the built-in digits have no file of ours)."""
    import numpy as np

    digest = hashlib.sha256()
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()


def changed(recorded: dict, now: dict) -> str | None:
    """A one-line warning when the data a source names differ from what was recorded (another
    digest), None when they agree or the record holds no digest."""
    old, new = recorded.get("sha256"), now.get("sha256")
    if not isinstance(old, str) or not isinstance(new, str) or old == new:
        return None
    return (f"the data {now.get('spec')!r} changed since it was recorded (sha256 {old[:12]}... "
            f"then, {new[:12]}... now): results may not match the training run")


def describe(source: dict | None) -> str:
    """One line naming a source and the options that shape it."""
    if not isinstance(source, dict):
        return "none recorded"
    text = str(source.get("spec"))
    extras = [f"{k} {source[k]}" for k in ("pool", "train_limit", "seed")
              if source.get(k) not in (None, 1 if k == "pool" else None, 0 if k == "seed" else None)]
    if source.get("binarise"):
        extras.append("binarised")
    return text + (f" ({', '.join(extras)})" if extras else "")


def differs(a: dict, b: dict) -> list[str]:
    """The keys that shape the data on which two sources disagree (spec resolved, digest); a
    file moved or copied elsewhere, with the same digest, is the same data."""
    keys = ("spec", "seed", "pool", "binarise", "train_limit", "sha256")
    defaults = {"seed": 0, "pool": 1, "binarise": False, "train_limit": None}
    same_bytes = a.get("sha256") is not None and a.get("sha256") == b.get("sha256")
    return [k for k in keys if a.get(k, defaults.get(k)) != b.get(k, defaults.get(k))
            and not (k == "sha256" and (a.get(k) is None or b.get(k) is None))
            and not (k == "spec" and same_bytes)]


__all__ = ["resolve", "find_recorded", "file_digest", "array_digest", "changed", "describe", "differs"]
