"""Fixed-step trapezoidal integration for carrier-level (rf) decks, with pre-warped ideal carriers.

ngspice's trapezoidal rule is the bilinear transform: a linear network integrated with step h
responds to a sampled carrier of angular frequency w as the continuous network would at
w' = (2/h) tan(w h / 2). With a variable step the warp varies too, and only ~200 points per period
keep it below a tenth of a linewidth (alpha = 1 %). With a FIXED step it is one known map, so:

- an ideal source meant to be seen at f is emitted at (1 / pi h) atan(pi f h); every resonator then
  sees exactly f, whatever h;
- an auto-oscillator integrated by the same rule (stno_rf) advances its phase by 2 atan(w h / 2)
  per step, i.e. it already emits the pre-warped frequency, and the resonators downstream see f0.

What the map does not undo: two carriers mix at the frequencies the integrator runs them at, so
a beat note between pre-warped carriers comes out at f'_i - f'_j, about 9 % below f_i - f_j at 10
points per period (measured in benchmarks/rf_crosstalk.py); studies of beat notes that need the
true beat frequency should use more points per period.

So ~10 points per period of the fastest carrier suffice where a variable step needs 200
(tests/test_rfstep.py and the resonator rf twin measure the error). The step is held fixed by
making the local-truncation-error control inert (trtol huge) with tmax = h; the first few steps,
which ngspice starts small, fall in the settling time that is never read.
"""
from __future__ import annotations

import numpy as np

from .deck import Options, Tran

POINTS_PER_PERIOD = 10


def step_for(f_max: float, points_per_period: int = POINTS_PER_PERIOD) -> float:
    """The fixed step for a deck whose fastest carrier is f_max."""
    if points_per_period < 6:
        raise ValueError(f"need >= 6 points per period of the fastest carrier (sum frequencies "
                         f"of two carriers must stay below Nyquist), got {points_per_period}")
    return 1.0 / (points_per_period * f_max)


def prewarp(f: float | np.ndarray, h: float) -> float | np.ndarray:
    """Frequency to emit from an ideal source so that a trapezoidal network with step h sees f."""
    return np.arctan(np.pi * np.asarray(f) * h) / (np.pi * h)


def options() -> Options:
    """Trapezoidal rule with the truncation-error control made inert (the step stays h)."""
    return Options(method="trap", trtol=1e9)


def tran(h: float, t_stop: float) -> Tran:
    """A transient with fixed step h: tmax = h."""
    return Tran(h, t_stop, 0, h)


def cards(h: float, t_stop: float) -> list[str]:
    """The ``.options`` and ``.tran`` cards of a fixed-step trapezoidal run, as text."""
    return [options().render(), tran(h, t_stop).render()]
