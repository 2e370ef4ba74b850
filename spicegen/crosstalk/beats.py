"""Study 2: the ripple at the beat of two channels on a chain's read-out against the two-pole
attenuation of the read-out low-pass."""
from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import numpy as np

from spintronic.models.resonator import ResonatorParams, two_pole

from .. import rfstep
from ..plotting import pyplot, save
from .deck import _deck
from .predict import beat_amplitudes
from .readout import _hann_mean, _lockin_amplitude, _window_grid
from .run import _run_many
from .setup import CrosstalkSetup, _check_positive, _finite_tuple, _offset_resonance
from .tables import _table


@dataclasses.dataclass
class BeatNoteResult:
    """Ripple at the beat of two channels on one chain's read-out, per read-out corner.

    All arrays per corner. ``ripple_ptp``: peak-to-peak of the read-out over the window;
    ``lockin_ptp``: 2 x amplitude of the read-out's tone at the simulated beat (rejects carrier
    leak); ``unfiltered_ptp``: the same at the chain's head (before the low-pass);
    ``predicted_ptp``: the linear-response beat times the two-pole attenuation."""

    spacing: float
    f_beat: float
    f_beat_sim: float
    corners: np.ndarray
    ripple_ptp: np.ndarray
    lockin_ptp: np.ndarray
    unfiltered_ptp: np.ndarray
    unfiltered_predicted: float
    dc: np.ndarray
    seconds: float

    @property
    def attenuation(self) -> np.ndarray:
        """Measured read-out / unfiltered beat amplitude."""
        return self.lockin_ptp / self.unfiltered_ptp

    @property
    def two_pole(self) -> np.ndarray:
        return two_pole(self.f_beat_sim, self.corners)

    @property
    def predicted_ptp(self) -> np.ndarray:
        return self.unfiltered_predicted * self.two_pole

    def report(self) -> str:
        rows = [(f"{fc / 1e6:.3g}", f"{fc / self.f_beat_sim:.3g}", f"{1e3 * r:.4f}",
                 f"{1e3 * l:.4f}", f"{1e3 * p:.4f}", f"{a:.4g}", f"{h:.4g}", f"{a / h:.3f}",
                 f"{100 * r / abs(d):.2f} %" if d else "-")
                for fc, r, l, p, a, h, d in zip(self.corners, self.ripple_ptp, self.lockin_ptp,
                                                 self.predicted_ptp, self.attenuation,
                                                 self.two_pole, self.dc)]
        head = (f"beat notes: two channels {self.spacing:g} linewidths apart, beat {self.f_beat / 1e6:.4g} "
                f"MHz (simulated {self.f_beat_sim / 1e6:.4g} MHz at this step), unfiltered "
                f"{1e3 * float(np.median(self.unfiltered_ptp)):.4f} mV p-p (predicted "
                f"{1e3 * self.unfiltered_predicted:.4f}), {self.seconds:.1f} s")
        return head + "\n" + _table(("corner MHz", "fc/fb", "ripple p-p mV", "at fb p-p mV",
                                     "predicted mV", "measured |H|", "two-pole |H|", "ratio",
                                     "ripple/DC"), rows)

    def plot(self, path: str) -> str:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5.5, 4))
        x = np.geomspace(min(self.corners) / self.f_beat_sim / 2, max(self.corners) / self.f_beat_sim * 2)
        ax.loglog(x, two_pole(1.0, x), color="tab:blue", lw=2.5, alpha=0.6,
                  label="two-pole 1/(1+(fb/fc)^2)")
        ax.loglog(self.corners / self.f_beat_sim, self.attenuation, "ko",
                  label="ngspice: read-out / unfiltered at fb")
        ax.loglog(self.corners / self.f_beat_sim, self.ripple_ptp / self.unfiltered_ptp, "x",
                  color="tab:red", label="ngspice: p-p ripple / unfiltered")
        ax.set_xlabel("read-out corner / beat frequency")
        ax.set_ylabel("beat ripple, relative to unfiltered")
        ax.set_title(f"beat notes at {self.f_beat / 1e6:.3g} MHz ({self.spacing:g} linewidths)",
                     fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        return save(fig, path)


def beat_note_sweep(corner_over_beat: Sequence[float] = (0.1, 0.3, 1.0, 3.0),
                    spacing: float = 8.0, f1: float = 1e9, power: float = 1e-6,
                    offset: float = 1.0, prm: ResonatorParams | None = None,
                    settle_tau: float = 12.0, points_per_period: int = rfstep.POINTS_PER_PERIOD,
                    workers: int = 2, timeout: float = 600.0) -> BeatNoteResult:
    """Two channels, f1 and f1 + spacing linewidths (of f1), both at ``power``, on one chain of
    one resonator ``offset`` linewidths above f1; one run per read-out corner, set as a multiple of
    the simulated beat frequency. Returns the ripple vs corner / beat."""
    prm = prm or ResonatorParams()
    ratios = _finite_tuple("corner_over_beat", corner_over_beat)
    if min(ratios) <= 0:
        raise ValueError(f"corner_over_beat must be > 0, got {ratios}")
    _check_positive("spacing", spacing)
    _check_positive("power", power)
    freqs = [f1, f1 + spacing * prm.alpha * f1]
    base = CrosstalkSetup(freqs, [power, power], [[_offset_resonance(f1, offset, prm.alpha)]],
                          prm=prm, settle_tau=settle_tau, points_per_period=points_per_period)
    (_, _, fb, fb_sim), = base.beats
    setups = []
    for r in ratios:
        lp = r * fb_sim / min(freqs)
        if not 0 < lp < 1:
            raise ValueError(f"corner {r:g} x beat = {r * fb_sim:.4g} Hz is not below the carrier "
                             f"{min(freqs):.4g} Hz (lp_ratio {lp:.3g} not in (0, 1))")
        setups.append(dataclasses.replace(base, lp_ratio=lp))
    start = time.perf_counter()
    results = _run_many([_deck(s, [0, 1], s.powers, save_heads=True, title=f"beat, lp {s.lp_ratio:g}")
                         for s in setups], workers, timeout)
    ripple, lockin, unf, dc = [], [], [], []
    for s, r in zip(setups, results):
        tg = _window_grid(s)
        v = np.interp(tg, r.scale, r["v(lp0)"])
        head = np.interp(tg, r.scale, r["v(h0)"])
        ripple.append(float(np.ptp(v)))
        lockin.append(2 * _lockin_amplitude(tg, v, fb_sim))
        unf.append(2 * _lockin_amplitude(tg, head, fb_sim))
        dc.append(_hann_mean(v))
    predicted = 2 * float(beat_amplitudes(base)[0, 0])
    return BeatNoteResult(spacing, fb, fb_sim, np.array([s.corner for s in setups]),
                          np.array(ripple), np.array(lockin), np.array(unf), predicted,
                          np.array(dc), time.perf_counter() - start)
