"""Stochastic domain-wall synapse networks (kind ``dw``) in ngspice: graph reader, netlist,
read-back and Monte-Carlo co-simulation.

The circuit ("ideal per-neuron current summing"), one ngspice run per piece of the test set:

- row i: a source holding ``V_read x_i`` for the sample being read (x binarised, 0 or 1);
- synapse (i, j): a DC source holds its trained drive w_ij on the drive port of a ``dw_stoch``
  instance (models/domain_wall.py). At every read (period t_read) the instance draws a fresh uniform
  number in ngspice itself (``trrandom``, seeded by ``.options seed=N``) and its state is 1 when the
  wall passed, with probability p(w_ij). The drive pulse is applied at every read; the input gates
  the read instead: the state sets a ``dw_mtj`` between row i and column j, G_AP + (G_P - G_AP) s,
  so synapse ij adds current only when x_i = 1 and J_ij ~ Binomial(N, x_i p_ij) / N as the rule says;
- column j: held at 0 V by a source (an ideal virtual-ground summing amplifier) whose current is the
  neuron's input; a DC current source adds the bias, b_j V_read (G_P - G_AP);
- reference column: one ``dw_mtj`` per row at wall position 0 (G_AP), also at 0 V: its current,
  V_read G_AP sum_i x_i, is what every column carries whatever the states.

Read-back maps the currents onto the surrogate's logits exactly: at the middle of read k,
``Y_jk = (I_j - I_ref) / (V_read (G_P - G_AP)) = sum_i x_i s_ijk + b_j`` (the scale is
1 / (V_read (G_P - G_AP)) logits per ampere: 1 logit per 12 uA with the defaults), and a sample's
logit is the mean of its N reads, ``Y_j = sum_i J_ij + b_j``. ``Y_jk - b_j`` must be a whole count:
its largest deviation is reported as the read-out residual.

Monte-Carlo co-simulation and its report: :mod:`spicegen.dw_cosim`.

Read slot 0 of every run is idle: ngspice's operating point at t = 0 holds the random source's DC
value, not a draw (as the device twin notes).
"""
from __future__ import annotations

import dataclasses
import math

import networkx as nx
import numpy as np
import torch

from spintronic.graph import schema
from spintronic.graph.schema import GraphError
from spintronic.models.domain_wall import MTJ, SYNAPSE, DomainWallParams, switch_probability
from spintronic.models.params import spice_number as num

from .compiler import Netlist, _comment
from .crossbar import CrossbarConfig
from .crossbar.topology import _KINDS, _build_circuit
from .deck import Deck, Options, Tran

NETWORK = "dw"
MAX_READS = 1 << 16              # reads per sample: 2**16 keeps a sample's netlist time under control
P_TOLERANCE = 1e-9               # stored p against p(w) recomputed from the graph's w
SHARED = ("x0", "dx", "a", "t_read", "G_P", "G_AP")     # one value for every synapse of a graph


class DWInputError(ValueError):
    """Inputs a dw network cannot binarise."""


def binarise(X, threshold: float) -> tuple[np.ndarray, int]:
    """(x, changed): features in [0, 1] binarised as x > threshold, and how many values were
    neither 0 nor 1 before. Non-finite values or values outside [0, 1] are refused."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise DWInputError(f"dw inputs must be a (samples, features) array, got shape {X.shape}")
    bad = ~np.isfinite(X) | (X < 0) | (X > 1)
    if bad.any():
        at = tuple(int(k) for k in np.argwhere(bad)[0])
        raise DWInputError(f"dw inputs must be features in [0, 1] (binarised at x > {threshold:g}); "
                           f"got {X[at]!r} at {at}: scale the data to [0, 1]")
    changed = int(np.count_nonzero((X != 0) & (X != 1)))
    return (X > threshold).astype(np.float64), changed


def binarise_note(changed: int, total: int, threshold: float) -> str:
    return (f"inputs binarised at x > {threshold:g}: {changed} of {total} values were neither 0 "
            f"nor 1" if changed else f"inputs already binary (threshold x > {threshold:g})")


# ------------------------------------------------------------------------ graph

@dataclasses.dataclass(frozen=True)
class DWLayer:
    """What the circuit needs of a dw graph: trained drives w (n_out, n_in), biases (n_out,), the
    shared device parameters, reads per sample, the binarisation threshold and the read voltage."""
    w: np.ndarray
    bias: np.ndarray
    prm: DomainWallParams
    reads: int
    threshold: float
    v_read: float

    @property
    def scale(self) -> float:
        """Logits per ampere of column current above the reference column's."""
        return 1.0 / (self.v_read * (self.prm.G_P - self.prm.G_AP))

    def probabilities(self) -> np.ndarray:
        return switch_probability(torch.as_tensor(self.w, dtype=torch.float64), self.prm).numpy()


def _attr(g: nx.DiGraph, name: str, integer: bool, low: float, high: float, low_open=False):
    value = g.graph.get(name)
    ok = not isinstance(value, bool) and isinstance(value, (int,) if integer else (int, float))
    if ok:
        ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        what = "an integer" if integer else "a number"
        raise GraphError(f"graph attribute {name} must be {what} in {'(' if low_open else '['}"
                         f"{low:g}, {high:g}], got {value!r}")
    return value


def read_graph(g: nx.DiGraph) -> DWLayer:
    """The layer of a dw graph, after the schema and the structural checks the compiler relies on:
    one input per feature, one neuron per class, one synapse per (input, neuron) pair wired
    input -> synapse -> neuron, shared device parameters, p consistent with w. GraphError names
    the node or attribute."""
    schema.validate(g)
    if g.graph.get("network") != NETWORK:
        raise GraphError(f"this is a {g.graph.get('network')!r} graph, not a dw network")
    sizes = schema.layer_sizes(g)
    if len(sizes) != 2:
        raise GraphError(f"a dw network has one layer of synapses: sizes must be 'inputs,outputs', "
                         f"got {g.graph.get('sizes')!r}")
    n_in, n_out = sizes
    reads = _attr(g, "reads", True, 1, MAX_READS)
    threshold = _attr(g, "threshold", False, 0.0, 1.0, low_open=True)
    if threshold >= 1:
        raise GraphError(f"graph attribute threshold must be in (0, 1), got {threshold!r}")
    v_read = _attr(g, "v_read", False, 0.0, 10.0, low_open=True)
    inputs, neurons, synapses = {}, {}, {}
    for node, a in g.nodes(data=True):
        kind = a["kind"]
        if kind == "dw_input":
            inputs.setdefault(a["index"], node)
        elif kind == "dw_neuron":
            neurons.setdefault(a["index"], node)
        elif kind == "dw_synapse":
            synapses.setdefault((a["row"], a["column"]), node)
        else:
            raise GraphError(f"node {node!r} ({kind}): a dw graph holds only dw_input, dw_synapse "
                             f"and dw_neuron nodes")
    for what, found, want in (("dw_input", inputs, set(range(n_in))),
                              ("dw_neuron", neurons, set(range(n_out))),
                              ("dw_synapse", synapses,
                               {(i, j) for i in range(n_in) for j in range(n_out)})):
        count = sum(1 for _, k in g.nodes(data="kind") if k == what)
        if set(found) != want or count != len(want):
            raise GraphError(f"sizes {g.graph['sizes']!r} need {len(want)} {what} nodes indexed "
                             f"{'by (row, column)' if what == 'dw_synapse' else '0..n-1'}, found "
                             f"{count} ({len(set(found) & want)} at expected indices)")
    first = synapses[(0, 0)]
    shared = {f: g.nodes[first][f] for f in SHARED}
    w = np.empty((n_out, n_in))
    for (i, j), node in synapses.items():
        a = g.nodes[node]
        for f in SHARED:
            if a[f] != shared[f]:
                raise GraphError(f"node {node!r} (dw_synapse): {f} = {a[f]!r} differs from "
                                 f"{shared[f]!r} of {first!r}; the synapses of a dw graph share "
                                 f"{', '.join(SHARED)}")
        if list(g.predecessors(node)) != [inputs[i]] or list(g.successors(node)) != [neurons[j]]:
            raise GraphError(f"node {node!r} (dw_synapse): must be fed by {inputs[i]!r} alone and "
                             f"feed {neurons[j]!r} alone")
        w[j, i] = a["w"]
    for i, node in inputs.items():
        if g.in_degree(node) or g.out_degree(node) != n_out:
            raise GraphError(f"node {node!r} (dw_input): must feed its {n_out} synapses and nothing "
                             f"else")
    for j, node in neurons.items():
        if g.out_degree(node) or g.in_degree(node) != n_in:
            raise GraphError(f"node {node!r} (dw_neuron): must be fed by its {n_in} synapses alone")
    try:
        prm = DomainWallParams(**shared)
    except ValueError as exc:
        raise GraphError(f"dw synapses: {exc}") from None
    layer = DWLayer(w, np.array([g.nodes[neurons[j]]["bias"] for j in range(n_out)], dtype=float),
                    prm, int(reads), float(threshold), float(v_read))
    p = layer.probabilities()
    for (i, j), node in synapses.items():
        if abs(g.nodes[node]["p"] - p[j, i]) > P_TOLERANCE:
            raise GraphError(f"node {node!r} (dw_synapse): p = {g.nodes[node]['p']!r} is not "
                             f"p(w = {w[j, i]!r}) = {p[j, i]!r}")
    return layer


# ------------------------------------------------------------------------ netlist

def _pwl(name: str, node: str, times: list[float], values: list[float]) -> str:
    pairs = [f"{num(t)} {num(v)}" for t, v in zip(times, values)]
    lines = [f"{name} {node} 0 PWL("]
    lines += [f"+ {' '.join(pairs[k:k + 8])}" for k in range(0, len(pairs), 8)]
    return "\n".join(lines) + ")"


def _crossbar(layer: DWLayer, cfg: CrossbarConfig) -> tuple[list[str], list[str]]:
    """The crossbar arrangement (spicegen.crossbar's topology and CrossbarConfig: wire segments,
    sensing, access transistors) reading the same switch states: its cells are ``dw_mtj``
    instances on the state nets of the ideal arrangement, so the two read-outs see the same draws
    and their difference is the arrangement's alone. Rows share the ideal drivers; device column
    n_out is the reference column (position 0). The device range is the graph's G_P / G_AP, and
    v_read the graph's: cfg's own g_p, on_off and v_read are not used. (elements, outputs)"""
    n_out, n_in = layer.w.shape
    G = np.full((n_in, n_out + 1), layer.prm.G_AP)
    circ = _build_circuit(G, cfg, np.zeros(n_in), np.ones(n_out + 1, bool), np.ones(n_in, bool))
    drivers = {f"in{i}": f"row{i}" for i in range(n_in)}

    def net(k: int) -> str:
        name = circ.names[k]
        return "0" if k == 0 else drivers.get(name, f"xb_{name}")

    cell = {int(circ.device[i, j]): (i, j) for i in range(n_in) for j in range(n_out + 1)}
    el = [f"* crossbar arrangement: r_wire {num(cfg.r_wire)} Ohm per segment, {cfg.sensing} "
          f"sensing, access transistors {'on' if cfg.access else 'off'}"]
    for k, (a, b, g, kind, label) in enumerate(zip(circ.a, circ.b, circ.g, circ.kind, circ.label)):
        if k in cell:
            i, j = cell[k]
            pos = f"st{j}_{i}" if j < n_out else "0"
            el.append(MTJ.instance(f"Xx{j}_{i}", {"t1": net(a), "t2": net(b), "pos": pos}))
        else:
            el.append(f"Rx{_KINDS[kind]}_{label} {net(a)} {net(b)} {num(1.0 / g)}")
    dg = layer.prm.G_P - layer.prm.G_AP
    outputs = []
    for j in range(n_out + 1):
        el.append(f"Vxs{j} {net(int(circ.sense[j]))} 0 dc 0")
        if j < n_out:
            el.append(f"Ixb{j} 0 {net(int(circ.sense[j]))} dc "
                      f"{num(layer.bias[j] * layer.v_read * dg)}")
        outputs.append(f"i(vxs{j})")
    return el, outputs


def compile_dw(layer: DWLayer, X, seed: int = 1, title: str = "",
               states: tuple[tuple[int, int], ...] = (), binary: bool = False,
               crossbar: CrossbarConfig | None = None) -> Netlist:
    """The netlist reading every sample of X (binarised unless ``binary``) N times, seeded with
    ``.options seed``; ``states``: (row, column) of synapses whose states are saved; ``crossbar``:
    also the crossbar arrangement, reading the same states (its column currents ``i(vxs<j>)``, the
    reference ``i(vxs<n_out>)``, are in ``Netlist.hidden[0]``)."""
    x = np.asarray(X, dtype=np.float64) if binary else binarise(X, layer.threshold)[0]
    n, n_in = x.shape
    n_out = layer.w.shape[0]
    if n_in != layer.w.shape[1]:
        raise DWInputError(f"the network has {layer.w.shape[1]} inputs, the data {n_in} features")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 1:
        raise ValueError(f"ngspice seed must be an integer >= 1, got {seed!r}")
    N, tr, prm = layer.reads, layer.prm.t_read, layer.prm
    starts = (1 + np.arange(n) * N) * tr
    stop = (1 + n * N) * tr
    ramp = tr * 1e-3
    dg = prm.G_P - prm.G_AP
    el = [_comment(f"dw network {n_in} -> {n_out}, {n} samples x {N} reads of {num(tr)} s; "
                   f"logit = (i(vcol_j) - i(vref)) * {num(layer.scale)} per read"),
          "* rows: V_read x_i, one level per sample (read slot 0 idle)"]
    for i in range(n_in):
        times, values, prev = [0.0], [0.0], 0.0
        for s in range(n):
            v = layer.v_read * x[s, i]
            if v != prev:
                times += [starts[s], starts[s] + ramp]
                values += [prev, v]
                prev = v
        times.append(stop)
        values.append(prev)
        el.append(_pwl(f"Vrow{i}", f"row{i}", times, values))
    el.append("* reference column: G_AP per row, at virtual ground")
    for i in range(n_in):
        el.append(MTJ.instance(f"Xref{i}", {"t1": f"row{i}", "t2": "ref", "pos": "0"}))
    el.append("Vref ref 0 dc 0")
    el.append("* synapses: drive w_ij -> dw_stoch -> state gates a dw_mtj from row i to column j")
    for j in range(n_out):
        for i in range(n_in):
            s = f"{j}_{i}"
            el += [f"Vw{s} d{s} 0 dc {num(layer.w[j, i])}",
                   SYNAPSE.instance(f"Xs{s}", {"drive": f"d{s}", "state": f"st{s}"}),
                   MTJ.instance(f"Xm{s}", {"t1": f"row{i}", "t2": f"col{j}", "pos": f"st{s}"})]
    el.append("* neurons: ideal current summing at virtual ground, bias as a current")
    for j in range(n_out):
        el += [f"Vcol{j} col{j} 0 dc 0",
               f"Ib{j} 0 col{j} dc {num(layer.bias[j] * layer.v_read * dg)}"]
    outputs = [f"i(vcol{j})" for j in range(n_out)]
    xb_out = []
    if crossbar is not None:
        xb_el, xb_out = _crossbar(layer, crossbar)
        el += xb_el
    saves = outputs + ["i(vref)"] + xb_out + [f"v(st{j}_{i})" for i, j in states]
    deck = Deck(title or "dw network", elements=el,
                subckts=[SYNAPSE.library("envelope", prm), MTJ.library("envelope", prm)],
                saves=saves, options=[Options(seed=int(seed))],
                # breakpoints at every read come from the random sources; tmax keeps a point
                # inside every read
                analysis=Tran(tr / 2, stop, 0, tr / 2))
    read_times = (1 + np.arange(n * N) + 0.5) * tr
    return Netlist(deck.render(), read_times, outputs, [xb_out] if xb_out else [], n,
                   style="transient")


def _logits(res, net: Netlist, layer: DWLayer, outputs: list[str], ref: str) -> np.ndarray:
    """Per-read logits (n_out, reads) of the column currents ``outputs`` above ``ref``."""
    t, rt = res.scale, net.read_times
    base = np.interp(rt, t, res[ref])
    return np.stack([(np.interp(rt, t, res[o]) - base) * layer.scale for o in outputs])


def read_back(res, net: Netlist, layer: DWLayer, states=()) -> tuple[np.ndarray, float,
                                                                         np.ndarray]:
    """(logits (n, n_out), read-out residual in counts, switch counts of ``states``); with a
    crossbar arrangement the logits are (2, n, n_out): ideal, then crossbar."""
    per_read = _logits(res, net, layer, net.outputs, "i(vref)")
    counts = per_read - layer.bias[:, None]
    residual = float(np.abs(counts - np.round(counts)).max())
    logits = per_read.reshape(len(net.outputs), net.n_samples, -1).mean(-1).T
    if net.hidden:
        xb = _logits(res, net, layer, net.hidden[0][:-1], net.hidden[0][-1])
        logits = np.stack([logits, xb.reshape(len(net.outputs), net.n_samples, -1).mean(-1).T])
    switched = np.array([int((np.interp(net.read_times, res.scale, res[f"v(st{j}_{i})"]) > 0.5)
                             .sum()) for i, j in states], dtype=np.int64)
    return logits, residual, switched


__all__ = ["DWInputError", "DWLayer", "binarise", "binarise_note", "compile_dw", "read_back",
           "read_graph"]
