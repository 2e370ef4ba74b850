"""RF convolutional graphs (network ``rfcnn``): structure check, weights read back from the
devices, crosstalk figures, envelope netlist, steady-state surrogate and co-simulation.

The graph (written by ``spintronic.networks.rfcnn``): layer 1 is one line carrying every pixel
(``shared-line``) or one line per output position carrying its patch at the k^2 tap frequencies
(``reuse``, fed by fan-out copies of the pixels: input nodes sharing a pixel ``index``); chain j
(= filter * positions + position) holds the filter's taps (graph attribute ``differential`` 1: two
resonators per tap, + then -, each with its own shared detuning) and ends in an amplifier driving
STNO j; layer 2 is one line carrying the STNOs to dense chains ending in read-outs, or (graph
attribute ``readout_lines`` G) G lines ``L2.line{g}`` reusing hidden/G channels, line g carrying
STNOs g H .. (g + 1) H - 1: chain j sits on line j // classes and serves class j % classes, and a
class's G chains are in series at DC (the read-out is the sum of their voltages, one bias).

Envelope netlist: as ``compiler.compile_envelope`` (whose cards it reuses), with the chains' weights
read from each chain's own line: one VCCS per (chain, pixel or neuron) pair, a fan-out's copies of
one pixel summed, since they carry the same power; a class's chains on G read-out lines as G
1-Ohm segments stacked in series, the read-out at the top.
"""
from __future__ import annotations

import dataclasses
import math
import time

import networkx as nx
import numpy as np
import torch

from spintronic.graph import schema
from spintronic.graph.schema import GraphError
from spintronic.models import resonator, stno
from spintronic.models.params import spice_number as num
from spintronic.models.units import POWER_UNIT

from .compiler import (_SHARED, CompileError, check_stimulus, Netlist, _comment, _finite, _neuron_cards, _pwl,
                       source_frequency)
from .deck import Options, Tran
from .rfcnn_readout import check_readout_lines, end_groups, series_cards

ARRANGEMENTS = ("shared-line", "reuse")
CONV_ATTRS = ("side", "filters", "kernel", "stride", "padding")
_REL = 1e-9     # f_r against f_serve (1 + alpha detuning): 1e-7 of a linewidth at alpha 0.01
# the envelope deck's reltol: on the 28x28 network (676 STNOs) 1e-4 reads the read-out within
# 0.23 uV of a 1e-6 run (1e-5: 0.05 uV) in 2.3x fewer ngspice iterations; the STNOs' settling
# within a 200 ns window costs 10 uV, so the step control is not what limits agreement
RELTOL = 1e-4


def conv_side(side: int, kernel: int, stride: int, padding: int) -> int:
    """Output side of a k x k convolution, as in software; a clear error for shapes it refuses."""
    for name, value, low in (("image side", side, 1), ("kernel", kernel, 1), ("stride", stride, 1),
                             ("padding", padding, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if kernel > side + 2 * padding:
        raise ValueError(f"a {kernel}x{kernel} filter is larger than the {side}x{side} image "
                         f"(padding {padding})")
    if padding >= kernel:
        raise ValueError(f"padding {padding} must be smaller than the kernel {kernel}, or some "
                         f"patches hold only padding")
    return (side + 2 * padding - kernel) // stride + 1


def patch_index(side: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """(positions, k^2) pixel index (row-major) under each tap of each patch, -1 over padding."""
    out = conv_side(side, kernel, stride, padding)
    pos = np.arange(out)[:, None] * stride - padding + np.arange(kernel)[None, :]  # (out, k)
    r = pos[:, None, :, None]           # position row, tap row
    c = pos[None, :, None, :]           # position column, tap column
    ok = (r >= 0) & (r < side) & (c >= 0) & (c < side)
    idx = np.where(ok, r * side + c, -1)                 # (out, out, k, k)
    return idx.reshape(out * out, kernel * kernel).astype(np.int64)


def conv_shape(g: nx.DiGraph) -> dict:
    """The graph's convolution attributes, checked against each other and its sizes."""
    shape = {}
    for name in CONV_ATTRS:
        value = g.graph.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise GraphError(f"graph attribute {name} must be an integer, got {value!r}")
        shape[name] = value
    arrangement = g.graph.get("arrangement")
    if not isinstance(arrangement, str) or arrangement not in ARRANGEMENTS:
        raise GraphError(f"graph attribute arrangement must be one of {', '.join(ARRANGEMENTS)}, "
                         f"got {arrangement!r}")
    try:
        out = conv_side(shape["side"], shape["kernel"], shape["stride"], shape["padding"])
    except ValueError as exc:
        raise GraphError(f"graph convolution attributes: {exc}") from None
    if shape["filters"] < 1:
        raise GraphError(f"graph attribute filters must be >= 1, got {shape['filters']}")
    differential = g.graph.get("differential", 0)     # absent: graphs before differential taps
    if isinstance(differential, bool) or differential not in (0, 1):
        raise GraphError(f"graph attribute differential must be 0 or 1, got {differential!r}")
    sizes = schema.layer_sizes(g)
    want = [shape["side"] ** 2, shape["filters"] * out * out]
    if len(sizes) != 3 or sizes[:2] != want:
        raise GraphError(f"graph attribute sizes {g.graph.get('sizes')!r} does not match "
                         f"{shape['filters']} {shape['kernel']}x{shape['kernel']} filters on "
                         f"{shape['side']}x{shape['side']} images ({want[0]},{want[1]},CLASSES)")
    G = g.graph.get("readout_lines", 1)     # absent: one read-out line (graphs written before)
    if isinstance(G, bool) or not isinstance(G, int) or G < 1 or want[1] % G:
        raise GraphError(f"graph attribute readout_lines must be a divisor of the {want[1]} conv "
                         f"STNOs, got {G!r}")
    return {**shape, "arrangement": arrangement, "positions": out * out, "sizes": sizes,
            "differential": bool(differential), "readout_lines": G}


def chain_layout(s: dict, patch_row) -> list[tuple[int, int]]:
    """(tap, orientation) of each resonator of a conv chain, head first: one per tap, orientation
    alternating by tap, or (differential) a tap's + resonator then its - one; a tap over padding
    on a shared line has none."""
    taps = [t for t in range(s["kernel"] ** 2)
            if patch_row[t] >= 0 or s["arrangement"] != "shared-line"]
    if s["differential"]:
        return [(t, o) for t in taps for o in (1, -1)]
    return [(t, resonator.orientation(t)) for t in taps]      # by tap, as the model


# ------------------------------------------------------------------------- structure

def check_rfcnn(g: nx.DiGraph) -> None:
    """The wiring ``compile_rfcnn`` assumes, and the weight sharing: every resonator of one
    (filter, tap, orientation) holds the same detuning, and its f_r is f_serve (1 + alpha detuning) with
    f_serve the channel of its tap's pixel on its line."""
    from spintronic.graph.structure import (_chains, _indexed, _ints, _line, _links, _only_kinds,
                                            _stray_resonators)

    if g.graph.get("network") != "rfcnn":
        raise GraphError(f"this is a {g.graph.get('network')!r} graph, not an rfcnn")
    s = conv_shape(g)
    _ints(g)
    _only_kinds(g, {"input", "rf_line", "resonator", "amplifier", "stno", "readout"}, "rfcnn")
    patch = patch_index(s["side"], s["kernel"], s["stride"], s["padding"])
    P, taps, n_hidden, classes = s["positions"], s["kernel"] ** 2, s["sizes"][1], s["sizes"][2]
    shared = s["arrangement"] == "shared-line"
    line_f: dict[str, dict[int, float]] = {}     # line -> {pixel index or tap: channel}
    if shared:
        inputs = _indexed(g, "input", 0, s["side"] ** 2)
        _line(g, 1, inputs)
        line_f["L1.line"] = {i: g.nodes[n]["frequency"] for i, n in enumerate(inputs)}
        lines = ["L1.line"] * P
    else:
        lines = [f"L1.line{p}" for p in range(P)]
        line_f = _reuse_lines(g, patch, lines)
    n_lines = sum(1 for _, a in g.nodes(data=True) if a["kind"] == "rf_line" and a["layer"] == 1)
    if n_lines != len(set(lines)):
        raise GraphError(f"layer 1 has {n_lines} rf lines, expected {len(set(lines))} "
                         f"({s['arrangement']} arrangement)")
    amps = _indexed(g, "amplifier", 1, n_hidden)
    oscillators = _indexed(g, "stno", 1, n_hidden)
    seen: set = set()
    shared_detuning: dict[tuple[int, int, int], tuple[float, str]] = {}
    tap_f: dict[int, float] = {}
    ends: dict[int, str] = {}
    for line in sorted(set(lines)):
        for head in g.successors(line):
            j, end = _conv_chain(g, line, head, patch, lines, s, seen, shared_detuning,
                                 line_f[line], tap_f)
            if j in ends:
                raise GraphError(f"node {head!r}: chain {j} of layer 1 appears twice")
            ends[j] = end
    for j in range(n_hidden):
        if ends.get(j) != amps[j]:
            raise GraphError(f"chain {j} of layer 1 ends in {ends.get(j)!r}, expected the "
                             f"amplifier {amps[j]!r}")
        if list(g.successors(amps[j])) != [oscillators[j]]:
            raise GraphError(f"amplifier {amps[j]!r} must drive the STNO {oscillators[j]!r}")
    readouts = _indexed(g, "readout", 2, classes)
    if s["readout_lines"] == 1:
        line2 = _line(g, 2, oscillators)
        for j, (end, want) in enumerate(zip(_chains(g, 2, line2, classes, seen), readouts)):
            if end != want:
                raise GraphError(f"chain {j} of layer 2 ends in {end!r}, expected the read-out "
                                 f"{want!r}")
    else:
        check_readout_lines(g, s["readout_lines"], oscillators, readouts, seen)
    _stray_resonators(g, seen)
    _links(g)
    for node, a in g.nodes(data=True):
        if (a["kind"] in ("amplifier", "stno") and a["layer"] != 1) or \
                (a["kind"] == "readout" and a["layer"] != 2):
            raise GraphError(f"node {node!r} ({a['kind']}): not allowed in layer {a['layer']} "
                             f"(amplifiers and STNOs sit in layer 1, read-outs in layer 2)")


def _reuse_lines(g, patch, lines) -> dict[str, dict[int, float]]:
    """Each patch line is fed by one copy of each pixel of its patch, at its tap's channel, the
    same channel for a tap on every line (the reuse plan); a pixel's copies share p_max."""
    out, tap_f, p_max = {}, {}, {}
    n_copies = 0
    for p, line in enumerate(lines):
        if line not in g or g.nodes[line]["kind"] != "rf_line" or g.nodes[line]["layer"] != 1:
            raise GraphError(f"layer 1 has no rf line named {line!r} (patch {p})")
        want = {(int(i), t) for t, i in enumerate(patch[p]) if i >= 0}
        got, chans = set(), {}
        for src in g.predecessors(line):
            a = g.nodes[src]
            if a["kind"] != "input" or not isinstance(a.get("tap"), int) or \
                    isinstance(a.get("tap"), bool):
                raise GraphError(f"node {src!r} feeds {line!r} but is not a pixel copy (an input "
                                 f"with an integer tap)")
            key = (a["index"], a["tap"])
            if key not in want or key in got:
                raise GraphError(f"node {src!r}: pixel {key[0]} at tap {key[1]} does not belong "
                                 f"on {line!r} (patch {p}) or appears twice")
            got.add(key)
            f = tap_f.setdefault(a["tap"], a["frequency"])
            if f != a["frequency"]:
                raise GraphError(f"node {src!r}: tap {a['tap']} is at {a['frequency']!r} Hz here "
                                 f"but at {f!r} Hz on another line (reuse: one channel per tap)")
            if p_max.setdefault(a["index"], a["p_max"]) != a["p_max"]:
                raise GraphError(f"node {src!r}: the copies of pixel {a['index']} differ in p_max")
            chans[a["tap"]] = f
        if got != want:
            raise GraphError(f"line {line!r} lacks pixel copies {sorted(want - got)[:4]} of "
                             f"patch {p}")
        out[line] = chans
        n_copies += len(got)
    n_inputs = sum(1 for _, a in g.nodes(data=True) if a["kind"] == "input")
    if n_inputs != n_copies:
        raise GraphError(f"{n_inputs - n_copies} input node(s) feed no patch line")
    return out


def _number(node, a: dict, name: str) -> float:
    v = a.get(name)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise GraphError(f"node {node!r} (resonator): {name} must be a finite number, got {v!r}")
    return v


def _conv_chain(g, line, head, patch, lines, s, seen, shared_detuning, chans, tap_f):
    """Walk one chain of a layer-1 line; returns (chain index, end node)."""
    j = g.nodes[head].get("chain")
    if g.nodes[head]["kind"] != "resonator" or not 0 <= j < s["sizes"][1]:
        raise GraphError(f"line {line!r} feeds {head!r}, not the first resonator of a conv chain")
    f, p = divmod(j, s["positions"])
    if lines[p] != line:
        raise GraphError(f"node {head!r}: chain {j} (position {p}) hangs off {line!r}, not "
                         f"{lines[p]!r}")
    shared = s["arrangement"] == "shared-line"
    layout = chain_layout(s, patch[p])
    node = head
    for k, (t, o) in enumerate(layout):
        a = g.nodes[node]
        if a["kind"] != "resonator":
            raise GraphError(f"chain {j} of layer 1 has {k} resonators, expected {len(layout)}")
        if node in seen:
            raise GraphError(f"node {node!r}: resonator reached twice")
        seen.add(node)
        want = (1, j, k, f, t, o)
        got = tuple(a.get(x) for x in ("layer", "chain", "position", "filter", "tap",
                                       "orientation"))
        if got != want:
            raise GraphError(f"node {node!r}: expected layer, chain, position, filter, tap, "
                             f"orientation {want}, got {got}")
        det, f_serve = _number(node, a, "detuning"), _number(node, a, "f_serve")
        first = shared_detuning.setdefault((f, t, o), (det, node))
        if first[0] != det:
            raise GraphError(f"node {node!r}: detuning {det!r} of filter {f}, tap {t}, "
                             f"orientation {o:+d} differs from {first[1]!r}'s {first[0]!r}; the "
                             f"taps of a filter are shared")
        channel = chans.get(patch[p][t] if shared else t)
        if channel is None:     # reuse, a tap over padding: the tap's channel on other lines
            channel = tap_f.setdefault(t, f_serve)
        elif not shared:
            tap_f.setdefault(t, channel)
        if f_serve != channel:
            raise GraphError(f"node {node!r}: f_serve {f_serve!r} Hz is not its tap's channel "
                             f"{channel!r} Hz")
        want_fr = f_serve * (1.0 + a["alpha"] * det)
        if abs(a["f_r"] - want_fr) > _REL * want_fr:
            raise GraphError(f"node {node!r}: f_r {a['f_r']!r} Hz is not f_serve (1 + alpha "
                             f"detuning) = {want_fr!r} Hz")
        (node,) = list(g.successors(node))
    if g.nodes[node]["kind"] == "resonator":
        raise GraphError(f"chain {j} of layer 1 has more than {len(layout)} resonators")
    return j, node


# ------------------------------------------------------------------------- weights

def layer_chains(g: nx.DiGraph, layer: int) -> list[tuple[str, list[str], str]]:
    """(line, resonators, end node) of every chain of ``layer`` (one line per patch), by chain
    index."""
    return schema.line_chains(g, [n for n, a in g.nodes(data=True)
                                  if a["kind"] == "rf_line" and a["layer"] == layer])


def line_sources(g: nx.DiGraph, line) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """(nodes, index in the layer below, channel Hz, line watts per watt emitted) of a line."""
    srcs = sorted(g.predecessors(line), key=lambda n: (g.nodes[n]["index"],
                                                       g.nodes[n].get("tap", 0)))
    for s in srcs:
        if g.nodes[s].get("N", 0) != 0:
            raise CompileError(f"{s}: envelope fidelity assumes fixed source frequencies, but "
                               f"this STNO pulls its frequency (N = {g.nodes[s]['N']})")
    return (srcs, np.array([g.nodes[s]["index"] for s in srcs]),
            np.array([source_frequency(g, s) for s in srcs], dtype=np.float64),
            np.array([g.nodes[s].get("attenuation", 1.0) for s in srcs]))


def _rectification(g, path, f: np.ndarray) -> np.ndarray:
    """(resonators, channels) V/W, each resonator's signed Lorentzian of every channel."""
    attrs = [g.nodes[r] for r in path]
    out = np.zeros((len(path), len(f)))
    groups: dict = {}
    for k, a in enumerate(attrs):       # resonators may differ in more than f_r
        groups.setdefault(tuple(a[name] for name in _SHARED), []).append(k)
    ft = torch.tensor(f, dtype=torch.float64)
    for key, ks in groups.items():
        prm = schema.resonator_params({**dict(zip(_SHARED, key)), "f_r": 1.0})
        f_r = torch.tensor([attrs[k]["f_r"] for k in ks], dtype=torch.float64)
        sign = torch.tensor([attrs[k]["orientation"] for k in ks], dtype=torch.float64)
        out[ks] = (sign[:, None] * resonator.lorentzian(ft[None, :], f_r[:, None], prm)).numpy()
    _finite(out, path[0], "its chain's rectification (V/W)")
    return out


def layer_matrix(g: nx.DiGraph, layer: int, n_below: int) -> tuple[np.ndarray, np.ndarray]:
    """(W, bias): W[j, i] in V per watt emitted by pixel or neuron i of the layer below (a
    fan-out's copies summed, attenuation included), crosstalk and orientations included."""
    chains = layer_chains(g, layer)
    W = np.zeros((len(chains), n_below))
    bias = np.zeros(len(chains))
    cache: dict = {}
    for j, (line, path, end) in enumerate(chains):
        if line not in cache:
            cache[line] = line_sources(g, line)
        _, idx, f, scale = cache[line]
        np.add.at(W[j], idx, _rectification(g, path, f).sum(0) * scale)
        bias[j] = g.nodes[end]["chain_bias"]
    return W, bias


def pixel_p_max(g: nx.DiGraph, n: int) -> np.ndarray:
    p = np.zeros(n)
    for _, a in g.nodes(data=True):
        if a["kind"] == "input":
            p[a["index"]] = a["p_max"]
    return p


def conv_voltages(g: nx.DiGraph, X: np.ndarray) -> np.ndarray:
    """(samples, conv chains) V: layer 1 is linear in the pixel powers, crosstalk included."""
    sizes = schema.layer_sizes(g)
    W1, b1 = layer_matrix(g, 1, sizes[0])
    return (np.asarray(X, dtype=np.float64) * pixel_p_max(g, sizes[0])) @ W1.T + b1


def stno_drive(g: nx.DiGraph, v1: np.ndarray) -> list[tuple[list[int], torch.Tensor, object]]:
    """Each conv STNO's clamped drive current (A) for chain voltages v1, as (STNO indices,
    currents (samples, len(indices)), STNOParams) per group of STNOs whose power equation is the
    same (the parameters but f0, which only sets each one's channel)."""
    groups: dict = {}
    for j, (_, _, amp) in enumerate(layer_chains(g, 1)):
        (osc,) = list(g.successors(amp))
        prm = dataclasses.replace(schema.stno_params(g.nodes[osc]), f0=1.0)
        groups.setdefault(prm, ([], []))[0].append(j)
        groups[prm][1].append((g.nodes[amp]["g_m"], g.nodes[amp]["v_bias"]))
    out = []
    for prm, (js, amps) in groups.items():
        g_m, v_bias = np.array(amps).T
        out.append((js, stno.clamp_current(torch.tensor(g_m * (v1[:, js] + v_bias)), prm), prm))
    return out


def readout_matrix(g: nx.DiGraph) -> tuple[np.ndarray, np.ndarray]:
    """(W, bias) of the read-outs in V per watt each STNO emits: a class's chains on several
    read-out lines are in series, so their weights add and the bias counts once."""
    W2, b2 = layer_matrix(g, 2, schema.layer_sizes(g)[1])
    groups = end_groups(layer_chains(g, 2))
    if len(groups) != len(W2):
        W2 = np.stack([W2[ks].sum(0) for _, ks in groups])
        b2 = np.array([g.nodes[end]["chain_bias"] for end, _ in groups])
    return W2, b2


def graph_forward(g: nx.DiGraph, X: np.ndarray) -> list[np.ndarray]:
    """Steady-state surrogate of the graph: both layers' chain voltages (V) for inputs X."""
    v1 = conv_voltages(g, X)
    hidden = np.zeros_like(v1)
    for js, current, prm in stno_drive(g, v1):
        hidden[:, js] = stno.emitted_power(stno.steady_power(current, prm), current, prm).numpy()
    W2, b2 = readout_matrix(g)
    return [v1, hidden @ W2.T + b2]


# ------------------------------------------------------------------------- netlist, cosim

RISE, P_INIT = 1e-9, 1e-3      # each sample's ramp from the previous one (s); STNO power at t = 0
CHUNK = 45                     # samples per ngspice run (each run starts from P_INIT)


def compile_rfcnn(g: nx.DiGraph, X: np.ndarray, window: float = 200e-9, rise: float = RISE,
                  p_init: float = P_INIT, title: str = "", checked: bool = False,
                  reltol: float = RELTOL) -> Netlist:
    """Envelope netlist that plays the samples X (n, pixels) one after another, each for
    ``window`` seconds, and reads both layers' chains at the end of each window."""
    if not checked:
        schema.validate(g)
        check_rfcnn(g)
    sizes = schema.layer_sizes(g)
    X = check_stimulus(X, sizes[0], window, rise)
    n = len(X)
    s = conv_shape(g)
    lines = [f"* spicegen rfcnn envelope netlist {title}".rstrip(),
             _comment(f"{s['filters']} filters {s['kernel']}x{s['kernel']} stride {s['stride']} "
                      f"padding {s['padding']}, {s['arrangement']}; sizes "
                      f"{','.join(map(str, sizes))}, {n} samples, window {window:g} s"),
             Options(reltol=reltol, vntol=1e-12, abstol=1e-15).render()]
    first_stno = next(a for _, a in g.nodes(data=True) if a["kind"] == "stno")
    lines.append(stno.spice_subckt(schema.stno_params(first_stno), "envelope"))
    times = np.empty(2 * n)
    times[0::2] = np.arange(n) * window
    times[1::2] = np.arange(n) * window + rise
    times[0] = 0.0
    lines.append("* pixel powers, 1 V = 1 uW (a fan-out's copies of a pixel carry the same)")
    p_max = pixel_p_max(g, sizes[0])
    for i in range(sizes[0]):
        values = np.repeat(X[:, i] * p_max[i] / POWER_UNIT, 2)
        _finite(values, f"pixel {i}", "its input power (p_max times the stimulus)")
        values[0::2] = np.concatenate([[values[0]], values[1:-1:2]])
        lines.append(f"Vin{i} pw0_{i} 0 {_pwl(times, values)}")
    outputs, hidden, ics = [], [], []
    for l in (1, 2):
        W, bias = layer_matrix(g, l, sizes[l - 1])
        W = W * POWER_UNIT                               # volts per volt of power node
        chains = layer_chains(g, l)
        lines.append(f"* layer {l}: {len(chains)} chains")
        groups = end_groups(chains)
        if len(groups) != len(chains):      # read-out lines: each class's chains in series
            lines += series_cards(chains, groups, W, g.nodes, l)
            outputs += [f"v(c{l}_{j})" for j in range(len(groups))]
            continue
        for j, (line, path, end) in enumerate(chains):
            node = f"c{l}_{j}"
            lines.append(_comment(f"chain {j} on {line}: {len(path)} resonators"))
            lines.append(f"Rc{l}_{j} {node} 0 1")
            lines.append(f"Ib{l}_{j} 0 {node} DC {num(bias[j])}")
            lines += [f"G{l}_{j}_{i} 0 {node} pw{l - 1}_{i} 0 {num(w)}"
                      for i, w in enumerate(W[j]) if w != 0.0]
            if g.nodes[end]["kind"] == "readout":
                outputs.append(f"v({node})")
                continue
            cards, ic = _neuron_cards(g, end, l, j, node, "envelope", p_init)
            lines += cards
            ics.append(ic)
        if l == 1:
            hidden.append([f"v(c1_{j})" for j in range(len(chains))])
    lines += ics
    lines.append(".save " + " ".join(outputs + hidden[0]))
    lines.append(Tran(window / 50, n * window, 0, window / 10).render())
    lines.append(".end")
    return Netlist("\n".join(lines) + "\n", (np.arange(n) + 1) * window, outputs, hidden, n)


def cosim_rfcnn(g: nx.DiGraph, X: np.ndarray, y: np.ndarray, window: float = 200e-9,
                workers: int = 2, chunk: int | None = CHUNK, backend: str = "subprocess",
                progress: bool = False, executor: str = "threads", scheduler: str | None = None,
                timeout: float | None = None):
    """The test set through ngspice in runs of ``chunk`` samples, fanned out by the named
    executor (``cosim.run_chunks``), beside the graph's steady-state surrogate."""
    from .cosim import _check_labels, run_chunks, run_length, windowed_piece
    from .rfcnn_settling import RFCNNCosimResult, windowed_forward

    X = np.asarray(X, dtype=np.float64)
    y = _check_labels(X, y)
    start = time.perf_counter()
    schema.validate(g)
    check_rfcnn(g)

    chunk = run_length(len(X), chunk, workers)     # the prediction restarts where a run does
    run_piece = windowed_piece(compile_rfcnn, g, X, window, backend, timeout)
    circuit, waveforms, runs = run_chunks(run_piece, len(X), chunk, workers, backend, progress,
                                          executor, scheduler)
    return RFCNNCosimResult(y, graph_forward(g, X), circuit, time.perf_counter() - start, runs,
                            waveforms, settled=windowed_forward(g, X, window, chunk=chunk),
                            window=window)
