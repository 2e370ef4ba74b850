"""Checkpoints that cannot carry code: one safetensors file holding the tensors, with the network's
configuration, the training set-up and the metrics as JSON in the file's metadata.

Why not ``torch.save``: a pickle runs whatever its author put in it as soon as it is opened, and a
checkpoint is exactly the kind of file a colleague sends. safetensors' format is a JSON header and
raw tensor bytes; reading it runs nothing. Pickle checkpoints (format 1, written by earlier
versions) are refused without being opened beyond their first bytes.
"""
from __future__ import annotations

import json
import os
import tempfile

import torch

FORMAT = 2
_META_KEY = "spintronic_spice"
_ZIP_MAGIC = b"PK\x03\x04"          # torch.save's zip container
_PICKLE_MAGIC = b"\x80"             # protocol 2+ pickle opcode PROTO


class CheckpointError(ValueError):
    """A checkpoint that does not fit the network asked for, or is not a checkpoint at all."""


def write(path: str, meta: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Write atomically: an interrupted save leaves the previous file, never half of a new one."""
    from safetensors.torch import save

    header = {_META_KEY: json.dumps({"format": FORMAT, **meta}, sort_keys=True)}
    blob = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=header)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ckpt-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp's 0600 would surprise a shared folder
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_pickle(blob: bytes) -> bool:
    """torch.save's zip, or a pickle of protocol 2 to 5 (PROTO and its version byte), and not a
    safetensors file (length, then its JSON header's "{"): a damaged safetensors checkpoint whose
    header length has 0x80 as its low byte is not called a pickle."""
    if blob[8:9] == b"{":
        return False
    return blob[:4] == _ZIP_MAGIC or (blob[:1] == _PICKLE_MAGIC and
                                      blob[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))


def read(path: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """The metadata and tensors of a checkpoint; never executes anything found in the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        with open(path, "rb") as fh:
            blob = fh.read()
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path}") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path} is a folder, not a checkpoint") from None
    except OSError as exc:            # unreadable: permissions, a device, an I/O error
        raise CheckpointError(f"cannot read the checkpoint {path}: "
                              f"{exc.strerror or type(exc).__name__}") from None
    try:
        tensors = load(blob)
        header_len = int.from_bytes(blob[:8], "little")
        header = json.loads(blob[8:8 + header_len])
        meta = json.loads(header["__metadata__"][_META_KEY])
    except (SafetensorError, ValueError, KeyError, TypeError, OverflowError) as exc:
        if _is_pickle(blob):
            raise CheckpointError(
                f"{path} is a pickle (torch.save) file, which can run code when opened; it was "
                f"not unpickled. Checkpoints of this toolkit are safetensors files: retrain, or "
                f"convert a file you trust with an older version") from None
        raise CheckpointError(f"{path} is not a checkpoint of this toolkit "
                              f"({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else "?"
        raise CheckpointError(f"{path} has checkpoint format {got!r}; this version reads {FORMAT}")
    return meta, tensors
