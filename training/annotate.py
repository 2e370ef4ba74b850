"""Back-annotation: a trained RF network becomes a device graph (schema in graph/schema.py)."""
from __future__ import annotations

import dataclasses

import networkx as nx
import torch

from spintronic.graph import schema

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


def _add_chains(g: nx.DiGraph, l: int, feeders: list[str], f_r: list[list[float]],
                res_common: dict) -> list[str]:
    """Layer l's rf line, fed by ``feeders``, and one chain of resonators per row of f_r (Hz),
    mounted alternately head-to-tail; returns each chain's last resonator, for its end device."""
    line = f"L{l}.line"
    g.add_node(line, kind="rf_line", layer=l)
    for src in feeders:
        g.add_edge(src, line, link="rf")
    ends = []
    for j, row in enumerate(f_r):
        prev = line
        for k, f in enumerate(row):
            name = f"L{l}.c{j}.r{k}"
            g.add_node(name, kind="resonator", layer=l, chain=j, position=k,
                       orientation=1 if k % 2 == 0 else -1, **{**res_common, "f_r": float(f)})
            g.add_edge(prev, name, link="rf" if prev == line else "dc")
            prev = name
        ends.append(prev)
    return ends


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
                ends = _add_chains(g, l, src, net.resonance_frequencies(l - 1).double().tolist(),
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
            feeders = ([f"in{i}" for i in range(sizes[0])] if l == 1 else
                       [f"L{l - 1}.stno{j}" for j in range(sizes[l - 1])])
            ends = _add_chains(g, l, feeders, layer.resonance_frequencies().double().tolist(),
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
