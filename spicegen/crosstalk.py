"""RF crosstalk inspection at carrier (rf) fidelity: what the Lorentzian surrogate hides.

The surrogate treats a chain of resonators as a sum of Lorentzian rectifiers, W[j, i] =
sum_k o_k G(f_i, f_r,jk): linear in the input powers, instantaneous, with fixed source frequencies.
The rf circuit (the same cards as :func:`spicegen.compiler.compile_rf`: ideal pre-warped carriers of
amplitude sqrt(2 Z0 P), line current sum V/Z0 into each chain, one linear ``mtj_prec`` precession per
resonator summing into a resistance node, one junction B-source per chain, a two-pole ``readout_lp``)
computes the same quantity from waveforms (one departure: carriers start at zero, see
``CrosstalkSetup.carrier``). This module measures where the two part:

1. :func:`measure_crosstalk`: each input driven alone, and all together. The single-drive response
   matrix M[j, i] (V/W) against the Lorentzian, and the superposition error (all together minus the
   sum of the single drives): the mixing products, which the surrogate sets to zero.
2. :func:`beat_note_sweep`: the ripple at f_i - f_j on a chain's read-out against the two-pole
   attenuation 1 / (1 + (f_b / f_c)^2) of the read-out low-pass.
3. :func:`pulling` and :func:`pulling_rf_check`: an STNO with a nonlinear frequency shift N moves
   its carrier by N p / 2 pi over its current range, and the next layer's weights move with it.
4. :func:`spacing_guideline`: crosstalk of a one-resonator-per-channel layer against the channel
   spacing (Lorentzian, fast), with a few rf confirmations, and the minimum spacing for a bound.

What the measurement shows (derivations in :func:`linear_response`):

- The rf resonator is a linear oscillator, so the chain voltage I (R0 + dR) is exactly bilinear in
  the line current: DC levels scale exactly with P (no drive-strength effect exists in this model;
  a real junction saturates, which neither fidelity represents), and the all-together DC level equals
  the sum of the single-drive levels; the cross terms are pure tones at f_i - f_j (beat notes) and
  f_i + f_j.
- The surrogate is the rotating-wave limit of that oscillator. The counter-rotating half of the drive
  adds about -alpha x (peak weight) to EVERY entry (x orientation): 1 % of the largest entry at
  alpha = 0.01, but 5 % of an entry that is 20 % of the peak. :func:`linear_response` is the
  exact (non-rotating-wave) prediction; what is left against it is numerics and settling.
- The read-out low-pass attenuates the beat notes by 1 / (1 + (f_b / f_c)^2) only; with its corner
  near or above the channel spacing the next layer sees them.
- Fixed-step runs pre-warp the ideal carriers so that the resonators see exactly f_i, but the beat
  notes come out at the difference of the EMITTED frequencies, f'_i - f'_j ~ (f_i - f_j) /
  (1 + (pi f h)^2): 9 % low at 10 points per period. The ripple predictions here use the simulated
  beat frequency; for a faithful beat-note study raise ``points_per_period``.

Every DC level is a Hann-weighted mean over the last ``window`` of the run (at least 20 periods of
the slowest carrier and ``beat_periods`` periods of the slowest beat), which rejects the carrier
leak and the beats; the peak superposition error is read over the same window, sample by sample.
"""
from __future__ import annotations

import dataclasses
import math
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np
import torch

from spintronic.models import resonator, stno
from spintronic.models.params import spice_number as num
from spintronic.models.resonator import ResonatorParams
from spintronic.models.stno import STNOParams

from . import rfstep
# private helper of the compiler: the one place that knows how a chain is emitted at rf fidelity
from .compiler import chain_cards
from .runner import run_netlist

TWO_PI = 2.0 * math.pi
F_DEVICE_MIN = 1e6     # sane device range for carriers and resonances (Hz)
F_DEVICE_MAX = 100e9
METRICS = ("abs", "worst", "signed")
CARRIERS = ("sin", "cos")
MAX_STEPS = 5_000_000  # a run longer than this is a mistake (channels closer than ~0.01 linewidth)


# ---------------------------------------------------------------------------------- validation

def _finite_tuple(name: str, values, allow_empty: bool = False) -> tuple[float, ...]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {values!r}")
    return tuple(float(v) for v in arr)


def _check_frequencies(name: str, values) -> tuple[float, ...]:
    out = _finite_tuple(name, values)
    for k, f in enumerate(out):
        if not F_DEVICE_MIN <= f <= F_DEVICE_MAX:
            raise ValueError(f"{name}[{k}] = {f!r} Hz is outside the device range "
                             f"[{F_DEVICE_MIN:g}, {F_DEVICE_MAX:g}] Hz (must be positive, in Hz)")
    return out


def _check_lp_ratio(lp_ratio: float) -> float:
    if isinstance(lp_ratio, bool) or not isinstance(lp_ratio, (int, float, np.floating)) \
            or not 0 < lp_ratio < 1:
        raise ValueError(f"lp_ratio (read-out corner / lowest carrier) must be in (0, 1), "
                         f"got {lp_ratio!r}")
    return float(lp_ratio)


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_ppp(points_per_period) -> int:
    if isinstance(points_per_period, bool) or int(points_per_period) != points_per_period:
        raise ValueError(f"points_per_period must be an integer, got {points_per_period!r}")
    rfstep.step_for(1.0, int(points_per_period))  # raises below 6
    return int(points_per_period)


def _offset_resonance(f_channel: float, offset: float, alpha: float) -> float:
    """f_r with f_r - f_channel = offset linewidths of that resonator (D = alpha f_r)."""
    if not abs(offset * alpha) < 1:
        raise ValueError(f"offset {offset!r} linewidths is more than a resonance frequency "
                         f"(alpha = {alpha})")
    return f_channel / (1.0 - offset * alpha)


def two_pole(f: np.ndarray | float, fc: float) -> np.ndarray | float:
    """|H| of the read-out low-pass (two equal real poles at fc): 1 / (1 + (f / fc)^2)."""
    return 1.0 / (1.0 + (np.asarray(f) / fc) ** 2)


# ---------------------------------------------------------------------------------- the setup

@dataclasses.dataclass(frozen=True)
class CrosstalkSetup:
    """Input channels (f_i, P_i) on one line and the resonator chains that listen to it.

    chains[j] lists the resonance frequencies of chain j; orientations[j] their +1 / -1 mounting
    (default alternating head-to-tail, +1, -1, ..., as ``resonator.chain_weights`` assumes).
    The read-out corner is ``lp_ratio`` times the lowest carrier (as in ``compile_rf``); every run
    lasts settle_tau slowest time constants (read-out pole or resonator decay) plus the read window.
    ``carrier`` "sin" starts every carrier at zero; "cos" is compile_rf's choice, which starts them at
    their peak, so that ngspice's operating point charges every read-out low-pass to R0 sum I_i
    (0.2 V per 1 uW channel and kOhm of chain, tens of times the signal), a transient that
    costs about ten times more settling residue at the same settle_tau.
    """

    freqs: Sequence[float]
    powers: Sequence[float]
    chains: Sequence[Sequence[float]]
    orientations: Sequence[Sequence[int]] | None = None
    prm: ResonatorParams = dataclasses.field(default_factory=ResonatorParams)
    lp_ratio: float | None = None
    settle_tau: float = 12.0
    points_per_period: int = rfstep.POINTS_PER_PERIOD
    beat_periods: float = 3.0
    carrier: str = "sin"

    def __post_init__(self) -> None:
        if not isinstance(self.prm, ResonatorParams):
            raise ValueError(f"prm must be a ResonatorParams, got {type(self.prm).__name__}")
        freqs = _check_frequencies("freqs", self.freqs)
        powers = _finite_tuple("powers", self.powers)
        if len(powers) != len(freqs):
            raise ValueError(f"{len(freqs)} frequencies but {len(powers)} powers")
        if min(powers) < 0:
            raise ValueError(f"powers must be >= 0 W, got {powers}")
        if max(powers) <= 0:
            raise ValueError("at least one input power must be > 0")
        if isinstance(self.chains, (str, bytes)) or len(self.chains) == 0:
            raise ValueError("chains is empty: give at least one chain of resonance frequencies")
        chains = []
        for j, c in enumerate(self.chains):
            if np.ndim(c) == 0:
                raise ValueError(f"chains[{j}] must be a sequence of resonance frequencies, got {c!r}")
            if len(c) == 0:
                raise ValueError(f"chains[{j}] is empty: a chain needs at least one resonator")
            chains.append(_check_frequencies(f"chains[{j}]", c))
        if self.orientations is None:
            orients = [tuple(1 if k % 2 == 0 else -1 for k in range(len(c))) for c in chains]
        else:
            if len(self.orientations) != len(chains):
                raise ValueError(f"{len(chains)} chains but {len(self.orientations)} orientation lists")
            orients = []
            for j, (c, o) in enumerate(zip(chains, self.orientations)):
                o = tuple(int(x) for x in o) if np.ndim(o) == 1 else None
                if o is None or len(o) != len(c) or any(x not in (1, -1) for x in o):
                    raise ValueError(f"orientations[{j}] must be {len(c)} values of +1 / -1, "
                                     f"got {self.orientations[j]!r}")
                orients.append(o)
        lp = _check_lp_ratio(self.prm.lp_ratio if self.lp_ratio is None else self.lp_ratio)
        if self.carrier not in CARRIERS:
            raise ValueError(f"carrier must be one of {CARRIERS}, got {self.carrier!r}")
        object.__setattr__(self, "freqs", freqs)
        object.__setattr__(self, "powers", powers)
        object.__setattr__(self, "chains", tuple(chains))
        object.__setattr__(self, "orientations", tuple(orients))
        object.__setattr__(self, "lp_ratio", lp)
        object.__setattr__(self, "settle_tau", _check_positive("settle_tau", self.settle_tau))
        object.__setattr__(self, "beat_periods", _check_positive("beat_periods", self.beat_periods))
        object.__setattr__(self, "points_per_period", _check_ppp(self.points_per_period))
        if self.t_stop / self.step > MAX_STEPS:
            raise ValueError(f"this setup needs {self.t_stop / self.step:.3g} fixed steps (more than "
                             f"{MAX_STEPS:g}): channels closer than the read window can resolve "
                             f"(slowest beat {min(b for *_, b in self.beats):.3g} Hz)")

    @classmethod
    def layer(cls, n_channels: int, spacing: float, f_min: float = 1e9, offset: float = 1.0,
              power: float = 1e-6, grid: str = "geometric", prm: ResonatorParams | None = None,
              **kw) -> "CrosstalkSetup":
        """n channels ``spacing`` linewidths apart and one single-resonator chain per channel,
        ``offset`` linewidths above it (offset 1: at the peak of the antisymmetric Lorentzian).
        grid "geometric": f_k = f_min (1 + spacing alpha)^k, the same spacing in every channel's
        own linewidths; "linear": f_k = f_min (1 + k spacing alpha), linewidths of f_min."""
        prm = prm or ResonatorParams()
        freqs = layer_frequencies(n_channels, spacing, f_min, prm.alpha, grid)
        chains = [[_offset_resonance(f, offset, prm.alpha)] for f in freqs]
        return cls(freqs, [power] * len(freqs), chains, prm=prm, **kw)

    # derived quantities ------------------------------------------------------------------
    @property
    def n_in(self) -> int:
        return len(self.freqs)

    @property
    def n_chains(self) -> int:
        return len(self.chains)

    @property
    def step(self) -> float:
        return rfstep.step_for(max(self.freqs), self.points_per_period)

    @property
    def corner(self) -> float:
        """Read-out low-pass corner (Hz): lp_ratio x the lowest carrier."""
        return self.lp_ratio * min(self.freqs)

    @property
    def emitted(self) -> np.ndarray:
        """Frequencies the ideal sources emit so that the resonators see ``freqs``."""
        return np.asarray(rfstep.prewarp(np.asarray(self.freqs), self.step))

    @property
    def beats(self) -> list[tuple[int, int, float, float]]:
        """(i, j, f_i - f_j, simulated beat f'_i - f'_j) of every pair of powered inputs, i > j."""
        fe = self.emitted
        on = [i for i in range(self.n_in) if self.powers[i] > 0]
        return [(i, j, abs(self.freqs[i] - self.freqs[j]), abs(fe[i] - fe[j]))
                for a, i in enumerate(on) for j in on[:a] if self.freqs[i] != self.freqs[j]]

    @property
    def tau(self) -> float:
        """Slowest time constant: read-out pole or resonator amplitude decay (s)."""
        f_r = min(min(c) for c in self.chains)
        return max(1.0 / self.corner, 1.0 / (self.prm.alpha * f_r)) / TWO_PI

    @property
    def window(self) -> float:
        """Read window (s): 20 periods of the slowest carrier and beat_periods of the slowest beat."""
        w = 20.0 / min(self.freqs)
        beats = [b for *_, b in self.beats]
        if beats:
            w = max(w, self.beat_periods / min(beats))
        return w

    @property
    def t_stop(self) -> float:
        return self.settle_tau * self.tau + self.window

    def settling_residue(self) -> float:
        """Estimated fraction of the start-up transient left when the window opens: three poles
        at tau (resonator decay and two read-out poles, the worst case), e^-x (1 + x + x^2 / 2)."""
        x = self.settle_tau
        return math.exp(-x) * (1.0 + x + x * x / 2.0)


def layer_frequencies(n_channels: int, spacing: float, f_min: float, alpha: float,
                      grid: str = "geometric") -> np.ndarray:
    """Channel frequencies ``spacing`` linewidths apart (see :meth:`CrosstalkSetup.layer`)."""
    if isinstance(n_channels, bool) or int(n_channels) != n_channels or n_channels < 1:
        raise ValueError(f"n_channels must be an integer >= 1, got {n_channels!r}")
    _check_positive("spacing", spacing)
    _check_frequencies("f_min", [f_min])
    k = np.arange(int(n_channels))
    if grid == "geometric":
        return f_min * (1.0 + spacing * alpha) ** k
    if grid == "linear":
        return f_min * (1.0 + k * spacing * alpha)
    raise ValueError(f"grid must be 'geometric' or 'linear', got {grid!r}")


# ---------------------------------------------------------------------------------- predictions

def surrogate_matrix(setup: CrosstalkSetup) -> np.ndarray:
    """The surrogate's W[j, i] (V/W): sum_k o_k G(f_i, f_r,jk), via ``resonator.chain_weights``
    for alternately mounted chains (the surrogate's own layout) and the same Lorentzian otherwise."""
    f = torch.tensor(setup.freqs, dtype=torch.float64)
    rows = []
    for fr, o in zip(setup.chains, setup.orientations):
        f_r = torch.tensor(fr, dtype=torch.float64)
        alternating = tuple(1 if k % 2 == 0 else -1 for k in range(len(fr)))
        if o == alternating:
            rows.append(resonator.chain_weights(f, f_r[None, :], setup.prm)[0])
        else:
            g = resonator.lorentzian(f[None, :], f_r[:, None], setup.prm)
            rows.append(torch.tensor(o, dtype=torch.float64) @ g)
    return torch.stack(rows).numpy()


def resonator_response(f: np.ndarray, f_r: float, prm: ResonatorParams) -> np.ndarray:
    """Complex phasor ratio dR / I (Ohm/A) of one ``mtj_prec`` resonator (orientation +1) driven by
    I0 cos(2 pi f t), without the rotating-wave approximation.

    m = A e^{iwt} + B e^{-iwt} with A = (Gamma I0 / 2) / (Gamma + i (w + w_r)) (counter-rotating)
    and B = (Gamma I0 / 2) / (Gamma + i (w_r - w)); so u = Re((A + B*) e^{iwt}),
    v = Re((-iA + iB*) e^{iwt}) and dR = beta_s u + beta_a v.
    """
    w = TWO_PI * np.asarray(f, dtype=np.float64)
    wr = TWO_PI * f_r
    gam = prm.alpha * wr
    a = 0.5 * gam / (gam + 1j * (w + wr))
    b = 0.5 * gam / (gam + 1j * (wr - w))
    beta_s, beta_a = resonator.mixing_coefficients(prm)
    return beta_s * (a + np.conj(b)) + beta_a * (-1j * a + 1j * np.conj(b))


def chain_response(setup: CrosstalkSetup) -> np.ndarray:
    """(n_chains, n_in) complex dR / I of every chain at every input frequency (Ohm/A)."""
    f = np.asarray(setup.freqs)
    return np.array([sum(o * resonator_response(f, fr, setup.prm) for fr, o in zip(c, orient))
                     for c, orient in zip(setup.chains, setup.orientations)])


def linear_response(setup: CrosstalkSetup) -> np.ndarray:
    """Exact DC response (V/W) of the rf circuit: <I dR> / P = Re(H) / Z0, H = :func:`chain_response`.

    In the rotating-wave limit it is the Lorentzian; the counter-rotating term adds about
    -alpha x K_SD a_asym per resonator (x orientation), whatever the detuning.
    """
    return chain_response(setup).real / setup.prm.Z0


def beat_amplitudes(setup: CrosstalkSetup) -> np.ndarray:
    """(n_chains, n_pairs) amplitude (V) of the unfiltered beat of each pair in ``setup.beats``:
    (I_i I_j / 2) |H_j(f_i) + conj(H_j(f_k))|, I = sqrt(2 P / Z0)."""
    H = chain_response(setup)
    amp = np.sqrt(2.0 * np.asarray(setup.powers) / setup.prm.Z0)
    return np.array([[0.5 * amp[i] * amp[k] * abs(H[j, i] + np.conj(H[j, k]))
                      for i, k, _, _ in setup.beats] for j in range(setup.n_chains)]
                    ).reshape(setup.n_chains, len(setup.beats))


def crosstalk_error(W: np.ndarray, metric: str = "abs") -> np.ndarray:
    """Per chain j of a square layer, off-diagonal weight relative to |W[j, j]|.

    "abs": sum_{i != j} |W_ji| (every other channel at full power, worst signs);
    "worst": the worst case for non-negative inputs, max(sum of positive, sum of negative tails);
    "signed": |sum_{i != j} W_ji| (all channels on at equal power).
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"crosstalk_error needs a square (chains x channels) matrix, got {W.shape}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    off = W - np.diag(np.diag(W))
    if metric == "abs":
        tail = np.abs(off).sum(axis=1)
    elif metric == "worst":
        tail = np.maximum(np.clip(off, 0, None).sum(axis=1), -np.clip(off, None, 0).sum(axis=1))
    else:
        tail = np.abs(off.sum(axis=1))
    return tail / np.abs(np.diag(W))


# ---------------------------------------------------------------------------------- netlists

def _deck(setup: CrosstalkSetup, drive: Sequence[int], powers: Sequence[float],
          save_heads: bool = False, title: str = "") -> str:
    """One run: inputs ``drive`` at ``powers`` on the line of every chain."""
    h = setup.step
    prm = setup.prm
    lines = [f"* spicegen crosstalk {title}".rstrip(),
             ".options reltol=1e-5 abstol=1e-15 vntol=1e-9",
             resonator.spice_subckt(prm, "rf"),
             "* input carriers: amplitude sqrt(2 Z0 P), emitted at the pre-warped frequency"
             + (", zero at t = 0" if setup.carrier == "sin" else "")]
    fe = setup.emitted
    for i in drive:
        amp = math.sqrt(2.0 * prm.Z0 * powers[i])
        lines.append(f"Bsrc{i} rf{i} 0 V = {num(amp)}*{setup.carrier}({num(TWO_PI * fe[i])}*time)")
    saves = []
    for j in range(setup.n_chains):
        head = f"h{j}"
        lines += [f"Gline{j}_{i} 0 {head} rf{i} 0 {num(1.0 / prm.Z0)}" for i in drive]
        lines += chain_cards(setup.chains[j], setup.orientations[j],
                             prm.R0 * len(setup.chains[j]), f"{j}", head)
        lines.append(f"Xlp{j} {head} lp{j} readout_lp params: fc={num(setup.corner)}")
        saves.append(f"v(lp{j})")
        if save_heads:
            saves.append(f"v({head})")
    lines.append(".save " + " ".join(saves))
    lines += rfstep.cards(h, setup.t_stop)
    lines.append(".end")
    return "\n".join(lines) + "\n"


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


def _run_many(decks: list[str], workers: int, timeout: float):
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    with ThreadPoolExecutor(int(workers)) as pool:
        return list(pool.map(lambda d: run_netlist(d, "subprocess", timeout=timeout), decks))


# ---------------------------------------------------------------------------------- 1. matrix

@dataclasses.dataclass
class CrosstalkResult:
    """Single-drive response matrix against the surrogate, and the superposition error.

    measured, surrogate, exact: (n_chains, n_in) V/W (``exact`` = :func:`linear_response`);
    v_single: (n_chains, n_in) DC volts of each single-drive run; v_all: (n_chains,) DC volts with
    every input on; superposition_dc = v_all - sum_i v_single (V); superposition_peak: the largest
    |v_all(t) - sum_i v_i(t)| over the read window (V), what the next layer sees at an instant;
    beat_bound: sum over pairs of unfiltered beat amplitude x two-pole attenuation (V), its
    prediction (an upper bound, the beats' phases aside).
    """

    setup: CrosstalkSetup
    measured: np.ndarray
    surrogate: np.ndarray
    exact: np.ndarray
    v_single: np.ndarray
    v_all: np.ndarray | None
    superposition_dc: np.ndarray | None
    superposition_peak: np.ndarray | None
    beat_bound: np.ndarray | None
    seconds: float
    n_runs: int
    waveforms: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def peak(self) -> float:
        return float(np.abs(self.surrogate).max())

    @property
    def error(self) -> np.ndarray:
        """(measured - surrogate) / max |surrogate|, entry by entry."""
        return (self.measured - self.surrogate) / self.peak

    @property
    def error_of_max(self) -> float:
        """max |measured - surrogate| / max |surrogate|: the figure the 5 % target is stated in."""
        return float(np.abs(self.error).max())

    def error_per_entry(self, threshold: float = 0.01, reference: str = "surrogate") -> float:
        """max |measured - ref| / |ref| over the entries with |ref| > threshold x max |ref|;
        reference "surrogate" (Lorentzian) or "exact" (non-rotating-wave linear response)."""
        ref = {"surrogate": self.surrogate, "exact": self.exact}[reference]
        mask = np.abs(ref) > threshold * np.abs(ref).max()
        return float((np.abs(self.measured - ref)[mask] / np.abs(ref)[mask]).max())

    @property
    def error_of_max_exact(self) -> float:
        return float(np.abs(self.measured - self.exact).max() / np.abs(self.exact).max())

    @property
    def rwa_offset(self) -> float:
        """Median of (exact - surrogate) / sum_k o_k over the chains whose orientations do not cancel,
        relative to one resonator's peak weight: the counter-rotating shift per resonator,
        -2 alpha f_r / (f + f_r) ~ -alpha (nan if every chain cancels)."""
        net = np.array([sum(o) for o in self.setup.orientations], dtype=np.float64)
        keep = net != 0
        if not keep.any():
            return float("nan")
        shift = (self.exact - self.surrogate)[keep] / net[keep, None]
        return float(np.median(shift) / _peak_weight(self.setup.prm))

    @property
    def signal_scale(self) -> float:
        """Largest total rectified signal of a chain, max_j sum_i |v_single[j, i]| (V)."""
        return float(np.abs(self.v_single).sum(axis=1).max())

    @property
    def superposition_rel(self) -> tuple[float, float]:
        """(DC, peak) superposition errors relative to :attr:`signal_scale`."""
        if self.v_all is None:
            return float("nan"), float("nan")
        s = self.signal_scale
        return (float(np.abs(self.superposition_dc).max() / s),
                float(np.abs(self.superposition_peak).max() / s))

    def diagnosis(self) -> list[str]:
        """Where the surrogate's assumptions hold for this setup, and why not where they fail."""
        s = self.setup
        out = []
        a = s.prm.alpha
        flag = "HOLDS" if a <= 0.01 else "FAILS" if a > resonator.RWA_ALPHA_LIMIT else "MARGINAL"
        out.append(f"[{flag}] rotating wave (alpha = {a:g}): the counter-rotating drive shifts "
                   f"every entry by ~ -alpha x peak; exact-vs-Lorentzian offset "
                   f"{100 * self.rwa_offset:+.2f} % of one resonator's peak, measured error "
                   f"{100 * self.error_of_max:.2f} % of max; far tails (|W| < {100 * 20 * a:.0f} % "
                   f"of peak) are off by more than 5 % of themselves")
        if s.beats and self.v_all is None:
            out.append("[  ?  ] beat notes: not measured (single drives only)")
        elif s.beats:
            fb = min(b for *_, b in s.beats)
            H = float(two_pole(fb, s.corner))
            flag = "HOLDS" if H < 0.05 else "FAILS" if H > 0.3 else "MARGINAL"
            sup = self.superposition_rel[1]
            out.append(f"[{flag}] read-out corner {s.corner / 1e6:.3g} MHz vs closest beat "
                       f"{fb / 1e6:.3g} MHz: two-pole |H| = {H:.3g}; peak superposition error "
                       f"{100 * sup:.2f} % of the largest chain signal (surrogate: 0)")
        else:
            out.append("[HOLDS] one input: no beat notes")
        res = s.settling_residue()
        flag = "HOLDS" if res < 1e-3 else "FAILS" if res > 0.02 else "MARGINAL"
        out.append(f"[{flag}] settling: {s.settle_tau:g} x tau = {s.settle_tau * s.tau * 1e9:.0f} ns "
                   f"(tau = {s.tau * 1e9:.1f} ns); start-up residue <~ {100 * res:.2g} %; measured vs "
                   f"exact linear response {100 * self.error_of_max_exact:.2f} % of max")
        p = max(s.powers)
        out.append(f"[n/a  ] drive strength (max {p * 1e6:.3g} uW): the rf resonator is linear, so "
                   f"DC levels scale exactly with P in both fidelities; junction saturation is in "
                   f"neither model")
        return out

    def report(self) -> str:
        s = self.setup
        mv = 1e-3 / 1e-6  # V/W per mV/uW
        head = "chain  " + " ".join(f"{f / 1e9:>9.4f}" for f in s.freqs)
        lines = [f"rf crosstalk: {s.n_in} inputs x {s.n_chains} chains, alpha = {s.prm.alpha:g}, "
                 f"read-out corner {s.corner / 1e6:.3g} MHz, {self.n_runs} runs in "
                 f"{self.seconds:.1f} s",
                 "measured single-drive matrix M[j, i] (mV/uW), inputs in GHz:", head]
        for j in range(s.n_chains):
            lines.append(f"{j:>5}  " + " ".join(f"{v / mv:>9.4f}" for v in self.measured[j]))
        lines.append("(M - Lorentzian) / max|Lorentzian| (%):")
        for j in range(s.n_chains):
            lines.append(f"{j:>5}  " + " ".join(f"{100 * v:>9.3f}" for v in self.error[j]))
        lines += [f"max error vs Lorentzian: {100 * self.error_of_max:.3f} % of the max entry; "
                  f"{100 * self.error_per_entry(0.01):.2f} % of the entry (entries > 1 % of max), "
                  f"{100 * self.error_per_entry(0.2):.2f} % (entries > 20 % of max)",
                  f"max error vs exact linear response: {100 * self.error_of_max_exact:.3f} % of max; "
                  f"{100 * self.error_per_entry(0.01, 'exact'):.2f} % of the entry (> 1 % of max)"]
        if self.v_all is not None:
            dc, pk = self.superposition_rel
            lines.append("superposition (all together - sum of single drives), per chain (mV): "
                         "DC " + " ".join(f"{1e3 * v:+.4f}" for v in self.superposition_dc))
            lines.append("  peak |v_all(t) - sum v_i(t)| " + " ".join(
                f"{1e3 * v:.4f}" for v in self.superposition_peak) + "; beat bound " + " ".join(
                f"{1e3 * v:.4f}" for v in self.beat_bound))
            lines.append(f"  relative to the largest chain signal: DC {100 * dc:.3f} %, "
                         f"peak {100 * pk:.3f} %")
        lines.append("where the surrogate's assumptions hold:")
        lines += ["  " + d for d in self.diagnosis()]
        return "\n".join(lines)

    def plot(self, path: str) -> str:
        plt = _pyplot()
        s = self.setup
        n_ax = 4 if "v_all" in self.waveforms else 3
        fig, axes = plt.subplots(1, n_ax, figsize=(4.2 * n_ax, 3.8))
        lim = np.abs(self.surrogate).max() * 1e-3
        for ax, data, title in ((axes[0], self.measured * 1e-3, "rf measured (mV/uW)"),
                                (axes[1], self.surrogate * 1e-3, "Lorentzian surrogate (mV/uW)")):
            im = ax.imshow(data, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(title, fontsize=9)
            fig.colorbar(im, ax=ax, shrink=0.8)
        e = 100 * self.error
        el = max(np.abs(e).max(), 1e-9)
        im = axes[2].imshow(e, cmap="PuOr", vmin=-el, vmax=el)
        axes[2].set_title("(rf - surrogate) / max (%)", fontsize=9)
        fig.colorbar(im, ax=axes[2], shrink=0.8)
        for ax in axes[:3]:
            ax.set_xlabel("input i")
            ax.set_ylabel("chain j")
            ax.set_xticks(range(s.n_in))
            ax.set_yticks(range(s.n_chains))
        if n_ax == 4:
            w = self.waveforms
            j = int(np.argmax(self.superposition_peak))
            t = (w["t"] - w["t"][0]) * 1e9
            axes[3].plot(t, w["v_all"][j] * 1e3, "k", lw=1, label="all together")
            axes[3].plot(t, w["v_sum"][j] * 1e3, color="tab:blue", lw=2, alpha=0.6,
                         label="sum of single drives")
            axes[3].set_xlabel("time in read window (ns)")
            axes[3].set_ylabel(f"chain {j} read-out (mV)")
            axes[3].legend(fontsize=8)
            axes[3].set_title(f"superposition, corner {s.corner / 1e6:.3g} MHz", fontsize=9)
        fig.suptitle(f"rf crosstalk: max error {100 * self.error_of_max:.2f} % of max entry, "
                     f"alpha = {s.prm.alpha:g}", fontsize=10)
        fig.tight_layout()
        return _save(fig, path)


def measure_crosstalk(setup: CrosstalkSetup, workers: int = 2, together: bool = True,
                      timeout: float = 600.0) -> CrosstalkResult:
    """One rf run per input (driven alone at its power, or at the mean power when its own is 0)
    and, with ``together``, one with every powered input on; one ngspice process per run."""
    start = time.perf_counter()
    on = [i for i in range(setup.n_in) if setup.powers[i] > 0]
    p_single = [p if p > 0 else float(np.mean([setup.powers[i] for i in on])) for p in setup.powers]
    decks = [_deck(setup, [i], p_single, title=f"input {i} alone") for i in range(setup.n_in)]
    if together:
        decks.append(_deck(setup, on, setup.powers, title="all inputs together"))
    results = _run_many(decks, workers, timeout)
    tg = _window_grid(setup)
    wave = np.array([[np.interp(tg, r.scale, r[f"v(lp{j})"]) for j in range(setup.n_chains)]
                     for r in results])  # (runs, chains, time)
    v_single = np.array([[_hann_mean(wave[i, j]) for i in range(setup.n_in)]
                         for j in range(setup.n_chains)])
    measured = v_single / np.asarray(p_single)[None, :]
    v_all = sup_dc = sup_peak = bound = None
    waveforms = {}
    if together:
        v_all = np.array([_hann_mean(wave[-1, j]) for j in range(setup.n_chains)])
        sup_dc = v_all - v_single[:, on].sum(axis=1)
        v_sum = wave[on].sum(axis=0)
        diff = wave[-1] - v_sum
        sup_peak = np.abs(diff).max(axis=1)
        fb = np.array([b for *_, b in setup.beats])
        bound = (beat_amplitudes(setup) * two_pole(fb, setup.corner)[None, :]).sum(axis=1) \
            if len(fb) else np.zeros(setup.n_chains)
        step = max(1, len(tg) // 2000)
        waveforms = {"t": tg[::step], "v_all": wave[-1][:, ::step], "v_sum": v_sum[:, ::step]}
    return CrosstalkResult(setup, measured, surrogate_matrix(setup), linear_response(setup),
                           v_single, v_all, sup_dc, sup_peak, bound,
                           time.perf_counter() - start, len(decks), waveforms)


def assumption_sweep(setup: CrosstalkSetup, workers: int = 2,
                     variants: dict[str, dict] | None = None) -> list[tuple[str, CrosstalkResult]]:
    """The same layer with one assumption of the surrogate broken at a time (each a dict of
    CrosstalkSetup fields; "prm" may be a dict of ResonatorParams changes).
    Default: baseline; alpha x3 and x5 (rotating wave); read-out corner above the spacing;
    short settling; drive x100."""
    if variants is None:
        spacing = min((b for *_, b in setup.beats), default=0.1 * min(setup.freqs))
        variants = {
            "baseline": {},
            f"alpha {3 * setup.prm.alpha:g}": {"prm": {"alpha": 3 * setup.prm.alpha}},
            f"alpha {5 * setup.prm.alpha:g}": {"prm": {"alpha": 5 * setup.prm.alpha}},
            "corner 1.5 x spacing": {"lp_ratio": min(0.45, 1.5 * spacing / min(setup.freqs))},
            "settle 3 tau": {"settle_tau": 3.0},
            "drive x100": {"powers": [100 * p for p in setup.powers]},
        }
    out = []
    for name, changes in variants.items():
        changes = dict(changes)
        if isinstance(changes.get("prm"), dict):
            changes["prm"] = setup.prm.replace(**changes["prm"])
        var = dataclasses.replace(setup, **changes)
        if "prm" in changes and changes["prm"].alpha != setup.prm.alpha:
            # keep the channels' spacing in linewidths: same detuning of every resonator
            var = _rescale_alpha(setup, changes["prm"], var)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the alpha > 2 % warning: intended
            out.append((name, measure_crosstalk(var, workers)))
    return out


def _rescale_alpha(base: CrosstalkSetup, prm: ResonatorParams, var: CrosstalkSetup) -> CrosstalkSetup:
    """Scale every detuning (f - f_ref, f_r - f_ref) and the read-out corner by alpha'/alpha around
    the lowest channel, so that the new layer is the same layer in linewidths."""
    k = prm.alpha / base.prm.alpha
    f0 = min(base.freqs)
    freqs = [f0 + k * (f - f0) for f in base.freqs]
    chains = [[f0 + k * (fr - f0) for fr in c] for c in base.chains]
    return dataclasses.replace(var, freqs=freqs, chains=chains, lp_ratio=min(0.9, k * var.lp_ratio))


def format_assumptions(rows: list[tuple[str, CrosstalkResult]]) -> str:
    header = ("variant", "err/max", "vs exact", "entry>20%", "sup. DC", "sup. peak", "beat bound",
              "s")
    table = []
    for name, r in rows:
        dc, pk = r.superposition_rel
        bound = float(r.beat_bound.max() / r.signal_scale) if r.beat_bound is not None else np.nan
        table.append((name, f"{100 * r.error_of_max:.2f} %", f"{100 * r.error_of_max_exact:.2f} %",
                      f"{100 * r.error_per_entry(0.2):.2f} %", f"{100 * dc:.3f} %",
                      f"{100 * pk:.2f} %", f"{100 * bound:.2f} %", f"{r.seconds:.1f}"))
    return _table(header, table)


# ---------------------------------------------------------------------------------- 2. beat notes

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
        plt = _pyplot()
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
        return _save(fig, path)


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


# ---------------------------------------------------------------------------------- 3. pulling

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
        plt = _pyplot()
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
        return _save(fig, path)


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
        return ((g - g0) / _peak_weight(res_prm)).numpy()

    err = weight_error(_offset_resonance(f0, offset, res_prm.alpha))
    worst = np.max([np.abs(weight_error(_offset_resonance(f0, o, res_prm.alpha))).max(axis=1)
                    for o in np.linspace(-3, 3, 121)], axis=0)
    return PullingResult(N, stno_prm, res_prm, float(offset), currents, p0, freq, err, worst)


def _peak_weight(prm: ResonatorParams) -> float:
    """Largest |G| over detuning u (linewidths): K_SD |a_sym + 2 a_asym u| / (1 + u^2)."""
    u = np.linspace(-5, 5, 20001)
    return float(np.abs(prm.K_SD * (prm.a_sym + 2 * prm.a_asym * u) / (1 + u * u)).max())


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
             ".options reltol=1e-5 abstol=1e-15 vntol=1e-9",
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


def _zero_crossing_frequency(t: np.ndarray, v: np.ndarray, t_from: float) -> float:
    """Frequency of a carrier from its rising zero crossings after t_from (linear interpolation)."""
    sel = t >= t_from
    t, v = t[sel], v[sel]
    k = np.nonzero((v[:-1] < 0) & (v[1:] >= 0))[0]
    if len(k) < 3:
        return float("nan")
    tc = t[k] - v[k] * (t[k + 1] - t[k]) / (v[k + 1] - v[k])
    return float((len(tc) - 1) / (tc[-1] - tc[0]))


# ---------------------------------------------------------------------------------- 4. guideline

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
        plt = _pyplot()
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
        return _save(fig, path)


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


# ---------------------------------------------------------------------------------- helpers

def _table(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths)),
                      *(fmt.format(*r) for r in rows)])


def _pyplot():
    from .plots import plt
    return plt


def _save(fig, path: str) -> str:
    from .plots import save_figure
    return save_figure(fig, path)


__all__ = ["CrosstalkSetup", "CrosstalkResult", "measure_crosstalk", "assumption_sweep",
           "format_assumptions", "surrogate_matrix", "linear_response", "resonator_response",
           "chain_response", "beat_amplitudes", "crosstalk_error", "layer_frequencies",
           "two_pole", "BeatNoteResult", "beat_note_sweep", "PullingResult", "pulling",
           "PullingCheck", "pulling_rf_check", "GuidelineResult", "spacing_guideline"]
