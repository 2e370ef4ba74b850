"""Study 3: frequency pulling. An STNO with a nonlinear frequency shift N moves its carrier over its
current range, and the next layer's weights move with it (surrogate numbers, and one rf check)."""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Sequence

import numpy as np
import torch

from spintronic.models import resonator, stno
from spintronic.models.params import spice_number as num
from spintronic.models.resonator import ResonatorParams
from spintronic.models.stno import STNOParams

from .. import rfstep
# private helper of the compiler: the one place that knows how a chain is emitted at rf fidelity
from ..compiler import chain_cards
from ..deck import Options
from ..plotting import pyplot, save
from .predict import linear_response, surrogate_matrix
from .readout import _hann_mean, _zero_crossing_frequency
from .run import _run_many
from .setup import (TWO_PI, CrosstalkSetup, _check_frequencies, _check_lp_ratio, _check_ppp,
                    _finite_tuple, _offset_resonance)
from .tables import _table


@dataclasses.dataclass
class PullingResult:
    """Surrogate numbers: an STNO's frequency over its current range and the weight error it
    causes on a resonator tuned for f0 (``offset`` linewidths above it).

    currents (A), p0 (n_I,); freq, weight_error (n_N, n_I): f0 + N p0 / 2 pi and
    (G(f) - G(f0)) / peak |G|; worst_over_tuning (n_N,): the largest |weight error| over the
    operating range and over every tuning of the resonator within +-3 linewidths of f0."""

    N: np.ndarray
    stno_prm: STNOParams
    res_prm: ResonatorParams
    offset: float
    currents: np.ndarray
    p0: np.ndarray
    freq: np.ndarray
    weight_error: np.ndarray
    worst_over_tuning: np.ndarray

    @property
    def linewidth(self) -> float:
        return self.res_prm.alpha * _offset_resonance(self.stno_prm.f0, self.offset, self.res_prm.alpha)

    @property
    def max_shift(self) -> np.ndarray:
        """Largest |f - f0| over the operating range (Hz), per N."""
        return np.abs(self.freq - self.stno_prm.f0).max(axis=1)

    def report(self) -> str:
        rows = [(f"{n / TWO_PI / 1e6:.4g}", f"{s / 1e6:.4g}", f"{s / self.linewidth:.3g}",
                 f"{100 * np.abs(e).max():.2f} %", f"{100 * w:.2f} %")
                for n, s, e, w in zip(self.N, self.max_shift, self.weight_error,
                                      self.worst_over_tuning)]
        i0, i1 = self.currents[0], self.currents[-1]
        return (f"frequency pulling: STNO f0 = {self.stno_prm.f0 / 1e9:g} GHz, I = {i0 * 1e6:.3g}"
                f"..{i1 * 1e6:.3g} uA (p0 up to {self.p0.max():.3g}); resonator {self.offset:g} "
                f"linewidths above f0 (linewidth {self.linewidth / 1e6:.3g} MHz)\n"
                + _table(("N/2pi (MHz)", "max shift (MHz)", "linewidths", "weight error/peak",
                          "worst tuning"), rows))

    def plot(self, path: str) -> str:
        plt = pyplot()
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        z = self.currents / self.stno_prm.I_th
        for n, f, e in zip(self.N, self.freq, self.weight_error):
            label = f"N/2pi = {n / TWO_PI / 1e6:.3g} MHz"
            ax.plot(z, (f - self.stno_prm.f0) / self.linewidth, label=label)
            ax2.plot(z, 100 * e, label=label)
        ax.set_xlabel("drive I / I_th")
        ax.set_ylabel("frequency shift (resonator linewidths)")
        ax2.set_xlabel("drive I / I_th")
        ax2.set_ylabel("weight error G(f) - G(f0) (% of peak)")
        ax.legend(fontsize=8)
        ax.set_title("STNO frequency pulling f0 + N p0 / 2 pi", fontsize=10)
        ax2.set_title(f"next-layer weight, resonator {self.offset:g} linewidths above f0", fontsize=10)
        for a in (ax, ax2):
            a.grid(alpha=0.3)
        fig.tight_layout()
        return save(fig, path)


def pulling(N_values: Sequence[float], stno_prm: STNOParams | None = None,
            res_prm: ResonatorParams | None = None, offset: float = 1.0,
            n_points: int = 61) -> PullingResult:
    """Frequency and weight error of an STNO with each nonlinear shift N (rad/s) over its current
    range [I_min, I_max] (steady power p0(I)); the surrogate's own functions, no simulation."""
    stno_prm = stno_prm or STNOParams()
    res_prm = res_prm or ResonatorParams()
    N = np.asarray(_finite_tuple("N_values", N_values))
    currents = np.linspace(stno_prm.I_min_ratio, stno_prm.I_max_ratio, int(n_points)) * stno_prm.I_th
    p0 = stno.steady_power(torch.tensor(currents), stno_prm).numpy()
    freq = np.array([stno.frequency(torch.tensor(p0), stno_prm.replace(N=float(n))).numpy()
                     for n in N])
    _check_frequencies("pulled STNO frequencies", freq.reshape(-1))
    f0 = stno_prm.f0

    def weight_error(f_r: float) -> np.ndarray:
        g = resonator.lorentzian(torch.tensor(freq), torch.tensor(f_r, dtype=torch.float64), res_prm)
        g0 = resonator.lorentzian(torch.tensor(f0, dtype=torch.float64),
                                  torch.tensor(f_r, dtype=torch.float64), res_prm)
        return ((g - g0) / resonator.peak_weight(res_prm)).numpy()

    err = weight_error(_offset_resonance(f0, offset, res_prm.alpha))
    worst = np.max([np.abs(weight_error(_offset_resonance(f0, o, res_prm.alpha))).max(axis=1)
                    for o in np.linspace(-3, 3, 121)], axis=0)
    return PullingResult(N, stno_prm, res_prm, float(offset), currents, p0, freq, err, worst)


@dataclasses.dataclass
class PullingCheck:
    """One rf run per N: an ``stno_rf`` at drive z = I / I_th feeding one resonator chain.

    f_measured: the carrier's frequency from its zero crossings, mapped back through the
    fixed-step warp (what the resonator sees); v_measured: the chain's rectified DC voltage;
    v_pulled / v_f0: the Lorentzian at the pulled frequency / at f0, times the emitted power;
    v_exact: the exact linear response at the pulled frequency."""

    N: np.ndarray
    z: float
    p0: float
    power: float
    f0: float
    f_r: float
    f_pulled: np.ndarray
    f_measured: np.ndarray
    v_measured: np.ndarray
    v_pulled: np.ndarray
    v_f0: np.ndarray
    v_exact: np.ndarray
    seconds: float

    @property
    def closer_to_pulled(self) -> np.ndarray:
        return np.abs(self.v_measured - self.v_pulled) < np.abs(self.v_measured - self.v_f0)

    def report(self) -> str:
        rows = [(f"{n / TWO_PI / 1e6:.4g}", f"{(fp - self.f0) / 1e6:.4g}", f"{(fm - self.f0) / 1e6:.4g}",
                 f"{1e3 * vm:.4f}", f"{1e3 * vp:.4f}", f"{1e3 * v0:.4f}", f"{1e3 * ve:.4f}",
                 "-" if fp == self.f0 else "pulled" if c else "f0")
                for n, fp, fm, vm, vp, v0, ve, c in zip(self.N, self.f_pulled, self.f_measured,
                                                         self.v_measured, self.v_pulled, self.v_f0,
                                                         self.v_exact, self.closer_to_pulled)]
        return (f"rf pulling check: stno_rf at I = {self.z:g} I_th (p0 = {self.p0:.3g}, "
                f"{self.power * 1e6:.3g} uW) into one resonator at f0 + "
                f"{(self.f_r - self.f0) / 1e6:.3g} MHz, {self.seconds:.1f} s\n"
                + _table(("N/2pi MHz", "shift MHz", "measured shift", "V rf mV", "Lor. pulled mV",
                          "Lor. f0 mV", "exact pulled mV", "closer to"), rows))


def pulling_rf_check(N_values: Sequence[float], stno_prm: STNOParams | None = None,
                     res_prm: ResonatorParams | None = None, z: float = 3.0, offset: float = 0.0,
                     lp_ratio: float | None = None, settle_tau: float = 12.0,
                     points_per_period: int = rfstep.POINTS_PER_PERIOD,
                     timeout: float = 600.0) -> PullingCheck:
    """One deck, one STNO + chain per N: the STNO (started at its steady power) drives a resonator
    ``offset`` linewidths above f0 (0: tuned at f0, where the weight is most sensitive). The STNO is
    integrated by the fixed-step trapezoid, so it emits the pre-warped frequency by itself."""
    stno_prm = stno_prm or STNOParams()
    res_prm = res_prm or ResonatorParams()
    N = np.asarray(_finite_tuple("N_values", N_values))
    if not stno_prm.I_min_ratio < z <= stno_prm.I_max_ratio or z <= 1:
        raise ValueError(f"z = I / I_th must be above threshold and within "
                         f"({stno_prm.I_min_ratio:g}, {stno_prm.I_max_ratio:g}], got {z!r}")
    lp = _check_lp_ratio(res_prm.lp_ratio if lp_ratio is None else lp_ratio)
    ppp = _check_ppp(points_per_period)
    f0 = stno_prm.f0
    current = z * stno_prm.I_th
    p0 = float(stno.steady_power(torch.tensor(current), stno_prm))
    power = float(stno.emitted_power(torch.tensor(p0), torch.tensor(current), stno_prm))
    f_pulled = f0 + N * p0 / TWO_PI
    _check_frequencies("pulled STNO frequencies", f_pulled)
    f_r = _offset_resonance(f0, offset, res_prm.alpha)
    setup = CrosstalkSetup([float(f) for f in f_pulled], [power] * len(N), [[f_r]] * len(N),
                           prm=res_prm, lp_ratio=lp, settle_tau=settle_tau, points_per_period=ppp)
    # the step as compile_rf picks it for STNOs: f0 + max(N, 0) / 2 pi bounds the carrier
    h = rfstep.step_for(f0 + max(N.max(), 0) / TWO_PI, ppp)
    t_settle = settle_tau * max(1 / (lp * f_pulled.min()), 1 / (res_prm.alpha * f_r)) / TWO_PI
    window = 50.0 / f0
    t_stop = t_settle + window
    lines = ["* spicegen crosstalk: stno_rf frequency pulling",
             Options(reltol=1e-5, abstol=1e-15, vntol=1e-9).render(),
             resonator.spice_subckt(res_prm, "rf"), stno.spice_subckt(stno_prm, "rf")]
    saves = []
    for k, n in enumerate(N):
        lines += [f"Iin{k} 0 in{k} DC {num(current)}",
                  f"Xs{k} in{k} out{k} p{k} stno_rf params: nshift={num(n)}",
                  # steady power, phase 90 degrees: the carrier starts at zero (see ``carrier``)
                  f".ic v(xs{k}.x)=0 v(xs{k}.y)={num(math.sqrt(p0))}",
                  f"Gline{k} 0 h{k} out{k} 0 {num(1.0 / res_prm.Z0)}"]
        lines += chain_cards([f_r], [1], res_prm.R0, f"{k}", f"h{k}")
        lines.append(f"Xlp{k} h{k} lp{k} readout_lp params: fc={num(lp * f_pulled.min())}")
        saves += [f"v(lp{k})", f"v(out{k})"]
    lines.append(".save " + " ".join(saves))
    lines += rfstep.cards(h, t_stop)
    lines.append(".end")
    start = time.perf_counter()
    (res,) = _run_many(["\n".join(lines) + "\n"], 1, timeout)
    n_grid = int(round(window / h)) + 1
    tg = np.linspace(t_stop - window, t_stop, n_grid)
    v_meas, f_meas = [], []
    for k in range(len(N)):
        v_meas.append(_hann_mean(np.interp(tg, res.scale, res[f"v(lp{k})"])))
        f_emit = _zero_crossing_frequency(res.scale, res[f"v(out{k})"], t_stop - window)
        f_meas.append(float(np.tan(np.pi * f_emit * h) / (np.pi * h)))
    lor = surrogate_matrix(setup)
    g0 = float(resonator.lorentzian(torch.tensor(f0, dtype=torch.float64),
                                    torch.tensor(f_r, dtype=torch.float64), res_prm))
    exact = linear_response(setup)
    return PullingCheck(N, float(z), p0, power, f0, f_r, f_pulled, np.array(f_meas),
                        np.array(v_meas), power * np.diag(lor), power * g0 * np.ones(len(N)),
                        power * np.diag(exact), time.perf_counter() - start)
