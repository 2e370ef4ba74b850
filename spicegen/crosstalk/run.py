"""The one place that runs many decks (one ngspice process each)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..runner import run_netlist


def _run_many(decks: list[str], workers: int, timeout: float):
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    with ThreadPoolExecutor(int(workers)) as pool:
        return list(pool.map(lambda d: run_netlist(d, "subprocess", timeout=timeout), decks))
