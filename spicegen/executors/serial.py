"""``serial``: one item after another in this process."""
from __future__ import annotations

from .base import Executor, register_executor


@register_executor
class SerialExecutor(Executor):
    name = "serial"
    description = "one item after another in this process"

    def __init__(self, workers: int = 1, scheduler: str | None = None):
        super().__init__(workers, scheduler)
        self.workers = 1

    def _map(self, fn, items, progress):
        results = []
        for item in items:
            results.append(fn(item))
            if progress is not None:
                progress()
        return results
