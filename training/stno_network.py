"""Dynamical network of STNOs (Plouet et al. 2024), trained with backpropagation through time.

An image is fed in time: row by row (8 steps of 8 inputs) or pixel by pixel (64 steps of 1), each
step lasting ``dt``. Every neuron is an STNO whose normalised power p integrates the power equation
dp/dt = 2 Gg [(z - 1) - (z + Q) p] p with the drive z = I / I_th,

    I_j = clamp(I_th (b_j + sum_i W_ji u_i + sum_k R_jk p_k), I_min, I_max)

where u is the layer's input (the pixels, or the powers of the layer below) and R the optional
recurrent weights within a hidden layer. The feed-forward synapses are either ideal trained weights
(controlled sources in SPICE) or, with ``synapses="chain"``, RF resonator chains as in the RF network
(training/rf_network.py): chain j of a layer holds one MTJ resonator per incoming channel, trained
through its resonance frequency, and rectifies the microwave power on its line,

    I_j = clamp(I_th b_j + g_m sum_i P_i sum_k (-1)^k G(f_i, f_r[j, k]) + I_th sum_k R_jk p_k)

with P_i = p_max x_i for pixels (carried at the input grid's frequencies) and, deeper, the emitted
power P_i = attenuation k_P p_i R I_i^2 of the STNOs below at their own frequencies f0. Crosstalk
(the Lorentzian tails) is part of the weights. The chains are taken at envelope level: their
response is instantaneous, which holds while a resonator's ring time 1 / (2 pi alpha f_r) is short
against dt (``check_time_step`` warns otherwise). Recurrent weights stay ideal.

The relaxation time tau = 1 / (2 Gg |z - 1|) is the network's memory: the ratio tau / dt decides
what it can remember (benchmarks/stno_sequences.py plots the accuracy against it).

The step: each input step is cut into ``substeps``; in each, every layer advances with
``models.stno.power_step``, the exact solution of the power equation for a current held constant.
That step is unconditionally stable (it never overshoots, p stays >= 0) where explicit Euler blows up
once a step exceeds tau; what the substeps resolve is only the coupling between neurons, whose
currents change as the powers move. The answer converges as substeps grow
(tests/test_stno_network.py checks that 8 and 32 substeps agree).
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import torch
from torch import nn

from spintronic.models import (ResonatorParams, STNOParams, published, resonator, stno,
                               stno_trajectories)
from spintronic.models.units import POWER_UNIT

from .rf_network import DictConfig, FrequencyGrid

ORDERS = ("rows", "pixels")
READOUTS = ("last", "mean")
SYNAPSES = ("ideal", "chain")


def to_sequence(X: torch.Tensor, order: str) -> torch.Tensor:
    """(N, side * side) images -> (N, T, width): rows (T = side) or pixels (T = side^2, width 1)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    X = torch.as_tensor(X)
    n = X.shape[-1]
    side = math.isqrt(n)
    if X.dim() != 2 or side * side != n:
        raise ValueError(f"sequential input needs flat square images (N, side^2), got shape "
                         f"{tuple(X.shape)}")
    return X.reshape(len(X), side, side) if order == "rows" else X.reshape(len(X), n, 1)


@dataclasses.dataclass(frozen=True)
class DynamicalConfig(DictConfig):
    sizes: tuple[int, ...] = (8, 64, 10)   # inputs per step, hidden STNO layers..., outputs
    steps: int = 8                         # input steps per sample
    order: str = "rows"
    dt: float = 4e-9                       # input time step (s)
    substeps: int = 8
    recurrent: bool = True                 # trained recurrent weights within hidden layers
    readout: str = "last"                  # output powers at the last step, or their "mean"
    readout_steps: int = 1                 # steps averaged by the "mean" read-out
    readout_scale: float = 60.0            # logits per unit of normalised output power
    p_init: float = 0.01                   # power every neuron starts a sample from
    bias_init: float = 2.5                 # initial drive, in I_th
    grad_leak: float = 0.05                # training only: gradient slope outside the clamps
    stno: STNOParams = STNOParams()
    synapses: str = "ideal"                # "ideal" weights or RF resonator "chain"s
    # chain synapses only: channel grid (inputs and each layer's STNOs), input power, amplifier
    f_min: float = 10e9
    f_max: float = 30e9
    grid: str = "geometric"
    p_max: float = 0.2e-6                  # RF power of a full-scale pixel (W)
    g_m: float = published.G_M             # chain voltage -> STNO current (A/V), as published
    attenuation: float = 0.1               # fraction of an STNO's emitted power on the next line
    init_spread: float = 1.0               # initial f_r offsets, uniform in +-spread linewidths
    resonator: ResonatorParams = ResonatorParams(alpha=0.02)

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"DynamicalConfig.sizes needs >= 2 positive widths, got {self.sizes}")
        for f in dataclasses.fields(self):    # an inf drive or scale divides by zero further on
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"DynamicalConfig.{f.name} must be finite, got {value!r}")
        if not (isinstance(self.dt, (int, float)) and math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"DynamicalConfig.dt must be a time step > 0 (s), got {self.dt!r}")
        if self.order not in ORDERS:
            raise ValueError(f"DynamicalConfig.order must be one of {ORDERS}, got {self.order!r}")
        if self.readout not in READOUTS:
            raise ValueError(f"DynamicalConfig.readout must be one of {READOUTS}, got {self.readout!r}")
        if not 1 <= self.readout_steps <= self.steps:
            raise ValueError(f"DynamicalConfig.readout_steps must be in [1, steps={self.steps}], "
                             f"got {self.readout_steps}")
        if self.substeps < 1 or self.steps < 1:
            raise ValueError("DynamicalConfig.steps and substeps must be >= 1")
        if not 0 < self.p_init < 1:
            raise ValueError(f"DynamicalConfig.p_init must be in (0, 1): p = 0 is a fixed point "
                             f"the oscillator never leaves, got {self.p_init!r}")
        if self.synapses not in SYNAPSES:
            raise ValueError(f"DynamicalConfig.synapses must be one of {SYNAPSES}, got {self.synapses!r}")
        if self.synapses == "chain":
            FrequencyGrid(self.f_min, self.f_max, max(self.sizes), self.grid)
            for name in ("p_max", "g_m", "attenuation"):
                value = getattr(self, name)
                if not (math.isfinite(value) and value > 0):
                    raise ValueError(f"DynamicalConfig.{name} must be > 0, got {value!r}")
            if self.stno.N != 0:
                raise ValueError("chain synapses need fixed STNO frequencies: a chain's weights are "
                                 f"Lorentzians at f0, but STNOParams.N = {self.stno.N} pulls them")

    def frequencies(self, n: int) -> list[float]:
        """Channel frequencies (Hz) of a line carrying n signals (chain synapses)."""
        return FrequencyGrid(self.f_min, self.f_max, n, self.grid).frequencies.tolist()

    @property
    def ring_time(self) -> float:
        """Slowest resonator's ring time 1 / (2 pi alpha f_min): how long a chain takes to follow."""
        return 1.0 / (2.0 * math.pi * self.resonator.alpha * self.f_min)

    @property
    def tau_min(self) -> float:
        """Fastest relaxation time: at the upper current clamp (inf when the clamp is at or below
        threshold: nothing relaxes)."""
        rate = 2.0 * self.stno.Gg * (self.stno.I_max_ratio - 1.0)
        return 1.0 / rate if rate > 0 else math.inf

    @property
    def tau_bias(self) -> float:
        """Relaxation time at the initial drive: the memory the guideline plot refers to (inf
        at the threshold itself)."""
        rate = 2.0 * self.stno.Gg * abs(self.bias_init - 1.0)
        return 1.0 / rate if rate > 0 else math.inf

    def check_time_step(self) -> None:
        """Warn when the step is too coarse for the neurons: a substep longer than the fastest tau
        leaves the coupling between neurons unresolved, and an input step of many tau leaves the
        network with no memory of earlier steps."""
        h = self.dt / self.substeps
        if h > self.tau_min:
            warnings.warn(f"substep dt/substeps = {h:.3g} s exceeds the fastest relaxation time "
                          f"{self.tau_min:.3g} s: the neurons' coupling is not resolved; raise "
                          f"substeps to >= {math.ceil(self.dt / self.tau_min)}", RuntimeWarning)
        if self.synapses == "chain" and self.ring_time > self.dt / 5:
            # a chain settles to e^-5 (< 1 %) within a step only below dt / 5
            warnings.warn(f"the slowest resonator rings for {self.ring_time:.3g} s, more than a "
                          f"fifth of dt = {self.dt:.3g} s: the chains do not follow the inputs "
                          f"instantly as the envelope surrogate assumes; raise f_min, alpha or dt",
                          RuntimeWarning)
        if self.dt > 20 * self.tau_bias:
            warnings.warn(f"dt = {self.dt:.3g} s is {self.dt / self.tau_bias:.0f} relaxation times: "
                          f"the neurons forget each step before the next", RuntimeWarning)



class _SequenceModel:
    """Shape bookkeeping shared by the STNO network and its CTRNN baseline."""

    config: DynamicalConfig

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.config.sizes

    @property
    def n_features(self) -> int:
        return self.config.steps * self.config.sizes[0]

    def sequence(self, X: torch.Tensor, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Flat images or sequences -> (N, steps, inputs per step), refusing a wrong length."""
        c = self.config
        X = torch.as_tensor(X, dtype=dtype)
        seq = to_sequence(X, c.order) if X.dim() == 2 else X
        if seq.dim() != 3 or seq.shape[1:] != (c.steps, c.sizes[0]):
            raise ValueError(f"this network takes sequences of {c.steps} steps of {c.sizes[0]} "
                             f"inputs ({c.order}), got shape {tuple(seq.shape[1:])}")
        return seq


class DynamicalSTNONetwork(_SequenceModel, nn.Module):
    """Layers of STNOs integrating their power equation; forward takes flat images or sequences."""

    kind = "stno"

    def __init__(self, config: DynamicalConfig = DynamicalConfig(), seed: int = 0):
        super().__init__()
        config.check_time_step()
        self.config = config
        gen = torch.Generator().manual_seed(seed)
        c = config
        self.weights = nn.ParameterList()
        self.recurrent = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.offsets = nn.ParameterList()   # chain synapses: f_r offsets in linewidths
        for l, (n_in, n_out) in enumerate(zip(c.sizes[:-1], c.sizes[1:])):
            if c.synapses == "chain":
                self.register_buffer(f"serve_{l}", torch.tensor(c.frequencies(n_in), dtype=torch.float64))
                self.offsets.append(nn.Parameter(
                    c.init_spread * (2 * torch.rand(n_out, n_in, generator=gen, dtype=torch.float64) - 1)))
            else:
                # inputs of layer 1 are pixels in [0, 1]; of deeper layers powers in [0, 0.5]
                gain = 1.5 if l == 0 else 3.0
                self.weights.append(nn.Parameter(
                    gain * (2 * torch.rand(n_out, n_in, generator=gen, dtype=torch.float64) - 1)
                    / math.sqrt(n_in)))
            self.biases.append(nn.Parameter(torch.full((n_out,), c.bias_init, dtype=torch.float64)))
            hidden = l < len(c.sizes) - 2
            self.recurrent.append(nn.Parameter(
                (2 * torch.rand(n_out, n_out, generator=gen, dtype=torch.float64) - 1)
                / math.sqrt(n_out), requires_grad=c.recurrent and hidden))
        with torch.no_grad():  # frozen recurrent weights of non-recurrent layers are exactly zero
            for l, r in enumerate(self.recurrent):
                if not (c.recurrent and l < len(c.sizes) - 2):
                    r.zero_()

    def resonance_frequencies(self, layer: int) -> torch.Tensor:
        """Chain synapses: f_r (n_out, n_in) of layer ``layer`` (0-based); resonator k of every chain
        serves channel k."""
        return getattr(self, f"serve_{layer}") * (1.0 + self.config.resonator.alpha * self.offsets[layer])

    def input_scale(self, layer: int) -> float:
        """Chain synapses: drive in I_th per V/W of chain response and per unit of input, for
        inputs in pixels (layer 0: watts p_max) or in microwatts of emitted power (deeper)."""
        c = self.config
        return c.g_m / c.stno.I_th * (c.p_max if layer == 0 else POWER_UNIT)

    def effective_weights(self) -> list[torch.Tensor]:
        """Feed-forward weights in I_th per unit of input: trained ones, or the chains' rectified
        response (crosstalk included) to each channel."""
        if self.config.synapses == "ideal":
            return list(self.weights)
        out = []
        for l in range(len(self.offsets)):
            freqs = getattr(self, f"serve_{l}")
            G = resonator.chain_weights(freqs, self.resonance_frequencies(l), self.config.resonator)
            out.append(self.input_scale(l) * G)
        return out

    @property
    def line_power(self) -> float | None:
        """Factor from an STNO's emitted power (W) to what the next layer's chains read (uW)."""
        c = self.config
        return c.attenuation / POWER_UNIT if c.synapses == "chain" else None

    def trajectories(self, X: torch.Tensor) -> list[torch.Tensor]:
        """Power of every layer at the end of each input step: list of (N, steps, width)."""
        c = self.config
        traj = stno_trajectories.network_trajectories(self.sequence(X), self.effective_weights(),
                                         list(self.recurrent), list(self.biases), c.dt, c.substeps,
                                         c.p_init, c.stno,
                                         grad_leak=c.grad_leak if self.training else 0.0,
                                         line_power=self.line_power)
        for l, tr in enumerate(traj):
            if not torch.isfinite(tr).all():
                raise FloatingPointError(f"the STNO surrogate diverged: layer {l + 1} produced a "
                                         f"non-finite power; check dt, weights and STNOParams")
        return traj

    def output_power(self, X: torch.Tensor) -> torch.Tensor:
        c = self.config
        last = self.trajectories(X)[-1]
        return last[:, -1] if c.readout == "last" else last[:, -c.readout_steps:].mean(1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.config.readout_scale * self.output_power(X)


class CTRNN(_SequenceModel, nn.Module):
    """Software baseline of the same shape: continuous-time rate neurons h in [0, 1] with a leak
    time constant tau, dh/dt = (-h + sigmoid(W u + R h + b)) / tau, integrated exactly over each
    substep for the drive held constant; recurrent weights in hidden layers, logits = scale h_out."""

    kind = "ctrnn"

    def __init__(self, config: DynamicalConfig = DynamicalConfig(), seed: int = 0,
                 tau: float | None = None):
        super().__init__()
        self.config = config
        self.tau = tau or config.tau_bias
        torch.manual_seed(seed)
        n = len(config.sizes) - 1
        self.inputs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(config.sizes[:-1], config.sizes[1:]))
        self.recurrent = nn.ModuleList(nn.Linear(b, b, bias=False) for b in config.sizes[1:])
        self.has_recurrent = tuple(config.recurrent and l < n - 1 for l in range(n))
        self.scale = config.readout_scale

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        c = self.config
        seq = self.sequence(X, torch.float32)
        decay = math.exp(-c.dt / c.substeps / self.tau)
        h = [torch.zeros(len(seq), n) for n in c.sizes[1:]]
        outs = []
        for t in range(c.steps):
            for _ in range(c.substeps):
                for l in range(len(h)):
                    u = seq[:, t] if l == 0 else h[l - 1]
                    drive = self.inputs[l](u)
                    if self.has_recurrent[l]:
                        drive = drive + self.recurrent[l](h[l])
                    h[l] = decay * h[l] + (1 - decay) * torch.sigmoid(drive)
            outs.append(h[-1])
        out = outs[-1] if c.readout == "last" else torch.stack(outs[-c.readout_steps:]).mean(0)
        return self.scale * out
