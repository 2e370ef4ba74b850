"""Back-annotation: a trained RF network becomes a device graph (schema in spicegen/graph.py)."""
from __future__ import annotations

import dataclasses

import networkx as nx
import torch

from spicegen import graph as schema

from .rf_network import RFNetwork


def to_graph(net: RFNetwork) -> nx.DiGraph:
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
