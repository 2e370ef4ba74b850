"""The one place that runs many decks (one ngspice process each), through the executors."""
from __future__ import annotations

from ..executors import run_many


def _run_many(decks: list[str], workers: int, timeout: float):
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    return run_many(decks, "subprocess", "threads", workers=int(workers), timeout=timeout)
