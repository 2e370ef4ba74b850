"""Validated option types: every numeric option refuses zero, negative, NaN or out-of-range values
with the option named (argparse prints ``error: argument --lr: ...`` and exits 2)."""
from __future__ import annotations

import argparse
import math
import os


def _number(kind, text: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def ranged(kind=float, low=None, high=None, low_open=False):
    """An option type accepting ``kind`` values in [low, high] (``(low, high]`` if low_open)."""
    def parse(text: str):
        value = _number(kind, text)
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high}, got {text}")
        return value
    parse.__name__ = f"{kind.__name__} value"
    return parse


positive_int = ranged(int, 1)
nonneg_int = ranged(int, 0)
positive_float = ranged(float, 0.0, low_open=True)
fraction = ranged(float, 0.0, 1.0, low_open=True)


def sizes(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}")
    if len(widths) < 2 or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"need >= 2 positive layer widths, got {text!r}")
    if max(widths) > 100_000:
        raise argparse.ArgumentTypeError(f"a layer of {max(widths)} is beyond this toolkit's "
                                         f"limit of 100000 per layer")
    return widths


def indices(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated indices, got {text!r}")
    if min(values) < 0:
        raise argparse.ArgumentTypeError(f"indices must be >= 0, got {text!r}")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"indices repeat in {text!r}")
    return values


#: the most threads the default gives torch: its small per-step tensors gain little beyond
MAX_DEFAULT_THREADS = 4


def default_threads() -> int:
    """CPU threads for torch when the user does not say: the cores the 1-minute load average
    leaves idle, at most MAX_DEFAULT_THREADS and at least 1, so that a training run does not
    oversubscribe a machine other jobs are using (torch's own default takes every core)."""
    cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except (OSError, AttributeError):     # no load average on this platform
        busy = 0
    return max(1, min(MAX_DEFAULT_THREADS, cores - busy))
