"""What every simulator back end shares: the result type, resource limits, the base class and the
registry that back ends (and executors) add themselves to."""
from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Mapping
from typing import ClassVar, Generic, TypeVar

import numpy as np

from ..rawfile import Analysis

#: seconds a run may take when the caller does not say; ``timeout=None`` means no limit
DEFAULT_TIMEOUT = 120.0
#: time points a deck may ask for (the ``.tran`` span over its step, the points of a ``.dc`` or
#: ``.ac`` sweep), checked before the simulator starts. 20 million points of even one saved vector
#: are 320 MB of raw output. Raise it per run (``max_points=``) or with ``SPICEGEN_MAX_POINTS``.
MAX_POINTS = 20_000_000
#: bytes of raw output a run may write (2 GiB) before it is stopped; reading it back holds about
#: twice that in memory. Raise it per run (``max_raw_bytes=``) or with ``SPICEGEN_MAX_RAW_BYTES``.
MAX_RAW_BYTES = 2 * 1024 ** 3


@dataclasses.dataclass
class SimResult:
    """Waveforms of every analysis in a run, plus what the simulator printed."""

    analyses: list[Analysis]
    log: str
    warnings: list[str]

    def __getitem__(self, name: str) -> np.ndarray:
        """A vector of the last analysis: ``result['v(x1.p)']`` or ``result['x1.p']``."""
        return self.analyses[-1][name]

    def __contains__(self, name: str) -> bool:
        return name in self.analyses[-1]

    @property
    def scale(self) -> np.ndarray:
        """Time, sweep or frequency axis of the last analysis."""
        return self.analyses[-1].scale

    @property
    def names(self) -> list[str]:
        return list(self.analyses[-1].vectors)


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one run; ``math.inf`` disables one."""

    max_points: float = MAX_POINTS
    max_raw_bytes: float = MAX_RAW_BYTES

    @classmethod
    def resolve(cls, max_points: float | None = None,
                max_raw_bytes: float | None = None) -> Limits:
        """The given values, else ``SPICEGEN_MAX_POINTS`` / ``SPICEGEN_MAX_RAW_BYTES``, else the
        defaults MAX_POINTS / MAX_RAW_BYTES."""
        return cls(_limit("max_points", max_points, "SPICEGEN_MAX_POINTS", MAX_POINTS),
                   _limit("max_raw_bytes", max_raw_bytes, "SPICEGEN_MAX_RAW_BYTES", MAX_RAW_BYTES))


def _limit(name: str, value: float | None, env: str, default: float) -> float:
    source = name
    if value is None:
        text = os.environ.get(env, "").strip()
        if not text:
            return default
        source = f"the environment variable {env}"
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{source} must be a number (or inf), got {text!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
            or value <= 0:
        raise ValueError(f"{source} must be a positive number (math.inf: no limit), got {value!r}")
    return value


def check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None (no limit), "
                         f"got {timeout!r}")
    return None if math.isinf(timeout) else float(timeout)


class Backend:
    """A simulator back end. Subclasses set the class attributes and implement :meth:`simulate`,
    then register an instance with :func:`register_backend`.

    ``parallel_safe`` is False for a back end that holds one simulator per Python process (the
    shared libngspice): its runs cannot overlap in one process, so an executor running threads
    runs them one after another (see ``spicegen.executors.get_executor(backend=...)``).
    ``dialect`` is the one :meth:`spicegen.deck.Deck.render` writes decks in for it.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    parallel_safe: ClassVar[bool] = True
    dialect: ClassVar[str] = "ngspice"

    def run(self, netlist, timeout: float | None = DEFAULT_TIMEOUT, *,
            max_points: float | None = None, max_raw_bytes: float | None = None) -> SimResult:
        """Simulate ``netlist`` (text, or a :class:`spicegen.deck.Deck` rendered in this back end's
        dialect) and return its waveforms; raises SpiceError on any failure, never a partial
        result. ``timeout`` in seconds, None for none."""
        if hasattr(netlist, "render"):
            netlist = netlist.render(self.dialect)
        if not isinstance(netlist, str):
            raise TypeError(f"a netlist is a str or a Deck, got {type(netlist).__name__}")
        return self.simulate(netlist, check_timeout(timeout),
                             Limits.resolve(max_points, max_raw_bytes))

    def simulate(self, netlist: str, timeout: float | None, limits: Limits) -> SimResult:
        raise NotImplementedError

    def version(self) -> str:
        """The simulator's name and version, for a report's provenance; never raises."""
        return "unknown"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


T = TypeVar("T")


class UnknownKindError(KeyError, ValueError):
    """A name that is not in a registry; the message lists the registered ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Mapping[str, T], Generic[T]):
    """Name -> plug-in, in registration order. Iterating gives the names, so a registry works as
    argparse ``choices``; a lookup of an unknown name raises :class:`UnknownKindError` (both a
    KeyError and a ValueError) listing the registered names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T, replace: bool = False) -> T:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a {self.kind} name must be an identifier, got {name!r}")
        if name in self._items and not replace and self._items[name] is not item:
            raise ValueError(f"a {self.kind} named {name!r} is already registered "
                             f"(pass replace=True to replace it)")
        self._items[name] = item
        return item

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownKindError(f"unknown {self.kind} {name!r}; registered: "
                                   f"{', '.join(self._items) or 'none'}") from None

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._items
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._items)})"


#: every registered back end: name -> Backend instance
BACKENDS: Registry[Backend] = Registry("backend")


def register_backend(backend: Backend, replace: bool = False) -> Backend:
    """Add a back end instance under its ``name``; returns it."""
    if not isinstance(backend, Backend):
        raise TypeError(f"register a Backend instance, got {backend!r}")
    return BACKENDS.register(backend.name, backend, replace)


def get_backend(name: str | Backend) -> Backend:
    """The registered back end called ``name`` (a Backend instance is returned as is)."""
    if isinstance(name, Backend):
        return name
    return BACKENDS[name]
