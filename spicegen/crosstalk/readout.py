"""Reading a run's waveforms over the read window: DC levels, tones, carrier frequency."""
from __future__ import annotations

import numpy as np

from .setup import CrosstalkSetup


def _window_grid(setup: CrosstalkSetup) -> np.ndarray:
    n = max(int(round(setup.window / setup.step)), 16) + 1
    return np.linspace(setup.t_stop - setup.window, setup.t_stop, n)


def _hann_mean(v: np.ndarray) -> float:
    w = np.hanning(len(v) + 2)[1:-1]
    return float(np.sum(w * v) / np.sum(w))


def _lockin_amplitude(t: np.ndarray, v: np.ndarray, f: float) -> float:
    """Amplitude of the tone at f in v(t): Hann-windowed projection, DC removed first."""
    w = np.hanning(len(v) + 2)[1:-1]
    x = v - np.sum(w * v) / np.sum(w)
    z = np.sum(w * x * np.exp(-2j * np.pi * f * (t - t[0]))) / np.sum(w)
    return float(2.0 * abs(z))


def _zero_crossing_frequency(t: np.ndarray, v: np.ndarray, t_from: float) -> float:
    """Frequency of a carrier from its rising zero crossings after t_from (linear interpolation)."""
    sel = t >= t_from
    t, v = t[sel], v[sel]
    k = np.nonzero((v[:-1] < 0) & (v[1:] >= 0))[0]
    if len(k) < 3:
        return float("nan")
    tc = t[k] - v[k] * (t[k + 1] - t[k]) / (v[k + 1] - v[k])
    return float((len(tc) - 1) / (tc[-1] - tc[0]))
