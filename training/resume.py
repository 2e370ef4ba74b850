"""The state a training run leaves at the end of every epoch, so that an interrupted run continues
exactly where it stopped: the model, the best model so far, the optimiser and scheduler, the
random number generators and the loop's counters.

It is one safetensors file next to the checkpoint (``OUT.resume.safetensors``), written atomically
by :func:`checkpoint.write`: tensors as tensors, everything else as JSON in the metadata (no
pickle: an optimiser's state dict is split into its tensors and a JSON skeleton). The file also
states the network, the training set-up and a fingerprint of the data, and a resume that does not
match them is refused with both sides named.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math

import numpy as np
import torch

from . import checkpoint
from .checkpoint import CheckpointError

SUFFIX = ".resume.safetensors"


def state_path(checkpoint_path: str) -> str:
    """Where the resume state of a run writing ``checkpoint_path`` lives."""
    return f"{checkpoint_path}{SUFFIX}"


def fingerprint(data) -> dict:
    """What identifies a data set for a resume: its shape and a digest of its training and
    validation arrays (a different subset, pooling or file gives a different digest)."""
    digest = hashlib.blake2b(digest_size=16)
    for arr in (data.X_train, data.y_train, data.X_val, data.y_val):
        arr = np.ascontiguousarray(arr)
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(memoryview(arr).cast("B"))
    return {"name": data.name, "n_features": int(data.n_features),
            "n_classes": int(data.n_classes), "n_train": int(len(data.y_train)),
            "n_val": int(len(data.y_val)), "digest": digest.hexdigest()}


def _json_safe(obj, what: str):
    """obj as it reads back from JSON (tuples become lists); refuses what JSON cannot hold."""
    try:
        return json.loads(json.dumps(obj))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the {what} state cannot be stored as JSON ({exc}); resume state holds "
                        f"tensors and JSON only") from None


def pack_state_dict(sd: dict, prefix: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """An optimiser's state dict as (JSON skeleton, tensors): every tensor in ``state`` is stored
    under ``prefix + index.key`` and named in the skeleton."""
    tensors: dict[str, torch.Tensor] = {}
    state = {}
    for index, entry in sd["state"].items():
        packed = {}
        for key, value in entry.items():
            if torch.is_tensor(value):
                name = f"{prefix}{index}.{key}"
                tensors[name] = value
                packed[key] = {"tensor": name}
            else:
                packed[key] = {"value": _json_safe(value, "optimiser")}
        state[str(index)] = packed
    skeleton = {"state": state, "param_groups": _json_safe(sd["param_groups"], "optimiser")}
    return skeleton, tensors


def unpack_state_dict(skeleton: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state = {}
    for index, packed in skeleton["state"].items():
        state[int(index)] = {key: tensors[v["tensor"]] if "tensor" in v else v["value"]
                             for key, v in packed.items()}
    groups = [dict(g) for g in skeleton["param_groups"]]
    for g in groups:                     # tuples that JSON turned into lists
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
    return {"state": state, "param_groups": groups}


def save(path: str, *, meta: dict, model_state: dict, best_state: dict | None, optimizer,
         scheduler, generator: torch.Generator, loop: dict) -> None:
    """Write the resume state atomically (a crash mid-write leaves the previous epoch's)."""
    opt_json, opt_tensors = pack_state_dict(optimizer.state_dict(), "optimizer.")
    tensors = {f"model.{k}": v for k, v in model_state.items()}
    if best_state is not None:
        tensors.update({f"best.{k}": v for k, v in best_state.items()})
    tensors.update(opt_tensors)
    tensors["rng.batches"] = generator.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    resume = {"loop": _json_safe(loop, "training loop"), "optimizer": opt_json,
              "scheduler": _json_safe(scheduler.state_dict(), "scheduler"),
              "has_best": best_state is not None}
    checkpoint.write(path, {**meta, "resume": resume}, tensors)


@dataclasses.dataclass
class State:
    """A resume state read back: what :func:`restore` applies to a fresh run."""
    meta: dict
    tensors: dict[str, torch.Tensor]

    def part(self, prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}

    @property
    def loop(self) -> dict:
        """The loop's counters, checked (a resume state is a file someone may have edited)."""
        loop = self.meta["resume"]["loop"]
        ints = ("epoch", "best_epoch", "stale")
        ok = isinstance(loop, dict) and all(
            isinstance(loop.get(k), int) and not isinstance(loop.get(k), bool) and loop[k] >= 0
            for k in ints) and isinstance(loop.get("history"), list) and \
            isinstance(loop.get("seconds"), (int, float)) and isinstance(loop.get("best"), list) \
            and len(loop["best"]) == 2 and all(isinstance(v, (int, float)) for v in loop["best"])
        if not ok:
            raise CheckpointError("the resume state's training-loop record is damaged")
        return loop


def load(path: str) -> State:
    try:
        meta, tensors = checkpoint.read(path)
    except CheckpointError as exc:
        if "no checkpoint at" in str(exc):
            raise CheckpointError(f"no resume state at {path}: it is written at the end of every "
                                  f"epoch and removed when the run finishes") from None
        raise
    resume = meta.get("resume")
    if not isinstance(resume, dict) or not {"loop", "optimizer", "scheduler"} <= set(resume):
        raise CheckpointError(f"{path} is a checkpoint but holds no resume state")
    return State(meta, tensors)


def _differences(saved, now, where: str = "") -> list[str]:
    if isinstance(saved, dict) and isinstance(now, dict):
        out = []
        for key in sorted(set(saved) | set(now)):
            out += _differences(saved.get(key), now.get(key), f"{where}.{key}" if where else key)
        return out
    if isinstance(saved, float) and isinstance(now, float) and (saved == now or
                                                                 math.isnan(saved) and
                                                                 math.isnan(now)):
        return []
    return [] if saved == now else [f"{where} {saved!r} (saved) vs {now!r} (now)"]


def check(state: State, path: str, kind: str, network: dict, train: dict, data: dict) -> None:
    """Refuse a resume into another network, training set-up or data set, naming both sides."""
    meta = state.meta
    network = _json_safe(network, "network")
    saved_kind, saved_net = meta.get("kind"), meta.get("network") or {}
    saved_sizes = tuple(saved_net.get("sizes") or ())
    sizes = tuple(network.get("sizes") or ())
    if saved_kind != kind or saved_sizes != sizes:
        raise CheckpointError(f"cannot resume: {path} holds a {saved_kind} network of shape "
                              f"{saved_sizes}, this run builds a {kind} network of shape {sizes} "
                              f"(use the --model and --sizes of that run, or train afresh "
                              f"without --resume)")
    for what, saved, now in (("network", saved_net, network),
                             ("training set-up", meta.get("train") or {}, _json_safe(train, "")),
                             ("data set", meta.get("data") or {}, data)):
        diff = _differences(saved, now)
        if diff:
            shown = "; ".join(diff[:4]) + (f"; and {len(diff) - 4} more" if len(diff) > 4 else "")
            raise CheckpointError(f"cannot resume: the {what} differs from the run that wrote "
                                  f"{path}: {shown}")


def restore(state: State, model, optimizer, scheduler, generator: torch.Generator
            ) -> dict[str, torch.Tensor] | None:
    """Load the saved states into a fresh run's objects; returns the best state so far."""
    try:
        model.load_state_dict(state.part("model."))
    except RuntimeError as exc:
        raise CheckpointError(f"the resume state does not fit the network: "
                              f"{str(exc).splitlines()[0]}") from None
    resume = state.meta["resume"]
    try:
        optimizer.load_state_dict(unpack_state_dict(resume["optimizer"], state.tensors))
        scheduler.load_state_dict(resume["scheduler"])
        generator.set_state(state.tensors["rng.batches"])
        torch.set_rng_state(state.tensors["rng.torch"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"the resume state's optimiser, scheduler or generator record is "
                              f"damaged ({type(exc).__name__}: {str(exc)[:120]})") from None
    return state.part("best.") if resume.get("has_best") else None
