"""Sparse RF networks with trainable topology (kind ``sparse``, Rageau et al.) and their software
baselines at equal parameter count (kind ``sparse-mlp``).

Chain j of a layer holds K resonators (K from 1 to the layer's inputs), not one per input. Every
resonance f_r is trained over the whole input band, so a small shift of f_r tunes a weight and a
large one moves the resonator to another input: training the frequencies trains the topology
("structural plasticity"), with no extra devices. Every resonator still rectifies every frequency
on its line (crosstalk), exactly as in the dense RF network whose neuron machinery (amplifiers,
STNOs, bias calibration, forward pass) this one inherits.

Positions are trained in resonator linewidths above the band's bottom (log-linear: one unit is a
shift of alpha f, the Lorentzian's half-width), and projected back into the band (one linewidth
beyond each edge) before every use. Why linewidths and not channels or a sigmoid of log f: one Adam
step is then the same fraction of the Lorentzian whatever the channel spacing and the number of
inputs (the spacing shrinks with many inputs, see ``SparseRFConfig``), and nothing saturates near
the edges, so a resonator crosses channels as readily at the band's ends as in its middle.

The graph is the RF network's (``network: rf``: the same compiler, co-simulation, crosstalk and
sneak tools apply), with the graph attribute ``per_chain`` that the structure check holds every
chain's length to, and each resonator's ``initial_channel`` for the topology report
(``spicegen.topology``).
"""
from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np
import torch
from torch import nn

from spintronic.graph import schema
from spintronic.models import ResonatorParams, resonator
from spintronic.training.rf_network import FrequencyGrid, RFNetwork, RFNetworkConfig

from . import register_network
from .rf import RFKind
from .base import NetworkKind

BASELINES = ("dense", "random", "prune", "set")
MARGIN = 1.0          # linewidths a resonator or input may sit beyond either band edge


def _check_per_chain(per_chain, sizes) -> int:
    if isinstance(per_chain, bool) or not isinstance(per_chain, (int, np.integer)) or \
            not 1 <= per_chain <= sizes[0]:
        raise ValueError(f"--per-chain {per_chain!r} must be between 1 and the number of inputs, "
                         f"{sizes[0]}")
    return int(per_chain)


def per_chain_of(per_chain: int, n_in: int) -> int:
    """Resonators (or weights) per chain of a layer with ``n_in`` inputs: K, or all of them in a
    hidden layer narrower than K."""
    return min(per_chain, n_in)


@dataclasses.dataclass(frozen=True)
class SparseRFConfig(RFNetworkConfig):
    """Every line's channels sit ``spacing`` resonator linewidths apart (geometric, from f_min
    up); f_max is the ceiling of the band they must fit under. Without ``spacing``, the widest
    line's channels share a band ``span`` linewidths wide: spacing = span / (inputs - 1).

    Why a fixed span rather than a fixed spacing: a chain reaches an input through its K
    Lorentzians, each about two linewidths wide, so what matters is how many linewidths the
    inputs spread over against K, not how many inputs there are. 18.9 linewidths keeps the
    digits' 64 inputs 0.3 linewidths apart, where a linewidth spans ~3 channels and each
    resonator weights a patch of inputs rather than one (digits, K = 4 and 10, 20 epochs, mean of
    3 seeds: spacing 0.15 linewidth 69 / 79 %, 0.3 64 / 85 %, 0.6 50 / 84 %, 2.8 (about the dense
    network's) 42 / 70 %). Fashion-MNIST's 784 inputs at 0.3 linewidths would spread over 235
    linewidths, 23 per resonator of a chain at K = 10: every chain reaches most pixels only
    through far tails, and trained inputs cannot gather under the resonators (K = 10, trained
    input frequencies, 10 000 images, 8 epochs: spacing 0.3 70 %, 0.1 76 %, 0.03-0.05 79 %, 0.024
    79 %). Narrowing the band rather than broadening the resonators keeps alpha at the device's
    0.01, where the carrier-level model still matches the Lorentzian (the rotating-wave limit,
    ``RWA_ALPHA_LIMIT``)."""

    sizes: tuple[int, ...] = (64, 10)   # a perceptron, as in the paper
    per_chain: int = 10
    spacing: float | None = None        # None: span / (inputs - 1)
    span: float = 18.9
    # logits per volt: the chains see many inputs through their Lorentzian tails, and 1e4 (the
    # dense network's) starts training with losses of 10-20 (digits, K = 4, 20 epochs, one seed:
    # 70 % with 2e3, 63 % with 1e4). Fashion-MNIST, K = 10, trained inputs, 10 epochs, lr 0.12:
    # 81.9 / 82.2 / 81.3 % with 500 / 1e3 / 2e3; digits, 2 seeds, K = 4 / 10, fixed inputs
    # 67 / 83 % with 1e3, 64 / 87 % with 2e3, trained inputs 83 / 91 % and 80 / 92 %
    readout_scale: float = 1e3

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "per_chain", _check_per_chain(self.per_chain, self.sizes))
        if self.grid != "geometric":
            raise ValueError(f"sparse networks space their channels geometrically (a constant "
                             f"number of linewidths), got grid {self.grid!r}")
        if self.spacing is not None and not (math.isfinite(self.spacing) and self.spacing > 0):
            raise ValueError(f"--spacing must be > 0 linewidths, got {self.spacing!r}")
        if not (math.isfinite(self.span) and self.span > 0):
            raise ValueError(f"--span must be > 0 linewidths, got {self.span!r}")
        n = max(self.sizes[:-1])                 # the most channels any layer's line carries
        top = self.top(n)
        if not top <= self.f_max:
            raise ValueError(
                f"the band {self.f_min:.4g}-{self.f_max:.4g} Hz cannot hold {n} channels "
                f"{self.line_spacing():g} linewidths apart (alpha {self.resonator.alpha:g}): the "
                f"top one would sit at {top:.4g} Hz; raise --f-max, or lower --spacing, --span or "
                f"--alpha")

    def line_spacing(self) -> float:
        """Spacing of neighbouring channels, in linewidths."""
        if self.spacing is not None:
            return float(self.spacing)
        return self.span / max(max(self.sizes[:-1]) - 1, 1)

    def ratio(self) -> float:
        """Frequency ratio of neighbouring channels."""
        return 1.0 + self.line_spacing() * self.resonator.alpha

    def top(self, n: int) -> float:
        with np.errstate(over="ignore"):
            return self.f_min * float(np.float64(self.ratio()) ** (n - 1))

    def grid_for(self, n: int) -> FrequencyGrid:
        return FrequencyGrid(self.f_min, self.top(max(n, 2)), n, "geometric")


class Band:
    """Position u (float tensor, in linewidths above a line's bottom channel) <-> frequency (Hz):
    f = f_min exp(alpha u), so one unit is one linewidth (alpha f) anywhere in the band."""

    def __init__(self, config: SparseRFConfig, n: int):
        self.f_min, self.alpha = config.f_min, config.resonator.alpha
        self.channels_per_linewidth = self.alpha / math.log(config.ratio())
        self.lo, self.hi = -MARGIN, (n - 1) / self.channels_per_linewidth + MARGIN

    def linewidths(self, channels) -> torch.Tensor:
        """Channel index (float) -> position in linewidths."""
        return torch.as_tensor(channels, dtype=torch.float64) / self.channels_per_linewidth

    def channels(self, u: torch.Tensor) -> torch.Tensor:
        return u * self.channels_per_linewidth

    @torch.no_grad()
    def project_(self, param: torch.Tensor, base: torch.Tensor | float = 0.0) -> None:
        """Put positions base + param back into the band (projected gradient descent). A
        straight-through clamp alone let a position the gradient pushes outward run off without
        bound (Fashion-MNIST, trained inputs: thousands of channels) and stick at the edge. The
        parameter is written only when out of the band, so an autograd graph built earlier stays
        usable otherwise."""
        u = base + param
        if bool(((u < self.lo) | (u > self.hi)).any()):
            param.copy_(u.clamp(self.lo, self.hi) - base)

    def frequency(self, u: torch.Tensor) -> torch.Tensor:
        # straight-through clamp: the value stays in the band, the gradient can still pull back
        u = u + (u.clamp(self.lo, self.hi) - u).detach()
        return self.f_min * torch.exp(u * self.alpha)


class SparseRFLayer(nn.Module):
    """Chains of K resonators, each free over the band of the layer's n_in input channels.

    Initial channels are stratified: the band is cut into K equal strata and each resonator of a
    chain starts on a random channel of its own stratum, off it by up to ``spread`` linewidths but
    never half a channel (so that channel is its nearest at the start). No two resonators of a
    chain start on one channel, every chain spans the band (nothing about the data is assumed),
    and chains differ from one another."""

    def __init__(self, n_in: int, n_out: int, k: int, band: Band, prm, spread: float,
                 gen: torch.Generator):
        super().__init__()
        self.prm, self.band, self.k = prm, band, k
        edges = np.linspace(0, n_in, k + 1)
        lo = np.floor(edges[:-1]).astype(np.int64)
        width = np.maximum(np.floor(edges[1:]).astype(np.int64) - lo, 1)
        u = torch.rand(n_out, k, generator=gen, dtype=torch.float64).numpy()
        channels = lo[None, :] + np.minimum((u * width).astype(np.int64), width - 1)
        reach = min(spread * band.channels_per_linewidth, 0.45)         # in channels
        off = (torch.rand(n_out, k, generator=gen, dtype=torch.float64) * 2 - 1) * reach
        self.register_buffer("initial_channel", torch.as_tensor(channels))
        # in linewidths (see Band); named for the unit so that a checkpoint of the earlier
        # channel-unit parametrisation fails to load instead of being misread
        self.position_lw = nn.Parameter(band.linewidths(torch.as_tensor(channels) + off))
        self.bias_mv = nn.Parameter(torch.zeros(n_out, dtype=torch.float64))

    @property
    def bias(self) -> torch.Tensor:
        return self.bias_mv * 1e-3

    def positions(self) -> torch.Tensor:
        """Where each resonator sits, in input channels (float) of the layer's grid."""
        return self.band.channels(self.position_lw.detach())

    def resonance_frequencies(self) -> torch.Tensor:
        """f_r (n_out, K) in Hz."""
        self.band.project_(self.position_lw)
        return self.band.frequency(self.position_lw)

    def forward(self, powers: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
        return resonator.chain_voltage(powers, freqs, self.resonance_frequencies(),
                                       self.prm) + self.bias


class SparseRFNetwork(RFNetwork):
    """The RF network with K resonators per chain. Inherits the neuron machinery (forward pass,
    amplifiers and STNOs, bias calibration); builds its own sparse layers, so the dense parent's
    layers are never made. Input frequencies, when trained, move in linewidths too."""

    kind = "sparse"

    def __init__(self, config: SparseRFConfig, seed: int = 0):
        nn.Module.__init__(self)
        self.config = config
        gen = torch.Generator().manual_seed(seed)
        sizes = config.sizes
        self.bands = [Band(config, n) for n in sizes[:-1]]
        self.register_buffer("grid_in", torch.tensor(config.grid_for(sizes[0]).frequencies))
        # in linewidths, from each input's own channel
        self.input_shift_lw = nn.Parameter(torch.zeros(sizes[0], dtype=torch.float64),
                                           requires_grad=config.train_input_freqs)
        self.layers = nn.ModuleList(
            SparseRFLayer(n_in, n_out, per_chain_of(config.per_chain, n_in), band,
                          config.resonator, config.init_spread, gen)
            for n_in, n_out, band in zip(sizes[:-1], sizes[1:], self.bands))
        for l, n in enumerate(sizes[1:-1]):
            self.register_buffer(f"neuron_f0_{l}", torch.tensor(config.grid_for(n).frequencies))

    def input_frequencies(self) -> torch.Tensor:
        band = self.bands[0]
        home = band.linewidths(torch.arange(self.config.sizes[0]))
        band.project_(self.input_shift_lw, home)
        return band.frequency(home + self.input_shift_lw)


# ------------------------------------------------------------------ software baselines

@dataclasses.dataclass(frozen=True)
class SparseMLPConfig:
    """A perceptron (or MLP) whose every output keeps ``per_chain`` weights, as an RF chain keeps
    K resonators: ``dense`` (all), ``random`` (a fixed random mask), ``prune`` (dense for the
    first half of the schedule, then the K largest |w| per output, fine-tuned), ``set`` (Sparse
    Evolutionary Training: every ``schedule_steps / 40`` steps the smallest fraction zeta of each
    output's weights is dropped and as many regrown at random; zeta = 0.3 cosine-annealed to 0 at
    75 % of the schedule). ``schedule_steps``: the training steps the schedule spans
    (``spicegen train`` sets it from the data, the epochs and the batch size)."""

    sizes: tuple[int, ...] = (64, 10)
    per_chain: int = 10
    baseline: str = "random"
    schedule_steps: int = 1000

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or any(int(s) < 1 for s in self.sizes):
            raise ValueError(f"sizes must list >= 2 positive layer widths, got {self.sizes}")
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        if self.baseline not in BASELINES:
            raise ValueError(f"--baseline {self.baseline!r}: choose one of {', '.join(BASELINES)}")
        if self.baseline == "dense":            # every input: K plays no part
            object.__setattr__(self, "per_chain", self.sizes[0])
        _check_per_chain(self.per_chain, self.sizes)
        if int(self.schedule_steps) < 2:
            raise ValueError(f"schedule_steps must be >= 2, got {self.schedule_steps!r}")

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "sizes": list(self.sizes)}

    @classmethod
    def from_dict(cls, d: dict) -> "SparseMLPConfig":
        return cls(**{**d, "sizes": tuple(d["sizes"])})


def _top_k_mask(w: torch.Tensor, k: int) -> torch.Tensor:
    idx = w.abs().topk(k, dim=1).indices
    return torch.zeros_like(w).scatter_(1, idx, 1.0)


class SparseMLP(nn.Module):
    kind = "sparse-mlp"

    def __init__(self, config: SparseMLPConfig, seed: int = 0):
        super().__init__()
        self.config = config
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(config.sizes[:-1],
                                                                     config.sizes[1:]))
        for l, lin in enumerate(self.linears):
            mask = torch.ones_like(lin.weight)
            if config.baseline in ("random", "set"):
                k = self.k(l)
                order = torch.rand(mask.shape, generator=self.gen).argsort(1)
                mask = torch.zeros_like(mask).scatter_(1, order[:, :k], 1.0)
                with torch.no_grad():   # same initial scale per active weight as a K-input layer
                    lin.weight.mul_(mask * math.sqrt(lin.in_features / k))
            self.register_buffer(f"mask_{l}", mask)
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))
        self.register_buffer("pruned", torch.tensor(config.baseline != "prune"))

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.config.sizes

    def k(self, l: int) -> int:
        return per_chain_of(self.config.per_chain, self.config.sizes[l])

    def mask(self, l: int) -> torch.Tensor:
        return getattr(self, f"mask_{l}")

    def effective_weights(self) -> list[torch.Tensor]:
        """Each layer's weights as the forward pass uses them: K non-zero per output (all for
        ``dense``; before pruning, a prune baseline is evaluated as if pruned now)."""
        out = []
        for l, lin in enumerate(self.linears):
            if not bool(self.pruned) and not self.training:
                out.append(lin.weight * _top_k_mask(lin.weight.detach(), self.k(l)))
            else:
                out.append(lin.weight * self.mask(l))
        return out

    @torch.no_grad()
    def _schedule(self) -> None:
        self.step += 1
        t, total = int(self.step), self.config.schedule_steps
        if self.config.baseline == "prune" and not bool(self.pruned) and t >= total // 2:
            for l, lin in enumerate(self.linears):
                self.mask(l).copy_(_top_k_mask(lin.weight, self.k(l)))
                lin.weight.mul_(self.mask(l))
            self.pruned.fill_(True)
        every, stop = max(1, total // 40), int(0.75 * total)
        if self.config.baseline == "set" and t % every == 0 and t <= stop:
            zeta = 0.15 * (1 + math.cos(math.pi * t / stop))
            for l, lin in enumerate(self.linears):
                # stochastic rounding: a chain of K = 1 still rewires, now and then
                n = math.floor(zeta * self.k(l) + torch.rand((), generator=self.gen).item())
                n = min(n, lin.in_features - self.k(l))
                if n > 0:
                    self._drop_and_grow(lin.weight, self.mask(l), n)

    def _drop_and_grow(self, w: torch.Tensor, mask: torch.Tensor, n: int) -> None:
        score = torch.where(mask.bool(), w.abs(), torch.full_like(w, math.inf))
        drop = score.topk(n, dim=1, largest=False).indices
        # regrow among the weights inactive before this drop, at random, starting from zero
        free = torch.where(mask.bool(), -1.0, torch.rand(w.shape, generator=self.gen))
        grow = free.topk(n, dim=1).indices
        mask.scatter_(1, drop, 0.0).scatter_(1, grow, 1.0)
        w.scatter_(1, drop, 0.0).scatter_(1, grow, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and torch.is_grad_enabled():
            self._schedule()
        h = x.to(torch.float32)
        weights = self.effective_weights()
        for l, (lin, w) in enumerate(zip(self.linears, weights)):
            h = nn.functional.linear(h, w, lin.bias)
            if l < len(self.linears) - 1:
                h = torch.relu(h)
        return h


# ------------------------------------------------------------------ kinds

class _SparseOptions:
    """The command-line options both sparse kinds share (one option group)."""

    cli_group = "sparse RF networks and their baselines (sparse, sparse-mlp)"

    def add_cli_args(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--per-chain", type=int, default=10,
                           help="resonators per chain (sparse), weights per output (sparse-mlp): "
                                "1 to the number of inputs")
        group.add_argument("--train-input-freqs", action="store_true",
                           help="sparse: also train the input frequencies (no extra devices)")
        group.add_argument("--spacing", type=float, default=SparseRFConfig.spacing,
                           help="sparse: spacing of neighbouring channels on a line, in resonator "
                                "linewidths (default: --span / (inputs - 1))")
        group.add_argument("--span", type=float, default=SparseRFConfig.span,
                           help="sparse: without --spacing, the widest line's channels share a "
                                "band this many linewidths wide")
        group.add_argument("--f-min", type=float, default=RFNetworkConfig.f_min,
                           help="sparse: lowest channel (Hz)")
        group.add_argument("--f-max", type=float, default=RFNetworkConfig.f_max,
                           help="sparse: ceiling of the band the channels must fit under (Hz)")
        group.add_argument("--alpha", type=float, default=ResonatorParams.alpha,
                           help="sparse: resonator linewidth, relative (D = alpha f_r)")
        group.add_argument("--baseline", choices=BASELINES, default="random",
                           help="sparse-mlp: dense; a fixed random mask; magnitude pruning of a "
                                "dense perceptron half-way; SET (dynamic sparse training)")


class SparseKind(_SparseOptions, RFKind):
    name = "sparse"
    description = ("sparse RF network: K resonators per chain, each trained over the whole band "
                   "(trainable topology, Rageau et al.)")
    graph_network = "rf"       # an RF graph: the rf compiler, cosim, crosstalk and sneak apply
    # positions in linewidths. Fashion-MNIST, K = 10, trained inputs, 10 epochs: 80.7 / 81.3 /
    # 79.6 % at 0.06 / 0.12 / 0.25 (readout 2e3); digits no worse at 0.12 than 0.06
    default_lr = 0.12

    def config_from_args(self, args, data):
        sizes = tuple(args.sizes or (data.n_features, data.n_classes))
        prm = ResonatorParams(alpha=args.alpha)
        config = SparseRFConfig(sizes=sizes, per_chain=args.per_chain, spacing=args.spacing,
                                span=args.span,
                                f_min=args.f_min, f_max=args.f_max, resonator=prm,
                                train_input_freqs=args.train_input_freqs)
        return {"sizes": sizes, "config": config}

    def make_model(self, sizes, seed=0, config=None):
        sizes = tuple(sizes)
        if config is None:
            config = SparseRFConfig(sizes=sizes, per_chain=min(10, sizes[0]))
        return SparseRFNetwork(dataclasses.replace(config, sizes=sizes), seed)

    def model_from_dict(self, network):
        return SparseRFNetwork(SparseRFConfig.from_dict(network))

    def to_graph(self, net: SparseRFNetwork):
        """The RF network's graph with K resonators per chain, the graph attribute ``per_chain``
        and each resonator's ``initial_channel``."""
        g = super().to_graph(net)
        g.graph["per_chain"] = int(net.config.per_chain)
        for l, layer in enumerate(net.layers, start=1):
            for (j, k), c in np.ndenumerate(layer.initial_channel.numpy()):
                g.nodes[f"L{l}.c{j}.r{k}"]["initial_channel"] = int(c)
        schema.validate(g)
        return g

    def claims_graph(self, g) -> bool:
        return "per_chain" in g.graph

    def describe_graph(self, g):
        from spicegen.topology import topology
        return f"{super().describe_graph(g)}\n{topology(g).summary()}"

    def export_extras(self, model, g, graph_path: str) -> list[str]:
        """The connectivity plot beside the graph file."""
        import os

        from spicegen.topology import plot_topology
        path = os.path.splitext(graph_path)[0] + ".topology.png"
        return [f"wrote {plot_topology(g, path)}: trained connectivity, one panel per chain"]


class SparseMLPKind(_SparseOptions, NetworkKind):
    name = "sparse-mlp"
    description = ("software baselines of the sparse RF network at equal parameter count "
                   "(--baseline dense | random | prune | set)")

    def config_from_args(self, args, data):
        sizes = tuple(args.sizes or (data.n_features, data.n_classes))
        batch = args.batch_size or self.default_batch_size
        steps = args.epochs * math.ceil(len(data.y_train) / batch)
        config = SparseMLPConfig(sizes=sizes, per_chain=args.per_chain, baseline=args.baseline,
                                 schedule_steps=max(2, steps))
        return {"sizes": sizes, "config": config}

    def make_model(self, sizes, seed=0, config=None):
        sizes = tuple(sizes)
        if config is None:
            config = SparseMLPConfig(sizes=sizes, per_chain=min(10, sizes[0]))
        return SparseMLP(dataclasses.replace(config, sizes=sizes), seed)

    def model_from_dict(self, network):
        return SparseMLP(SparseMLPConfig.from_dict(network))


register_network(SparseKind())
register_network(SparseMLPKind())
