"""Stochastic domain-wall synapse networks (Ellis, Welbourne et al. 2023, arXiv 2303.01886): kind
``dw`` and its two software baselines, ``dw_meanfield`` and ``dw_perceptron``.

One layer of binary stochastic synapses: a drive w_ij pushes a domain wall past a pinning site with
probability p(w_ij) (models/domain_wall.py); each synapse is read N times, so for binary inputs x
J_ij ~ Binomial(N, x_i p_ij) / N and neuron j sees Y_j = sum_i J_ij + b_j. Training uses their
rule: mu_j = sum_i x_i p_ij, sigma_j = sqrt(sum_i x_i p_ij (1 - p_ij) / N + 1e-4),
out_j = mu_j + eps_j sigma_j + b_j with eps_j = (Y_j - mu_j) / sigma_j held fixed: the forward
value is the sample, the gradient flows through mu and sigma. w starts at x0 (p = 1/2).

Inputs are features in [0, 1], binarised at x > threshold (0.5 by default, recorded in the
config, the checkpoint and the graph); values outside [0, 1] are refused.
Evaluation: in eval mode a forward pass is one stochastic pass drawn from a generator seeded with
``config.eval_seed`` at every call (reproducible; what the trainer's validation and test figures
are); ``passes`` draws independent passes with given seeds.

With ``--pairs`` every weight is a differential pair of DW synapses read against each other,
J+ - J- (signed weights; a single synapse's weight p lies in [1 - a, 1]): the rule then runs on
mu = sum x (p+ - p-) and sigma^2 = sum x (p+ (1 - p+) + p- (1 - p-)) / N.

Read-out gain (``--gain`` g, fixed at design, not trained; default 1): logit_j = g (sum_i J_ij) + b_j,
the rule scaling the sample and mu + eps sigma alike. A weight p+ - p- lies in [-0.978, 0.978], which
caps the logits' scale; the circuit realises g exactly as its columns' trans-impedance gain (the
graph holds one per neuron). ``--init-p``: every drive starts at p^-1(init_p) instead of x0; with
pairs a low p starts every weight at 0 with little read variance (at x0 a zero weight is two
synapses at p = 0.51, the largest variance). Measured effect: README.

Baselines on the same binarised inputs: ``dw_meanfield`` trains the same drives on the expected
input g mu_j + b_j (no sampling), ``dw_perceptron`` is a deterministic perceptron (real weights).

Graph (``network: dw``): one ``dw_input`` per feature, one ``dw_synapse`` per synapse (its drive w,
p(w), row, column, the DW-MTJ read-out conductances G_P / G_AP and the device's x0, dx, a, t_read),
one ``dw_neuron`` per class (bias); edges input -> synapse -> neuron (dc). Netlist, read-back and
co-simulation: ``spicegen.dw_netlist``.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

import networkx as nx
import numpy as np
import torch
from torch import nn

from spintronic.graph import schema
from spintronic.models.domain_wall import (DomainWallParams, sample_reads,
                                           stochastic_preactivation, switch_probability)

from . import register_network
from .base import CosimOptions, NetworkKind

MAX_READS = 1 << 16          # as spicegen.dw_netlist.MAX_READS
MAX_GAIN = 1e3               # read-out gain, as spicegen.dw_netlist.MAX_GAIN
VAR_FLOOR = 1e-4             # the rule's floor under sigma^2 (published)
SURROGATE_PASSES = 16        # stochastic passes of the surrogate in a co-simulation, at least

schema.register_node_kind("dw_input", ("layer", "index"))
schema.register_node_kind("dw_synapse", ("layer", "row", "column", "sign", "w", "p", "G_P",
                                         "G_AP"), device="dw_synapse")
schema.register_node_kind("dw_neuron", ("layer", "index", "bias"))


def check_reads(reads) -> int:
    """N as an int >= 1, or ValueError naming the value."""
    if isinstance(reads, bool) or not isinstance(reads, (int, np.integer)) or \
            not 1 <= reads <= MAX_READS:
        raise ValueError(f"reads (N) must be an integer from 1 to {MAX_READS}, got {reads!r}")
    return int(reads)


@dataclasses.dataclass(frozen=True)
class DWConfig:
    sizes: tuple[int, ...] = (64, 10)
    reads: int = 8                   # N: reads per synapse per sample
    threshold: float = 0.5           # inputs binarised at x > threshold
    v_read: float = 0.1              # read voltage of a row (V) in the circuit
    eval_seed: int = 0               # generator seed of an eval-mode pass
    pairs: bool = False              # differential pairs: weight J+ - J- (signed), 2 synapses each
    gain: float = 1.0                # read-out gain: logit = gain x count + bias (the column's TIA)
    init_p: float | None = None      # p of every drive at the start; None: w = x0 (published)
    device: DomainWallParams = DomainWallParams()

    def __post_init__(self) -> None:
        sizes = tuple(int(s) for s in self.sizes)
        if len(sizes) != 2 or min(sizes) < 1:
            raise ValueError(f"a dw network is one layer: sizes must be (inputs, outputs), got "
                             f"{self.sizes!r}")
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "reads", check_reads(self.reads))
        if isinstance(self.threshold, bool) or not 0 < float(self.threshold) < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold!r}")
        if not 0 < float(self.v_read) <= 10:
            raise ValueError(f"v_read must be in (0, 10] V, got {self.v_read!r}")
        if isinstance(self.eval_seed, bool) or not isinstance(self.eval_seed, int) \
                or self.eval_seed < 0:
            raise ValueError(f"eval_seed must be an integer >= 0, got {self.eval_seed!r}")
        if not isinstance(self.pairs, (bool, np.bool_)):
            raise ValueError(f"pairs must be True or False, got {self.pairs!r}")
        if isinstance(self.gain, bool) or not isinstance(self.gain, (int, float)) \
                or not 0 < self.gain <= MAX_GAIN:
            raise ValueError(f"gain must be a number in (0, {MAX_GAIN:g}], got {self.gain!r}")
        if isinstance(self.device, dict):
            object.__setattr__(self, "device", DomainWallParams(**self.device))
        if self.init_p is not None:
            floor = 1 - self.device.a
            if isinstance(self.init_p, bool) or not isinstance(self.init_p, (int, float)) \
                    or not floor < self.init_p < 1:
                raise ValueError(f"init_p must be a probability in ({floor:.5g}, 1) (the device's "
                                 f"floor 1 - a to 1), got {self.init_p!r}")

    def initial_drive(self) -> float:
        """The drive every synapse starts at: x0, or p^-1(init_p)."""
        prm = self.device
        if self.init_p is None:
            return prm.x0
        s = (self.init_p - (1 - prm.a)) / prm.a
        return prm.x0 + float(np.log(s / (1 - s))) / prm.dx

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["sizes"] = list(self.sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DWConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def binary_inputs(X: torch.Tensor, threshold: float) -> torch.Tensor:
    """Features in [0, 1] as 0/1 (x > threshold), float32; anything else is a ValueError."""
    X = torch.as_tensor(X)
    if X.ndim != 2:
        raise ValueError(f"dw inputs must be (samples, features), got shape {tuple(X.shape)}")
    bad = ~torch.isfinite(X) | (X < 0) | (X > 1)
    if bool(bad.any()):
        at = tuple(int(k) for k in bad.nonzero()[0])
        raise ValueError(f"dw inputs must be features in [0, 1] (binarised at x > {threshold:g}); "
                         f"got {X[at].item()!r} at {at}: scale the data to [0, 1]")
    return (X > threshold).to(torch.float32)


class _DriveLayer(nn.Module):
    """Trained drives w (n_out, n_in), initialised at x0 (or at p = ``config.init_p``), and
    biases; with ``config.pairs`` also the drives w_neg of the - synapses (weight J+ - J-, zero at
    initialisation). ``gain`` (n_out,): the read-out gain of each neuron, fixed (config.gain; a
    graph may carry one per neuron): logit = gain x (sum of J) + bias."""

    def __init__(self, config: DWConfig, seed: int = 0):
        super().__init__()
        self.config = config
        self.sizes = config.sizes
        n_in, n_out = config.sizes
        w0 = config.initial_drive()
        self.w = nn.Parameter(torch.full((n_out, n_in), w0))
        if config.pairs:
            self.w_neg = nn.Parameter(torch.full((n_out, n_in), w0))
        self.bias = nn.Parameter(torch.zeros(n_out))
        # a design value, not trained; not in the state dict (checkpoints keep it in the config)
        self.register_buffer("gain", torch.full((n_out,), float(config.gain)), persistent=False)

    def drives(self) -> list[torch.Tensor]:
        return [self.w, self.w_neg] if self.config.pairs else [self.w]

    def probabilities(self) -> torch.Tensor:
        """p(w), (S, n_out, n_in): S = 2 with pairs (+, then -), else 1."""
        return torch.stack([switch_probability(w, self.config.device) for w in self.drives()])

    def mean_field(self, X) -> torch.Tensor:
        p = self.probabilities()
        weight = p[0] - p[1] if self.config.pairs else p[0]
        return self.gain * (binary_inputs(X, self.config.threshold) @ weight.T) + self.bias

    def sample(self, X, reads: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """One stochastic pass with N reads (default: the config's), by the rule; the gain scales
        the sample (forward) and mu + eps sigma (backward) alike."""
        x = binary_inputs(X, self.config.threshold)
        n = self.config.reads if reads is None else check_reads(reads)
        prm = self.config.device
        if not self.config.pairs:
            return self.gain * stochastic_preactivation(x, self.w, n, prm, generator,
                                                        VAR_FLOOR) + self.bias
        # pairs: the rule on Y = Y+ - Y-, whose mean is the difference and variance the sum
        p = self.probabilities()
        mu = x @ (p[0] - p[1]).T
        sigma = torch.sqrt(x @ (p * (1 - p)).sum(0).T / n + VAR_FLOOR)
        with torch.no_grad():
            y = sum(sign * sample_reads(x[:, None, :], w.detach()[None], n, prm, generator).sum(-1)
                    for sign, w in zip((1, -1), self.drives()))
            eps = (y - mu) / sigma
        return self.gain * (mu + eps * sigma) + self.bias

    def passes(self, X, seeds, reads: int | None = None) -> np.ndarray:
        """(len(seeds), samples, n_out) logits of independent stochastic passes."""
        with torch.no_grad():
            return np.stack([self.sample(X, reads, torch.Generator().manual_seed(int(s)))
                             .double().numpy() for s in seeds])


class DWNetwork(_DriveLayer):
    kind = "dw"

    def forward(self, X) -> torch.Tensor:
        if self.training:
            return self.sample(X)
        return self.sample(X, generator=torch.Generator().manual_seed(self.config.eval_seed))


class DWMeanField(_DriveLayer):
    kind = "dw_meanfield"

    def forward(self, X) -> torch.Tensor:
        return self.mean_field(X)


class DWPerceptron(nn.Module):
    kind = "dw_perceptron"

    def __init__(self, config: DWConfig, seed: int = 0):
        super().__init__()
        self.config = config
        self.sizes = config.sizes
        n_in, n_out = config.sizes
        self.linear = nn.Linear(n_in, n_out)
        gen = torch.Generator().manual_seed(seed)     # torch's default init, without the global RNG
        with torch.no_grad():
            for prm in (self.linear.weight, self.linear.bias):
                prm.copy_((torch.rand(prm.shape, generator=gen) * 2 - 1) / n_in ** 0.5)

    def forward(self, X) -> torch.Tensor:
        return self.linear(binary_inputs(X, self.config.threshold))


# ------------------------------------------------------------------------ kinds

def _reads_option(text: str) -> int:
    try:
        return check_reads(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to {MAX_READS}, got "
                                         f"{text}") from None


class _DWKinds(NetworkKind):
    cli_group = "stochastic DW synapses (dw, dw_meanfield, dw_perceptron)"
    default_lr = 0.02
    default_batch_size = 64
    model_class: type = DWNetwork

    def add_cli_args(self, group) -> None:
        group.add_argument("--reads", type=_reads_option, default=8,
                           help="dw: reads N of every synapse per sample (J ~ Binomial(N, x p) / "
                                "N); the baselines keep it for their stochastic evaluation")
        group.add_argument("--pairs", action="store_true",
                           help="dw, dw_meanfield: differential pairs, every weight two DW "
                                "synapses read against each other (J+ - J-): signed weights")
        group.add_argument("--gain", type=_gain, default=1.0,
                           help="dw, dw_meanfield: read-out gain, logit = gain x sum J + bias (the "
                                "columns' trans-impedance; fixed, not trained). 1.5 with --pairs, "
                                "--init-p 0.1 and --lr 0.01: see the README")
        group.add_argument("--init-p", type=_init_p, default=None, dest="init_p",
                           help="dw, dw_meanfield: start every drive at this p instead of x0 "
                                "(p = 0.51); with --pairs a low p starts every weight at 0 with "
                                "little read variance")
        group.add_argument("--threshold", type=_threshold, default=0.5,
                           help="dw kinds take binary inputs: features in [0, 1] are binarised "
                                "at x > threshold (recorded in the checkpoint and the graph)")

    def add_cosim_args(self, group) -> None:
        from spicegen.cli.options import positive_int, ranged
        group.add_argument("--repeats", type=positive_int, default=3,
                           help="dw: runs of the test set through ngspice, each with its own "
                                "recorded seed (the surrogate draws max(repeats, "
                                f"{SURROGATE_PASSES}) passes)")
        group.add_argument("--spice-seed", type=positive_int, default=1,
                           help="dw: ngspice seed of the first run (.options seed); run k uses "
                                "seed + k")
        group.add_argument("--check-synapses", type=positive_int, default=32,
                           help="dw: synapses whose ngspice switching frequency is tested "
                                "against p(w) (binomial test)")
        group.add_argument("--crossbar", action="store_true",
                           help="dw: also read the same switch states through a DW-MTJ "
                                "crossbar (spicegen.crossbar's wires, sensing, access) and report "
                                "its loss against the ideal current summing")
        group.add_argument("--crossbar-r-wire", type=ranged(float, 0.0, 1e6), default=1.0,
                           help="dw --crossbar: wire resistance per cell segment (Ohm)")
        group.add_argument("--crossbar-sensing", choices=["tia", "resistor"], default="tia",
                           help="dw --crossbar: virtual-ground TIA or a sense resistor per column")
        group.add_argument("--crossbar-access", action="store_true",
                           help="dw --crossbar: an access transistor in every cell")

    def config_from_args(self, args, data):
        sizes = tuple(args.sizes or (data.n_features, data.n_classes))
        if len(sizes) != 2:
            raise ValueError(f"a {self.name} network is one layer: --sizes must be "
                             f"inputs,outputs, got {','.join(map(str, sizes))}")
        config = DWConfig(sizes=sizes, reads=getattr(args, "reads", 8),
                          threshold=getattr(args, "threshold", 0.5),
                          pairs=bool(getattr(args, "pairs", False)),
                          gain=getattr(args, "gain", 1.0), init_p=getattr(args, "init_p", None))
        X = data.X_train
        changed = int(np.count_nonzero((X != 0) & (X != 1)))
        print(f"{self.name}: inputs binarised at x > {config.threshold:g} ({changed} of {X.size} "
              f"training values were neither 0 nor 1)", file=sys.stderr)
        return {"sizes": sizes, "config": config}

    def make_model(self, sizes, seed=0, config=None):
        config = dataclasses.replace(config or DWConfig(sizes=tuple(sizes)), sizes=tuple(sizes))
        return self.model_class(config, seed)

    def model_from_dict(self, network):
        return self.model_class(DWConfig.from_dict(network))


def _gain(text: str) -> float:
    from spicegen.cli.options import ranged
    return ranged(float, 0.0, MAX_GAIN, low_open=True)(text)


def _init_p(text: str) -> float:
    from spicegen.cli.options import ranged
    floor = 1 - DomainWallParams().a
    value = ranged(float, floor, 1.0, low_open=True)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be < 1, got {text}")
    return value


def _threshold(text: str) -> float:
    from spicegen.cli.options import ranged
    value = ranged(float, 0.0, 1.0, low_open=True)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be < 1, got {text}")
    return value


class DWKind(_DWKinds):
    name = "dw"
    description = ("stochastic DW synapses (Ellis, Welbourne et al.): binary inputs, each synapse "
                   "read N times (--reads), trained through mean and spread")
    graph_network = "dw"
    model_class = DWNetwork

    def to_graph(self, net: DWNetwork) -> nx.DiGraph:
        c = net.config
        prm = c.device
        n_in, n_out = c.sizes
        g = nx.DiGraph(schema=schema.SCHEMA, network="dw", sizes=f"{n_in},{n_out}",
                       reads=c.reads, threshold=float(c.threshold), v_read=float(c.v_read),
                       eval_seed=c.eval_seed, pairs=int(c.pairs),
                       readout_scale=1.0 / (c.v_read * (prm.G_P - prm.G_AP)))
        with torch.no_grad():
            drives = [w.double() for w in net.drives()]
            probs = [switch_probability(w, prm).tolist() for w in drives]
            drives, bias = [w.tolist() for w in drives], net.bias.double().tolist()
        device = {f: getattr(prm, f) for f in ("x0", "dx", "a", "t_read", "G_P", "G_AP")}
        for i in range(n_in):
            g.add_node(f"in{i}", kind="dw_input", layer=0, index=i)
        gains = net.gain.double().tolist()
        for j in range(n_out):
            g.add_node(f"out{j}", kind="dw_neuron", layer=1, index=j, bias=float(bias[j]),
                       gain=float(gains[j]))
        for i in range(n_in):
            for j in range(n_out):
                for sign, w, p in zip((1, -1), drives, probs):
                    s = f"syn{i}.{j}" + ("" if sign > 0 else ".neg")
                    g.add_node(s, kind="dw_synapse", layer=1, row=i, column=j, sign=sign,
                               w=float(w[j][i]), p=float(p[j][i]), **device)
                    g.add_edge(f"in{i}", s, link="dc")
                    g.add_edge(s, f"out{j}", link="dc")
        schema.validate(g)
        return g

    def check_graph(self, g):
        from spicegen.dw_netlist import read_graph
        read_graph(g)

    def describe_graph(self, g):
        kinds = [k for _, k in g.nodes(data="kind")]
        return (f"{g.number_of_nodes()} devices ({kinds.count('dw_synapse')} DW synapses, "
                f"{kinds.count('dw_input')} inputs, {kinds.count('dw_neuron')} neurons; "
                f"{g.graph.get('reads')} reads per sample"
                f"{', differential pairs' if g.graph.get('pairs') else ''})")

    def model_from_graph(self, g: nx.DiGraph) -> DWNetwork:
        """The surrogate of a dw graph (the model it was exported from, up to float32). Its
        config's gain is the neurons' common gain (1 if they differ: the model then holds each
        neuron's own)."""
        from spicegen.dw_netlist import read_graph
        layer = read_graph(g)
        uniform = bool(np.all(layer.gain == layer.gain[0]))
        config = DWConfig(sizes=tuple(reversed(layer.shape)), reads=layer.reads,
                          threshold=layer.threshold, v_read=layer.v_read,
                          eval_seed=int(g.graph.get("eval_seed", 0)), pairs=layer.pairs,
                          gain=float(layer.gain[0]) if uniform else 1.0, device=layer.prm)
        net = DWNetwork(config)
        with torch.no_grad():
            for w, drive in zip(net.drives(), layer.w):
                w.copy_(torch.as_tensor(drive))
            net.bias.copy_(torch.as_tensor(layer.bias))
            net.gain.copy_(torch.as_tensor(layer.gain))
        return net.eval()

    def compile(self, g, X, opts: CosimOptions, title=""):
        from spicegen.dw_netlist import compile_dw, read_graph
        return compile_dw(read_graph(g), X, seed=int(opts.extra.get("spice_seed") or 1),
                          title=title)

    def cosim(self, g, X, y, opts: CosimOptions):
        from spicegen.dw_cosim import cosim_dw
        from spicegen.dw_netlist import read_graph
        if opts.fidelity == "rf":
            raise ValueError("dw networks have no carrier: their circuit is the same at both "
                             "fidelities; drop --fidelity rf")
        repeats = opts.extra.get("repeats", 1)
        if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
            raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
        layer = read_graph(g)
        xbar = None
        if opts.extra.get("crossbar"):
            from spicegen.crossbar import CrossbarConfig
            xbar = CrossbarConfig(r_wire=opts.extra.get("crossbar_r_wire", 1.0),
                                  sensing=opts.extra.get("crossbar_sensing", "tia"),
                                  access=bool(opts.extra.get("crossbar_access", False)))
        net = self.model_from_graph(g)
        seeds = [net.config.eval_seed + k for k in range(max(int(repeats), SURROGATE_PASSES))]
        surrogate = net.passes(X, seeds)
        return cosim_dw(layer, X, y, surrogate, seeds, repeats=int(repeats),
                        seed=int(opts.extra.get("spice_seed") or 1),
                        synapses=int(opts.extra.get("check_synapses") or 32),
                        workers=opts.workers, chunk=opts.chunk, backend=opts.backend,
                        progress=opts.progress, executor=opts.executor,
                        scheduler=opts.scheduler, timeout=opts.timeout, crossbar=xbar)

    def sneak(self, g, X, y, opts):
        """The read-out as a DW-MTJ crossbar in drawn switch states (``spicegen.dw_sneak``)."""
        from spicegen.crossbar import CrossbarConfig
        from spicegen.dw_netlist import read_graph
        from spicegen.dw_sneak import DEFAULT_LIMIT, inspect_dw
        if opts.layer != 1:
            raise ValueError(f"a dw network has one layer: --layer must be 1, got {opts.layer}")
        limit = opts.limit or DEFAULT_LIMIT
        cfg = CrossbarConfig(r_wire=opts.r_wire, sensing=opts.sensing, access=opts.access)
        return inspect_dw(read_graph(g), X[:limit], y[:limit], cfg, solver=opts.solver,
                          seed=opts.seed, on_off=opts.on_off, timeout=opts.timeout,
                          single_ended=opts.single_ended)


class DWMeanFieldKind(_DWKinds):
    name = "dw_meanfield"
    description = ("baseline of dw: the same DW drives trained on the expected input "
                   "sum x p + b (mean field, no sampling)")
    model_class = DWMeanField


class DWPerceptronKind(_DWKinds):
    name = "dw_perceptron"
    description = "baseline of dw: a deterministic perceptron on the same binarised inputs"
    model_class = DWPerceptron


register_network(DWKind())
register_network(DWMeanFieldKind())
register_network(DWPerceptronKind())
