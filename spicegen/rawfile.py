"""Reader for ngspice raw files (binary and ascii), parsed by header field name.

The header changed across ngspice versions (42 added a ``Command:`` line and new flags), so fields are
looked up by name, never by line position. A file may hold several analyses (plots) one after another.
"""
from __future__ import annotations

import dataclasses

import numpy as np


class RawFileError(ValueError):
    """The raw file is malformed or incomplete."""


@dataclasses.dataclass
class Analysis:
    """One analysis (ngspice 'plot'): named vectors sharing one scale (time, sweep or frequency)."""

    plotname: str
    vectors: dict[str, np.ndarray]

    @property
    def scale(self) -> np.ndarray:
        return next(iter(self.vectors.values()))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.vectors[_resolve(name, self.vectors)]

    def __contains__(self, name: str) -> bool:
        try:
            _resolve(name, self.vectors)
        except KeyError:
            return False
        return True

    def __len__(self) -> int:
        return len(self.scale) if self.vectors else 0


def _resolve(name: str, vectors: dict[str, np.ndarray]) -> str:
    """Accept 'v(x1.p)', 'V(X1.P)' or the bare node 'x1.p'."""
    key = name.lower()
    for candidate in (key, f"v({key})", f"i({key})"):
        if candidate in vectors:
            return candidate
    raise KeyError(f"no vector {name!r}; have {sorted(vectors)[:20]}")


def parse_raw(data: bytes) -> list[Analysis]:
    analyses = []
    pos = 0
    while pos < len(data):
        if not data[pos:].strip():
            break
        if not data.startswith(b"Title:", pos):
            raise RawFileError("raw file holds more data than its header announces (an aborted run)")
        analysis, pos = _parse_one(data, pos)
        analyses.append(analysis)
    if not analyses:
        raise RawFileError("raw file holds no analysis")
    return analyses


def _readline(data: bytes, pos: int) -> tuple[str, int]:
    end = data.find(b"\n", pos)
    if end < 0:
        raise RawFileError("raw file ends inside its header")
    return data[pos:end].decode("latin-1"), end + 1


def _parse_one(data: bytes, pos: int) -> tuple[Analysis, int]:
    fields: dict[str, str] = {}
    names: list[str] = []
    while True:
        line, pos = _readline(data, pos)
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "variables":
            try:
                nvars = int(fields["no. variables"])
            except (KeyError, ValueError) as exc:
                raise RawFileError("raw header lacks 'No. Variables'") from exc
            for _ in range(nvars):
                line, pos = _readline(data, pos)
                parts = line.split()
                if len(parts) < 3:
                    raise RawFileError(f"bad variable line {line!r}")
                names.append(parts[1].lower())
            continue
        if key in ("binary", "values"):
            break
        fields[key] = value.strip()
    try:
        npoints = int(fields["no. points"])
    except (KeyError, ValueError) as exc:
        raise RawFileError("raw header lacks 'No. Points'") from exc
    if npoints < 0:
        raise RawFileError(f"raw header announces {npoints} points")
    flags = fields.get("flags", "real").lower().split()
    is_complex = "complex" in flags
    nvars = len(names)
    if key == "binary":
        width = 16 if is_complex else 8
        nbytes = npoints * nvars * width
        if pos + nbytes > len(data):
            raise RawFileError(f"raw file truncated: header promises {npoints} points, "
                               f"data holds fewer")
        arr = np.frombuffer(data, dtype="<f8", count=nbytes // 8, offset=pos)
        pos += nbytes
        if is_complex:
            arr = arr[0::2] + 1j * arr[1::2]
        table = arr.reshape(npoints, nvars)
    else:
        try:
            table, pos = _parse_ascii(data, pos, npoints, nvars, is_complex)
        except RawFileError:
            raise
        except (ValueError, IndexError) as exc:  # a short line, or a value that is not a number
            raise RawFileError(f"bad value in the ascii raw data: {exc}") from None
    vectors = {name: np.array(table[:, i]) for i, name in enumerate(names)}
    if not is_complex and names:
        vectors = {k: v.real for k, v in vectors.items()}
    return Analysis(fields.get("plotname", ""), vectors), pos


def _parse_ascii(data: bytes, pos: int, npoints: int, nvars: int,
                 is_complex: bool) -> tuple[np.ndarray, int]:
    table = np.empty((npoints, nvars), dtype=complex if is_complex else float)
    for point in range(npoints):
        for var in range(nvars):
            line, pos = _readline(data, pos)
            token = line.split()[-1]
            if is_complex:
                re, im = token.split(",")
                table[point, var] = complex(float(re), float(im))
            else:
                table[point, var] = float(token)
    return table, pos
