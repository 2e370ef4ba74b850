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
  neuron's input; a DC current source adds the bias, (b_j / g_j) V_read (G_P - G_AP);
- reference column: one ``dw_mtj`` per row at wall position 0 (G_AP), also at 0 V: its current,
  V_read G_AP sum_i x_i, is what every column carries whatever the states;
- differential pairs (graph attribute pairs = 1, for signed weights J+ - J-): the - synapses of
  neuron j drive their own column ``coln<j>``, which is then its reference (G_AP cancels).

Read-back maps the currents onto the surrogate's logits exactly: at the middle of read k,
``Y_jk = g_j (I_j - I_ref) / (V_read (G_P - G_AP)) = g_j sum_i x_i s_ijk + b_j``, where g_j is the
neuron's read-out gain (the trans-impedance of its column's amplifier; 1 by default; graph
attribute ``gain`` of the dw_neuron) and 1 / (V_read (G_P - G_AP)) logits per ampere is the scale
at gain 1 (1 logit per 12 uA with the defaults); a sample's logit is the mean of its N reads,
``Y_j = g_j sum_i J_ij + b_j``. ``(Y_jk - b_j) / g_j`` must be a whole count: its largest deviation
is reported as the read-out residual.

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
MAX_GAIN = 1e3                   # a neuron's read-out gain lies in (0, MAX_GAIN]
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
    """What the circuit needs of a dw graph: trained drives w (S, n_out, n_in), S = 1 (one synapse
    per weight) or 2 (differential pairs: the weight is J+ - J-, w[0] the + and w[1] the -
    synapses), biases (n_out,), the shared device parameters, reads per sample, the binarisation
    threshold, the read voltage and the neurons' read-out gains (n_out,; None: all 1)."""
    w: np.ndarray
    bias: np.ndarray
    prm: DomainWallParams
    reads: int
    threshold: float
    v_read: float
    gain: np.ndarray | None = None

    def __post_init__(self) -> None:
        gain = np.ones(self.w.shape[1]) if self.gain is None else \
            np.asarray(self.gain, dtype=np.float64)
        if gain.shape != (self.w.shape[1],):
            raise ValueError(f"gain must hold one value per neuron ({self.w.shape[1]}), got "
                             f"shape {gain.shape}")
        object.__setattr__(self, "gain", gain)

    @property
    def pairs(self) -> bool:
        return len(self.w) == 2

    @property
    def shape(self) -> tuple[int, int]:
        """(n_out, n_in)"""
        return self.w.shape[1:]

    @property
    def scale(self) -> float:
        """Logits per ampere of a column's current above its reference (the reference column, or
        the - column of its pairs), at gain 1."""
        return 1.0 / (self.v_read * (self.prm.G_P - self.prm.G_AP))

    @property
    def neuron_scale(self) -> np.ndarray:
        """Logits per ampere of each neuron: its gain x scale."""
        return self.gain * self.scale

    def bias_current(self, j: int) -> float:
        """The current that adds neuron j's bias b_j after its gain: b_j / (g_j scale)."""
        return float(self.bias[j] / self.neuron_scale[j])

    def probabilities(self) -> np.ndarray:
        """p(w), (S, n_out, n_in)."""
        return switch_probability(torch.as_tensor(self.w, dtype=torch.float64), self.prm).numpy()

    def moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected logits g sum x (p+ - p-) + b and their spread g sqrt(sum x p (1 - p) / N)."""
        p = self.probabilities()
        sign = np.array([1.0, -1.0])[:len(p)]
        mu = self.gain * np.einsum("k,si,kji->sj", sign, x, p) + self.bias
        var = np.einsum("si,kji->sj", x, p * (1 - p)) / self.reads
        return mu, self.gain * np.sqrt(var)


def state_net(i: int, j: int, k: int = 0) -> str:
    """The net of the switch state of synapse (row i, column j; k = 1: the - one of a pair)."""
    return f"st{j}_{i}{'n' if k else ''}"


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
    one input per feature, one neuron per class, one synapse (sign +1) or one pair (signs +1 and
    -1; graph attribute pairs = 1) per (input, neuron), wired input -> synapse -> neuron, shared
    device parameters, p consistent with w. GraphError names the node or attribute."""
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
    signs = (1, -1) if "pairs" in g.graph and _attr(g, "pairs", True, 0, 1) else (1,)
    inputs, neurons, synapses = {}, {}, {}
    for node, a in g.nodes(data=True):
        kind = a["kind"]
        if kind == "dw_input":
            inputs.setdefault(a["index"], node)
        elif kind == "dw_neuron":
            neurons.setdefault(a["index"], node)
        elif kind == "dw_synapse":
            synapses.setdefault((a["row"], a["column"], a["sign"]), node)
        else:
            raise GraphError(f"node {node!r} ({kind}): a dw graph holds only dw_input, dw_synapse "
                             f"and dw_neuron nodes")
    for what, found, want in (("dw_input", inputs, set(range(n_in))),
                              ("dw_neuron", neurons, set(range(n_out))),
                              ("dw_synapse", synapses, {(i, j, s) for i in range(n_in)
                                                        for j in range(n_out) for s in signs})):
        count = sum(1 for _, k in g.nodes(data="kind") if k == what)
        if set(found) != want or count != len(want):
            how = f"by (row, column, sign in {signs})" if what == "dw_synapse" else "0..n-1"
            raise GraphError(f"sizes {g.graph['sizes']!r} need {len(want)} {what} nodes indexed "
                             f"{how}, found {count} ({len(set(found) & want)} at expected "
                             f"indices)")
    first = synapses[(0, 0, 1)]
    shared = {f: g.nodes[first][f] for f in SHARED}
    gain = []
    for j in range(n_out):
        a = g.nodes[neurons[j]]
        value = a.get("gain", 1.0)       # graphs written before the gain: 1
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or not 0 < value <= MAX_GAIN:
            raise GraphError(f"node {neurons[j]!r} (dw_neuron): gain must be a number in "
                             f"(0, {MAX_GAIN:g}], got {value!r}")
        gain.append(float(value))
    w = np.empty((len(signs), n_out, n_in))
    for (i, j, sign), node in synapses.items():
        a = g.nodes[node]
        for f in SHARED:
            if a[f] != shared[f]:
                raise GraphError(f"node {node!r} (dw_synapse): {f} = {a[f]!r} differs from "
                                 f"{shared[f]!r} of {first!r}; the synapses of a dw graph share "
                                 f"{', '.join(SHARED)}")
        if list(g.predecessors(node)) != [inputs[i]] or list(g.successors(node)) != [neurons[j]]:
            raise GraphError(f"node {node!r} (dw_synapse): must be fed by {inputs[i]!r} alone and "
                             f"feed {neurons[j]!r} alone")
        w[signs.index(sign), j, i] = a["w"]
    per = n_out * len(signs)
    for i, node in inputs.items():
        if g.in_degree(node) or g.out_degree(node) != per:
            raise GraphError(f"node {node!r} (dw_input): must feed its {per} synapses and nothing "
                             f"else")
    for j, node in neurons.items():
        if g.out_degree(node) or g.in_degree(node) != n_in * len(signs):
            raise GraphError(f"node {node!r} (dw_neuron): must be fed by its "
                             f"{n_in * len(signs)} synapses alone")
    try:
        prm = DomainWallParams(**shared)
    except ValueError as exc:
        raise GraphError(f"dw synapses: {exc}") from None
    layer = DWLayer(w, np.array([g.nodes[neurons[j]]["bias"] for j in range(n_out)], dtype=float),
                    prm, int(reads), float(threshold), float(v_read), np.array(gain))
    p = layer.probabilities()
    for (i, j, sign), node in synapses.items():
        k = signs.index(sign)
        if abs(g.nodes[node]["p"] - p[k, j, i]) > P_TOLERANCE:
            raise GraphError(f"node {node!r} (dw_synapse): p = {g.nodes[node]['p']!r} is not "
                             f"p(w = {w[k, j, i]!r}) = {p[k, j, i]!r}")
    return layer


# ------------------------------------------------------------------------ netlist

@dataclasses.dataclass
class DWNetlist(Netlist):
    """A dw deck: ``outputs`` are the columns' currents, ``refs`` what each is read against (the
    reference column, or the - column of its pairs); ``xb_outputs`` / ``xb_refs`` the same for the
    crossbar arrangement, when there is one."""
    refs: list = dataclasses.field(default_factory=list)
    xb_outputs: list = dataclasses.field(default_factory=list)
    xb_refs: list = dataclasses.field(default_factory=list)


def _pwl(name: str, node: str, times: list[float], values: list[float]) -> str:
    pairs = [f"{num(t)} {num(v)}" for t, v in zip(times, values)]
    lines = [f"{name} {node} 0 PWL("]
    lines += [f"+ {' '.join(pairs[k:k + 8])}" for k in range(0, len(pairs), 8)]
    return "\n".join(lines) + ")"


def _crossbar(layer: DWLayer, cfg: CrossbarConfig) -> tuple[list[str], list[str], list[str]]:
    """The crossbar arrangement (spicegen.crossbar's topology and CrossbarConfig: wire segments,
    sensing, access transistors) reading the same switch states: its cells are ``dw_mtj``
    instances on the state nets of the ideal arrangement, so the two read-outs see the same draws
    and their difference is the arrangement's alone. Rows share the ideal drivers. Device columns:
    pairs on 2j (+) and 2j + 1 (-), as the crossbar's differential mapping; single synapses on j
    with a reference column (position 0) at n_out. The device range is the graph's G_P / G_AP and
    v_read the graph's: cfg's own g_p, on_off and v_read are not used. (elements, outputs, refs)"""
    n_out, n_in = layer.shape
    cols = ([(j, k) for j in range(n_out) for k in (0, 1)] if layer.pairs else
            [(j, 0) for j in range(n_out)] + [(None, 0)])
    G = np.full((n_in, len(cols)), layer.prm.G_AP)
    circ = _build_circuit(G, cfg, np.zeros(n_in), np.ones(len(cols), bool), np.ones(n_in, bool))
    drivers = {f"in{i}": f"row{i}" for i in range(n_in)}

    def net(k: int) -> str:
        name = circ.names[k]
        return "0" if k == 0 else drivers.get(name, f"xb_{name}")

    cell = {int(circ.device[i, c]): (i, c) for i in range(n_in) for c in range(len(cols))}
    el = [f"* crossbar arrangement: r_wire {num(cfg.r_wire)} Ohm per segment, {cfg.sensing} "
          f"sensing, access transistors {'on' if cfg.access else 'off'}"]
    for e, (a, b, g, kind, label) in enumerate(zip(circ.a, circ.b, circ.g, circ.kind, circ.label)):
        if e in cell:
            i, c = cell[e]
            j, k = cols[c]
            pos = "0" if j is None else state_net(i, j, k)
            el.append(MTJ.instance(f"Xx{c}_{i}", {"t1": net(a), "t2": net(b), "pos": pos}))
        else:
            el.append(f"Rx{_KINDS[kind]}_{label} {net(a)} {net(b)} {num(1.0 / g)}")
    for c, (j, k) in enumerate(cols):
        el.append(f"Vxs{c} {net(int(circ.sense[c]))} 0 dc 0")
        if j is not None and k == 0:
            el.append(f"Ixb{j} 0 {net(int(circ.sense[c]))} dc {num(layer.bias_current(j))}")
    sense = [f"i(vxs{c})" for c in range(len(cols))]
    if layer.pairs:
        return el, sense[0::2], sense[1::2]
    return el, sense[:n_out], [sense[n_out]] * n_out


def compile_dw(layer: DWLayer, X, seed: int = 1, title: str = "",
               states: tuple[tuple[int, int, int], ...] = (), binary: bool = False,
               crossbar: CrossbarConfig | None = None) -> DWNetlist:
    """The netlist reading every sample of X (binarised unless ``binary``) N times, seeded with
    ``.options seed``; ``states``: (row, column, k) of synapses whose states are saved (k = 1: the
    - synapse of a pair); ``crossbar``: also the crossbar arrangement, reading the same states."""
    x = np.asarray(X, dtype=np.float64) if binary else binarise(X, layer.threshold)[0]
    n, n_in = x.shape
    n_out = layer.shape[0]
    if n_in != layer.shape[1]:
        raise DWInputError(f"the network has {layer.shape[1]} inputs, the data {n_in} features")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 1:
        raise ValueError(f"ngspice seed must be an integer >= 1, got {seed!r}")
    N, tr, prm = layer.reads, layer.prm.t_read, layer.prm
    starts = (1 + np.arange(n) * N) * tr
    stop = (1 + n * N) * tr
    ramp = tr * 1e-3
    against = "i(vcoln_j)" if layer.pairs else "i(vref)"
    el = [_comment(f"dw network {n_in} -> {n_out}{', differential pairs' if layer.pairs else ''}, "
                   f"{n} samples x {N} reads of {num(tr)} s; logit = (i(vcol_j) - {against}) * "
                   f"{num(layer.scale)} * gain_j per read, gains "
                   f"{' '.join(num(v) for v in layer.gain)}"),
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
    if not layer.pairs:
        el.append("* reference column: G_AP per row, at virtual ground")
        el += [MTJ.instance(f"Xref{i}", {"t1": f"row{i}", "t2": "ref", "pos": "0"})
               for i in range(n_in)]
        el.append("Vref ref 0 dc 0")
    el.append("* synapses: drive w -> dw_stoch -> its state sets a dw_mtj from row i to its column")
    for k in range(len(layer.w)):
        col = "coln" if k else "col"
        for j in range(n_out):
            for i in range(n_in):
                s = state_net(i, j, k)[2:]
                el += [f"Vw{s} d{s} 0 dc {num(layer.w[k, j, i])}",
                       SYNAPSE.instance(f"Xs{s}", {"drive": f"d{s}", "state": f"st{s}"}),
                       MTJ.instance(f"Xm{s}", {"t1": f"row{i}", "t2": f"{col}{j}",
                                               "pos": f"st{s}"})]
    el.append("* neurons: ideal current summing at virtual ground, bias as a current")
    for j in range(n_out):
        el += [f"Vcol{j} col{j} 0 dc 0",
               f"Ib{j} 0 col{j} dc {num(layer.bias_current(j))}"]
        if layer.pairs:
            el.append(f"Vcoln{j} coln{j} 0 dc 0")
    outputs = [f"i(vcol{j})" for j in range(n_out)]
    refs = [f"i(vcoln{j})" for j in range(n_out)] if layer.pairs else ["i(vref)"] * n_out
    xb_out, xb_refs = [], []
    if crossbar is not None:
        xb_el, xb_out, xb_refs = _crossbar(layer, crossbar)
        el += xb_el
    saves = list(dict.fromkeys(outputs + refs + xb_out + xb_refs))
    saves += [f"v({state_net(*key)})" for key in states]
    deck = Deck(title or "dw network", elements=el,
                subckts=[SYNAPSE.library("envelope", prm), MTJ.library("envelope", prm)],
                saves=saves, options=[Options(seed=int(seed))],
                # breakpoints at every read come from the random sources; tmax keeps a point
                # inside every read
                analysis=Tran(tr / 2, stop, 0, tr / 2))
    read_times = (1 + np.arange(n * N) + 0.5) * tr
    return DWNetlist(deck.render(), read_times, outputs, [], n, style="transient", refs=refs,
                     xb_outputs=xb_out, xb_refs=xb_refs)


def per_read_logits(res, net: DWNetlist, layer: DWLayer, crossbar: bool = False) -> np.ndarray:
    """Per-read logits (n_out, samples x reads) from the column currents (mid-read)."""
    t, rt = res.scale, net.read_times
    outs, refs = (net.xb_outputs, net.xb_refs) if crossbar else (net.outputs, net.refs)
    return np.stack([(np.interp(rt, t, res[o]) - np.interp(rt, t, res[r])) * k
                     for o, r, k in zip(outs, refs, layer.neuron_scale)])


def read_back(res, net: DWNetlist, layer: DWLayer, states=()) -> tuple[np.ndarray, float,
                                                                           np.ndarray]:
    """(logits (n, n_out), read-out residual in counts, switch counts of ``states``); with a
    crossbar arrangement the logits are (2, n, n_out): ideal, then crossbar."""
    per_read = per_read_logits(res, net, layer)
    counts = (per_read - layer.bias[:, None]) / layer.gain[:, None]
    residual = float(np.abs(counts - np.round(counts)).max())
    n_out = len(net.outputs)
    logits = per_read.reshape(n_out, net.n_samples, -1).mean(-1).T
    if net.xb_outputs:
        xb = per_read_logits(res, net, layer, crossbar=True)
        logits = np.stack([logits, xb.reshape(n_out, net.n_samples, -1).mean(-1).T])
    switched = np.array([int((np.interp(net.read_times, res.scale, res[f"v({state_net(*key)})"])
                              > 0.5).sum()) for key in states], dtype=np.int64)
    return logits, residual, switched


__all__ = ["DWInputError", "DWLayer", "DWNetlist", "binarise", "binarise_note", "compile_dw",
           "per_read_logits", "read_back", "read_graph", "state_net"]
