"""Executors as registered plug-ins, one file each, and :func:`run_many` for batches of decks.

An executor maps a function over items in input order (``Executor.map(fn, items, progress)``).
Built in: ``serial``, ``threads`` (the default: ngspice runs are subprocesses, so threads suffice),
``processes`` and ``dask`` (a local cluster, or a scheduler at ``tcp://HOST:PORT``). A new one is a
file with an :class:`Executor` subclass decorated with :func:`register_executor`.
"""
from __future__ import annotations

import functools

from ..backends.base import DEFAULT_TIMEOUT, Backend, Limits, SimResult, check_timeout, get_backend
from .base import EXECUTORS, Executor, Progress, register_executor
from . import serial, threads, processes, dask  # noqa: E402,F401  (each registers itself)
from .dask import SchedulerUnreachable
from .serial import SerialExecutor


def get_executor(name: str | Executor = "threads", workers: int = 2,
                 scheduler: str | None = None, *, backend: str | Backend | None = None,
                 **options) -> Executor:
    """The registered executor ``name`` with ``workers`` workers (``scheduler``: the dask
    executor's ``tcp://HOST:PORT``; ``options``: further arguments of its class, e.g. the dask
    executor's ``connect_timeout``). An Executor instance is returned as is.

    With ``backend`` given: a back end that is not ``parallel_safe`` (``shared``) cannot run two
    decks at once in one process, so an executor whose items share this process (``threads``) is
    replaced by ``serial``; ``processes`` and ``dask`` keep their workers, each its own process.
    """
    executor = name if isinstance(name, Executor) else EXECUTORS[name](workers, scheduler,
                                                                       **options)
    if backend is not None and not get_backend(backend).parallel_safe and \
            executor.shares_process and executor.workers > 1:
        return SerialExecutor()
    return executor


def _run_one(backend: Backend, timeout: float | None, limits: Limits, netlist: str) -> SimResult:
    return backend.simulate(netlist, timeout, limits)


def run_many(netlists, backend: str | Backend = "subprocess", executor: str | Executor = "threads",
             workers: int = 2, timeout: float | None = DEFAULT_TIMEOUT,
             progress: Progress | None = None, *, scheduler: str | None = None,
             max_points: float | None = None, max_raw_bytes: float | None = None
             ) -> list[SimResult]:
    """Simulate every deck (text or :class:`spicegen.deck.Deck`) and return the results in input
    order; the first failure raises its SpiceError. ``timeout`` is per run (None: none);
    ``progress()`` is called once per finished run. The limits are resolved here, so remote workers
    apply the caller's ``SPICEGEN_MAX_*`` settings."""
    backend = get_backend(backend)
    decks = [n.render(backend.dialect) if hasattr(n, "render") else n for n in netlists]
    fn = functools.partial(_run_one, backend, check_timeout(timeout),
                           Limits.resolve(max_points, max_raw_bytes))
    return get_executor(executor, workers, scheduler, backend=backend).map(fn, decks, progress)


__all__ = ["EXECUTORS", "Executor", "SchedulerUnreachable", "get_executor", "register_executor",
           "run_many"]
