"""``processes``: a pool of fresh Python processes on this machine (spawned, so no forked threads or
locks). The function travels once per pool by cloudpickle, so closures work. Each worker loads its
own libngspice, so the ``shared`` back end runs in parallel here."""
from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor

from .. import signals
from .base import Executor, gather, register_executor

_fn = None
_busy = False


def _on_sigterm(signum, frame):
    if _busy:  # unwind the item, so its simulator is killed and its temp folder removed
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut that short
        raise signals.Terminated(signum)
    os._exit(128 + signum)


def _init_worker(payload: bytes) -> None:
    global _fn
    import cloudpickle
    _fn = cloudpickle.loads(payload)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops
    signal.signal(signal.SIGTERM, _on_sigterm)


def _call(item):
    global _busy
    _busy = True
    try:
        return _fn(item)
    except signals.Terminated:
        signals.cleanup()
        os._exit(128 + signal.SIGTERM)
    finally:
        _busy = False


@register_executor
class ProcessExecutor(Executor):
    name = "processes"
    description = "a local pool of worker processes (closures travel by cloudpickle)"
    shares_process = False

    def _map(self, fn, items, progress):
        import cloudpickle
        pool = ProcessPoolExecutor(min(self.workers, len(items)),
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(cloudpickle.dumps(fn),))

        def terminate(futures) -> None:
            # SIGTERM makes a busy worker unwind its item (killing its simulator), an idle one exit
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                if proc.is_alive():
                    proc.terminate()

        try:
            return gather({pool.submit(_call, item): i for i, item in enumerate(items)}, progress,
                          terminate)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
