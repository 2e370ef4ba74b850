"""Compatibility module: the back ends live in :mod:`spicegen.backends` (one file each) and batches
in :mod:`spicegen.executors`. ``run_netlist``, ``SimResult`` and ``BACKENDS`` (the back-end
registry: iterating it gives the names, so it still serves as argparse ``choices``) stay importable
from here, with the ngspice helpers that used to live here.
"""
from __future__ import annotations

from .backends import BACKENDS, DEFAULT_TIMEOUT, Backend, SimResult, get_backend
from .backends._ngspice import classify, ngspice_executable, normalise_netlist
from .executors import run_many


def run_netlist(netlist, backend: str | Backend = "subprocess",
                timeout: float | None = DEFAULT_TIMEOUT, *, max_points: float | None = None,
                max_raw_bytes: float | None = None) -> SimResult:
    """Simulate ``netlist`` (text or a :class:`spicegen.deck.Deck`) with a registered back end and
    return its waveforms; raises SpiceError on any failure. ``timeout`` in seconds (None: no
    limit); ``max_points`` / ``max_raw_bytes`` override the resource limits of
    :mod:`spicegen.backends.base` (``math.inf``: none)."""
    return get_backend(backend).run(netlist, timeout, max_points=max_points,
                                    max_raw_bytes=max_raw_bytes)


def run_subprocess(netlist: str, timeout: float | None = DEFAULT_TIMEOUT) -> SimResult:
    return run_netlist(netlist, "subprocess", timeout)


def run_shared(netlist: str, timeout: float | None = DEFAULT_TIMEOUT) -> SimResult:
    return run_netlist(netlist, "shared", timeout)


__all__ = ["BACKENDS", "SimResult", "run_netlist", "run_many", "run_subprocess", "run_shared",
           "classify", "normalise_netlist", "ngspice_executable"]
