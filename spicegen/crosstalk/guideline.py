"""Study 4: crosstalk of a one-resonator-per-channel layer against the channel spacing (Lorentzian,
fast), with a few rf confirmations, and the minimum spacing for a bound."""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Sequence

import numpy as np
import torch

from spintronic.models import resonator
from spintronic.models.resonator import ResonatorParams

from .. import rfstep
from ..plotting import pyplot, save
from .matrix import measure_crosstalk
from .predict import crosstalk_error
from .setup import (F_DEVICE_MAX, METRICS, CrosstalkSetup, _check_frequencies, _check_positive,
                    _finite_tuple, layer_frequencies)
from .tables import _table


@dataclasses.dataclass
class GuidelineResult:
    """Crosstalk error of a one-resonator-per-channel layer against the spacing (linewidths).

    spacings, error: the sweep (Lorentzian; nan where the grid leaves the device range);
    curve_s, curve_e: a fine curve for the minimum-spacing search and the plot;
    min_spacing: the smallest spacing whose error, and that of every larger spacing up to the
    device range, is <= bound (None when unreachable: the error floor, below, is above it);
    floor: the error at the largest spacing that fits the device range;
    rf: spacing -> (Lorentzian, rf measured, exact linear response) errors."""

    n_channels: int
    prm: ResonatorParams
    offset: float
    grid: str
    metric: str
    f_min: float
    bound: float
    spacings: np.ndarray
    error: np.ndarray
    curve_s: np.ndarray
    curve_e: np.ndarray
    rf: dict = dataclasses.field(default_factory=dict)
    rf_seconds: float = 0.0

    def min_spacing_for(self, bound: float) -> float | None:
        _check_positive("bound", bound)
        above = np.nonzero(~(self.curve_e <= bound))[0]
        if len(above) == 0:
            return float(self.curve_s[0])
        last = above[-1]
        if last == len(self.curve_s) - 1:
            return None
        lo, hi = float(self.curve_s[last]), float(self.curve_s[last + 1])
        for _ in range(60):  # bisection on the monotone stretch between the two grid points
            mid = math.sqrt(lo * hi)
            if _layer_error(mid, self) <= bound:
                hi = mid
            else:
                lo = mid
        return hi

    @property
    def min_spacing(self) -> float | None:
        return self.min_spacing_for(self.bound)

    @property
    def floor(self) -> float:
        return float(self.curve_e[-1])

    def report(self) -> str:
        m = self.min_spacing
        lines = [f"spacing guideline: {self.n_channels} channels from {self.f_min / 1e9:g} GHz "
                 f"({self.grid} grid), one resonator {self.offset:g} linewidths above each, "
                 f"alpha = {self.prm.alpha:g}, error = {self.metric} off-diagonal / diagonal "
                 f"(worst chain)"]
        rows = [(f"{s:g}", "out of range" if not np.isfinite(e) else f"{100 * e:.2f} %",
                 *(("-", "-") if s not in self.rf else
                   (f"{100 * self.rf[s][1]:.2f} %", f"{100 * self.rf[s][2]:.2f} %")))
                for s, e in zip(self.spacings, self.error)]
        lines.append(_table(("spacing (lw)", "Lorentzian", "rf measured", "exact lin. resp."), rows))
        if self.rf:
            lines.append("(rf against Lorentzian: the counter-rotating offset, ~ -alpha x peak on every "
                         "off-diagonal entry; rf against the exact linear response: numerics)")
        lines.append(f"minimum spacing for {100 * self.bound:g} %: " + (
            f"{m:.3g} linewidths" if m is not None else
            f"unreachable (floor {100 * self.floor:.2f} % at {self.curve_s[-1]:.3g} linewidths, the "
            f"widest grid within {F_DEVICE_MAX / 1e9:g} GHz: the antisymmetric tail tends to 2 alpha "
            f"per channel far from resonance)"))
        return "\n".join(lines)

    def plot(self, path: str, bounds: Sequence[float] | None = None) -> str:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.loglog(self.curve_s, 100 * self.curve_e, color="tab:blue", lw=2.5, alpha=0.6,
                  label="Lorentzian model")
        ok = np.isfinite(self.error)
        ax.loglog(self.spacings[ok], 100 * self.error[ok], "o", color="tab:blue", ms=4)
        if self.rf:
            s = np.array(sorted(self.rf))
            ax.loglog(s, [100 * self.rf[k][1] for k in s], "ks", label="rf (ngspice)")
        for b in (bounds or [self.bound]):
            m = self.min_spacing_for(b)
            ax.axhline(100 * b, color="tab:red", lw=0.8, ls="--")
            if m is not None:
                ax.axvline(m, color="tab:red", lw=0.8)
                ax.annotate(f"{100 * b:g} %: {m:.3g} lw", (m, 100 * b), fontsize=8,
                            xytext=(4, 4), textcoords="offset points")
            else:
                ax.annotate(f"{100 * b:g} %: unreachable", (self.curve_s[0], 100 * b), fontsize=8,
                            xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel("channel spacing (linewidths)")
        ax.set_ylabel(f"crosstalk, {self.metric} off-diagonal / diagonal (%)")
        ax.set_title(f"{self.n_channels} channels, alpha = {self.prm.alpha:g}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        return save(fig, path)


def _max_spacing(n_channels: int, f_min: float, alpha: float, grid: str, offset: float) -> float:
    """Largest spacing whose channels and resonators stay below F_DEVICE_MAX."""
    top = F_DEVICE_MAX * (1.0 - max(offset, 0.0) * alpha)
    if n_channels == 1:
        return math.inf
    if grid == "geometric":
        return ((top / f_min) ** (1.0 / (n_channels - 1)) - 1.0) / alpha
    return (top / f_min - 1.0) / ((n_channels - 1) * alpha)


def _layer_error(spacing: float, g: GuidelineResult | None = None, *, n_channels=None, f_min=None,
                 offset=None, prm=None, grid=None, metric=None) -> float:
    if g is not None:
        n_channels, f_min, offset, prm, grid, metric = (g.n_channels, g.f_min, g.offset, g.prm,
                                                        g.grid, g.metric)
    f = torch.tensor(layer_frequencies(n_channels, spacing, f_min, prm.alpha, grid))
    f_r = f / (1.0 - offset * prm.alpha)
    W = resonator.chain_weights(f, f_r[:, None], prm).numpy()
    return float(crosstalk_error(W, metric).max())


def spacing_guideline(bound: float = 0.05, n_channels: int = 8,
                      spacings: Sequence[float] = (1, 2, 3, 5, 8, 12, 20, 30, 50, 80),
                      prm: ResonatorParams | None = None, offset: float = 1.0,
                      f_min: float = 1e9, grid: str = "geometric", metric: str = "abs",
                      rf_spacings: Sequence[float] = (), power: float = 1e-6, workers: int = 2,
                      lp_ratio: float | None = None, settle_tau: float = 12.0,
                      points_per_period: int = rfstep.POINTS_PER_PERIOD) -> GuidelineResult:
    """Crosstalk error vs channel spacing for an n-channel layer with one resonator ``offset``
    linewidths above each channel (Lorentzian, fast), the minimum spacing for ``bound``, and rf
    confirmations (single-drive matrices) at ``rf_spacings``.

    The surrogate itself models these tails (a trained network has learned around them); the error
    is what an untrained one-to-one mapping of weights onto channels suffers, and how sensitive a
    chain is to traffic on other channels."""
    prm = prm or ResonatorParams()
    _check_positive("bound", bound)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if isinstance(n_channels, bool) or int(n_channels) != n_channels or n_channels < 2:
        raise ValueError(f"n_channels must be an integer >= 2, got {n_channels!r}")
    spacings = np.asarray(_finite_tuple("spacings", spacings))
    if spacings.min() <= 0:
        raise ValueError(f"spacings must be > 0 linewidths, got {spacings}")
    _check_frequencies("f_min", [f_min])
    layer_frequencies(2, 1.0, f_min, prm.alpha, grid)  # validates grid
    kw = dict(n_channels=int(n_channels), f_min=f_min, offset=offset, prm=prm, grid=grid,
              metric=metric)
    s_max = _max_spacing(int(n_channels), f_min, prm.alpha, grid, offset)
    s_lo = min(0.5, spacings.min())
    if s_max <= 2 * s_lo:
        raise ValueError(f"{n_channels} channels from f_min = {f_min:g} Hz leave no room for a spacing "
                         f"above {s_lo:g} linewidths below {F_DEVICE_MAX:g} Hz")
    error = np.array([_layer_error(s, **kw) if s <= s_max else np.nan for s in spacings])
    curve_s = np.geomspace(s_lo, min(s_max, 1e4), 600)
    curve_e = np.array([_layer_error(s, **kw) for s in curve_s])
    result = GuidelineResult(int(n_channels), prm, float(offset), grid, metric, f_min, bound,
                             spacings, error, curve_s, curve_e)
    start = time.perf_counter()
    for s in rf_spacings:
        setup = CrosstalkSetup.layer(int(n_channels), s, f_min, offset, power, grid, prm,
                                     lp_ratio=lp_ratio, settle_tau=settle_tau,
                                     points_per_period=points_per_period)
        r = measure_crosstalk(setup, workers, together=False)
        result.rf[float(s)] = (float(crosstalk_error(r.surrogate, metric).max()),
                               float(crosstalk_error(r.measured, metric).max()),
                               float(crosstalk_error(r.exact, metric).max()))
    result.rf_seconds = time.perf_counter() - start
    if len(rf_spacings):
        extra = [s for s in result.rf if s not in set(spacings.tolist())]
        if extra:
            result.spacings = np.sort(np.concatenate([spacings, extra]))
            result.error = np.array([_layer_error(s, **kw) if s <= s_max else np.nan
                                     for s in result.spacings])
    return result
