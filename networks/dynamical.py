"""The dynamical STNO network trained with BPTT on sequences (kind ``stno``) and its software
baseline, a continuous-time RNN (kind ``ctrnn``).

Surrogate: ``training.stno_network``; netlist, read-back and co-simulation: ``spicegen.dynamical``.
This module ties them to the registry and owns the kind's device graph (``network: dynamical``).
"""
from __future__ import annotations

import argparse
import dataclasses
import math

import networkx as nx
import torch

from spintronic.graph import schema
from spintronic.graph.build import add_chains
from spintronic.training.stno_network import (ORDERS, READOUTS, SYNAPSES, CTRNN, DynamicalConfig,
                                              DynamicalSTNONetwork)

from . import register_network
from .base import CosimOptions, NetworkKind
from .rf import CHANNEL_OPTIONS, channel_values


class _SequenceKind(NetworkKind):
    cli_group = "sequence models (stno, ctrnn)"
    default_lr = 0.03
    default_batch_size = 64
    model_class: type = DynamicalSTNONetwork

    def add_cli_args(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--order", choices=ORDERS, default="rows",
                           help="feed the image row by row or pixel by pixel")
        group.add_argument("--dt", type=float, default=4e-9, help="input time step (s)")
        group.add_argument("--substeps", type=int, default=8, help="integration substeps per dt")
        group.add_argument("--synapses", choices=SYNAPSES, default="ideal",
                           help="stno: ideal trained weights, or RF resonator chains with "
                                "trained f_r")
        group.add_argument("--readout", choices=READOUTS, default="last",
                           help="output power at the last step, or averaged over the last "
                                "--readout-steps")
        group.add_argument("--readout-steps", type=int, default=1,
                           help="steps averaged by --readout mean")

    def config_from_args(self, args, data):
        side = math.isqrt(data.n_features)
        if args.order == "rows" and side * side != data.n_features:
            raise ValueError(f"--order rows needs square images; {data.n_features} features are "
                             f"not a square: use --order pixels")
        width, steps = (side, side) if args.order == "rows" else (1, data.n_features)
        sizes = args.sizes or (width, 64, data.n_classes)
        if sizes[0] * steps != data.n_features:
            raise ValueError(f"{args.order} order feeds {width} inputs per step, but --sizes "
                             f"starts with {sizes[0]}")
        channels = {}
        if args.synapses == "chain":
            channels = channel_values(args, DynamicalConfig())
        elif any(getattr(args, k, None) is not None for k in CHANNEL_OPTIONS):
            raise ValueError(f"--f-min, --f-max, --grid and --p-max set the channels of resonator "
                             f"chains: a {self.name} network needs --synapses chain for them")
        config = DynamicalConfig(sizes=sizes, steps=steps, order=args.order, dt=args.dt,
                                 substeps=args.substeps, readout=args.readout,
                                 readout_steps=args.readout_steps, synapses=args.synapses,
                                 **channels)
        return {"sizes": tuple(sizes), "config": config}

    def make_model(self, sizes, seed=0, config=None):
        config = dataclasses.replace(config or DynamicalConfig(), sizes=tuple(sizes))
        return self.model_class(config, seed)

    def connections(self, sizes):
        return super().connections(sizes) + sum(n * n for n in sizes[1:])   # recurrent weights

    def model_from_dict(self, network):
        return self.model_class(DynamicalConfig.from_dict(network))


class STNOKind(_SequenceKind):
    name = "stno"
    description = ("dynamical STNO network: neurons integrate their power equation, fed in time "
                   "(BPTT); ideal or resonator-chain synapses")
    graph_network = "dynamical"
    model_class = DynamicalSTNONetwork

    def to_graph(self, net: DynamicalSTNONetwork) -> nx.DiGraph:
        """One node per input and STNO. Ideal synapses: one edge per trained weight, holding it
        in units of I_th. Chain synapses: an rf line per layer and chains of resonator nodes
        (trained f_r in Hz) from it to each neuron, as in the RF network's graph. Recurrent
        weights are edges between neurons of one layer in both cases."""
        c = net.config
        chain = c.synapses == "chain"
        g = nx.DiGraph(schema=schema.SCHEMA, network="dynamical",
                       sizes=",".join(map(str, c.sizes)), readout_scale=float(c.readout_scale),
                       dt=float(c.dt), steps=int(c.steps), substeps=int(c.substeps),
                       order=c.order, readout=c.readout, readout_steps=int(c.readout_steps),
                       p_init=float(c.p_init), synapses=c.synapses)
        stno_common = dataclasses.asdict(c.stno)
        res_common = dataclasses.asdict(c.resonator)
        f_in = c.frequencies(c.sizes[0]) if chain else None
        for i in range(c.sizes[0]):
            extra = {"frequency": float(f_in[i]), "p_max": float(c.p_max)} if chain else {}
            g.add_node(f"u{i}", kind="signal", layer=0, index=i, **extra)
        with torch.no_grad():
            weights = net.effective_weights()
            for l in range(1, len(c.sizes)):
                self._add_layer(g, net, l, weights, stno_common, res_common, chain)
        schema.validate(g)
        return g

    @staticmethod
    def _add_layer(g, net, l, weights, stno_common, res_common, chain) -> None:
        c = net.config
        R = net.recurrent[l - 1].double().tolist()
        bias = net.biases[l - 1].double().tolist()
        src = [f"u{i}" for i in range(c.sizes[0])] if l == 1 else \
            [f"L{l - 1}.n{i}" for i in range(c.sizes[l - 1])]
        f0 = c.frequencies(c.sizes[l]) if chain else None
        for j in range(c.sizes[l]):
            extra = {"f0": float(f0[j]), "g_m": float(c.g_m),
                     "attenuation": float(c.attenuation)} if chain else {}
            g.add_node(f"L{l}.n{j}", kind="neuron", layer=l, index=j, bias=float(bias[j]),
                       **{**stno_common, **extra})
        if chain:
            ends = add_chains(g, l, src, net.resonance_frequencies(l - 1).double().tolist(),
                              res_common)
            for j, last in enumerate(ends):
                g.add_edge(last, f"L{l}.n{j}", link="dc")
        else:
            W = weights[l - 1].double().tolist()
            for j in range(c.sizes[l]):
                for i, s in enumerate(src):
                    g.add_edge(s, f"L{l}.n{j}", link="weight", weight=float(W[j][i]))
        for j in range(c.sizes[l]):
            for k in range(c.sizes[l]):
                if R[j][k] != 0.0:
                    g.add_edge(f"L{l}.n{k}", f"L{l}.n{j}", link="weight", weight=float(R[j][k]))

    def check_graph(self, g):
        from spintronic.graph.structure import check_dynamical
        check_dynamical(g)

    def describe_graph(self, g):
        kinds = [a["kind"] for _, a in g.nodes(data=True)]
        weights = sum(1 for *_, k in g.edges(data="link") if k == "weight")
        return (f"{g.number_of_nodes()} devices ({kinds.count('neuron')} STNOs, "
                f"{kinds.count('resonator')} resonators, {weights} weights)")

    def crosstalk_line(self, g, layer, inputs=None, chains=None):
        """``spicegen crosstalk --graph``: picked sources and chains of a chain-synapse layer's
        line (what the design-rule warnings point to)."""
        from spicegen.design_rules import line_crosstalk
        if f"L{layer}.line" not in g:
            raise ValueError("ideal synapses have no resonator line: crosstalk needs a graph "
                             "trained with --synapses chain")
        return line_crosstalk(g, f"L{layer}.line", inputs, chains)

    def compile(self, g, X, opts: CosimOptions, title=""):
        from spicegen.dynamical import compile_dynamical
        return compile_dynamical(g, X, points_per_step=opts.points_per_step, title=title)

    def cosim(self, g, X, y, opts: CosimOptions):
        from spicegen.dynamical import cosim_dynamical
        if opts.fidelity == "rf":
            raise ValueError("dynamical STNO networks are co-simulated at envelope fidelity (their "
                             "chains, if any, as Lorentzian weights): drop --fidelity rf")
        chunk = {"chunk": opts.chunk} if opts.chunk else {}
        return cosim_dynamical(g, X, y, workers=opts.workers, backend=opts.backend,
                               progress=opts.progress, points_per_step=opts.points_per_step,
                               executor=opts.executor, scheduler=opts.scheduler,
                               timeout=opts.timeout, **chunk)


class CTRNNKind(_SequenceKind):
    name = "ctrnn"
    description = "software baseline of the STNO network: continuous-time rate neurons"
    model_class = CTRNN


register_network(STNOKind())
register_network(CTRNNKind())
