"""A PyTorch state dict read without unpickling it: a ``torch.save`` file, a .safetensors or a .npz.

A ``torch.save`` file is a zip holding ``data.pkl``, a pickle, and one raw little-endian member per
tensor storage (``data/0``, ``data/1``, ...). Unpickling runs whatever functions the pickle names,
and ``torch.load(weights_only=True)`` is still a pickle machine, so a file a user was handed is
never unpickled here. Instead :func:`read_pickle` walks the pickle's opcodes
(``pickletools.genops``: decoding, no execution) and interprets by hand the few a state dict of
tensors uses: ordered dicts, ``torch._utils._rebuild_tensor_v2`` over persistent-id storages of
plain dtypes, tuples, numbers, strings. Any other global, any other object construction (INST,
OBJ, NEWOBJ, BUILD of anything but an ordered dict's attributes), extension codes and buffers are
refused with the opcode or global named. Sizes come from the pickle and are checked against the
zip members and the limits below before anything is read or allocated.
"""
from __future__ import annotations

import math
import pickletools
import re
import zipfile
from typing import Callable, NamedTuple

import numpy as np

#: data.pkl of a state dict is a few kB per tensor; a bigger one is not a state dict
MAX_PICKLE_BYTES = 32 * 2**20
#: elements of all tensors together (400 MB of float64), as checkpoints.MAX_PARAMETERS
MAX_ELEMENTS = 50_000_000
MAX_NDIM = 8

# storage class -> numpy dtype (little-endian; BFloat16 is widened to float32 by hand)
_STORAGE_DTYPES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2", "BFloat16Storage": "u2",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "b1",
}
_REBUILD = {("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter")}
_ODICT = ("collections", "OrderedDict")
_ALLOWED = _REBUILD | {_ODICT} | {("torch", name) for name in _STORAGE_DTYPES}
_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class StateDictError(ValueError):
    """A file that is not a readable state dict of plain tensors (or asks for anything else)."""


class _Global(NamedTuple):
    module: str
    name: str


class _Storage(NamedTuple):
    dtype: str
    key: str
    numel: int


class _ODict(dict):
    """What ``collections.OrderedDict()`` builds (dicts keep their order)."""


def _whole_model_hint(module: str) -> str:
    if module.startswith(("torch.nn", "networks", "__main__", "torch.optim")):
        return (": this looks like a whole pickled model (torch.save(model)), not a state dict. "
                "Where it was trained, save its weights with "
                "torch.save(model.state_dict(), 'state_dict.pt') and import that")
    return ""


def _refuse(path: str, what: str) -> StateDictError:
    return StateDictError(f"{path}: refused {what}; nothing in the file was executed (only "
                          f"tensors and ordered dicts are read)")


def _shape(value, path: str, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or len(value) > MAX_NDIM or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**62 for v in value):
        raise StateDictError(f"{path}: a tensor's {what} is {value!r:.80}, not a tuple of at most "
                             f"{MAX_NDIM} non-negative integers")
    return value


class _Machine:
    """The pickle machine, reduced to what a state dict uses; ``load`` reads a storage."""

    def __init__(self, path: str, load: Callable[[_Storage], np.ndarray]):
        self.path, self.load = path, load
        self.stack: list = []
        self.marks: list[list] = []
        self.memo: dict = {}
        self.elements = self.read = 0
        self.storages: dict[str, tuple[_Storage, np.ndarray]] = {}

    def pop_mark(self) -> list:
        items, self.stack = self.stack, self.marks.pop()
        return items

    def run(self, data: bytes):
        result = None
        for op, arg, pos in pickletools.genops(data):
            name = op.name
            handler = getattr(self, "op_" + name, None)
            if name == "STOP":
                result = self.stack.pop()
                break
            if handler is None:
                raise _refuse(self.path, f"the pickle opcode {name} at byte {pos}")
            handler(arg)
        return result

    # -- values
    def push(self, arg):
        self.stack.append(arg)

    op_INT = op_BININT = op_BININT1 = op_BININT2 = op_LONG = op_LONG1 = op_LONG4 = push
    op_FLOAT = op_BINFLOAT = push
    op_UNICODE = op_BINUNICODE = op_SHORT_BINUNICODE = op_BINUNICODE8 = push
    op_STRING = op_BINSTRING = op_SHORT_BINSTRING = push

    def op_NONE(self, _):
        self.stack.append(None)

    def op_NEWTRUE(self, _):
        self.stack.append(True)

    def op_NEWFALSE(self, _):
        self.stack.append(False)

    def op_PROTO(self, arg):
        if not 2 <= arg <= 5:
            raise StateDictError(f"{self.path}: pickle protocol {arg} (torch.save writes 2 to 5)")

    def op_FRAME(self, _):
        pass

    # -- stack and memo
    def op_MARK(self, _):
        self.marks.append(self.stack)
        self.stack = []

    def op_POP(self, _):
        self.stack.pop()

    def op_POP_MARK(self, _):
        self.pop_mark()

    def op_DUP(self, _):
        self.stack.append(self.stack[-1])

    def op_PUT(self, arg):
        self.memo[arg] = self.stack[-1]

    op_BINPUT = op_LONG_BINPUT = op_PUT

    def op_MEMOIZE(self, _):
        self.memo[len(self.memo)] = self.stack[-1]

    def op_GET(self, arg):
        self.stack.append(self.memo[arg])

    op_BINGET = op_LONG_BINGET = op_GET

    # -- containers
    def op_EMPTY_TUPLE(self, _):
        self.stack.append(())

    def op_TUPLE(self, _):
        items = tuple(self.pop_mark())       # pop_mark replaces self.stack: read it after
        self.stack.append(items)

    def op_TUPLE1(self, _):
        self.stack[-1:] = [tuple(self.stack[-1:])]

    def op_TUPLE2(self, _):
        self.stack[-2:] = [tuple(self.stack[-2:])]

    def op_TUPLE3(self, _):
        self.stack[-3:] = [tuple(self.stack[-3:])]

    def op_EMPTY_LIST(self, _):
        self.stack.append([])

    def op_LIST(self, _):
        items = self.pop_mark()
        self.stack.append(items)

    def op_APPEND(self, _):
        value = self.stack.pop()
        self._list().append(value)

    def op_APPENDS(self, _):
        items = self.pop_mark()
        self._list().extend(items)

    def _list(self) -> list:
        if not isinstance(self.stack[-1], list):
            raise _refuse(self.path, f"APPEND to a {type(self.stack[-1]).__name__}")
        return self.stack[-1]

    def op_EMPTY_DICT(self, _):
        self.stack.append({})

    def op_DICT(self, _):
        items = self.pop_mark()
        self.stack.append(self._pairs({}, items))

    def op_SETITEM(self, _):
        value, key = self.stack.pop(), self.stack.pop()
        self._pairs(self.stack[-1], [key, value])

    def op_SETITEMS(self, _):
        items = self.pop_mark()
        self._pairs(self.stack[-1], items)

    def _pairs(self, target, items: list) -> dict:
        if not isinstance(target, dict):
            raise _refuse(self.path, f"SETITEM on a {type(target).__name__}")
        for key, value in zip(items[::2], items[1::2]):
            if not isinstance(key, (str, int, float, tuple)) or isinstance(key, bool):
                raise _refuse(self.path, f"a dict key of type {type(key).__name__}")
            target[key] = value
        return target

    # -- the only objects: globals from the allow list, storages, tensors, ordered dicts
    def _global(self, module, name):
        if not isinstance(module, str) or not isinstance(name, str):
            raise _refuse(self.path, "a global named by non-strings")
        if (module, name) not in _ALLOWED:
            raise _refuse(self.path, f"the global {module}.{name}{_whole_model_hint(module)}")
        self.stack.append(_Global(module, name))

    def op_GLOBAL(self, arg):
        module, _, name = arg.partition(" ")
        self._global(module, name)

    def op_STACK_GLOBAL(self, _):
        name, module = self.stack.pop(), self.stack.pop()
        self._global(module, name)

    def op_BINPERSID(self, _):
        pid = self.stack.pop()
        ok = (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
              and isinstance(pid[1], _Global) and pid[1].module == "torch"
              and isinstance(pid[2], str) and _KEY.match(pid[2]) and isinstance(pid[3], str)
              and isinstance(pid[4], int) and not isinstance(pid[4], bool) and pid[4] >= 0)
        if not ok:
            raise _refuse(self.path, f"the persistent id {pid!r:.80} (not a tensor storage)")
        if pid[4] > MAX_ELEMENTS:
            raise StateDictError(f"{self.path}: a storage of {pid[4]:,} elements; the limit is "
                                 f"{MAX_ELEMENTS:,}")
        self.stack.append(_Storage(_STORAGE_DTYPES[pid[1].name], pid[2], pid[4]))

    def op_REDUCE(self, _):
        args, func = self.stack.pop(), self.stack.pop()
        if not isinstance(func, _Global) or not isinstance(args, tuple):
            raise _refuse(self.path, f"a call of {func!r:.60}")
        if func == _ODICT:
            if args not in ((), ([],)):
                raise _refuse(self.path, "an OrderedDict built from arguments")
            self.stack.append(_ODict())
        elif (func.module, func.name) == ("torch._utils", "_rebuild_parameter"):
            if len(args) != 3 or not isinstance(args[0], np.ndarray):
                raise _refuse(self.path, "a parameter that does not wrap a tensor")
            self.stack.append(args[0])
        elif (func.module, func.name) == ("torch._utils", "_rebuild_tensor_v2"):
            self.stack.append(self.tensor(args))
        else:                             # a storage class called: not what torch.save writes
            raise _refuse(self.path, f"a call of {func.module}.{func.name}")

    def op_BUILD(self, _):
        state = self.stack.pop()
        # OrderedDict attributes (a state dict's ``_metadata`` of module versions): ignored
        if not isinstance(self.stack[-1], _ODict) or not isinstance(state, dict):
            raise _refuse(self.path, f"BUILD of a {type(self.stack[-1]).__name__}")

    def tensor(self, args: tuple) -> np.ndarray:
        if len(args) not in (6, 7) or not isinstance(args[0], _Storage):
            raise _refuse(self.path, "a tensor rebuilt from other than a storage")
        storage, offset, size, stride, _grad, hooks = args[:6]
        size = _shape(size, self.path, "size")
        stride = _shape(stride, self.path, "stride")
        if (not isinstance(offset, int) or isinstance(offset, bool) or offset < 0
                or len(stride) != len(size) or (isinstance(hooks, dict) and hooks)):
            raise StateDictError(f"{self.path}: a tensor with offset {offset!r:.40}, size {size}, "
                                 f"stride {stride} or backward hooks that torch.save never writes")
        numel = math.prod(size)
        self.elements += numel
        if self.elements > MAX_ELEMENTS:
            raise StateDictError(f"{self.path}: its tensors hold more than {MAX_ELEMENTS:,} "
                                 f"elements")
        end = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if numel else 0
        if end > storage.numel:
            raise StateDictError(f"{self.path}: a tensor of size {size} at offset {offset} "
                                 f"reaches past its storage of {storage.numel} elements")
        known = self.storages.get(storage.key)
        if known is None:
            self.read += storage.numel       # a storage member may be a deflated zip bomb
            if self.read > MAX_ELEMENTS:
                raise StateDictError(f"{self.path}: its storages hold more than "
                                     f"{MAX_ELEMENTS:,} elements")
            known = self.storages[storage.key] = (storage, self.load(storage))
        if known[0] != storage:
            raise StateDictError(f"{self.path}: storage {storage.key} is described twice, "
                                 f"differently")
        base = known[1]
        if not numel:
            return np.zeros(size, dtype=base.dtype)
        view = np.lib.stride_tricks.as_strided(
            base[offset:], shape=size, strides=[s * base.itemsize for s in stride],
            writeable=False)
        return np.array(view)


def read_pickle(data: bytes, path: str, load: Callable[[_Storage], np.ndarray]) -> dict:
    """The state dict a torch.save pickle describes, as name -> numpy array."""
    try:
        result = _Machine(path, load).run(data)
    except StateDictError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, EOFError) as exc:
        raise StateDictError(f"{path}: a malformed pickle ({type(exc).__name__}: "
                             f"{str(exc)[:100]})") from None
    if not isinstance(result, dict):
        raise StateDictError(f"{path}: the pickle holds a {type(result).__name__}, not a state "
                             f"dict (a dict of tensors)")
    for key, value in result.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise StateDictError(f"{path}: entry {key!r:.60} is a {type(value).__name__}, not a "
                                 f"tensor: this is not a state dict")
    return dict(result)


def _read_member(zf: zipfile.ZipFile, name: str, size: int, path: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise StateDictError(f"{path}: the zip lacks {name}") from None
    if info.file_size != size:
        raise StateDictError(f"{path}: {name} holds {info.file_size} bytes, its tensors "
                             f"need {size}")
    with zf.open(info) as fh:
        blob = fh.read(size + 1)       # never more than the pickle said, whatever the header says
    if len(blob) != size:
        raise StateDictError(f"{path}: {name} is truncated ({len(blob)} of {size} bytes)")
    return blob


def _read_torch_zip(zf: zipfile.ZipFile, path: str) -> dict:
    pkls = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkls) != 1:
        raise StateDictError(f"{path}: a zip without one data.pkl: not a torch.save file")
    prefix = pkls[0][: -len("data.pkl")]
    info = zf.getinfo(pkls[0])
    if info.file_size > MAX_PICKLE_BYTES:
        raise StateDictError(f"{path}: data.pkl is {info.file_size:,} bytes, too big for a "
                             f"state dict (limit {MAX_PICKLE_BYTES:,})")
    data = _read_member(zf, pkls[0], info.file_size, path)
    order = "<"
    if prefix + "byteorder" in zf.namelist():      # absent before torch 1.10: little-endian
        size = zf.getinfo(prefix + "byteorder").file_size
        text = _read_member(zf, prefix + "byteorder", size, path) if size <= 6 else b"?"
        if text not in (b"little", b"big"):
            raise StateDictError(f"{path}: byteorder {text!r:.20}")
        order = "<" if text == b"little" else ">"

    def load(storage: _Storage) -> np.ndarray:
        dtype = np.dtype(storage.dtype)
        if dtype.itemsize > 1:
            dtype = dtype.newbyteorder(order)
        blob = _read_member(zf, f"{prefix}data/{storage.key}", storage.numel * dtype.itemsize,
                            path)
        arr = np.frombuffer(blob, dtype=dtype).astype(dtype.newbyteorder("="))
        if storage.dtype == "u2":      # bfloat16: the high half of a float32
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        return arr

    return read_pickle(data, path, load)


def _read_npz(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {}
            for name in z.files:
                arr = z[name]
                if arr.dtype.kind not in "fiub":
                    raise StateDictError(f"{path}: array {name!r} has dtype {arr.dtype}")
                out[name] = arr
            return out
    except StateDictError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise StateDictError(f"{path}: not a readable .npz ({str(exc)[:100]})") from None


def _read_safetensors(blob: bytes, path: str) -> dict:
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        return dict(load(blob))
    except (SafetensorError, ValueError, TypeError) as exc:
        raise StateDictError(f"{path}: not a readable .safetensors file ({str(exc)[:100]})") \
            from None


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """Name -> array of a state dict in a torch.save zip, a .safetensors or a .npz file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                if names and all(n.endswith(".npy") for n in names):
                    return _read_npz(path)
                return _read_torch_zip(zf, path)
        if head[8:9] == b"{":
            with open(path, "rb") as fh:
                return _read_safetensors(fh.read(), path)
    except FileNotFoundError:
        raise StateDictError(f"no state dict at {path}") from None
    except IsADirectoryError:
        raise StateDictError(f"{path} is a folder, not a state dict") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError,
            RuntimeError) as exc:
        raise StateDictError(f"{path}: a damaged or truncated zip ({str(exc)[:100]})") from None
    except OSError as exc:
        raise StateDictError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") \
            from None
    if head[:1] == b"\x80":
        raise StateDictError(f"{path}: a bare pickle (torch.save before torch 1.6, or "
                             f"_use_new_zipfile_serialization=False); it was not unpickled: save "
                             f"the state dict again with torch >= 1.6, or as .safetensors/.npz")
    raise StateDictError(f"{path}: not a state dict (a torch.save zip, .safetensors or .npz)")
