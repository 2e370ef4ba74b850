"""The device graph: the contract between training/ and spicegen/.

A networkx DiGraph whose nodes are devices and whose edges are connections. Every attribute is a
scalar (str, int or float, SI units), so the graph round-trips through JSON and GraphML unchanged.

Graph attributes
    schema        "spintronic-graph/1"
    network       "rf" or "dynamical"
    sizes         layer widths, comma separated ("64,32,10"; for "dynamical" the first is the
                  number of inputs per time step)
    readout_scale logits per volt of output chain voltage ("rf"), per unit of output power
                  ("dynamical")
    data_source   optional: the data set the network was trained on, as a JSON object in one
                  string (training.datasets' ``Dataset.source``: resolved spec, seed, pooling,
                  digest...); see :func:`data_source`
    dynamical only: dt (s, input time step), steps, substeps (of the surrogate's integration),
                  order ("rows" / "pixels"), readout ("last" /
                  "mean"), readout_steps, p_init (power each sample starts from), and optionally
                  synapses ("ideal", the default: weight edges; "chain": resonator chains)

Node kinds (attribute ``kind``) and their attributes
    input      layer=0, index, frequency (Hz), p_max (W of a full-scale feature)
    rf_line    layer: the line that carries every signal of a layer to its chains
    resonator  layer, chain, position, orientation (+1 / -1, head-to-tail), and the
               ResonatorParams fields: f_r, alpha, K_SD, a_sym, a_asym, R0, Z0, lp_ratio
    amplifier  layer, index, g_m (A/V), v_bias (V), chain_bias (V): I = clamp(g_m (V + v_bias))
               with the clamps of the STNO it drives
    stno       layer, index, attenuation (RF power fraction reaching the next line), and the
               STNOParams fields: f0, Gg, Q, I_th, R, k_P, N, Z0, I_min_ratio, I_max_ratio
    readout    layer, index, chain_bias (V): an output chain's voltage is a class score
    signal     layer=0, index: an input of a dynamical network, one value per time step; with
               chain synapses also frequency (Hz) and p_max (W of a full-scale value)
    neuron     layer, index, bias (units of I_th), and the STNOParams fields: an STNO of a
               dynamical network, driven by I = clamp(I_th (bias + sum of weighted inputs)); with
               chain synapses also g_m (A/V, chain voltage to current) and attenuation (fraction
               of its emitted power on the next layer's line), and f0 is its channel

Edges (attribute ``link``)
    rf   input -> rf_line, stno -> rf_line, rf_line -> first resonator of each chain
    dc   resonator -> next resonator of its chain, last resonator -> amplifier or readout,
         amplifier -> stno
    weight  signal or neuron -> neuron, with attribute ``weight`` (units of I_th per unit of the
         source: a pixel in [0, 1] or a normalised power); neuron -> neuron of the same layer is a
         recurrent weight
    A dynamical network with chain synapses links signals / neurons -> rf_line -> chains of
    resonators -> neuron (rf and dc links, as above), and keeps weight edges for recurrence only.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re

import networkx as nx

from spintronic.models import ResonatorParams, STNOParams
from spintronic.models.device import DEVICES, Device, get_device
from spintronic.models.params import Params

SCHEMA = "spintronic-graph/1"

# Limits on what a graph's attributes may ask for, checked before anything is allocated or written
# from them (a graph file is a colleague's file too: "sizes" of 100000,100000,10 or 10**9 steps must
# be a message, not a memory error or a netlist of gigabytes). Generous for real use: an MNIST
# network 784-128-10 has about 10**5 resonators, a digit fed pixel by pixel 784 steps.
MAX_LAYERS = 1_000              # layers of devices ("sizes" holds one more width: the inputs)
MAX_CONNECTIONS = 5_000_000     # resonators of an rf graph, weights of a dynamical one (recurrent
                                # included), as its sizes imply: the compilers write a card for each
MAX_TIME_POINTS = 10_000_000    # fixed time steps of one transient netlist (one sample must fit)
MAX_INPUT_LEVELS = 2_000_000    # stimulus values one netlist holds as PWL points (~80 MB of text)
MAX_SUBSTEPS = 10_000           # surrogate substeps per input step (8 is usual): 10**4 resolves
                                # far below any STNO time constant, and the surrogate loops over them
MIN_DT, MAX_DT = 1e-15, 1.0     # a dynamical graph's input time step (s): beyond, steps over/underflow


class GraphError(ValueError):
    """The graph breaks the schema; the message names the node and attribute."""


# node kinds that carry a registered device family under another name: a dynamical network's
# neuron is an STNO. Every other device node kind is the family's own kind.
DEVICE_OF = {"neuron": "stno"}

REQUIRED: dict[str, tuple[str, ...]] = {
    "input": ("layer", "index", "frequency", "p_max"),
    "rf_line": ("layer",),
    "resonator": ("layer", "chain", "position", "orientation"),
    "amplifier": ("layer", "index", "g_m", "v_bias", "chain_bias"),
    "stno": ("layer", "index", "attenuation"),
    "readout": ("layer", "index", "chain_bias"),
    "signal": ("layer", "index"),
    "neuron": ("layer", "index", "bias"),
}
# a device node: its placement (above) plus the graph fields of the family it carries; a
# registered family that no network places yet is a node kind with its own fields alone
_UNPLACED = {k for k in DEVICES if k not in REQUIRED}    # device kinds no network places yet
for _kind in [*REQUIRED, *(k for k in DEVICES if k not in REQUIRED)]:
    _device = DEVICES.get(DEVICE_OF.get(_kind, _kind))
    if _device is not None:
        REQUIRED[_kind] = REQUIRED.get(_kind, ()) + _device.graph_fields
del _kind, _device


def register_node_kind(kind: str, placement: tuple[str, ...], device: str | None = None) -> None:
    """Declare a node kind a network kind places in its graphs: its placement fields (layer,
    index...) plus, when it carries a registered device family, that family's graph fields. Called
    by network-kind plug-ins at import; wiring is checked by their ``check_graph``."""
    if kind in REQUIRED and kind not in _UNPLACED:
        raise GraphError(f"node kind {kind!r} is already declared")
    _UNPLACED.discard(kind)
    fields = tuple(placement)
    if device is not None:
        if device != kind:
            DEVICE_OF[kind] = device
        fields += get_device(device).graph_fields
    REQUIRED[kind] = fields


DYNAMICAL_ATTRS = ("dt", "steps", "substeps", "order", "readout", "readout_steps", "p_init",
                   "readout_scale")
ORDERS = ("rows", "pixels")         # as training.stno_network (the graph does not import training)
READOUTS = ("last", "mean")
LINKS = ("rf", "dc", "weight")
CHAIN_SYNAPSE_ATTRS = {"signal": ("frequency", "p_max"), "neuron": ("g_m", "attenuation")}
POSITIVE = {"frequency", "p_max", "g_m", "f_r", "f0", "attenuation"}


def device_of(kind: str) -> Device | None:
    """The registered device family a node of ``kind`` carries, or None (lines, amplifiers...)."""
    return DEVICES.get(DEVICE_OF.get(kind, kind))


def device_params(kind: str, attrs: dict) -> Params:
    """The validated Params of the device a node of ``kind`` carries, from its attributes."""
    return get_device(DEVICE_OF.get(kind, kind)).params(attrs)


def resonator_params(attrs: dict) -> ResonatorParams:
    return device_params("resonator", attrs)


def stno_params(attrs: dict) -> STNOParams:
    return device_params("stno", attrs)


def validate(g: nx.DiGraph) -> None:
    """Raise GraphError for an unknown kind, a missing or non-finite parameter, a negative
    frequency, a dangling port, an unknown link, or a graph attribute out of its range."""
    if g.graph.get("schema") != SCHEMA:
        raise GraphError(f"graph schema is {g.graph.get('schema')!r}, expected {SCHEMA!r}")
    sizes = layer_sizes(g)
    if g.graph.get("network") == "rf":
        # dense chains (a sparse graph's too, for its compiler): one card per input and chain
        connections = sum(a * b for a, b in zip(sizes, sizes[1:]))
        if connections > MAX_CONNECTIONS:
            raise GraphError(f"graph attribute 'sizes' {g.graph['sizes']!r} asks for "
                             f"{connections:,} resonators; the limit is {MAX_CONNECTIONS:,}")
    # every node's kind and parameters first: the port checks below look at neighbours
    # resonators of a layer usually share every parameter but f_r: check each combination once
    checked: dict[tuple, str | None] = {}
    for node, attrs in g.nodes(data=True):
        kind = attrs.get("kind")
        if not isinstance(kind, str) or kind not in REQUIRED:
            raise GraphError(f"node {node!r}: unknown device kind {kind!r} "
                             f"(known: {sorted(REQUIRED)})")
        for name in REQUIRED[kind]:
            if name not in attrs:
                raise GraphError(f"node {node!r} ({kind}): missing parameter {name!r}")
            value = attrs[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise GraphError(f"node {node!r} ({kind}): parameter {name!r} must be a number, "
                                 f"got {value!r}")
            if not math.isfinite(value):
                raise GraphError(f"node {node!r} ({kind}): parameter {name!r} is {value}")
            if name in POSITIVE and value <= 0:
                raise GraphError(f"node {node!r} ({kind}): parameter {name!r} must be > 0, "
                                 f"got {value}")
        device = device_of(kind)
        if device is not None:
            # the fields that differ from device to device (f_r, f0) on their own, at every node;
            # the rest, usually shared by a layer, once per combination
            each = device.per_device_fields
            for name in each:
                try:
                    device.Params.check_field(name, attrs[name])
                except ValueError as exc:
                    raise GraphError(f"node {node!r} ({kind}): {exc}") from None
            key = (kind,) + tuple(attrs[f] for f in device.graph_fields if f not in each)
            if key not in checked:
                try:
                    defaults = device.params()
                    device.params({**attrs, **{f: getattr(defaults, f) for f in each}})
                    checked[key] = None
                except ValueError as exc:
                    checked[key] = str(exc)
            if checked[key] is not None:
                raise GraphError(f"node {node!r} ({kind}): {checked[key]}")
    for node, attrs in g.nodes(data=True):
        _check_ports(g, node, attrs["kind"], attrs, sizes)
    for a, b, attrs in g.edges(data=True):
        link = attrs.get("link")
        if not isinstance(link, str) or link not in LINKS:
            raise GraphError(f"edge {a!r} -> {b!r}: link must be one of {', '.join(LINKS)}, got "
                             f"{link!r}")
        if link == "weight":
            w = attrs.get("weight")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
                raise GraphError(f"edge {a!r} -> {b!r}: weight must be a finite number, got {w!r}")
    if "readout_scale" in g.graph:
        _graph_number(g, "readout_scale", low=0.0, low_open=True)
    data_source(g)
    network = g.graph.get("network")
    if network == "dynamical":
        _check_dynamical_attrs(g, sizes)


#: the most characters of a graph's data_source attribute (a recorded source is ~400)
MAX_DATA_SOURCE = 8192


def data_source(g: nx.DiGraph) -> dict | None:
    """The data source recorded in graph attribute ``data_source`` (a JSON object naming its
    ``spec``), or None when the graph records none."""
    text = g.graph.get("data_source")
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > MAX_DATA_SOURCE:
        raise GraphError(f"graph attribute data_source must be a JSON object in a string of at "
                         f"most {MAX_DATA_SOURCE} characters, got {text!r:.80}")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict) or not isinstance(value.get("spec"), str):
        raise GraphError(f"graph attribute data_source must be a JSON object naming its 'spec', "
                         f"got {text!r:.80}")
    return value


def set_data_source(g: nx.DiGraph, source: dict | None) -> None:
    """Record (or, with None, remove) the data source: one string attribute, so that it
    survives JSON and GraphML alike."""
    g.graph.pop("data_source", None)
    if source is not None:
        g.graph["data_source"] = json.dumps(source, sort_keys=True)
        data_source(g)


def _graph_number(g: nx.DiGraph, name: str, integer: bool = False, low: float | None = None,
                  high: float | None = None, low_open: bool = False):
    """Graph attribute ``name``: a finite number (an int if ``integer``) in its range."""
    value = g.graph.get(name)
    wanted = "an integer" if integer else "a finite number"
    if low is not None:
        wanted += f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        wanted += f" and <= {high:g}" if low is not None else f" <= {high:g}"
    ok = not isinstance(value, bool) and isinstance(value, (int,) if integer else (int, float))
    if ok:
        ok = math.isfinite(value) and (low is None or (value > low if low_open else value >= low)) \
            and (high is None or value <= high)
    if not ok:
        raise GraphError(f"graph attribute {name} must be {wanted}, got {value!r}")
    return value


def _check_dynamical_attrs(g: nx.DiGraph, sizes: list[int]) -> None:
    missing = [k for k in DYNAMICAL_ATTRS if k not in g.graph]
    if missing:
        raise GraphError(f"dynamical graph lacks graph attributes {missing}")
    _graph_number(g, "dt", low=MIN_DT, high=MAX_DT)
    steps = _graph_number(g, "steps", integer=True, low=1)
    substeps = _graph_number(g, "substeps", integer=True, low=1, high=MAX_SUBSTEPS)
    _graph_number(g, "readout_steps", integer=True, low=1, high=steps)
    _graph_number(g, "p_init", low=0.0, high=1.0, low_open=True)
    if g.graph["p_init"] >= 1:
        raise GraphError(f"graph attribute p_init must be in (0, 1), got {g.graph['p_init']!r}")
    for name, allowed in (("order", ORDERS), ("readout", READOUTS)):
        if not isinstance(g.graph[name], str) or g.graph[name] not in allowed:
            raise GraphError(f"graph attribute {name} must be one of {', '.join(allowed)}, got "
                             f"{g.graph[name]!r}")
    synapses = g.graph.get("synapses", "ideal")
    if not isinstance(synapses, str) or synapses not in ("ideal", "chain"):
        raise GraphError(f"graph attribute synapses must be 'ideal' or 'chain', got {synapses!r}")
    # recurrent weights: up to n * n more per layer
    weights = sum(n * n for n in sizes[1:]) + sum(a * b for a, b in zip(sizes, sizes[1:]))
    if weights > MAX_CONNECTIONS:
        raise GraphError(f"graph attribute sizes {g.graph['sizes']!r} allows {weights:,} weights "
                         f"(recurrent ones included); the limit is {MAX_CONNECTIONS:,}")
    # one sample must fit in a netlist at the default step (max(8, substeps) per input step)
    points = steps * max(8, substeps)
    if points > MAX_TIME_POINTS:
        raise GraphError(f"graph attributes steps={steps} and substeps={substeps} make {points:,} "
                         f"time points per sample; the limit is {MAX_TIME_POINTS:,}")
    if steps * sizes[0] > MAX_INPUT_LEVELS:
        raise GraphError(f"graph attributes steps={steps} and sizes {g.graph['sizes']!r} make "
                         f"{steps * sizes[0]:,} input values per sample; the limit is "
                         f"{MAX_INPUT_LEVELS:,}")
    if synapses == "chain":
        for node, attrs in g.nodes(data=True):
            for name in CHAIN_SYNAPSE_ATTRS.get(attrs["kind"], ()):
                value = attrs.get(name)
                if isinstance(value, bool) or not isinstance(value, (int, float)) \
                        or not math.isfinite(value) or value <= 0:
                    raise GraphError(f"node {node!r} ({attrs['kind']}): chain synapses need a "
                                     f"parameter {name!r} > 0, got {value!r}")


def _check_ports(g: nx.DiGraph, node, kind: str, attrs: dict, sizes: list[int]) -> None:
    preds, succs = list(g.predecessors(node)), list(g.successors(node))

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise GraphError(f"node {node!r} ({kind}): dangling port, {what}")

    if kind == "input":
        need(len(succs) == 1 and g.nodes[succs[0]].get("kind") == "rf_line",
             "an input must feed exactly one rf_line")
    elif kind == "rf_line":
        need(len(preds) >= 1, "no source feeds this line")
        need(len(succs) >= 1, "this line feeds no chain")
    elif kind == "resonator":
        need(len(preds) == 1, f"expected 1 incoming connection, found {len(preds)}")
        need(len(succs) == 1, f"expected 1 outgoing connection, found {len(succs)}")
    elif kind == "amplifier":
        need(len(preds) == 1, "no chain drives this amplifier")
        need(len(succs) == 1 and g.nodes[succs[0]].get("kind") == "stno",
             "an amplifier must drive exactly one stno")
    elif kind == "stno":
        need(len(preds) == 1, "no amplifier drives this oscillator")
        need(len(succs) == 1 and g.nodes[succs[0]].get("kind") == "rf_line",
             "an oscillator must feed exactly one rf_line")
    elif kind == "readout":
        # rfcnn read-out lines (graph attribute readout_lines G): a class's G chains, one per
        # line, in series end in its read-out
        fan_in = g.graph.get("readout_lines", 1)
        if isinstance(fan_in, bool) or not isinstance(fan_in, int) or fan_in < 1:
            fan_in = 1
        need(len(preds) == fan_in, "no chain ends in this read-out" if not preds else
             f"{len(preds)} chains end in this read-out, expected {fan_in} (graph attribute "
             f"readout_lines)")
    elif kind == "signal":
        need(len(succs) >= 1, "this input feeds no neuron")
    elif kind == "neuron":
        need(any(g.nodes[q]["layer"] < attrs["layer"] or g.nodes[q]["kind"] == "resonator"
                 for q in preds), "no weight or chain from the layer below drives this neuron")


_WIDTH = re.compile(r"\s*[0-9]{1,18}\s*")


def layer_sizes(g: nx.DiGraph) -> list[int]:
    """The layer widths of the graph attribute ``sizes``, within the toolkit's limits."""
    text = g.graph.get("sizes")
    parts = text.split(",") if isinstance(text, str) else []
    if not parts or len(parts) > MAX_LAYERS + 1 or not all(_WIDTH.fullmatch(p) for p in parts):
        shown = text if not isinstance(text, str) or len(text) <= 80 else text[:80] + "..."
        raise GraphError(f"graph attribute 'sizes' must be comma-separated integers (at most "
                         f"{MAX_LAYERS} layers), got {shown!r}")
    sizes = [int(p) for p in parts]
    if len(sizes) < 2 or min(sizes) < 1:
        raise GraphError(f"graph attribute 'sizes' needs >= 2 positive widths, got {sizes}")
    if max(sizes) > MAX_CONNECTIONS:
        raise GraphError(f"graph attribute 'sizes' asks for a layer of {max(sizes):,}; the limit "
                         f"is {MAX_CONNECTIONS:,}")
    return sizes


def line_chains(g: nx.DiGraph, lines) -> list[tuple[str, list[str], str]]:
    """(line, ordered resonators, end node) for every chain fed by ``lines``, by chain index."""
    out = []
    for line in lines:
        for head in g.successors(line):
            path = [head]
            while True:
                (nxt,) = list(g.successors(path[-1]))
                if g.nodes[nxt]["kind"] != "resonator":
                    break
                path.append(nxt)
            out.append((line, path, nxt))
    out.sort(key=lambda c: g.nodes[c[1][0]]["chain"])
    return out


def chains(g: nx.DiGraph, layer: int) -> list[tuple[str, list[str], str]]:
    """(head line, ordered resonators, end node) for every chain of ``layer``'s one line."""
    return line_chains(g, [f"L{layer}.line"])


def sources(g: nx.DiGraph, layer: int) -> list[str]:
    """Inputs or oscillators feeding the line of ``layer``, by index."""
    return sorted(g.predecessors(f"L{layer}.line"), key=lambda n: g.nodes[n]["index"])


# ------------------------------------------------------------------------ files

def to_json(g: nx.DiGraph) -> str:
    data = nx.node_link_data(g, edges="links")
    return json.dumps(data, indent=1, sort_keys=True)


def from_json(text: str) -> nx.DiGraph:
    try:
        data = json.loads(text)
    except ValueError as exc:       # UnicodeDecodeError of bytes that are not UTF-8 included
        raise GraphError(f"not a device graph in JSON: {exc}") from None
    except RecursionError:
        raise GraphError("not a device graph in JSON: nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) \
            or not isinstance(data.get("links"), list):
        raise GraphError("not a device graph in JSON: expected an object with 'nodes' and "
                         "'links' lists")
    if not isinstance(data.get("graph", {}), dict):
        raise GraphError("not a device graph in JSON: 'graph' (the graph attributes) must be an "
                         "object")
    ids = [n.get("id") if isinstance(n, dict) else None for n in data["nodes"]]
    seen: set = set()
    for node_id in ids:
        if node_id is None or isinstance(node_id, bool) or not isinstance(node_id, (str, int)):
            raise GraphError(f"not a device graph in JSON: a node has no usable id ({node_id!r})")
        if node_id in seen:
            raise GraphError(f"node {node_id!r} appears twice in the graph file")
        seen.add(node_id)
    pairs: set = set()
    for link in data["links"]:
        ends = (link.get("source"), link.get("target")) if isinstance(link, dict) else (None, None)
        for end in ends:
            if isinstance(end, bool) or not isinstance(end, (str, int)) or end not in seen:
                raise GraphError(f"not a device graph in JSON: link {ends[0]!r} -> {ends[1]!r} "
                                 f"names no node of the file ({end!r})")
        if ends in pairs:
            raise GraphError(f"link {ends[0]!r} -> {ends[1]!r} appears twice in the graph file")
        pairs.add(ends)
    data = {**data, "multigraph": False, "directed": True}
    try:
        g = nx.node_link_graph(data, directed=True, edges="links")
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphError(f"not a device graph in JSON: {exc}") from None
    validate(g)
    return g


def save(g: nx.DiGraph, path: str) -> None:
    """Write atomically: an interrupted save leaves the previous file as it was."""
    from .files import atomic_write_text

    validate(g)
    if path.endswith(".graphml"):
        atomic_write_text(path, "\n".join(nx.generate_graphml(g)) + "\n")
    elif path.endswith(".json"):
        atomic_write_text(path, to_json(g))
    else:
        raise GraphError(f"{path}: save a graph as .json or .graphml")


def load(path: str) -> nx.DiGraph:
    if path.endswith(".graphml"):
        try:
            g = nx.DiGraph(nx.read_graphml(path))
        except Exception as exc:
            raise GraphError(f"{path}: not a readable GraphML graph: {exc}") from None
        for key in ("node_default", "edge_default"):  # GraphML bookkeeping, not ours
            g.graph.pop(key, None)
        validate(g)
        return g
    if path.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as fh:
                return from_json(fh.read())
        except UnicodeDecodeError as exc:
            raise GraphError(f"{path}: not a UTF-8 JSON file ({exc.reason})") from None
    raise GraphError(f"{path}: load a graph from .json or .graphml")
