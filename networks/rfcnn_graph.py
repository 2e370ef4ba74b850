"""Device graph of an RF convolutional network (kind ``rfcnn``): written from the trained
surrogate (``spintronic.networks.rfcnn.RFCNN``); the wiring ``spicegen.rfcnn_netlist.check_rfcnn``
checks and the netlist compiles.

Read-out on G lines (graph attribute ``readout_lines`` G, absent = 1): rf lines ``L2.line{g}``
(``L2.line`` when G is 1), line g fed by STNOs g H .. (g + 1) H - 1 (H = hidden / G, the lines
reusing H channels); chain j of layer 2 sits on line j // classes and serves class
j % classes, its resonator k serving STNO g H + k; each class's G chains end in its ``readout``
node, in series at DC in the order of their lines, so the read-out is the sum of their voltages
and the read-out node's ``chain_bias`` is the bias of the series (the surrogate's line-0 bias).
"""
from __future__ import annotations

import dataclasses

import networkx as nx
import torch

from spintronic.graph import schema
from spintronic.graph.build import add_chains


def rfcnn_graph(net) -> nx.DiGraph:
    """The device graph of a trained ``RFCNN`` (layout: this module's docstring and
    ``spintronic.networks.rfcnn``)."""
    c = net.config
    P, taps = c.positions, c.kernel ** 2
    g = nx.DiGraph(schema=schema.SCHEMA, network="rfcnn", sizes=",".join(map(str, c.sizes)),
                   readout_scale=float(c.readout_scale), side=c.side, filters=c.filters,
                   kernel=c.kernel, stride=c.stride, padding=c.padding,
                   arrangement=c.arrangement)
    if c.differential:      # absent: one resonator per tap (graphs written before)
        g.graph["differential"] = 1
    res_tap, signs = net.res_tap.tolist(), net.tap_sign.tolist()
    res_common = dataclasses.asdict(c.resonator)
    patch = net.patch.tolist()
    f_line = c.line_frequencies().tolist()
    with torch.no_grad():
        f_r = net.resonance_frequencies().double().tolist()
        det = net.detuning.double().tolist()
        bias = (net.bias_mv * 1e-3).double().tolist()
        serve = net.serve.double().tolist()
        shared = c.arrangement == "shared-line"
        if shared:
            g.add_node("L1.line", kind="rf_line", layer=1)
            for i in range(c.side ** 2):
                g.add_node(f"in{i}", kind="input", layer=0, index=i,
                           frequency=float(f_line[i]), p_max=float(c.p_max))
                g.add_edge(f"in{i}", "L1.line", link="rf")
        else:   # one line per patch, fed by its own copies of the patch's pixels
            for p in range(P):
                line = f"L1.line{p}"
                g.add_node(line, kind="rf_line", layer=1, patch=p)
                for t, i in enumerate(patch[p]):
                    if i >= 0:
                        g.add_node(f"P{p}.in{t}", kind="input", layer=0, index=i, tap=t,
                                   patch=p, frequency=float(f_line[t]), p_max=float(c.p_max))
                        g.add_edge(f"P{p}.in{t}", line, link="rf")
        for f in range(c.filters):
            for p in range(P):
                j = f * P + p
                prev = "L1.line" if shared else f"L1.line{p}"
                k = 0
                for r, t in enumerate(res_tap):
                    if shared and patch[p][t] < 0:
                        continue        # a tap over padding serves no frequency
                    name = f"L1.c{j}.r{k}"
                    g.add_node(name, kind="resonator", layer=1, chain=j, position=k,
                               orientation=int(signs[r]), filter=f, tap=t,
                               detuning=float(det[f][r]), f_serve=float(serve[p][r]),
                               **{**res_common, "f_r": float(f_r[f][p][r])})
                    g.add_edge(prev, name, link="rf" if k == 0 else "dc")
                    prev, k = name, k + 1
                amp, osc = f"L1.amp{j}", f"L1.stno{j}"
                g.add_node(amp, kind="amplifier", layer=1, index=j, g_m=float(c.g_m),
                           v_bias=float(c.v_bias), chain_bias=float(bias[f]))
                g.add_node(osc, kind="stno", layer=1, index=j,
                           attenuation=float(c.hidden_attenuation),
                           **{**dataclasses.asdict(c.stno), "f0": float(net.neuron_f0[j])})
                g.add_edge(prev, amp, link="dc")
                g.add_edge(amp, osc, link="dc")
        add_readout(g, net)
    schema.validate(g)
    return g


def add_readout(g: nx.DiGraph, net) -> None:
    """Layer 2: the dense read-out chains on one line (as the RF network's layer) or on G, every
    line reusing the same H channels."""
    c = net.config
    classes, G, H = c.sizes[2], c.readout_lines, c.per_readout_line
    readout_common = dataclasses.asdict(c.readout_resonator)
    out_bias = net.readout.bias.double().tolist()
    serve = net.readout.serve.double().tolist()
    if G > 1:
        g.graph["readout_lines"] = G
    for line_g, layer in enumerate(net.readout_layers):
        first = line_g * classes
        ends = add_chains(g, 2, [f"L1.stno{line_g * H + k}" for k in range(H)],
                          layer.resonance_frequencies().double().tolist(), readout_common,
                          line="L2.line" if G == 1 else f"L2.line{line_g}", first_chain=first)
        for cls, end in enumerate(ends):
            for k in range(H):
                g.nodes[f"L2.c{first + cls}.r{k}"]["f_serve"] = float(serve[k])
            if line_g == 0:
                g.add_node(f"out{cls}", kind="readout", layer=2, index=cls,
                           chain_bias=float(out_bias[cls]))
            g.add_edge(end, f"out{cls}", link="dc")
