"""RF convolutional network (Leroux et al. 2022, kind ``rfcnn``) and its software CNN (``cnn``).

A convolutional layer of MTJ resonator chains: one chain per (filter, output position) holds the
filter's k x k taps, one resonator per tap, every chain of a filter sharing the tap's detuning
(f_r = f_served (1 + alpha * detuning), detuning in linewidths: one strip-line control per tap in
hardware, one trainable number per (filter, tap) here). The chain voltages drive STNO neurons
through clamped amplifiers (steady state, as in the RF network), whose emitted powers feed a dense
resonator-chain read-out (the RF network's layer) on one line, or, with ``readout_lines`` G, on G
lines reusing the same hidden/G channels (STNO j on line j // (hidden/G)): each class then has one
chain per line, connected in series at DC, so its read-out is the sum of the G chains' voltages.
``differential``: two resonators per tap, of opposite orientation, each with its own shared detuning
(w = L(u+) - L(u-), as the published spin-diode convolution's differential synapses): twice the
weight range, and a leak onto far channels that falls as 1/d^2 instead of 1/d.

Two parallel arrangements, each with the crosstalk it really has (every resonator rectifies every
frequency on its line, the Lorentzian tails included):

- ``shared-line``: one line carries every pixel at its own frequency (side^2 channels on a
  geometric grid); the chain of (filter, position) has one resonator per tap that falls on a pixel
  (a tap over padding serves no frequency, so no resonator is placed for it). On a geometric grid
  a resonator's weight to channel i depends only on i minus its served channel, so the crosstalk
  acts like a longer kernel over the row-major pixel sequence, the same at every position.
- ``reuse``: one line per output position carries only its patch, pixels reusing the k^2 tap
  frequencies (a pixel's frequency is its position inside the patch). With stride < k a pixel
  belongs to several patches at different taps: an input fan-out gives every patch line its own
  copy of the pixel power, at that line's tap frequency. Every chain has all k^2 resonators (one
  layout for all positions); a tap over padding has no source on its line. The layer is then an
  exact convolution whose kernel includes the crosstalk.

Graph (``networks.rfcnn_graph``): every source, line, resonator (filter, tap, orientation, shared
detuning, served frequency), amplifier, STNO and read-out. Netlist and co-simulation:
``spicegen.rfcnn_netlist`` (window settling: ``rfcnn_settling``); crosstalk figures, one line at
carrier level and the sequential arrangement: ``spicegen.rfcnn_analysis``.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import warnings

import networkx as nx
import numpy as np
import torch
from torch import nn

from spintronic.models import ResonatorParams, STNOParams, published, resonator, stno
from spintronic.models.resonator import chain_signs
from spintronic.training.rf_network import DictConfig, FrequencyGrid, RFLayer
from spicegen.rfcnn_netlist import ARRANGEMENTS, conv_side, patch_index

from . import register_network
from .base import CosimOptions, NetworkKind
from .rfcnn_graph import rfcnn_graph


def check_spacing(freqs, alpha: float, what: str, allow: bool) -> float:
    """Smallest spacing (linewidths) between channels of one line; two channels within one
    linewidth are an error, or a warning naming them when ``allow``."""
    f = np.sort(np.asarray(freqs, dtype=np.float64))
    if len(f) < 2:
        return math.inf
    gaps = np.diff(f) / (alpha * f[:-1])
    i = int(np.argmin(gaps))
    if gaps[i] < 1.0:
        msg = (f"{what}: channels {i} and {i + 1} ({f[i]:.6g} Hz, {f[i + 1]:.6g} Hz) are "
               f"{gaps[i]:.3f} linewidths apart, within one linewidth (their resonators overlap)")
        if not allow:
            raise ValueError(msg + "; widen the band, use --arrangement reuse, fewer channels, "
                             "or --allow-overlap")
        warnings.warn(msg, stacklevel=3)
    return float(gaps[i])


@dataclasses.dataclass(frozen=True)
class RFCNNConfig(DictConfig):
    sizes: tuple[int, ...] = (64, 144, 10)   # pixels, filters x positions (STNOs), classes
    side: int = 8
    filters: int = 4
    kernel: int = 3
    stride: int = 1
    padding: int = 0
    arrangement: str = "reuse"
    allow_overlap: bool = False      # two channels of a line within a linewidth: warn, not refuse
    f_min: float = 0.02e9            # every line's band (the RF network's)
    f_max: float = 0.12e9
    readout_f_max: float | None = None   # top of the read-out line's band (None: f_max)
    p_max: float = 0.1e-6            # input power of a full-scale pixel (W)
    # RF power fraction of an STNO reaching the read-out line: lower than the RF network's 0.05
    # since 144 STNOs (not 32) share the line and its chains' amplifier-free read-out; on digits,
    # 3 seeds x 30 epochs: 96.57 % at 0.02 against 95.82 % at 0.05
    hidden_attenuation: float = 0.02
    g_m: float = published.G_M          # the public amplifier (spintronic.models.published)
    v_bias: float = published.V_BIAS
    # logits = read-out voltage x this (the softmax temperature; the circuit's argmax does not
    # depend on it); None: 1e4 on one read-out line, 3e4 on several: digits reuse, 4 lines, 3
    # seeds x 30 epochs, 95.45 / 96.66 / 96.75 / 96.29 % at 1e4 / 2e4 / 3e4 / 1e5; one line
    # 97.03 % at both 1e4 and 3e4
    readout_scale: float | None = None
    init_spread: float = 1.0
    # where each filter's chains start, on average over the training data, in the amplifier's
    # window (0: the STNO threshold, 1: the upper clamp); None: 0.1 for reuse, 0.5 for
    # shared-line. Near threshold the chains sit at the kink of the STNO's response, as a ReLU's
    # units do (12 % of (sample, STNO) start off on digits, none at 0.5): reuse on digits, 3 seeds
    # x 30 epochs, 97.03 / 96.84 / 96.56 / 96.19 % at 0.1 / 0.3 / 0.5 / 0.8; shared-line, whose
    # long crosstalk kernels then overfit early, 94.89 / 96.29 / 96.56 / 96.10 % at 0.1-0.7.
    # Differential taps the other way round. Reuse starts at 0.5: on digits, 5 seeds x 30 epochs,
    # 96.77 +- 0.78 % at 0.1 and 96.82 +- 0.80 % at 0.5 (3 seeds: 97.21 / 97.03 / 96.56 % at
    # 0.1 / 0.3 / 0.5), a tie, and Fashion-MNIST 14x14 (4 filters 4x4 stride 2, 10 000-image
    # subset, 8 epochs, seed 0) 82.33 % at 0.1 against 83.03 % at 0.5. Shared-line starts at 0.1:
    # its dipole leak no longer overfits near threshold, 96.99 +- 0.64 % at 0.1 against
    # 95.93 +- 1.12 % at 0.5 (digits, 5 seeds x 30 epochs)
    bias_start: float | None = None
    # two resonators per tap of opposite orientation, each with its own shared detuning:
    # w = L(u+) - L(u-), twice the range, and a leak onto channels d linewidths away that falls
    # as 1/d^2 (a dipole) instead of 1/d
    differential: bool = False
    # read-out lines G (frequency reuse on the read-out, as reuse does for pixels): STNO j emits
    # on line j // (hidden/G) at channel j % (hidden/G); 1: one line, one channel per STNO (144
    # channels 1.26 linewidths apart on 0.02-0.12 GHz fail the design rules; 4 lines of 36 are
    # ~5.2 apart)
    readout_lines: int = 1
    # the read-out chains' low-pass corner, a fraction of f_r (None: resonator.lp_ratio, as the
    # conv chains): channels s linewidths apart beat through it at |H| = 1 / (1 + (s alpha /
    # corner)^2), so a dense read-out (28x28 Fashion-MNIST, 169 channels a line 1.07 linewidths
    # apart) holds the design rules at 0.002 (|H| 0.034) where 0.01 fails (0.47), at 5x the
    # settling time
    readout_lp_ratio: float | None = None
    stno: STNOParams = STNOParams()
    resonator: ResonatorParams = ResonatorParams()

    def __post_init__(self) -> None:
        if self.arrangement not in ARRANGEMENTS:
            raise ValueError(f"arrangement must be one of {', '.join(ARRANGEMENTS)}, got "
                             f"{self.arrangement!r}")
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        out = conv_side(self.side, self.kernel, self.stride, self.padding)
        want = (self.side ** 2, self.filters * out * out)
        if self.filters < 1:
            raise ValueError(f"filters must be >= 1, got {self.filters}")
        if len(self.sizes) != 3 or self.sizes[:2] != want or self.sizes[2] < 1:
            raise ValueError(f"an rfcnn with {self.filters} {self.kernel}x{self.kernel} filters "
                             f"on {self.side}x{self.side} images has sizes {want[0]},{want[1]},"
                             f"CLASSES; got {','.join(map(str, self.sizes))}")
        if self.bias_start is not None and not 0.0 <= self.bias_start <= 1.0:
            raise ValueError(f"RFCNNConfig.bias_start must be within [0, 1] (a fraction of the "
                             f"amplifier window), got {self.bias_start!r}")
        G = self.readout_lines
        if isinstance(G, bool) or not isinstance(G, int) or G < 1 or self.sizes[1] % G:
            raise ValueError(f"readout_lines must be a divisor of the {self.sizes[1]} conv STNOs "
                             f"(e.g. the {self.filters} filters), got {G!r}")
        try:        # the resonators' own check of lp_ratio, named after this field
            self.readout_resonator
        except ValueError as err:
            raise ValueError(f"readout_lp_ratio must be within (0, 0.5) (a fraction of f_r below "
                             f"the carrier), got {self.readout_lp_ratio!r}") from err
        if self.readout_scale is None:
            object.__setattr__(self, "readout_scale", 1e4 if G == 1 else 3e4)
        for name in ("p_max", "g_m", "readout_scale", "hidden_attenuation"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"RFCNNConfig.{name} must be > 0, got {value!r}")
        FrequencyGrid(self.f_min, self.f_max, 2)
        FrequencyGrid(self.f_min, self.readout_f_max or self.f_max, 2)

    def to_dict(self) -> dict:
        d = super().to_dict()
        if self.readout_lines == 1:     # absent: one read-out line (checkpoints written before)
            del d["readout_lines"]
        if self.readout_lp_ratio is None:   # absent: the conv chains' corner (likewise)
            del d["readout_lp_ratio"]
        return d

    def check_plan(self) -> tuple[float, float]:
        """The smallest channel spacing (linewidths) of a conv line and of the read-out line;
        refuses (or, with allow_overlap, warns about) channels within a linewidth."""
        alpha, allow = self.resonator.alpha, self.allow_overlap
        return (check_spacing(self.line_frequencies(), alpha, f"the {self.arrangement} input "
                              f"plan", allow),
                check_spacing(self.readout_channels(), alpha, "the read-out line (one channel "
                              "per conv STNO)" if self.readout_lines == 1 else f"each of the "
                              f"{self.readout_lines} read-out lines (one channel per conv STNO "
                              f"of the line)", allow))

    @property
    def readout_resonator(self) -> ResonatorParams:
        """The read-out chains' resonators: the conv chains' with their own corner, if set."""
        lp = self.readout_lp_ratio
        return self.resonator if lp is None else self.resonator.replace(lp_ratio=lp)

    @property
    def start_fraction(self) -> float:
        if self.bias_start is not None:
            return self.bias_start
        reuse = self.arrangement == "reuse"
        return 0.1 if reuse != self.differential else 0.5

    @property
    def resonators_per_tap(self) -> int:
        return 2 if self.differential else 1

    @property
    def positions(self) -> int:
        return conv_side(self.side, self.kernel, self.stride, self.padding) ** 2

    def line_frequencies(self) -> np.ndarray:
        """Channels of a conv line: every pixel (shared-line) or the k^2 taps (reuse)."""
        n = self.side ** 2 if self.arrangement == "shared-line" else self.kernel ** 2
        return FrequencyGrid(self.f_min, self.f_max, n).frequencies

    @property
    def per_readout_line(self) -> int:
        return self.sizes[1] // self.readout_lines

    def readout_channels(self) -> np.ndarray:
        """The channels of one read-out line (every line reuses them)."""
        return FrequencyGrid(self.f_min, self.readout_f_max or self.f_max,
                             self.per_readout_line).frequencies

    def hidden_frequencies(self) -> np.ndarray:
        """Each conv STNO's frequency: channel j % (hidden/G) of its read-out line."""
        return np.tile(self.readout_channels(), self.readout_lines)


class RFCNN(nn.Module):
    kind = "rfcnn"

    def __init__(self, config: RFCNNConfig, seed: int = 0):
        super().__init__()
        self.config = c = config
        c.check_plan()
        gen = torch.Generator().manual_seed(seed)
        taps = c.kernel ** 2
        R = taps * c.resonators_per_tap     # resonators per chain, a tap's two side by side
        patch = torch.tensor(patch_index(c.side, c.kernel, c.stride, c.padding))
        f_line = torch.tensor(c.line_frequencies())
        # the tap of each resonator (not saved: it follows from the config, and checkpoints
        # written before differential taps hold no such buffer)
        res_tap = torch.arange(taps).repeat_interleave(c.resonators_per_tap)
        self.register_buffer("res_tap", res_tap, persistent=False)
        self.register_buffer("patch", patch)                       # (P, k^2), -1 on padding
        self.register_buffer("valid", (patch[:, self.res_tap] >= 0).to(torch.float64))  # (P, R)
        self.register_buffer("f_line", f_line)
        # the frequency each resonator serves: its pixel's (shared-line), its tap's (reuse)
        serve = f_line[patch.clamp(min=0)] if c.arrangement == "shared-line" else \
            f_line[None, :].expand(len(patch), taps).clone()
        self.register_buffer("serve", serve[:, self.res_tap].contiguous())   # (P, R)
        # each resonator's orientation, alternating by chain position (head-to-tail chain): one
        # per tap (single), or a tap's + then its - resonator (differential)
        self.register_buffer("tap_sign", chain_signs(R))
        init = (torch.rand(c.filters, R, generator=gen, dtype=torch.float64) * 2 - 1)
        self.detuning = nn.Parameter(init * c.init_spread)     # shared per (filter, resonator)
        self.bias_mv = nn.Parameter(torch.zeros(c.filters, dtype=torch.float64))
        self.register_buffer("neuron_f0", torch.tensor(c.hidden_frequencies()))
        # read-out line 0 (the only one when readout_lines is 1), then lines 1..G-1, whose chain
        # biases stay 0: a class's chains are in series, one bias (line 0's) sets their sum
        H = c.per_readout_line
        self.readout = RFLayer(H, c.sizes[2], c.readout_channels(), c.resonator, c.init_spread,
                               gen)
        self.readout_more = nn.ModuleList(
            RFLayer(H, c.sizes[2], c.readout_channels(), c.resonator, c.init_spread, gen)
            for _ in range(c.readout_lines - 1))
        for layer in self.readout_more:
            layer.bias_mv.requires_grad_(False)

    @property
    def readout_layers(self) -> list:
        """The read-out chains of each line, line 0 first."""
        return [self.readout, *self.readout_more]

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.config.sizes

    def resonance_frequencies(self, detuning: torch.Tensor | None = None) -> torch.Tensor:
        """(filters, positions, R) f_r of every conv resonator (R = k^2, or 2 k^2 with
        differential taps: tap t's + and - resonators at 2t, 2t + 1); ``detuning`` (the same shape)
        replaces the shared one, e.g. to see the gradient each resonator receives."""
        d = self.detuning[:, None, :] if detuning is None else detuning
        return self.serve[None] * (1.0 + self.config.resonator.alpha * d)

    def tap_weights(self, detuning: torch.Tensor | None = None) -> torch.Tensor:
        """(filters, positions, R resonators, line channels) V/W: each resonator's signed
        rectification of every channel on its line (its own and the crosstalk)."""
        f_r = self.resonance_frequencies(detuning)
        if detuning is None and self.config.arrangement == "reuse":
            f_r = f_r[:, :1]        # every position's chain is the same: compute one, expand
        g = resonator.lorentzian(self.f_line[None, None, None, :], f_r[..., None],
                                 self.config.resonator)
        g = g.expand(-1, len(self.serve), -1, -1)
        keep = self.tap_sign[None, :] * (self.valid if self.config.arrangement == "shared-line"
                                         else torch.ones_like(self.valid))
        return g * keep[None, :, :, None]

    def conv_voltages(self, powers: torch.Tensor, detuning: torch.Tensor | None = None):
        """Conv chain voltages (batch, filters * positions), chain j = filter * P + position."""
        c = self.config
        w = self.tap_weights(detuning).sum(2)                    # (C, P, channels)
        if c.arrangement == "shared-line":
            v = torch.einsum("bi,cpi->bcp", powers, w)
        else:   # each line carries its patch: channel u of line p is pixel patch[p, u]
            patches = powers[:, self.patch.clamp(min=0)] * (self.patch >= 0)
            v = torch.einsum("bpu,cpu->bcp", patches, w)
        bias = self.bias_mv[None, :, None] * 1e-3
        return (v + bias).reshape(len(powers), -1)

    def prepare(self, x: torch.Tensor) -> None:
        self.calibrate_biases(x)

    @torch.no_grad()
    def calibrate_biases(self, x: torch.Tensor) -> None:
        """Each filter's chains start, on average over ``x`` and the positions, at
        ``config.start_fraction`` of the amplifier window; each output chain at 0 V."""
        c = self.config
        lo, hi = c.stno.I_min_ratio, c.stno.I_max_ratio
        i_mid = (lo + c.start_fraction * (hi - lo)) * c.stno.I_th
        self.bias_mv.zero_()
        self.readout.bias_mv.zero_()
        _, (v1, _) = self.forward(x, return_all=True)
        target = i_mid / c.g_m - c.v_bias
        self.bias_mv.copy_((target - v1.reshape(len(x), c.filters, -1).mean((0, 2))) * 1e3)
        _, (_, v2) = self.forward(x, return_all=True)
        self.readout.bias_mv.copy_(-v2.mean(0) * 1e3)

    def hidden_powers(self, v1: torch.Tensor) -> torch.Tensor:
        """STNO neurons in steady state: the power each puts on the read-out line (W)."""
        c = self.config
        current = stno.clamp_current(c.g_m * (v1 + c.v_bias), c.stno)
        return c.hidden_attenuation * stno.emitted_power(stno.steady_power(current, c.stno),
                                                         current, c.stno)

    def forward(self, x: torch.Tensor, return_all: bool = False):
        powers = x.to(torch.float64) * self.config.p_max
        v1 = self.conv_voltages(powers)
        hidden = self.hidden_powers(v1)
        v2 = self.readout(hidden, self.neuron_f0) if not self.readout_more else \
            self._readout_sum(hidden)
        logits = v2 * self.config.readout_scale
        return (logits, (v1, v2)) if return_all else logits

    def _readout_sum(self, hidden: torch.Tensor) -> torch.Tensor:
        """Read-out on G lines: each line's chains rectify only that line's STNOs (no
        cross-line crosstalk); a class's G chains in series add their voltages, plus one bias
        (line 0's: the circuit has one per class)."""
        H = self.config.per_readout_line
        v = sum(resonator.chain_voltage(hidden[:, g * H:(g + 1) * H],
                                        self.neuron_f0[g * H:(g + 1) * H],
                                        layer.resonance_frequencies(), layer.prm)
                for g, layer in enumerate(self.readout_layers))
        return v + self.readout.bias


class CNN(nn.Module):
    """Software baseline of the same shape: conv (C filters, k, stride, padding), ReLU, dense."""

    kind = "cnn"

    def __init__(self, config: RFCNNConfig, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.config = c = config
        self.conv = nn.Conv2d(1, c.filters, c.kernel, c.stride, c.padding)
        self.fc = nn.Linear(c.sizes[1], c.sizes[2])

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.config.sizes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        side = self.config.side
        h = torch.relu(self.conv(x.to(torch.float32).reshape(-1, 1, side, side)))
        return self.fc(h.flatten(1))


class _ConvKind(NetworkKind):
    cli_group = "convolutional networks (rfcnn, cnn)"
    model_class: type = RFCNN

    def add_cli_args(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--filters", type=int, default=4, help="filters C (one chain each "
                           "per output position)")
        group.add_argument("--kernel", type=int, default=3, help="filter side k (k x k taps)")
        group.add_argument("--stride", type=int, default=1, help="convolution stride")
        group.add_argument("--padding", type=int, default=0, help="zero padding, as in software")
        group.add_argument("--arrangement", choices=ARRANGEMENTS, default="reuse",
                           help="rfcnn: every pixel on one line at its own frequency "
                                "(shared-line), or one line per patch reusing k^2 frequencies")
        group.add_argument("--line-f-max", type=float, default=RFCNNConfig.f_max, metavar="HZ",
                           help="rfcnn: top of the conv lines' band (bottom 0.02 GHz)")
        group.add_argument("--readout-f-max", type=float, metavar="HZ",
                           help="rfcnn: top of the read-out line's band (default: --line-f-max)")
        group.add_argument("--bias-start", type=float, metavar="FRACTION",
                           help="rfcnn: where the conv chains start in the amplifier window, 0 "
                                "(STNO threshold) to 1 (upper clamp); default 0.1 for reuse, 0.5 "
                                "for shared-line (with --differential: 0.5, 0.1)")
        group.add_argument("--differential", action="store_true",
                           help="rfcnn: two resonators of opposite orientation per tap, w = "
                                "L(u+) - L(u-) (default: off, one resonator per tap; cnn "
                                "ignores it)")
        group.add_argument("--readout-lines", type=int, default=1, metavar="G",
                           help="rfcnn: read-out lines reusing hidden/G channels, STNO j on line "
                                "j // (hidden/G), a class's G chains in series (default 1; G "
                                "must divide the conv STNOs, e.g. G = --filters)")
        group.add_argument("--readout-lp-ratio", type=float, metavar="FRACTION",
                           help="rfcnn: the read-out chains' low-pass corner as a fraction of f_r "
                                "(default: the resonators' 0.01); below the read-out channel "
                                "spacing x alpha, so beat notes do not reach the outputs")
        group.add_argument("--allow-overlap", action="store_true",
                           help="rfcnn: warn, not refuse, when two channels of a line are "
                                "within a linewidth")

    def config_from_args(self, args, data):
        side = math.isqrt(data.n_features)
        if side * side != data.n_features:
            raise ValueError(f"{self.name} needs square images; {data.n_features} features are "
                             f"not a square")
        out = conv_side(side, args.kernel, args.stride, args.padding)
        sizes = (side * side, args.filters * out * out, data.n_classes)
        if args.sizes and tuple(args.sizes) != sizes:
            raise ValueError(f"--sizes {','.join(map(str, args.sizes))} does not match the "
                             f"convolution's shape {','.join(map(str, sizes))}; drop --sizes")
        config = RFCNNConfig(sizes=sizes, side=side, filters=args.filters, kernel=args.kernel,
                             stride=args.stride, padding=args.padding,
                             arrangement=args.arrangement, allow_overlap=args.allow_overlap,
                             f_max=args.line_f_max, readout_f_max=args.readout_f_max,
                             bias_start=getattr(args, "bias_start", None),
                             differential=bool(getattr(args, "differential", False)),
                             readout_lines=getattr(args, "readout_lines", 1),
                             readout_lp_ratio=getattr(args, "readout_lp_ratio", None))
        return {"sizes": sizes, "config": config}

    def make_model(self, sizes, seed=0, config=None):
        if config is None:      # the default 3x3 filters, stride 1, on square images
            side = math.isqrt(sizes[0])
            out = conv_side(side, 3, 1, 0)
            if sizes[1] % (out * out):
                raise ValueError(f"sizes {sizes}: {sizes[1]} is not a number of 3x3 filters "
                                 f"times {out * out} positions")
            config = RFCNNConfig(sizes=tuple(sizes), side=side, filters=sizes[1] // out ** 2)
        return self.model_class(dataclasses.replace(config, sizes=tuple(sizes)), seed)

    def model_from_dict(self, network):
        return self.model_class(RFCNNConfig.from_dict(network))


class RFCNNKind(_ConvKind):
    name = "rfcnn"
    description = ("RF convolutional network: resonator-chain filters with shared detunings, "
                   "STNO neurons, dense chain read-out")
    graph_network = "rfcnn"
    default_lr = 0.03

    def to_graph(self, net: RFCNN) -> nx.DiGraph:
        return rfcnn_graph(net)

    def check_graph(self, g):
        from spicegen.rfcnn_netlist import check_rfcnn
        check_rfcnn(g)

    def describe_graph(self, g):
        from spicegen.rfcnn_analysis import crosstalk_report
        kinds = [a["kind"] for _, a in g.nodes(data=True)]
        lines = ", ".join(f"layer {r['layer']}: {r['lines']} line(s) of up to "
                          f"{r['channels']} channels {r['spacing_linewidths']:.2f} linewidths "
                          f"apart, worst crosstalk {100 * r['worst_crosstalk']:.1f} % of the "
                          f"largest weight" for r in crosstalk_report(g))
        return (f"{g.number_of_nodes()} devices ({kinds.count('resonator')} resonators, "
                f"{kinds.count('stno')} STNOs, {kinds.count('rf_line')} lines, "
                f"{kinds.count('input')} sources); {lines}")

    def crosstalk_line(self, g, layer, inputs=None, chains=None):
        """``spicegen crosstalk --graph``: picked chains of one line and its picked sources."""
        from spicegen.rfcnn_analysis import crosstalk_line
        return crosstalk_line(g, layer, inputs, chains)

    def compile(self, g, X, opts: CosimOptions, title=""):
        from spicegen.rfcnn_netlist import compile_rfcnn
        if opts.fidelity != "envelope":
            raise ValueError("rfcnn networks compile at envelope fidelity; drop --fidelity rf")
        return compile_rfcnn(g, X, window=opts.window, title=title)

    def cosim_notes(self, g, X, opts: CosimOptions):
        from spicegen.rfcnn_settling import CHUNK, settling_notes
        return settling_notes(g, X, opts.window, opts.chunk or CHUNK) \
            if opts.fidelity == "envelope" else []

    def cosim(self, g, X, y, opts: CosimOptions):
        from spicegen.rfcnn_netlist import cosim_rfcnn
        if opts.fidelity != "envelope":
            raise ValueError("rfcnn networks are co-simulated at envelope fidelity; drop "
                             "--fidelity rf")
        chunk = {"chunk": opts.chunk} if opts.chunk else {}
        return cosim_rfcnn(g, X, y, window=opts.window, workers=opts.workers,
                           backend=opts.backend, progress=opts.progress, executor=opts.executor,
                           scheduler=opts.scheduler, timeout=opts.timeout, **chunk)


class CNNKind(_ConvKind):
    name = "cnn"
    description = "software baseline of the RF convolutional network: conv, ReLU, dense"
    model_class = CNN


register_network(RFCNNKind())
register_network(CNNKind())
