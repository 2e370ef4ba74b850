"""Validated, frozen parameter objects shared by the torch surrogates and the SPICE models.

A parameter is declared with ``param(default, check)``; the check runs when the object is made, so a
wrong value fails where it is written, not deep inside a simulation.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

_CHECKS = {
    "finite": (lambda v: True, "a finite number"),
    "positive": (lambda v: v > 0, "a finite number > 0"),
    "nonneg": (lambda v: v >= 0, "a finite number >= 0"),
    "unit": (lambda v: 0 <= v <= 1, "a finite number in [0, 1]"),
}


def param(default: float, check: str = "finite", doc: str = "") -> Any:
    """A dataclass field holding one physical quantity in SI units."""
    if check not in _CHECKS:
        raise ValueError(f"unknown check {check!r}")
    return dataclasses.field(default=default, metadata={"check": check, "doc": doc})


@functools.lru_cache(maxsize=None)
def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


@dataclasses.dataclass(frozen=True)
class Params:
    """Base class: validates every field declared with ``param`` on construction."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.metadata.get("check") is not None:
                # store plain floats so that netlists and JSON are formatted the same way
                object.__setattr__(self, f.name, self.check_field(f.name, getattr(self, f.name)))
        self.validate()

    @classmethod
    def check_field(cls, name: str, value: Any) -> float:
        """``value`` as a float if it passes field ``name``'s check, else ValueError; the
        per-field part of construction, for checking one value alone (cross-field checks are
        :meth:`validate`'s)."""
        f = _fields(cls).get(name)
        if f is None:
            raise ValueError(f"{cls.__name__} has no field {name!r}")
        check = f.metadata.get("check")
        if check is None:
            return value
        ok, wanted = _CHECKS[check]
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not ok(value):
            raise ValueError(f"{cls.__name__}.{name} must be {wanted}, got {value!r}")
        return float(value)

    def validate(self) -> None:
        """Cross-field checks; subclasses raise ValueError naming the fields."""

    def replace(self, **changes: float) -> "Params":
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def describe(cls) -> dict[str, str]:
        """Field name -> documentation, for the graph schema and the CLI."""
        return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls)}


def spice_number(x: float) -> str:
    """Format a value for a netlist with full double precision (round-trips exactly).

    A resonance frequency needs ~1e-7 relative precision because the weight changes sign across a
    linewidth of 1 % of it; repr-style 17 significant digits keeps every bit.
    """
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot write non-finite value {x!r} to a netlist")
    return repr(x) if x != int(x) or abs(x) >= 1e15 else str(int(x))


def spice_params(values: dict[str, float]) -> str:
    """``name=value`` pairs for a ``.subckt ... params:`` line, in a fixed order."""
    return " ".join(f"{k}={spice_number(v)}" for k, v in values.items())
