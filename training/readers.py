"""Readers of data files that trust nothing in them: .npz members, HDF5 datasets and IDX files.

Array sizes are checked against the file before anything is allocated, .npz members are read
without unpickling, and every failure is a :class:`DatasetError` naming the file and what is
wrong (``training.datasets`` builds the data sets from what these return).
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zipfile

import numpy as np

#: The most values one array may hold (about 1.07e9); a header claiming more is refused unread.
MAX_ELEMENTS = 2 ** 30

_KEYS = ("X_train", "Y_train", "X_test", "Y_test")
_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(ValueError):
    """A data set that cannot be used as given."""


def _why(exc: BaseException) -> str:
    """An exception from a file reader as one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _check_header(path: str, key: str, shape, dtype: np.dtype) -> int:
    """Refuse, before reading any data, an array that is not numeric or absurdly large.

    Returns its size in bytes.
    """
    if dtype.hasobject:
        raise DatasetError(f"{path}: {key} holds Python objects (dtype {dtype}); only numeric "
                           f"arrays are loaded")
    if dtype.kind not in _NUMERIC_KINDS or dtype.subdtype is not None or dtype.names:
        raise DatasetError(f"{path}: {key} has dtype {dtype}; only numeric (integer, float or "
                           f"bool) arrays are accepted")
    if any(int(n) < 0 for n in shape):
        raise DatasetError(f"{path}: {key} has an invalid shape {tuple(shape)}")
    count = math.prod(int(n) for n in shape)
    if count > MAX_ELEMENTS:
        raise DatasetError(f"{path}: {key} claims shape {tuple(shape)} = {count} values, more "
                           f"than the limit of {MAX_ELEMENTS}")
    return count * dtype.itemsize


def _read_npy_member(path: str, zf: zipfile.ZipFile, member: str, key: str) -> np.ndarray:
    info = zf.getinfo(member)
    with zf.open(info) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except (ValueError, TypeError, SyntaxError, EOFError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: {key} is not a readable .npy array ({_why(exc)})") from exc
        header = fh.tell()
        nbytes = _check_header(path, key, shape, dtype)
        if info.file_size != header + nbytes:
            raise DatasetError(f"{path}: {key} claims shape {tuple(shape)} ({nbytes} bytes of "
                               f"{dtype}) but its member holds {info.file_size - header} bytes")
        data = fh.read(nbytes)
        if len(data) != nbytes or fh.read(1):
            raise DatasetError(f"{path}: {key} is truncated ({len(data)} of {nbytes} bytes)")
    arr = np.frombuffer(data, dtype=dtype)
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def _read_npz(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head.startswith(b"\x93NUMPY"):
        raise DatasetError(f"{path} is a single .npy array, not an .npz archive: save with "
                           f"numpy.savez(path, X_train=..., Y_train=..., X_test=..., Y_test=...)")
    if not head.startswith(b"PK"):
        raise DatasetError(f"{path} is not an .npz archive (a zip of .npy arrays)")
    found = {}
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            for key in _KEYS:
                member = next((m for m in (key + ".npy", key) if m in names), None)
                if member is not None:
                    found[key] = _read_npy_member(path, zf, member, key)
    except DatasetError:
        raise
    except Exception as exc:  # zipfile, zlib and numpy raise many kinds on a corrupt archive
        raise DatasetError(f"{path}: corrupt or truncated .npz archive "
                           f"({type(exc).__name__}: {_why(exc)})") from exc
    return found


#: An HDF5 array stored this many times smaller than it claims is unwritten (fill values) or a
#: decompression bomb; only checked above _SPARSE_MIN bytes.
_SPARSE_RATIO, _SPARSE_MIN = 2048, 64 * 2 ** 20


def _read_h5(path: str) -> dict[str, np.ndarray]:
    import h5py

    try:
        is_hdf5 = h5py.is_hdf5(path)
    except Exception:
        is_hdf5 = False
    if not is_hdf5:
        raise DatasetError(f"{path} is not an HDF5 file")
    found = {}
    try:
        with h5py.File(path, "r") as fh:
            for key in _KEYS:
                link = fh.get(key, getlink=True)
                if link is None:
                    continue
                if isinstance(link, h5py.ExternalLink):
                    raise DatasetError(f"{path}: {key} links to another file "
                                       f"({link.filename}); store the array itself")
                obj = fh[key]
                if not isinstance(obj, h5py.Dataset):
                    raise DatasetError(f"{path}: {key} is a {type(obj).__name__}, not an array")
                if obj.shape is None:
                    raise DatasetError(f"{path}: {key} is an empty HDF5 dataset")
                nbytes = _check_header(path, key, obj.shape, obj.dtype)
                stored = obj.id.get_storage_size()
                if nbytes > _SPARSE_MIN and nbytes > _SPARSE_RATIO * stored:
                    raise DatasetError(f"{path}: {key} claims shape {obj.shape} ({nbytes} bytes) "
                                       f"but stores only {stored} bytes")
                found[key] = np.asarray(obj[()])
    except DatasetError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, TypeError... on a damaged file
        raise DatasetError(f"{path}: corrupt HDF5 file ({type(exc).__name__}: {_why(exc)})") \
            from exc
    return found


def read_idx(path: str) -> np.ndarray:
    """One IDX file (plain or gzipped), as in the MNIST distribution.

    The header is checked against the file before the data are read: a bad magic number, an
    unknown type code, dimensions that disagree with the file size or exceed
    :data:`MAX_ELEMENTS` values, and a truncated or corrupt gzip stream all raise
    :class:`DatasetError`.
    """
    path = os.fspath(path)
    gz = path.endswith(".gz")
    try:
        with (gzip.open if gz else open)(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise DatasetError(f"{path} is not an IDX file (bad magic number "
                                   f"{head.hex() or 'empty file'})")
            dtype = _IDX_TYPES.get(head[2])
            if dtype is None:
                raise DatasetError(f"{path}: unknown IDX type 0x{head[2]:02x} (expected one of "
                                   f"{', '.join(f'0x{c:02x}' for c in _IDX_TYPES)})")
            dtype = np.dtype(dtype)
            ndim = head[3]
            dims = fh.read(4 * ndim)
            if len(dims) != 4 * ndim:
                raise DatasetError(f"{path}: truncated IDX header ({ndim} dimensions declared)")
            shape = struct.unpack(f">{ndim}I", dims)
            count = math.prod(shape)
            if count > MAX_ELEMENTS:
                raise DatasetError(f"{path}: header says {shape} = {count} values, more than "
                                   f"the limit of {MAX_ELEMENTS}")
            nbytes = count * dtype.itemsize
            if not gz:
                held = os.fstat(fh.fileno()).st_size - 4 - 4 * ndim
                if held != nbytes:
                    what = (f"{held // dtype.itemsize} values" if held % dtype.itemsize == 0
                            else f"{held} bytes of data")
                    raise DatasetError(f"{path}: header says {shape} but holds {what}")
            if gz:  # read in pieces: a single read(nbytes) would allocate what the header claims
                data = bytearray()
                while len(data) < nbytes:
                    piece = fh.read(min(1 << 20, nbytes - len(data)))
                    if not piece:
                        break
                    data += piece
            else:
                data = fh.read(nbytes)
            if len(data) != nbytes:
                raise DatasetError(f"{path}: header says {shape} but holds "
                                   f"{len(data) // dtype.itemsize} values")
            if fh.read(1):
                raise DatasetError(f"{path}: header says {shape} but holds more values")
    except DatasetError:
        raise
    except EOFError as exc:
        raise DatasetError(f"{path}: truncated gzip stream ({_why(exc)})") from exc
    except MemoryError as exc:
        raise DatasetError(f"{path}: too large to load into memory") from exc
    except Exception as exc:  # OSError (BadGzipFile, permissions), zlib.error on a corrupt stream
        what = "corrupt gzip stream" if gz else "cannot read"
        raise DatasetError(f"{path}: {what} ({type(exc).__name__}: {_why(exc)})") from exc
    return np.frombuffer(data, dtype=dtype).reshape(shape)
