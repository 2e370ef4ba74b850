"""Back-annotation: a trained RF network becomes a device graph (schema in spicegen/graph.py)."""
from __future__ import annotations

import dataclasses

import networkx as nx
import torch

from spicegen import graph as schema

from .rf_network import RFNetwork
from .stno_network import DynamicalSTNONetwork


def to_graph(net: RFNetwork | DynamicalSTNONetwork) -> nx.DiGraph:
    """The device graph of a trained network (RF network or dynamical STNO network)."""
    if isinstance(net, DynamicalSTNONetwork):
        return _dynamical_graph(net)
    if not isinstance(net, RFNetwork):
        raise TypeError(f"no device graph for a {type(net).__name__}: only RF and dynamical "
                        f"STNO networks are made of devices")
    return _rf_graph(net)


def _dynamical_graph(net: DynamicalSTNONetwork) -> nx.DiGraph:
    """One node per input and STNO neuron. Ideal synapses: one edge per trained weight, holding it
    in units of I_th. Chain synapses: an rf line per layer and chains of resonator nodes (trained
    f_r in Hz) from it to each neuron, as in the RF network's graph. Recurrent weights are edges
    between neurons of one layer in both cases."""
    c = net.config
    chain = c.synapses == "chain"
    g = nx.DiGraph(schema=schema.SCHEMA, network="dynamical", sizes=",".join(map(str, c.sizes)),
                   readout_scale=float(c.readout_scale), dt=float(c.dt), steps=int(c.steps),
                   substeps=int(c.substeps),
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
                line = f"L{l}.line"
                g.add_node(line, kind="rf_line", layer=l)
                for s in src:
                    g.add_edge(s, line, link="rf")
                f_r = net.resonance_frequencies(l - 1).double().tolist()
                for j in range(c.sizes[l]):
                    prev = line
                    for k, f in enumerate(f_r[j]):
                        name = f"L{l}.c{j}.r{k}"
                        g.add_node(name, kind="resonator", layer=l, chain=j, position=k,
                                   orientation=1 if k % 2 == 0 else -1, **{**res_common, "f_r": float(f)})
                        g.add_edge(prev, name, link="rf" if prev == line else "dc")
                        prev = name
                    g.add_edge(prev, f"L{l}.n{j}", link="dc")
            else:
                W = weights[l - 1].double().tolist()
                for j in range(c.sizes[l]):
                    for i, s in enumerate(src):
                        g.add_edge(s, f"L{l}.n{j}", link="weight", weight=float(W[j][i]))
            for j in range(c.sizes[l]):
                for k in range(c.sizes[l]):
                    if R[j][k] != 0.0:
                        g.add_edge(f"L{l}.n{k}", f"L{l}.n{j}", link="weight", weight=float(R[j][k]))
    schema.validate(g)
    return g


def _rf_graph(net: RFNetwork) -> nx.DiGraph:
    """One node per input source, rf line, resonator, amplifier, STNO and read-out, with the trained
    values (f_r in Hz as float64, chain biases in V) as attributes."""
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
            line = f"L{l}.line"
            g.add_node(line, kind="rf_line", layer=l)
            feeders = ([f"in{i}" for i in range(sizes[0])] if l == 1 else
                       [f"L{l - 1}.stno{j}" for j in range(sizes[l - 1])])
            for src in feeders:
                g.add_edge(src, line, link="rf")
            f_r = layer.resonance_frequencies().double()
            bias = layer.bias.double().tolist()
            last = l == len(net.layers)
            for j in range(f_r.shape[0]):
                prev = line
                for k in range(f_r.shape[1]):
                    name = f"L{l}.c{j}.r{k}"
                    g.add_node(name, kind="resonator", layer=l, chain=j, position=k,
                               orientation=1 if k % 2 == 0 else -1,
                               **{**res_common, "f_r": float(f_r[j, k])})
                    g.add_edge(prev, name, link="rf" if prev == line else "dc")
                    prev = name
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
