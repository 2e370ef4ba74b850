import gzip
import struct

import h5py
import numpy as np
import pytest

from spintronic.training.datasets import DatasetError, load, load_arrays, load_digits, load_mnist, read_idx


def test_digits_split_is_fixed_stratified_and_scaled():
    a, b = load_digits(seed=0), load_digits(seed=0)
    assert np.array_equal(a.X_test, b.X_test) and np.array_equal(a.y_train, b.y_train)
    assert len(a.y_train) + len(a.y_val) + len(a.y_test) == 1797
    assert a.n_classes == 10 and a.n_features == 64
    assert 0.0 <= a.X_train.min() and a.X_train.max() == 1.0
    # every class in every split, in about the same proportions
    for y in (a.y_train, a.y_val, a.y_test):
        counts = np.bincount(y, minlength=10)
        assert counts.min() > 0 and counts.max() / counts.min() < 1.5
    assert not np.array_equal(load_digits(seed=1).y_test, a.y_test)


def _arrays(n_train=50, n_test=20, n_features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return {"X_train": rng.random((n_train, n_features)) * 5,
            "Y_train": np.arange(n_train) % classes,
            "X_test": rng.random((n_test, n_features)) * 5,
            "Y_test": np.arange(n_test) % classes}


def test_npz_and_hdf5_load_the_same(tmp_path):
    arrays = _arrays()
    np.savez(tmp_path / "d.npz", **arrays)
    with h5py.File(tmp_path / "d.h5", "w") as fh:
        for k, v in arrays.items():
            fh[k] = v
    a, b = load_arrays(str(tmp_path / "d.npz")), load(str(tmp_path / "d.h5"))
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert a.n_classes == 3 and a.X_train.max() == 1.0


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(Y_train=d["Y_train"][:-3]), "50 samples but Y_train has 47"),
    (lambda d: d.update(Y_train=np.where(d["Y_train"] == 1, 0, d["Y_train"])), r"classes \[1\]"),
    (lambda d: d.pop("X_test"), "lacks arrays"),
    (lambda d: d.update(X_test=d["X_test"][:, :4]), "features"),
    (lambda d: d.update(X_train=np.full_like(d["X_train"], np.nan)), "finite"),
    (lambda d: d.update(Y_test=d["Y_test"] + 0.5), "integer class labels"),
])
def test_bad_data_sets_get_clear_errors(tmp_path, change, message):
    arrays = _arrays()
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetError, match=message):
        load_arrays(str(tmp_path / "bad.npz"))


def test_unknown_format_and_missing_file(tmp_path):
    (tmp_path / "d.csv").write_text("1,2\n")
    with pytest.raises(DatasetError, match="unknown format"):
        load_arrays(str(tmp_path / "d.csv"))
    with pytest.raises(DatasetError, match="no such file"):
        load_arrays(str(tmp_path / "nope.npz"))


def _write_idx(path, arr, gz):
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(data)


def test_mnist_idx_plain_and_gzipped_with_pooling(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n, gz in (("train", 40, True), ("t10k", 10, False)):
        images = rng.integers(0, 256, (n, 28, 28))
        labels = np.arange(n) % 10
        ext = ".gz" if gz else ""
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{ext}", images, gz)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{ext}", labels, gz)
    raw = read_idx(str(tmp_path / "t10k-images-idx3-ubyte"))
    assert raw.shape == (10, 28, 28)
    data = load_mnist(str(tmp_path), pool=2, binarise=True)
    assert data.n_features == 196 and set(np.unique(data.X_train)) <= {0.0, 1.0}
    expected = (raw[0].reshape(14, 2, 14, 2).mean(axis=(1, 3)) / 255 > 0.5).ravel()
    assert np.array_equal(data.X_test[0], expected.astype(float))


def test_truncated_idx_is_rejected(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 100) + bytes(10))
    with pytest.raises(DatasetError, match="holds 10 values"):
        read_idx(str(path))


def _write_mnist(folder, n_train=40, n_test=10, side=28):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, side, side)),
                   False)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, False)


def test_a_pool_that_does_not_divide_the_image_is_refused(tmp_path):
    _write_mnist(tmp_path)
    with pytest.raises(DatasetError, match=r"pool size 3 does not divide the 28 x 28 images"):
        load_mnist(str(tmp_path), pool=3)
    with pytest.raises(DatasetError, match="pool must be a positive integer"):
        load_mnist(str(tmp_path), pool=0)
    assert load_mnist(str(tmp_path), pool=4).n_features == 49


def test_load_threads_pooling_binarising_and_a_training_subset(tmp_path):
    from spintronic.training.datasets import load, load_source
    _write_mnist(tmp_path, n_train=60)
    data = load(f"mnist:{tmp_path}", pool=2, binarise=True, train_limit=30)
    assert data.n_features == 196 and set(np.unique(data.X_train)) <= {0.0, 1.0}
    assert len(data.y_train) + len(data.y_val) == 30 and len(data.y_test) == 10
    assert {k: data.source[k] for k in ("spec", "seed", "pool", "binarise", "train_limit")} == \
        {"spec": f"mnist:{tmp_path}", "seed": 0, "pool": 2, "binarise": True, "train_limit": 30}
    again = load_source(data.source)
    assert np.array_equal(again.X_train, data.X_train)
    assert load(f"mnist:{tmp_path}").n_features == 784               # the old call still works
    with pytest.raises(DatasetError, match="IDX images"):
        load("digits", pool=2)
    with pytest.raises(DatasetError, match="not valid"):
        load_source({"spec": "digits", "pool": "2; rm -rf"})
    with pytest.raises(DatasetError, match="names its spec"):
        load_source(["digits"])


def test_a_training_subset_is_seeded_stratified_enough_and_keeps_the_test_set():
    full = load_digits()
    a, b = load_digits(train_limit=200), load_digits(train_limit=200)
    assert len(a.y_train) + len(a.y_val) == 200
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.X_test, full.X_test)
    assert set(a.y_train) == set(range(10))
    assert len(load_digits(train_limit=10 ** 6).y_train) == len(full.y_train)
    with pytest.raises(DatasetError, match="train_limit"):
        load_digits(train_limit=0)
    with pytest.raises(DatasetError, match="lacks classes|no training sample"):
        load_digits(train_limit=3)
