"""Data sets: the built-in 8x8 digits, user arrays (.npz / HDF5) and MNIST IDX files.

Every loader returns a :class:`Dataset` with a fixed, seeded train/validation/test split, features
scaled to [0, 1] and integer labels 0..n_classes-1, after checks that fail with a
:class:`DatasetError` naming the file and what is wrong. A corrupt, truncated or hostile file
raises that error and nothing else: array sizes are checked against the file before anything is
allocated, .npz members are read without unpickling, and labels are capped at
:data:`MAX_CLASSES` classes.
"""
from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from . import data_source
from .readers import MAX_ELEMENTS, DatasetError, _read_h5, _read_npz, _why, read_idx  # noqa: F401

#: Labels must lie in 0..MAX_CLASSES-1 (a label of 10**9 would make an absurd output layer).
MAX_CLASSES = 10_000

_KEYS = ("X_train", "Y_train", "X_test", "Y_test")
_FORMS = ("'digits', a .npz/.h5/.hdf5 file holding X_train, Y_train, X_test, Y_test, "
          "or 'mnist:FOLDER'")


@dataclasses.dataclass
class Dataset:
    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    #: the arguments of :func:`load` that give this data set again, resolved, with how it was
    #: split and scaled and a digest of its files (None if made otherwise; see data_source)
    source: dict | None = None
    #: what the features were divided by before clipping to [0, 1]
    scale: float | None = None

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    def summary(self) -> str:
        return (f"{self.name}: {self.n_features} features, {self.n_classes} classes, "
                f"{len(self.y_train)} train / {len(self.y_val)} val / {len(self.y_test)} test")


def _check_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Integer labels 0..MAX_CLASSES-1, as int64 (float labels must be whole numbers)."""
    if y.dtype.kind == "f":
        finite = np.isfinite(y)
        if not finite.all():
            raise DatasetError(f"{name} holds {np.count_nonzero(~finite)} NaN or infinite labels")
        whole = y == np.round(y)
        if not whole.all():
            raise DatasetError(f"{name} must hold integer class labels, got non-integer values "
                               f"such as {y[~whole][0]}")
    elif y.dtype.kind not in "iu":
        raise DatasetError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.size:
        if y.min() < 0:
            raise DatasetError(f"{name} holds negative labels (such as {y.min()}); labels must "
                               f"be 0..n_classes-1")
        if y.max() >= MAX_CLASSES:
            raise DatasetError(f"{name} holds label {y.max()}; labels must be 0..{MAX_CLASSES - 1} "
                               f"(at most {MAX_CLASSES} classes)")
    return y.astype(np.int64)


def _check_pair(X: np.ndarray, y: np.ndarray, part: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 2:
        raise DatasetError(f"X_{part} must have one row per sample, got shape {X.shape}")
    if y.ndim != 1:
        if y.ndim == 0 or math.prod(y.shape[1:]) != 1:
            raise DatasetError(f"Y_{part} must hold one integer label per sample, got shape "
                               f"{y.shape}")
        y = y.reshape(len(y))
    if len(X) != len(y):
        raise DatasetError(f"X_{part} has {len(X)} samples but Y_{part} has {len(y)}")
    if len(X) == 0:
        raise DatasetError(f"X_{part} is empty")
    X = X.reshape(len(X), -1)
    if X.shape[1] == 0:
        raise DatasetError(f"X_{part} has no features (shape {X.shape})")
    if X.dtype.kind not in "iuf":
        raise DatasetError(f"X_{part} must be finite numbers, got dtype {X.dtype}")
    X = X.astype(np.float64)
    finite = np.isfinite(X)
    if not finite.all():
        raise DatasetError(f"X_{part} must be finite numbers: {np.count_nonzero(~finite)} values "
                           f"are NaN or infinite")
    return X, _check_labels(y, f"Y_{part}")


def _split_validation(X: np.ndarray, y: np.ndarray, fraction: float,
                      seed: int) -> tuple[np.ndarray, ...]:
    """Stratified, seeded split of a training set into train and validation."""
    rng = np.random.default_rng(seed)
    val_idx = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        val_idx.extend(idx[: max(1, int(round(fraction * len(idx))))])
    mask = np.zeros(len(y), dtype=bool)
    mask[val_idx] = True
    return X[~mask], y[~mask], X[mask], y[mask]


def _check_limit(train_limit) -> int | None:
    if train_limit is None:
        return None
    if isinstance(train_limit, bool) or not isinstance(train_limit, (int, np.integer)) \
            or train_limit < 1:
        raise DatasetError(f"train_limit must be a positive number of samples, got "
                           f"{train_limit!r}")
    return int(train_limit)


def _subset(X: np.ndarray, y: np.ndarray, limit: int | None, seed: int):
    """A seeded random subset of ``limit`` samples, in their original order (a file sorted by
    class still gives every class)."""
    if limit is None or limit >= len(y):
        return X, y
    keep = np.sort(np.random.default_rng(seed + 2000).permutation(len(y))[:limit])
    return X[keep], y[keep]


def make_dataset(name: str, X_train, y_train, X_test, y_test, val_fraction: float = 0.1,
                 seed: int = 0, scale: float | None = None,
                 train_limit: int | None = None) -> Dataset:
    """Validate, scale to [0, 1] with the training maximum, and split off a validation set.

    train_limit: keep a seeded random subset of that many training samples (after scaling with
    the whole training set, before the validation split); the test set is kept whole."""
    train_limit = _check_limit(train_limit)
    X_train, y_train = _check_pair(X_train, y_train, "train")
    X_test, y_test = _check_pair(X_test, y_test, "test")
    if X_train.shape[1] != X_test.shape[1]:
        raise DatasetError(f"X_train has {X_train.shape[1]} features but X_test has "
                           f"{X_test.shape[1]}")
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    missing = sorted(set(range(n_classes)) - set(np.unique(y_train).tolist()))
    if missing:
        shown = missing if len(missing) <= 20 else f"{missing[:20]} and {len(missing) - 20} more"
        raise DatasetError(f"classes {shown} have no training sample (labels must be "
                           f"0..{n_classes - 1}, each present in Y_train)")
    if n_classes < 2:
        raise DatasetError("a classification data set needs at least 2 classes")
    lo = min(X_train.min(), X_test.min())
    if lo < 0:
        raise DatasetError(f"features must be >= 0 (they become input powers), min is {lo}")
    scale = scale or float(X_train.max()) or 1.0
    X_train, X_test = np.clip(X_train / scale, 0, 1), np.clip(X_test / scale, 0, 1)
    X_train, y_train = _subset(X_train, y_train, train_limit, seed)
    if train_limit is not None:
        missing = sorted(set(range(n_classes)) - set(np.unique(y_train).tolist()))
        if missing:
            raise DatasetError(f"a training subset of {train_limit} samples lacks classes "
                               f"{missing[:20]}: raise the limit")
    X_tr, y_tr, X_val, y_val = _split_validation(X_train, y_train, val_fraction, seed)
    if len(y_tr) == 0:
        raise DatasetError(f"Y_train has too few samples: all {len(y_train)} go to the validation "
                           f"split (each class needs at least 2)")
    return Dataset(name, X_tr, y_tr, X_val, y_val, X_test, y_test, n_classes, scale=scale)


def load_digits(seed: int = 0, test_fraction: float = 0.2, val_fraction: float = 0.1,
                train_limit: int | None = None) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, no download): a seeded, stratified split."""
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    X_tr, y_tr, X_te, y_te = _split_validation(data.data, data.target, test_fraction, seed + 1000)
    return make_dataset("digits", X_tr, y_tr, X_te, y_te, val_fraction, seed, scale=16.0,
                        train_limit=train_limit)


def load_arrays(path: str, seed: int = 0, val_fraction: float = 0.1,
                train_limit: int | None = None) -> Dataset:
    """A user data set: .npz or HDF5 (.h5/.hdf5) holding X_train, Y_train, X_test, Y_test."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DatasetError(f"no such file: {path}")
    if not os.path.isfile(path):
        raise DatasetError(f"{path} is not a file")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npz":
            found = _read_npz(path)
        elif ext in (".h5", ".hdf5"):
            found = _read_h5(path)
        else:
            raise DatasetError(f"{path}: unknown format {ext!r}; use .npz, .h5 or .hdf5")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({_why(exc)})") from exc
    except MemoryError as exc:
        raise DatasetError(f"{path}: too large to load into memory") from exc
    missing = [k for k in _KEYS if k not in found]
    if missing:
        raise DatasetError(f"{path} lacks arrays {missing} (needs {list(_KEYS)})")
    try:
        return make_dataset(os.path.basename(path), found["X_train"], found["Y_train"],
                            found["X_test"], found["Y_test"], val_fraction, seed,
                            train_limit=train_limit)
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None


def _find(folder: str, stem: str) -> str:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise DatasetError(f"{folder} holds no {stem}[.gz]")


def load_mnist(folder: str, pool: int = 1, binarise: bool = False, seed: int = 0,
               val_fraction: float = 0.1, limit: int | None = None,
               train_limit: int | None = None) -> Dataset:
    """MNIST (or Fashion-MNIST) from the four standard IDX files in ``folder``.

    pool: average-pool factor, which must divide the image size (2 gives 14x14, as in the
    DW-synapse paper); binarise at 0.5. limit: only the first N images of each file;
    train_limit: a seeded random subset of N training images (the test set stays whole).
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DatasetError(f"no such folder: {folder}")
    if isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool < 1:
        raise DatasetError(f"pool must be a positive integer, got {pool!r}")
    train_limit = _check_limit(train_limit)
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        image_path = _find(folder, f"{prefix}-images-idx3-ubyte")
        label_path = _find(folder, f"{prefix}-labels-idx1-ubyte")
        images, labels = read_idx(image_path), read_idx(label_path)
        if images.ndim != 3:
            raise DatasetError(f"{image_path}: images must be 3-D (count, rows, columns), the "
                               f"header says {images.shape}")
        if labels.ndim != 1:
            raise DatasetError(f"{label_path}: labels must be 1-D, the header says "
                               f"{labels.shape}")
        if len(images) != len(labels):
            raise DatasetError(f"{image_path} holds {len(images)} images but {label_path} holds "
                               f"{len(labels)} labels")
        if images.dtype.kind == "f" and not np.isfinite(images).all():
            raise DatasetError(f"{image_path} holds NaN or infinite pixels")
        y = _check_labels(labels, label_path)
        n, h, w = images.shape
        if h % pool or w % pool:
            raise DatasetError(f"pool size {pool} does not divide the {h} x {w} images of "
                               f"{image_path}: use a divisor of {math.gcd(h, w)}")
        if limit:
            images, y = images[:limit], y[:limit]
        if split == "train":        # subset before the conversion: a 60000-image file is large
            images, y = _subset(images, y, train_limit, seed)
        X = images.astype(np.float64) / 255.0
        if pool > 1:
            n = len(X)
            X = X.reshape(n, h // pool, pool, w // pool, pool).mean(axis=(2, 4))
        if binarise:
            X = (X > 0.5).astype(np.float64)
        parts[split] = (X, y)
    try:
        return make_dataset("mnist", *parts["train"], *parts["test"], val_fraction, seed,
                            scale=1.0)
    except DatasetError as exc:
        raise DatasetError(f"{folder}: {exc}") from None


def load(spec: str, seed: int = 0, pool: int = 1, binarise: bool = False,
         train_limit: int | None = None) -> Dataset:
    """'digits', a .npz/.h5 path, or 'mnist:FOLDER'.

    pool, binarise: IDX images only (see :func:`load_mnist`); train_limit: a seeded random
    subset of that many training samples, for every kind of data set. The result's ``source``
    holds these arguments (what a checkpoint records to load the same data again)."""
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise DatasetError(f"a data set is {_FORMS}; got {spec!r}")
    source = {"spec": data_source.resolve(spec), "given": spec, "seed": seed, "pool": pool,
              "binarise": bool(binarise), "train_limit": train_limit, "val_fraction": 0.1}
    if spec.startswith("mnist:"):
        folder = spec[len("mnist:"):]
        data = load_mnist(folder, pool=pool, binarise=binarise, seed=seed,
                          train_limit=train_limit)
        source.update(test_split="the t10k IDX files", scale=255.0, sha256=data_source.file_digest(
            [_find(folder, stem) for stem in data_source.IDX_STEMS]))
    else:
        if pool != 1 or binarise:
            raise DatasetError(f"pooling and binarising apply to IDX images (mnist:FOLDER), "
                               f"not to {spec!r}")
        if spec == "digits":
            data = load_digits(seed, train_limit=train_limit)
            source.update(test_split="20 % stratified (seed + 1000)", scale=data.scale,
                          sha256=_digits_digest())
        elif os.path.splitext(spec)[1].lower() not in (".npz", ".h5", ".hdf5"):
            raise DatasetError(f"unknown data set {spec!r}: use {_FORMS}")
        else:
            data = load_arrays(spec, seed, train_limit=train_limit)
            source.update(test_split="the file's X_test, Y_test", scale=data.scale,
                          sha256=data_source.file_digest([spec]))
    data.source = source
    return data


def _digits_digest() -> str:
    from sklearn.datasets import load_digits as sk_digits

    raw = sk_digits()
    return data_source.array_digest(raw.data, raw.target)


def load_source(source, base: str | None = None) -> Dataset:
    """The data set a ``Dataset.source`` (as a checkpoint or graph records it) describes, after
    checking it: a checkpoint is a file someone may have edited.

    base: the folder of the file that recorded the source; a relative spec (recorded before
    specs were resolved) that names no file from here is looked for there. A digest that differs
    from the recorded one is a ``UserWarning`` (the data changed since)."""
    if not isinstance(source, dict) or not isinstance(source.get("spec"), str):
        raise DatasetError(f"a data source names its spec, got {source!r:.120}")
    if "sha256" in source and not isinstance(source["sha256"], str):
        raise DatasetError(f"data source sha256 {source['sha256']!r:.60} is not valid")
    kinds = {"seed": int, "pool": int, "binarise": bool, "train_limit": (int, type(None))}
    kwargs = {}
    for key, kind in kinds.items():
        if key in source:
            value = source[key]
            if not isinstance(value, kind) or (key != "binarise" and isinstance(value, bool)) \
                    or (key == "seed" and not 0 <= value < 2 ** 32):
                raise DatasetError(f"data source {key} {value!r:.60} is not valid")
            kwargs[key] = value
    data = load(data_source.find_recorded(source["spec"], base), **kwargs)
    warning = data_source.changed(source, data.source)
    if warning:
        import warnings
        warnings.warn(warning, stacklevel=2)
    return data
