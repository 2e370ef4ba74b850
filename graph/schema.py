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

import networkx as nx

from spintronic.models import ResonatorParams, STNOParams
from spintronic.models.device import DEVICES, Device, get_device
from spintronic.models.params import Params

SCHEMA = "spintronic-graph/1"


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
for _kind in [*REQUIRED, *(k for k in DEVICES if k not in REQUIRED)]:
    _device = DEVICES.get(DEVICE_OF.get(_kind, _kind))
    if _device is not None:
        REQUIRED[_kind] = REQUIRED.get(_kind, ()) + _device.graph_fields
del _kind, _device
DYNAMICAL_ATTRS = ("dt", "steps", "substeps", "order", "readout", "readout_steps", "p_init",
                   "readout_scale")
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
    frequency, or a dangling port."""
    if g.graph.get("schema") != SCHEMA:
        raise GraphError(f"graph schema is {g.graph.get('schema')!r}, expected {SCHEMA!r}")
    sizes = layer_sizes(g)
    # resonators of a layer usually share every parameter but f_r: check each combination once
    checked: dict[tuple, str | None] = {}
    for node, attrs in g.nodes(data=True):
        kind = attrs.get("kind")
        if kind not in REQUIRED:
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
        _check_ports(g, node, kind, attrs, sizes)
    for a, b, attrs in g.edges(data=True):
        if attrs.get("link") == "weight":
            w = attrs.get("weight")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
                raise GraphError(f"edge {a!r} -> {b!r}: weight must be a finite number, got {w!r}")
    if g.graph.get("network") == "dynamical":
        missing = [k for k in DYNAMICAL_ATTRS if k not in g.graph]
        if missing:
            raise GraphError(f"dynamical graph lacks graph attributes {missing}")
        if not float(g.graph["dt"]) > 0:
            raise GraphError(f"graph attribute dt must be > 0, got {g.graph['dt']!r}")
        synapses = g.graph.get("synapses", "ideal")
        if synapses not in ("ideal", "chain"):
            raise GraphError(f"graph attribute synapses must be 'ideal' or 'chain', got {synapses!r}")
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
        need(len(preds) == 1, "no chain ends in this read-out")
    elif kind == "signal":
        need(len(succs) >= 1, "this input feeds no neuron")
    elif kind == "neuron":
        need(any(g.nodes[q]["layer"] < attrs["layer"] or g.nodes[q]["kind"] == "resonator"
                 for q in preds), "no weight or chain from the layer below drives this neuron")


def layer_sizes(g: nx.DiGraph) -> list[int]:
    try:
        sizes = [int(s) for s in str(g.graph["sizes"]).split(",")]
    except (KeyError, ValueError):
        raise GraphError(f"graph attribute 'sizes' must be comma-separated integers, got "
                         f"{g.graph.get('sizes')!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise GraphError(f"graph attribute 'sizes' needs >= 2 positive widths, got {sizes}")
    return sizes


def chains(g: nx.DiGraph, layer: int) -> list[tuple[str, list[str], str]]:
    """(head line, ordered resonators, end node) for every chain of ``layer``, by chain index."""
    line = f"L{layer}.line"
    out = []
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
    except ValueError as exc:
        raise GraphError(f"not a device graph in JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) \
            or not isinstance(data.get("links"), list):
        raise GraphError("not a device graph in JSON: expected an object with 'nodes' and "
                         "'links' lists")
    ids = [n.get("id") if isinstance(n, dict) else None for n in data["nodes"]]
    seen: set = set()
    for node_id in ids:
        if node_id is None or not isinstance(node_id, (str, int)):
            raise GraphError(f"not a device graph in JSON: a node has no usable id ({node_id!r})")
        if node_id in seen:
            raise GraphError(f"node {node_id!r} appears twice in the graph file")
        seen.add(node_id)
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
