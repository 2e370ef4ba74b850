"""The crosstalk setup: input channels on one line and the resonator chains that listen to it,
the validators every study shares, and the layer layout (channel grid, resonator offsets)."""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from spintronic.models import resonator
from spintronic.models.resonator import ResonatorParams

from .. import rfstep

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
            orients = [tuple(resonator.orientation(k) for k in range(len(c))) for c in chains]
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
