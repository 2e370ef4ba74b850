"""Data sets: the built-in 8x8 digits, user arrays (.npz / HDF5) and MNIST IDX files.

Every loader returns a :class:`Dataset` with a fixed, seeded train/validation/test split, features
scaled to [0, 1] and integer labels 0..n_classes-1, after checks that fail with a
:class:`DatasetError` naming what is wrong.
"""
from __future__ import annotations

import dataclasses
import gzip
import os
import struct

import numpy as np


class DatasetError(ValueError):
    """A data set that cannot be used as given."""


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

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    def summary(self) -> str:
        return (f"{self.name}: {self.n_features} features, {self.n_classes} classes, "
                f"{len(self.y_train)} train / {len(self.y_val)} val / {len(self.y_test)} test")


def _check_pair(X: np.ndarray, y: np.ndarray, part: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 2:
        raise DatasetError(f"X_{part} must have one row per sample, got shape {X.shape}")
    X = X.reshape(len(X), -1)
    if y.ndim != 1:
        y = y.reshape(len(y), -1)
        if y.shape[1] != 1:
            raise DatasetError(f"Y_{part} must hold one integer label per sample, got shape "
                               f"{y.shape}")
        y = y[:, 0]
    if len(X) != len(y):
        raise DatasetError(f"X_{part} has {len(X)} samples but Y_{part} has {len(y)}")
    if len(X) == 0:
        raise DatasetError(f"X_{part} is empty")
    if not np.issubdtype(X.dtype, np.number) or not np.isfinite(X).all():
        raise DatasetError(f"X_{part} must be finite numbers")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise DatasetError(f"Y_{part} must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0:
        raise DatasetError(f"Y_{part} holds negative labels")
    return X.astype(np.float64), y.astype(np.int64)


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


def make_dataset(name: str, X_train, y_train, X_test, y_test, val_fraction: float = 0.1,
                 seed: int = 0, scale: float | None = None) -> Dataset:
    """Validate, scale to [0, 1] with the training maximum, and split off a validation set."""
    X_train, y_train = _check_pair(X_train, y_train, "train")
    X_test, y_test = _check_pair(X_test, y_test, "test")
    if X_train.shape[1] != X_test.shape[1]:
        raise DatasetError(f"X_train has {X_train.shape[1]} features but X_test has "
                           f"{X_test.shape[1]}")
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    missing = sorted(set(range(n_classes)) - set(np.unique(y_train).tolist()))
    if missing:
        raise DatasetError(f"classes {missing} have no training sample (labels must be "
                           f"0..{n_classes - 1}, each present in Y_train)")
    if n_classes < 2:
        raise DatasetError("a classification data set needs at least 2 classes")
    lo = min(X_train.min(), X_test.min())
    if lo < 0:
        raise DatasetError(f"features must be >= 0 (they become input powers), min is {lo}")
    scale = scale or float(X_train.max()) or 1.0
    X_train, X_test = np.clip(X_train / scale, 0, 1), np.clip(X_test / scale, 0, 1)
    X_tr, y_tr, X_val, y_val = _split_validation(X_train, y_train, val_fraction, seed)
    return Dataset(name, X_tr, y_tr, X_val, y_val, X_test, y_test, n_classes)


def load_digits(seed: int = 0, test_fraction: float = 0.2, val_fraction: float = 0.1) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, no download): a seeded, stratified split."""
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    X_tr, y_tr, X_te, y_te = _split_validation(data.data, data.target, test_fraction, seed + 1000)
    return make_dataset("digits", X_tr, y_tr, X_te, y_te, val_fraction, seed, scale=16.0)


def load_arrays(path: str, seed: int = 0, val_fraction: float = 0.1) -> Dataset:
    """A user data set: .npz or HDF5 (.h5/.hdf5) holding X_train, Y_train, X_test, Y_test."""
    if not os.path.exists(path):
        raise DatasetError(f"no such file: {path}")
    keys = ("X_train", "Y_train", "X_test", "Y_test")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as fh:
            found = {k: fh[k] for k in keys if k in fh.files}
    elif ext in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as fh:
            found = {k: fh[k][()] for k in keys if k in fh}
    else:
        raise DatasetError(f"{path}: unknown format {ext!r}; use .npz, .h5 or .hdf5")
    missing = [k for k in keys if k not in found]
    if missing:
        raise DatasetError(f"{path} lacks arrays {missing} (needs {list(keys)})")
    return make_dataset(os.path.basename(path), found["X_train"], found["Y_train"],
                        found["X_test"], found["Y_test"], val_fraction, seed)


def read_idx(path: str) -> np.ndarray:
    """One IDX file (plain or gzipped), as in the MNIST distribution."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path} is not an IDX file")
    dtype = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
             0x0E: ">f8"}.get(data[2])
    if dtype is None:
        raise DatasetError(f"{path}: unknown IDX type 0x{data[2]:02x}")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4: 4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise DatasetError(f"{path}: header says {shape} but holds {arr.size} values")
    return arr.reshape(shape)


def _find(folder: str, stem: str) -> str:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise DatasetError(f"{folder} holds no {stem}[.gz]")


def load_mnist(folder: str, pool: int = 1, binarise: bool = False, seed: int = 0,
               val_fraction: float = 0.1, limit: int | None = None) -> Dataset:
    """MNIST (or Fashion-MNIST) from the four standard IDX files in ``folder``.

    pool: average-pool factor (2 gives 14x14, as in the DW-synapse paper); binarise at 0.5.
    """
    if not os.path.isdir(folder):
        raise DatasetError(f"no such folder: {folder}")
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        X = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte")).astype(np.float64) / 255.0
        y = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
        if limit:
            X, y = X[:limit], y[:limit]
        if pool > 1:
            n, h, w = X.shape
            X = X[:, : h - h % pool, : w - w % pool]
            X = X.reshape(n, h // pool, pool, w // pool, pool).mean(axis=(2, 4))
        if binarise:
            X = (X > 0.5).astype(np.float64)
        parts[split] = (X, y)
    return make_dataset("mnist", *parts["train"], *parts["test"], val_fraction, seed, scale=1.0)


def load(spec: str, seed: int = 0) -> Dataset:
    """'digits', a .npz/.h5 path, or 'mnist:FOLDER'."""
    if spec == "digits":
        return load_digits(seed)
    if spec.startswith("mnist:"):
        return load_mnist(spec[len("mnist:"):], seed=seed)
    return load_arrays(spec, seed)
