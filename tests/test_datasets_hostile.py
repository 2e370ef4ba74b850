"""Hostile data files: whatever the bytes, loading gives a valid Dataset or one DatasetError line
naming the file, never another exception, and never a huge allocation on a header's say-so.

Property tests mutate valid .npz, HDF5 and IDX files (truncation, byte flips, edited .npy headers
inside an intact zip, changed dtypes and shapes, NaN and huge labels, swapped, dropped and renamed
keys); explicit tests pin the message for each class of bad input.
"""
import gzip
import io
import math
import os
import struct
import tempfile
import tracemalloc
import warnings
import zipfile

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spintronic.training.datasets import (MAX_CLASSES, MAX_ELEMENTS, Dataset, DatasetError, load,
                                          load_arrays, load_mnist, read_idx)

PROPERTY = settings(max_examples=50, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
KEYS = ("X_train", "Y_train", "X_test", "Y_test")


def _arrays(n_train=30, n_test=12, n_features=6, classes=3):
    rng = np.random.default_rng(0)
    return {"X_train": rng.random((n_train, n_features)) * 5,
            "Y_train": np.arange(n_train) % classes,
            "X_test": rng.random((n_test, n_features)) * 5,
            "Y_test": np.arange(n_test) % classes}


def _write_h5(path, arrays, compression=None):
    with h5py.File(path, "w") as fh:
        for key, value in arrays.items():
            fh.create_dataset(key, data=value, compression=compression)


def _idx_bytes(arr, code=0x08):
    return (bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
            + arr.tobytes())


def _write_mnist(folder, gz=False, n_train=30, n_test=10):
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        for kind, arr in (("images-idx3", rng.integers(0, 256, (n, 6, 6)).astype(np.uint8)),
                          ("labels-idx1", (np.arange(n) % 10).astype(np.uint8))):
            with (gzip.open if gz else open)(os.path.join(folder, f"{prefix}-{kind}-ubyte{ext}"),
                                             "wb") as fh:
                fh.write(_idx_bytes(arr))


def _valid_or_refused(load_fn, path, names):
    """Load; a refusal must be one DatasetError line that names ``names`` (the file or folder)."""
    try:
        data = load_fn(path)
    except DatasetError as exc:
        message = str(exc)
        assert "\n" not in message and str(names) in message, message
        return None
    assert isinstance(data, Dataset)
    for X, y in ((data.X_train, data.y_train), (data.X_val, data.y_val),
                 (data.X_test, data.y_test)):
        assert X.dtype == np.float64 and y.dtype == np.int64 and X.ndim == 2 and y.ndim == 1
        assert len(X) == len(y) and X.shape[1] == data.n_features >= 1
        assert np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1
        assert y.min() >= 0 and y.max() < data.n_classes
    assert 2 <= data.n_classes <= MAX_CLASSES and len(data.y_train) and len(data.y_test)
    return data


# ------------------------------------------------------------------ byte-level mutations

_position = st.integers(0, 2 ** 20)
_mutation = st.one_of(
    st.tuples(st.just("truncate"), _position),
    st.tuples(st.just("flip"), _position, st.integers(1, 255)),
    st.tuples(st.just("flip_head"), st.integers(0, 600), st.integers(1, 255)),
    st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=8)),
)


def _mutate(blob: bytes, mutations) -> bytes:
    b = bytearray(blob)
    for op, pos, *arg in mutations:
        if not b:
            break
        pos %= len(b)
        if op == "truncate":
            del b[pos:]
        elif op in ("flip", "flip_head"):
            b[pos] ^= arg[0]
        else:
            b[pos:pos] = arg[0]
    return bytes(b)


@PROPERTY
@given(compressed=st.booleans(), mutations=st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_npz_loads_or_is_refused(compressed, mutations):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **_arrays())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "d.npz")
        with open(path, "wb") as fh:
            fh.write(_mutate(buf.getvalue(), mutations))
        _valid_or_refused(load_arrays, path, path)


@PROPERTY
@given(key=st.sampled_from(KEYS), rename=st.booleans(),
       mutations=st.lists(_mutation, min_size=1, max_size=3))
def test_npz_with_mutated_npy_member_in_an_intact_zip(key, rename, mutations):
    """The zip's CRCs hold, so the .npy header and data themselves must be checked."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "d.npz")
        with zipfile.ZipFile(path, "w") as zf:
            for k, v in _arrays().items():
                member = io.BytesIO()
                np.save(member, v)
                blob = member.getvalue()
                if k == key:
                    blob = _mutate(blob, mutations)
                zf.writestr(k if (k == key and rename) else k + ".npy", blob)
        _valid_or_refused(load_arrays, path, path)


@PROPERTY
@given(compression=st.sampled_from([None, "gzip"]),
       mutations=st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_hdf5_loads_or_is_refused(compression, mutations):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "d.h5")
        _write_h5(path, _arrays(), compression)
        with open(path, "rb") as fh:
            blob = fh.read()
        with open(path, "wb") as fh:
            fh.write(_mutate(blob, mutations))
        _valid_or_refused(load_arrays, path, path)


@PROPERTY
@given(gz=st.booleans(),
       which=st.sampled_from(["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]),
       inside=st.booleans(), mutations=st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_idx_loads_or_is_refused(gz, which, inside, mutations):
    """Mutate the IDX bytes (re-gzipped when ``inside``, so only the IDX checks catch it) or the
    gzip stream itself."""
    with tempfile.TemporaryDirectory() as folder:
        _write_mnist(folder, gz=gz)
        path = os.path.join(folder, which + (".gz" if gz else ""))
        if gz and inside:
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
            with gzip.open(path, "wb") as fh:
                fh.write(_mutate(raw, mutations))
        else:
            with open(path, "rb") as fh:
                blob = fh.read()
            with open(path, "wb") as fh:
                fh.write(_mutate(blob, mutations))
        try:
            arr = read_idx(path)
        except DatasetError as exc:
            assert "\n" not in str(exc) and path in str(exc)
        else:
            assert isinstance(arr, np.ndarray)
        _valid_or_refused(load_mnist, folder, folder)


@PROPERTY
@given(code=st.integers(0, 255), ndim=st.integers(0, 6),
       dims=st.lists(st.one_of(st.integers(0, 40), st.integers(0, 2 ** 32 - 1)), max_size=6),
       n_data=st.integers(0, 400), gz=st.booleans())
def test_arbitrary_idx_headers_never_allocate_blindly(code, ndim, dims, n_data, gz):
    raw = bytes([0, 0, code, ndim]) + struct.pack(f">{len(dims)}I", *dims) + bytes(n_data)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "x-idx1-ubyte" + (".gz" if gz else ""))
        with (gzip.open if gz else open)(path, "wb") as fh:
            fh.write(raw)
        try:
            arr = read_idx(path)
        except DatasetError as exc:
            assert "\n" not in str(exc) and path in str(exc)
        else:
            assert arr.shape == tuple(dims[:ndim]) and arr.size * arr.itemsize <= n_data


# ------------------------------------------------------------------ array-level mutations

_DTYPES = [np.bool_, np.int8, np.uint8, np.int64, np.uint64, np.float16, np.float32,
           np.complex64, "U3", "S2", "m8[s]", "M8[D]", object]
_LABELS = [-1, -10 ** 9, 10 ** 9, 2 ** 62, MAX_CLASSES - 1, MAX_CLASSES, 1.5, 1e20, -0.0,
           float("nan"), float("inf"), -float("inf")]

_op = st.one_of(
    st.tuples(st.just("dtype"), st.sampled_from(KEYS), st.sampled_from(_DTYPES)),
    st.tuples(st.just("shape"), st.sampled_from(KEYS), st.integers(0, 7)),
    st.tuples(st.just("x_value"), st.sampled_from(["X_train", "X_test"]), st.integers(0, 10 ** 6),
              st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, 1e300, 0.0])),
    st.tuples(st.just("label"), st.sampled_from(["Y_train", "Y_test"]), st.integers(0, 10 ** 6),
              st.sampled_from(_LABELS)),
    st.tuples(st.just("swap"), st.sampled_from(KEYS), st.sampled_from(KEYS)),
    st.tuples(st.just("drop"), st.sampled_from(KEYS)),
    st.tuples(st.just("rename"), st.sampled_from(KEYS)),
    st.tuples(st.just("rows"), st.sampled_from(KEYS), st.integers(0, 40)),
)


def _reshape(arr, how):
    flat = arr.reshape(len(arr), math.prod(arr.shape[1:])) if arr.ndim else arr.reshape(1, 1)
    return [lambda: arr.reshape(-1), lambda: flat[:, :, None], lambda: flat.reshape(1, -1),
            lambda: flat[:0], lambda: np.zeros((len(flat), 0), flat.dtype),
            lambda: flat[..., None, None], lambda: flat.ravel()[0] if flat.size else flat,
            lambda: flat.T][how]()


def _apply(arrays, ops):
    for op, key, *args in ops:
        if key not in arrays:
            continue
        arr = arrays[key]
        if op == "dtype":
            try:
                with warnings.catch_warnings():  # lossy casts are the point here
                    warnings.simplefilter("ignore")
                    arrays[key] = arr.astype(args[0])
            except (TypeError, ValueError):
                pass
        elif op == "shape":
            arrays[key] = _reshape(arr, args[0])
        elif op in ("x_value", "label") and np.ndim(arr) and np.size(arr):
            value = args[1]
            target = np.result_type(arr.dtype, np.asarray(value).dtype)
            if target.kind not in "iuf" or (arr.dtype.kind == "f" and isinstance(value, int)):
                target = np.float64
            arr = arr.astype(target if arr.dtype.kind in "iufb" else arr.dtype)
            try:
                arr.flat[args[0] % arr.size] = value
            except (OverflowError, ValueError, TypeError):
                pass
            arrays[key] = arr
        elif op == "swap" and args[0] in arrays:
            arrays[key], arrays[args[0]] = arrays[args[0]], arr
        elif op == "drop":
            del arrays[key]
        elif op == "rename":
            arrays[key.lower()] = arrays.pop(key)
        elif op == "rows" and np.ndim(arr):
            arrays[key] = arr[: args[0]]
    return arrays


@PROPERTY
@given(ops=st.lists(_op, min_size=1, max_size=4))
def test_changed_arrays_load_or_are_refused_from_npz_and_hdf5(ops):
    arrays = _apply(_arrays(), ops)
    with tempfile.TemporaryDirectory() as folder:
        npz = os.path.join(folder, "d.npz")
        np.savez(npz, **arrays)  # object arrays are pickled here; the loader must not unpickle
        _valid_or_refused(load_arrays, npz, npz)
        h5 = os.path.join(folder, "d.h5")
        try:
            _write_h5(h5, arrays)
        except (TypeError, ValueError):
            return  # a dtype HDF5 cannot store (objects, unicode, datetimes)
        _valid_or_refused(load_arrays, h5, h5)


# ------------------------------------------------------------------ explicit classes: .npz

def _npz(tmp_path, name="d.npz", **changes):
    arrays = _arrays()
    arrays.update(changes)
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _refused(path_or_spec, match, loader=load_arrays, names=None):
    with pytest.raises(DatasetError, match=match) as info:
        loader(str(path_or_spec))
    message = str(info.value)
    assert "\n" not in message and str(names or path_or_spec) in message
    assert type(info.value) is DatasetError
    return message


def test_truncated_npz(tmp_path):
    path = _npz(tmp_path)
    blob = path.read_bytes()
    for cut in (10, len(blob) // 2, len(blob) - 30):
        path.write_bytes(blob[:cut])
        _refused(path, "corrupt or truncated .npz")


def test_corrupt_npz_data_fails_its_crc(tmp_path):
    path = _npz(tmp_path)
    blob = bytearray(path.read_bytes())
    blob[200] ^= 0xFF  # inside X_train's data
    path.write_bytes(bytes(blob))
    _refused(path, "corrupt or truncated .npz archive .*CRC")


def test_npz_that_is_not_a_zip(tmp_path):
    (tmp_path / "t.npz").write_text("X_train,Y_train\n1,2\n")
    _refused(tmp_path / "t.npz", r"not an \.npz archive")
    np.save(tmp_path / "a.npy", np.zeros(3))
    os.replace(tmp_path / "a.npy", tmp_path / "a.npz")
    _refused(tmp_path / "a.npz", r"single \.npy array")
    import pickle
    (tmp_path / "p.npz").write_bytes(pickle.dumps({"X_train": np.zeros(3)}))
    _refused(tmp_path / "p.npz", r"not an \.npz archive")
    (tmp_path / "e.npz").write_bytes(b"")
    _refused(tmp_path / "e.npz", r"not an \.npz archive")


def test_npz_object_array_is_not_unpickled(tmp_path, monkeypatch):
    import pickle
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    path = _npz(tmp_path, Y_train=np.array([0, 1, 2] * 10, dtype=object))
    _refused(path, r"Y_train holds Python objects \(dtype object\)")


@pytest.mark.parametrize("dtype, match", [(np.complex128, "dtype complex128"),
                                          ("U2", "dtype <U2"), ("m8[s]", "dtype timedelta64"),
                                          ([("a", "f8"), ("b", "i4")], "only numeric")])
def test_npz_non_numeric_dtypes(tmp_path, dtype, match):
    path = _npz(tmp_path, X_train=_arrays()["X_train"].astype(dtype))
    _refused(path, match)


def _npz_with_member(tmp_path, key, blob, member=None):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in _arrays().items():
            buf = io.BytesIO()
            np.save(buf, v)
            zf.writestr(member or k + ".npy", blob) if k == key else \
                zf.writestr(k + ".npy", buf.getvalue())
    return path


def _npy_header(shape, descr="<f8"):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape})
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")


def test_npz_header_claiming_absurd_size_is_refused_unallocated(tmp_path):
    path = _npz_with_member(tmp_path, "X_train", _npy_header((10 ** 6, 10 ** 6)) + bytes(64))
    message = _refused(path, f"X_train claims shape .* more than the limit of {MAX_ELEMENTS}")
    assert "1000000000000 values" in message
    # under the element limit but far more than the member holds: refused before allocating
    path = _npz_with_member(tmp_path, "X_train", _npy_header((10 ** 8,)) + bytes(64))
    tracemalloc.start()
    try:
        _refused(path, r"X_train claims shape \(100000000,\) \(800000000 bytes of float64\) "
                       r"but its member holds 64 bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20
    path = _npz_with_member(tmp_path, "X_train", _npy_header((-3, 2)))
    _refused(path, "invalid shape")


def test_npz_member_that_is_not_npy(tmp_path):
    path = _npz_with_member(tmp_path, "X_test", b"just some bytes", member="X_test")
    _refused(path, r"X_test is not a readable \.npy array")
    path = _npz_with_member(tmp_path, "X_test", b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8'}")
    _refused(path, r"X_test is not a readable \.npy array")


def test_npz_missing_and_swapped_keys(tmp_path):
    arrays = _arrays()
    arrays["x_train"] = arrays.pop("X_train")
    np.savez(tmp_path / "k.npz", **arrays)
    _refused(tmp_path / "k.npz", r"lacks arrays \['X_train'\]")
    arrays = _arrays()
    arrays["X_train"], arrays["Y_train"] = arrays["Y_train"], arrays["X_train"]
    np.savez(tmp_path / "s.npz", **arrays)
    _refused(tmp_path / "s.npz", "X_train must have one row per sample")


# ------------------------------------------------------------------ explicit classes: HDF5

def test_hdf5_that_is_not_hdf5(tmp_path):
    (tmp_path / "d.h5").write_bytes(b"\x89HDF but not really" + bytes(100))
    _refused(tmp_path / "d.h5", "not an HDF5 file")
    np.savez(tmp_path / "z.npz", **_arrays())
    os.replace(tmp_path / "z.npz", tmp_path / "z.hdf5")
    _refused(tmp_path / "z.hdf5", "not an HDF5 file")


def test_truncated_hdf5(tmp_path):
    path = tmp_path / "d.h5"
    _write_h5(path, _arrays())
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    _refused(path, "corrupt HDF5 file")


def test_hdf5_missing_key_group_and_link(tmp_path):
    arrays = _arrays()
    del arrays["Y_test"]
    _write_h5(tmp_path / "a.h5", arrays)
    _refused(tmp_path / "a.h5", r"lacks arrays \['Y_test'\]")
    with h5py.File(tmp_path / "g.h5", "w") as fh:
        for k, v in _arrays().items():
            (fh.create_group(k) if k == "X_test" else fh.create_dataset(k, data=v))
    _refused(tmp_path / "g.h5", "X_test is a Group, not an array")
    with h5py.File(tmp_path / "l.h5", "w") as fh:
        for k, v in _arrays().items():
            if k == "X_train":
                fh[k] = h5py.ExternalLink("/etc/secret.h5", "/X")
            else:
                fh[k] = v
    _refused(tmp_path / "l.h5", "X_train links to another file")
    with h5py.File(tmp_path / "s.h5", "w") as fh:
        for k, v in _arrays().items():
            if k == "X_train":
                fh[k] = h5py.SoftLink("/nowhere")
            else:
                fh[k] = v
    _refused(tmp_path / "s.h5", "corrupt HDF5 file")


@pytest.mark.parametrize("value, match", [
    (np.array([b"ab", b"cd"] * 15), r"Y_train has dtype \|S2"),
    (np.array([[0.5, 0.25]] * 30, dtype=np.complex64), "dtype complex64"),
    (h5py.Empty("f8"), "empty HDF5 dataset"),
])
def test_hdf5_wrong_dtype(tmp_path, value, match):
    arrays = _arrays()
    arrays["Y_train"] = value
    _write_h5(tmp_path / "d.h5", arrays)
    _refused(tmp_path / "d.h5", match)


def test_hdf5_wrong_ndim(tmp_path):
    arrays = _arrays()
    arrays["X_train"] = arrays["X_train"].ravel()
    _write_h5(tmp_path / "a.h5", arrays)
    _refused(tmp_path / "a.h5", r"X_train must have one row per sample, got shape \(180,\)")
    arrays = _arrays()
    arrays["Y_test"] = np.stack([arrays["Y_test"]] * 2, axis=1)
    _write_h5(tmp_path / "b.h5", arrays)
    _refused(tmp_path / "b.h5", r"Y_test must hold one integer label per sample, got shape")
    arrays = _arrays()
    arrays["Y_test"] = np.int64(1)
    _write_h5(tmp_path / "c.h5", arrays)
    _refused(tmp_path / "c.h5", r"Y_test must hold one integer label per sample, got shape \(\)")


def test_hdf5_absurd_or_unwritten_dataset_is_refused_unallocated(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as fh:
        for k, v in _arrays().items():
            if k == "X_train":
                fh.create_dataset(k, shape=(10 ** 6, 10 ** 6), dtype="f8", chunks=(16, 16))
            else:
                fh[k] = v
    _refused(tmp_path / "a.h5", "more than the limit")
    with h5py.File(tmp_path / "b.h5", "w") as fh:
        for k, v in _arrays().items():
            if k == "X_train":
                fh.create_dataset(k, shape=(20_000, 1000), dtype="f8", chunks=(100, 100))
            else:
                fh[k] = v
    tracemalloc.start()
    try:
        _refused(tmp_path / "b.h5", r"claims shape \(20000, 1000\) \(160000000 bytes\) but "
                                    r"stores only 0 bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20


# ------------------------------------------------------------------ explicit classes: IDX

def test_idx_bad_magic_type_and_truncated_header(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    _refused(path, r"not an IDX file \(bad magic number 1f8b0800\)", read_idx)
    path.write_bytes(b"")
    _refused(path, r"not an IDX file \(bad magic number empty file\)", read_idx)
    path.write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 7]))
    _refused(path, r"unknown IDX type 0x0a \(expected one of 0x08", read_idx)
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]))
    _refused(path, r"truncated IDX header \(3 dimensions declared\)", read_idx)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_dims_that_disagree_with_the_size(tmp_path, gz):
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if gz else ""))
    raw = bytes([0, 0, 0x0C, 2]) + struct.pack(">2I", 4, 5)
    cases = ((bytes(4 * 19), "holds 19 values"),
             (bytes(4 * 21), "holds more values" if gz else "holds 21 values"),
             (bytes(4 * 20 + 2), "holds more values" if gz else "holds 82 bytes of data"))
    for data, match in cases:
        with (gzip.open if gz else open)(path, "wb") as fh:
            fh.write(raw + data)
        _refused(path, r"header says \(4, 5\) but " + match, read_idx)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_absurd_dims_are_refused_before_allocating(tmp_path, gz):
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if gz else ""))
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(bytes([0, 0, 0x0E, 2]) + struct.pack(">2I", 10 ** 6, 10 ** 6) + bytes(64))
    _refused(path, rf"10\*\*12|1000000000000 values, more than the limit of {MAX_ELEMENTS}",
             read_idx)
    # dims whose product wraps around in 64-bit integers must not pass as a small array
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(bytes([0, 0, 0x08, 4]) + struct.pack(">4I", 2 ** 16, 2 ** 16, 2 ** 16, 2 ** 16))
    assert math.prod([2 ** 16] * 4) == 2 ** 64
    _refused(path, "more than the limit", read_idx)
    # under the limit but more than the (gzipped) file holds: read, not allocated up front
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(bytes([0, 0, 0x0E, 1]) + struct.pack(">I", 10 ** 8) + bytes(80))
    tracemalloc.start()
    try:
        _refused(path, r"header says \(100000000,\) but holds 10 values", read_idx)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20


def test_truncated_and_corrupt_gzip(tmp_path):
    _write_mnist(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) - 12])
    _refused(path, "truncated gzip stream", read_idx)
    _refused(tmp_path, "truncated gzip stream", load_mnist, names=path)
    path.write_bytes(blob[:-8] + bytes(8))  # CRC and length zeroed
    _refused(path, "corrupt gzip stream .*CRC", read_idx)
    path.write_bytes(b"plain text, not gzip")
    _refused(path, "corrupt gzip stream", read_idx)


def test_mnist_files_with_wrong_shapes_or_counts(tmp_path):
    _write_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(_idx_bytes(np.zeros((30, 36), np.uint8)))
    _refused(tmp_path, r"images must be 3-D \(count, rows, columns\), the header says \(30, 36\)",
             load_mnist, names=images)
    images.write_bytes(_idx_bytes(np.zeros((29, 6, 6), np.uint8)))
    _refused(tmp_path, "holds 29 images but .*train-labels-idx1-ubyte holds 30 labels",
             load_mnist, names=images)
    images.write_bytes(_idx_bytes(np.full((30, 6, 6), np.nan, ">f4"), 0x0D))
    _refused(tmp_path, "holds NaN or infinite pixels", load_mnist, names=images)
    _write_mnist(tmp_path)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    labels.write_bytes(_idx_bytes(np.zeros((10, 1), np.uint8)))
    _refused(tmp_path, r"labels must be 1-D", load_mnist, names=labels)
    labels.write_bytes(_idx_bytes(np.full(10, -1, np.int8), 0x09))
    _refused(tmp_path, "holds negative labels", load_mnist, names=labels)
    labels.write_bytes(_idx_bytes(np.full(10, 10 ** 9, ">i4"), 0x0C))
    _refused(tmp_path, f"holds label 1000000000; .*at most {MAX_CLASSES} classes", load_mnist,
             names=labels)
    labels.write_bytes(_idx_bytes(np.full(10, 0.5, ">f8"), 0x0E))
    _refused(tmp_path, "must hold integer class labels", load_mnist, names=labels)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    _refused(tmp_path, r"holds no t10k-labels-idx1-ubyte\[\.gz\]", load_mnist, names=tmp_path)


# ------------------------------------------------------------------ explicit classes: values

@pytest.mark.parametrize("labels, match", [
    (np.arange(30) % 3 - 1, r"Y_train holds negative labels \(such as -1\)"),
    (np.where(np.arange(30) == 4, 10 ** 9, np.arange(30) % 3),
     rf"Y_train holds label 1000000000; labels must be 0\.\.{MAX_CLASSES - 1} "
     rf"\(at most {MAX_CLASSES} classes\)"),
    (np.where(np.arange(30) == 4, 1e20, np.arange(30) % 3), "at most 10000 classes"),
    (np.where(np.arange(30) == 4, np.nan, np.arange(30) % 3), "1 NaN or infinite labels"),
    (np.where(np.arange(30) == 4, np.inf, np.arange(30) % 3), "1 NaN or infinite labels"),
    (np.arange(30) % 3 + 0.25, "must hold integer class labels, got non-integer values such as "
                               "0.25"),
    (np.arange(30) % 2 == 0, "must hold integer class labels, got dtype bool"),
])
def test_bad_labels(tmp_path, labels, match):
    _refused(_npz(tmp_path, Y_train=labels), match)


def test_huge_label_does_not_build_a_huge_class_list(tmp_path):
    labels = np.arange(30) % 3
    labels[5] = MAX_CLASSES - 1  # allowed, but then 9996 classes have no training sample
    message = _refused(_npz(tmp_path, Y_train=labels), "have no training sample")
    assert "and 9976 more" in message and len(message) < 400


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_x_with_nan_or_inf(tmp_path, value):
    X = _arrays()["X_test"]
    X[3, 2] = value
    _refused(_npz(tmp_path, X_test=X), r"X_test must be finite numbers: 1 values are NaN")


def test_mismatched_lengths_and_features(tmp_path):
    a = _arrays()
    _refused(_npz(tmp_path, "a.npz", Y_test=a["Y_test"][:-1]), "X_test has 12 samples but "
                                                                "Y_test has 11")
    _refused(_npz(tmp_path, "b.npz", X_test=a["X_test"][:, :5]),
             "X_train has 6 features but X_test has 5")


def test_empty_splits(tmp_path):
    a = _arrays()
    _refused(_npz(tmp_path, "a.npz", X_train=a["X_train"][:0], Y_train=a["Y_train"][:0]),
             "X_train is empty")
    _refused(_npz(tmp_path, "b.npz", X_test=a["X_test"][:0], Y_test=a["Y_test"][:0]),
             "X_test is empty")
    _refused(_npz(tmp_path, "c.npz", X_train=np.zeros((30, 0)), X_test=np.zeros((12, 0))),
             r"X_train has no features \(shape \(30, 0\)\)")
    _refused(_npz(tmp_path, "d.npz", X_train=a["X_train"][:2], Y_train=np.array([0, 1]),
                  Y_test=a["Y_test"] % 2),
             "Y_train has too few samples: all 2 go to the validation split")


@pytest.mark.parametrize("spec", ["cifar10", "mnist", "Digits", "data.csv", "/tmp", ""])
def test_unknown_spec_lists_the_valid_forms(spec):
    with pytest.raises(DatasetError) as info:
        load(spec)
    assert str(info.value) == (f"unknown data set {spec!r}: use 'digits', a .npz/.h5/.hdf5 file "
                               f"holding X_train, Y_train, X_test, Y_test, or 'mnist:FOLDER'")


def test_non_string_spec_and_missing_paths(tmp_path):
    with pytest.raises(DatasetError, match="a data set is 'digits', .*; got 42"):
        load(42)
    _refused(tmp_path / "no.npz", "no such file", load)
    _refused(f"mnist:{tmp_path / 'nope'}", "no such folder", load, names=tmp_path / "nope")
    (tmp_path / "dir.h5").mkdir()
    _refused(tmp_path / "dir.h5", "is not a file", load)
