"""The executor interface and its registry."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, ClassVar

from .. import signals
from ..backends.base import Registry

Progress = Callable[[], Any]


def check_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    return workers


class Executor:
    """Runs ``fn`` over items, ``workers`` at a time, and returns the results in input order.

    ``map(fn, items, progress=None)``: ``progress()`` is called with no arguments once per finished
    item (``progress=bar.update`` drives a tqdm bar). The first item to fail (in completion order)
    raises its exception, once the items not started are cancelled and the running ones stopped
    (their simulator processes killed); Ctrl-C or SIGTERM while waiting does the same.

    An executor may hold resources (a cluster): ``with get_executor(...) as ex:`` keeps them for
    several maps; a ``map`` outside a ``with`` block opens and closes them itself.

    ``shares_process`` is True when items run as threads of this Python process, where a back end
    that is not ``parallel_safe`` can run only one at a time (``get_executor(backend=...)`` then
    gives the serial executor).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    shares_process: ClassVar[bool] = True

    def __init__(self, workers: int = 2, scheduler: str | None = None):
        self.workers = check_workers(workers)
        if scheduler is not None:
            raise ValueError(f"a scheduler address applies to the dask executor only, not to "
                             f"{self.name!r} (got {scheduler!r})")
        self._open = False

    def open(self) -> None:
        """Acquire what the executor needs (a pool, a cluster); called by ``__enter__``."""

    def close(self) -> None:
        """Release what ``open`` acquired."""

    def __enter__(self) -> Executor:
        if not self._open:
            self.open()
            self._open = True
        return self

    def __exit__(self, *exc) -> None:
        if self._open:
            self._open = False
            self.close()

    def map(self, fn: Callable[[Any], Any], items: Iterable, progress: Progress | None = None) -> list:
        items = list(items)
        if not items:
            return []
        if self._open:
            return self._map(fn, items, progress)
        with self:
            return self._map(fn, items, progress)

    def _map(self, fn, items: list, progress: Progress | None) -> list:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} workers={self.workers}>"


_lock = threading.Lock()
_batches: dict[str, set[int]] = {}  # batch token -> threads of this process running its items


def new_batch() -> str:
    """A token naming one ``map`` call's items wherever they run."""
    return uuid.uuid4().hex


def run_item(token: str, fn, item):
    """``fn(item)``, with the calling thread counted as running an item of batch ``token``."""
    ident = threading.get_ident()
    with _lock:
        _batches.setdefault(token, set()).add(ident)
    try:
        return fn(item)
    finally:
        with _lock:
            threads = _batches.get(token, set())
            threads.discard(ident)
            if not threads:
                _batches.pop(token, None)


def stop_batch(token: str) -> int:
    """Kill the simulators of the items of batch ``token`` running in this process; returns how
    many items are still running."""
    with _lock:
        threads = set(_batches.get(token, ()))
    if threads:
        signals.kill_children(threads)
    return len(threads)


def gather(futures: dict[Future, int], progress: Progress | None,
           on_failure: Callable[[dict[Future, int]], None]) -> list:
    """Results of ``concurrent.futures`` futures (future -> input index) in input order, calling
    ``progress()`` as each finishes. On a failure, Ctrl-C or SIGTERM the futures not started are
    cancelled and ``on_failure(futures)`` stops the running ones before the exception goes on."""
    results = [None] * len(futures)
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                results[futures[future]] = future.result()
                if progress is not None:
                    progress()
    except BaseException:
        for future in futures:
            future.cancel()
        on_failure(futures)
        raise
    return results


#: every registered executor: name -> Executor subclass
EXECUTORS: Registry[type[Executor]] = Registry("executor")


def register_executor(cls: type[Executor], replace: bool = False) -> type[Executor]:
    """Add an Executor subclass under its ``name``; returns it (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Executor)):
        raise TypeError(f"register an Executor subclass, got {cls!r}")
    return EXECUTORS.register(cls.name, cls, replace)
