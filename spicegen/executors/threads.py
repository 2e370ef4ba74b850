"""``threads``: a pool of threads in this process. ngspice runs are subprocesses, so threads
suffice to keep ``workers`` of them going."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

from .base import Executor, gather, new_batch, register_executor, run_item, stop_batch


@register_executor
class ThreadExecutor(Executor):
    name = "threads"
    description = "a local pool of threads, each driving its own simulator process"

    def _map(self, fn, items, progress):
        token = new_batch()

        def stop(futures) -> None:
            # again until all have ended: an item may be about to start its simulator
            while not all(f.done() for f in futures):
                stop_batch(token)
                wait(futures, timeout=0.1)

        pool = ThreadPoolExecutor(min(self.workers, len(items)), thread_name_prefix="spicegen")
        try:
            return gather({pool.submit(run_item, token, fn, item): i
                           for i, item in enumerate(items)}, progress, stop)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
