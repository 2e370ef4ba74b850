"""The RF resonator-chain network (kind ``rf``) and its software baseline (kind ``mlp``).

Surrogate: ``training.rf_network``; netlists: ``spicegen.compiler`` (envelope and carrier level);
co-simulation: ``spicegen.cosim``. This module ties them to the registry and owns the kind's
device graph: one node per input source, rf line, resonator, amplifier, STNO and read-out.
"""
from __future__ import annotations

import dataclasses

import networkx as nx
import torch

from spintronic.graph import schema
from spintronic.graph.build import add_chains
from spintronic.training.rf_network import MLP, RFNetwork, RFNetworkConfig

from . import register_network
from .base import CosimOptions, NetworkKind

RF_COSIM_DEFAULT_LIMIT = 10    # carrier-level runs take minutes per sample


CHANNEL_OPTIONS = ("f_min", "f_max", "grid", "p_max")


def add_channel_args(group) -> None:
    """``--f-min --f-max --grid --p-max``: the microwave channels of an RF network (and of a
    dynamical network's resonator-chain synapses); unset, each kind keeps its own defaults."""
    from spicegen.cli.options import positive_float, ranged

    from spintronic.training.stno_network import DynamicalConfig

    rf, dyn = RFNetworkConfig(), DynamicalConfig()

    def by_kind(name, unit, scale):
        return (f"default: rf {getattr(rf, name) / scale:g} {unit}, stno --synapses chain "
                f"{getattr(dyn, name) / scale:g} {unit}")

    group.add_argument("--f-min", type=positive_float, metavar="HZ",
                       help=f"lowest channel frequency, Hz ({by_kind('f_min', 'GHz', 1e9)})")
    group.add_argument("--f-max", type=positive_float, metavar="HZ",
                       help=f"highest channel frequency, Hz, above --f-min "
                            f"({by_kind('f_max', 'GHz', 1e9)})")
    group.add_argument("--grid", choices=("linear", "geometric"),
                       help=f"channel spacing from f_min to f_max (default: {rf.grid})")
    group.add_argument("--p-max", type=ranged(float, 0.0, 1.0, low_open=True), metavar="W",
                       help=f"RF power of a full-scale input, W ({by_kind('p_max', 'uW', 1e-6)})")


def channel_values(args, defaults) -> dict:
    """The channel options given on the command line, checked against each other and against
    the kind's defaults (``0 < f_min < f_max``)."""
    given = {k: getattr(args, k) for k in CHANNEL_OPTIONS if getattr(args, k, None) is not None}
    f_min, f_max = given.get("f_min", defaults.f_min), given.get("f_max", defaults.f_max)
    if not f_min < f_max:
        def shown(name, value):
            flag = "--" + name.replace("_", "-")
            return f"{flag} {value:g} Hz" if name in given else f"the default {name} {value:g} Hz"
        raise ValueError(f"{shown('f_min', f_min)} must be below {shown('f_max', f_max)}")
    return given


class RFKind(NetworkKind):
    name = "rf"
    description = "RF network: inputs on microwave channels, MTJ resonator chains, STNO neurons"
    graph_network = "rf"
    cli_group = "rf channels (rf networks; stno with --synapses chain)"
    fidelities = ("envelope", "rf")

    def add_cli_args(self, group):
        add_channel_args(group)

    def config_from_args(self, args, data):
        sizes = super().config_from_args(args, data)["sizes"]
        base = RFNetworkConfig()
        return {"sizes": sizes,
                "config": dataclasses.replace(base, sizes=sizes, **channel_values(args, base))}

    def make_model(self, sizes, seed=0, config=None):
        config = dataclasses.replace(config or RFNetworkConfig(), sizes=tuple(sizes))
        return RFNetwork(config, seed)

    def model_from_dict(self, network):
        return RFNetwork(RFNetworkConfig.from_dict(network))

    def to_graph(self, net: RFNetwork) -> nx.DiGraph:
        """One node per input source, rf line, resonator, amplifier, STNO and read-out, with the
        trained values (f_r in Hz as float64, chain biases in V) as attributes."""
        c = net.config
        sizes = c.sizes
        g = nx.DiGraph(schema=schema.SCHEMA, network="rf", sizes=",".join(map(str, sizes)),
                       readout_scale=float(c.readout_scale))
        res_common = dataclasses.asdict(c.resonator)
        stno_common = dataclasses.asdict(c.stno)
        with torch.no_grad():
            f_in = net.input_frequencies().double().tolist()
            for i, f in enumerate(f_in):
                g.add_node(f"in{i}", kind="input", layer=0, index=i, frequency=float(f),
                           p_max=float(c.p_max))
            for l, layer in enumerate(net.layers, start=1):
                feeders = ([f"in{i}" for i in range(sizes[0])] if l == 1 else
                           [f"L{l - 1}.stno{j}" for j in range(sizes[l - 1])])
                ends = add_chains(g, l, feeders, layer.resonance_frequencies().double().tolist(),
                                  res_common)
                bias = layer.bias.double().tolist()
                last = l == len(net.layers)
                for j, prev in enumerate(ends):
                    if last:
                        end = f"out{j}"
                        g.add_node(end, kind="readout", layer=l, index=j, chain_bias=float(bias[j]))
                        g.add_edge(prev, end, link="dc")
                    else:
                        amp, osc = f"L{l}.amp{j}", f"L{l}.stno{j}"
                        g.add_node(amp, kind="amplifier", layer=l, index=j, g_m=float(c.g_m),
                                   v_bias=float(c.v_bias), chain_bias=float(bias[j]))
                        f0 = float(net.neuron_frequencies(l - 1)[j])
                        g.add_node(osc, kind="stno", layer=l, index=j,
                                   attenuation=float(c.hidden_attenuation),
                                   **{**stno_common, "f0": f0})
                        g.add_edge(prev, amp, link="dc")
                        g.add_edge(amp, osc, link="dc")
        schema.validate(g)
        return g

    def check_graph(self, g: nx.DiGraph) -> None:
        from spintronic.graph.structure import check_rf
        check_rf(g)

    def describe_graph(self, g):
        kinds = [a["kind"] for _, a in g.nodes(data=True)]
        return (f"{g.number_of_nodes()} devices ({kinds.count('resonator')} resonators, "
                f"{kinds.count('stno')} STNOs)")

    def compile(self, g, X, opts: CosimOptions, title=""):
        """Envelope: one device-level deck of every sample (``term_budget`` from
        ``opts.extra``); rf: one carrier-level deck per sample."""
        from spicegen.compiler import compile_envelope, compile_rf
        if opts.fidelity == "rf":
            return [compile_rf(g, x, lp_ratio=opts.lp_ratio, title=f"{title} sample {k}".strip())
                    for k, x in enumerate(X)]
        budget = opts.extra.get("term_budget")
        return compile_envelope(g, X, window=opts.window, title=title,
                                **({"term_budget": budget} if budget is not None else {}))

    def default_cosim_limit(self, opts):
        return RF_COSIM_DEFAULT_LIMIT if opts.fidelity == "rf" else None

    def cosim(self, g, X, y, opts: CosimOptions):
        from spicegen import cosim
        common = dict(workers=opts.workers, progress=opts.progress, executor=opts.executor,
                      scheduler=opts.scheduler, timeout=opts.timeout)
        if opts.fidelity == "rf":
            return cosim.cosim_rf(g, X, y, lp_ratio=opts.lp_ratio, **common)
        chunk = {"chunk": opts.chunk} if opts.chunk else {}
        return cosim.cosim_envelope(g, X, y, window=opts.window, backend=opts.backend,
                                    **chunk, **common)

    def sneak(self, g, X, y, opts):
        """One layer of the RF graph as a crossbar beside its resonator chains
        (``spicegen.sneak.inspect_layer``)."""
        from spicegen.crossbar import CrossbarConfig
        from spicegen.sneak import inspect_layer

        cfg = CrossbarConfig(on_off=2.5 if opts.on_off is None else opts.on_off,
                             r_wire=opts.r_wire, sensing=opts.sensing, access=opts.access,
                             differential=not opts.single_ended)
        if opts.limit:
            X, y = X[:opts.limit], y[:opts.limit]
        return inspect_layer(g, X, y, opts.layer, cfg, solver=opts.solver, timeout=opts.timeout)


class MLPKind(NetworkKind):
    name = "mlp"
    description = "software baseline of the RF network: dense layers with ReLU"

    def make_model(self, sizes, seed=0, config=None):
        return MLP(tuple(sizes), seed)

    def config_to_dict(self, model):
        return {"sizes": list(model.sizes)}

    def model_from_dict(self, network):
        return MLP(tuple(int(s) for s in network["sizes"]))


register_network(RFKind())
register_network(MLPKind())

