"""``threads``: a pool of threads in this process. ngspice runs are subprocesses, so threads
suffice to keep ``workers`` of them going."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

from .. import signals
from .base import Executor, gather, register_executor


def _stop_running(futures) -> None:
    """Kill the simulators of the running items until they have all ended (one may be about to
    start its simulator when the first kill goes out)."""
    while not all(f.done() for f in futures):
        signals.kill_children()
        wait(futures, timeout=0.1)


@register_executor
class ThreadExecutor(Executor):
    name = "threads"
    description = "a local pool of threads, each driving its own simulator process"

    def _map(self, fn, items, progress):
        pool = ThreadPoolExecutor(min(self.workers, len(items)), thread_name_prefix="spicegen")
        try:
            return gather({pool.submit(fn, item): i for i, item in enumerate(items)}, progress,
                          _stop_running)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
