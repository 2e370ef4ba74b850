"""Structural checks per network: the graph is exactly the wiring its compiler assumes.

``schema.validate`` checks each device's parameters and ports; these check how the devices are
connected, so that every graph that passes compiles, and every one that does not gets one message
naming the node. Registered by the network kinds (``NetworkKind.check_graph``).
"""
from __future__ import annotations

import networkx as nx

from .schema import GraphError, device_of, layer_sizes

_INT_FIELDS = ("layer", "index", "chain", "position", "orientation")
# the link of every edge, by the kinds of the devices it connects
_LINKS = {("input", "rf_line"): "rf", ("stno", "rf_line"): "rf", ("signal", "rf_line"): "rf",
          ("neuron", "rf_line"): "rf", ("rf_line", "resonator"): "rf",
          ("resonator", "resonator"): "dc", ("resonator", "amplifier"): "dc",
          ("resonator", "readout"): "dc", ("resonator", "neuron"): "dc", ("amplifier", "stno"): "dc",
          ("signal", "neuron"): "weight", ("neuron", "neuron"): "weight"}


def _ints(g: nx.DiGraph) -> None:
    for node, a in g.nodes(data=True):
        for name in _INT_FIELDS:
            if name in a and (isinstance(a[name], bool) or not isinstance(a[name], int)):
                raise GraphError(f"node {node!r} ({a.get('kind')}): {name} must be an integer, "
                                 f"got {a[name]!r}")


def _indexed(g: nx.DiGraph, kind: str, layer: int, n: int) -> list[str]:
    """The nodes of ``kind`` in ``layer``, by index, refusing gaps, duplicates and strays."""
    found: dict[int, str] = {}
    for node, a in g.nodes(data=True):
        if a.get("kind") != kind or a.get("layer") != layer:
            continue
        i = a.get("index")
        if not 0 <= i < n:
            raise GraphError(f"node {node!r} ({kind}): index {i} outside layer {layer}'s "
                             f"{n} {kind}s")
        if i in found:
            raise GraphError(f"node {node!r} ({kind}): index {i} of layer {layer} is also "
                             f"{found[i]!r}")
        found[i] = node
    if len(found) != n:
        missing = sorted(set(range(n)) - set(found))
        raise GraphError(f"layer {layer} has {len(found)} {kind}s, expected {n} (missing "
                         f"indices {missing[:5]})")
    return [found[i] for i in range(n)]


def _only_kinds(g: nx.DiGraph, allowed: set[str], network: str) -> None:
    n_layers = len(layer_sizes(g))
    for node, a in g.nodes(data=True):
        if a.get("kind") not in allowed:
            raise GraphError(f"node {node!r}: a {a.get('kind')!r} device has no place in a "
                             f"{network} network (allowed: {', '.join(sorted(allowed))})")
        if not 0 <= a.get("layer", -1) < n_layers:
            raise GraphError(f"node {node!r} ({a.get('kind')}): layer {a.get('layer')} outside "
                             f"the network's layers 0..{n_layers - 1}")


def _links(g: nx.DiGraph) -> None:
    """Every edge carries the link its two devices call for (rf, dc or weight)."""
    for a, b, link in g.edges(data="link"):
        pair = (g.nodes[a]["kind"], g.nodes[b]["kind"])
        want = _LINKS.get(pair)
        if want is None:
            raise GraphError(f"edge {a!r} -> {b!r}: a {pair[0]} does not connect to a {pair[1]}")
        if link != want:
            raise GraphError(f"edge {a!r} -> {b!r}: a {pair[0]} -> {pair[1]} connection is a "
                             f"{want!r} link, got {link!r}")


def _line(g: nx.DiGraph, layer: int, feeders: list[str]) -> str:
    """Layer ``layer``'s rf line, fed by exactly ``feeders``."""
    line = f"L{layer}.line"
    if line not in g or g.nodes[line].get("kind") != "rf_line" or g.nodes[line]["layer"] != layer:
        raise GraphError(f"layer {layer} has no rf line named {line!r}")
    preds = set(g.predecessors(line))
    extra, lost = preds - set(feeders), set(feeders) - preds
    if extra:
        raise GraphError(f"node {sorted(extra)[0]!r} feeds {line!r} but is not a source of "
                         f"layer {layer}")
    if lost:
        raise GraphError(f"node {sorted(lost)[0]!r} does not feed {line!r}, the line of the "
                         f"layer it belongs to")
    for src in feeders:
        if [s for s in g.successors(src) if g.nodes[s]["kind"] == "rf_line"] != [line]:
            raise GraphError(f"node {src!r} must feed exactly the line {line!r}")
    return line


def _chains(g: nx.DiGraph, layer: int, line: str, n_chains: int, seen: set) -> list[str]:
    """Walk every chain of ``line``; returns the end node of each chain, by chain index."""
    ends: dict[int, str] = {}
    for head in g.successors(line):
        a = g.nodes[head]
        if a["kind"] != "resonator":
            raise GraphError(f"line {line!r} feeds {head!r} ({a['kind']}) directly; a line feeds "
                             f"the first resonator of each chain")
        j = a["chain"]
        if not 0 <= j < n_chains or j in ends:
            raise GraphError(f"node {head!r}: chain index {j} is outside 0..{n_chains - 1} or "
                             f"used twice in layer {layer}")
        node, position = head, 0
        while g.nodes[node].get("kind") == "resonator":
            r = g.nodes[node]
            if node in seen:
                raise GraphError(f"node {node!r}: resonator reached twice (a loop or a shared "
                                 f"resonator)")
            seen.add(node)
            if (r["layer"], r["chain"], r["position"]) != (layer, j, position):
                raise GraphError(f"node {node!r}: expected layer {layer}, chain {j}, position "
                                 f"{position}, got {r['layer']}, {r['chain']}, {r['position']}")
            if r["orientation"] not in (1, -1):
                raise GraphError(f"node {node!r}: orientation must be +1 or -1 (head-to-tail "
                                 f"mounting), got {r['orientation']!r}")
            (node,) = list(g.successors(node))
            position += 1
        ends[j] = node
    if len(ends) != n_chains:
        raise GraphError(f"line {line!r} feeds {len(ends)} chains, expected {n_chains}")
    return [ends[j] for j in range(n_chains)]


def _stray_resonators(g: nx.DiGraph, seen: set) -> None:
    for node, a in g.nodes(data=True):
        if a["kind"] == "resonator" and node not in seen:
            raise GraphError(f"node {node!r}: resonator not on any chain of a line")


def _per_chain(g: nx.DiGraph, sizes: list[int], layer: int, ends: list[str]) -> None:
    """A sparse RF graph (graph attribute ``per_chain`` K) holds min(K, the layer's inputs)
    resonators in every chain: the length its surrogate was trained with."""
    k = g.graph["per_chain"]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= sizes[0]:
        raise GraphError(f"graph attribute per_chain must be an integer from 1 to the network's "
                         f"{sizes[0]} inputs, got {k!r}")
    want = min(k, sizes[layer - 1])
    held = [0] * len(ends)
    for _, a in g.nodes(data=True):
        if a["kind"] == "resonator" and a["layer"] == layer:
            held[a["chain"]] += 1            # chain indices were checked by _chains
    for j, got in enumerate(held):
        if got != want:
            raise GraphError(f"chain {j} of layer {layer} holds {got} resonators, but the sparse "
                             f"graph's per_chain {k} asks for {want}")


def check_rf(g: nx.DiGraph) -> None:
    sizes = layer_sizes(g)
    _ints(g)
    _only_kinds(g, {"input", "rf_line", "resonator", "amplifier", "stno", "readout"}, "rf")
    feeders = _indexed(g, "input", 0, sizes[0])
    seen: set = set()
    n_layers = len(sizes) - 1
    for layer in range(1, n_layers + 1):
        line = _line(g, layer, feeders)
        ends = _chains(g, layer, line, sizes[layer], seen)
        if "per_chain" in g.graph:
            _per_chain(g, sizes, layer, ends)
        end_kind = "readout" if layer == n_layers else "amplifier"
        wanted = _indexed(g, end_kind, layer, sizes[layer])
        for j, (end, want) in enumerate(zip(ends, wanted)):
            if end != want:
                raise GraphError(f"chain {j} of layer {layer} ends in {end!r} "
                                 f"({g.nodes[end]['kind']}), expected the {end_kind} {want!r}")
        if layer == n_layers:
            break
        oscillators = _indexed(g, "stno", layer, sizes[layer])
        for amp, osc in zip(wanted, oscillators):
            if list(g.successors(amp)) != [osc]:
                raise GraphError(f"amplifier {amp!r} must drive the STNO {osc!r} of its index")
        feeders = oscillators
    _stray_resonators(g, seen)
    _links(g)
    for node, a in g.nodes(data=True):
        hidden = 1 <= a["layer"] < n_layers
        if (a["kind"] in ("amplifier", "stno") and not hidden) or \
                (a["kind"] == "readout" and a["layer"] != n_layers):
            raise GraphError(f"node {node!r} ({a['kind']}): not allowed in layer {a['layer']} "
                             f"(amplifiers and STNOs sit in hidden layers, read-outs in the last)")


def _shared_neuron_params(g: nx.DiGraph) -> None:
    """The compiler and the surrogate integrate every neuron with one set of STNO parameters (all
    but its channel f0): a neuron that differed would silently be simulated as the first one."""
    device = device_of("neuron")
    shared = [f for f in device.graph_fields if f not in device.per_device_fields]
    neurons = sorted((a["layer"], a["index"], node) for node, a in g.nodes(data=True)
                     if a["kind"] == "neuron")
    if not neurons:
        return
    first = g.nodes[neurons[0][2]]
    for *_, node in neurons[1:]:
        a = g.nodes[node]
        for name in shared:
            if a[name] != first[name]:
                raise GraphError(f"node {node!r} (neuron): STNO parameter {name} = {a[name]!r} "
                                 f"differs from {neurons[0][2]!r}'s {first[name]!r}; the neurons "
                                 f"of a dynamical network share every STNO parameter but f0")


def check_dynamical(g: nx.DiGraph) -> None:
    sizes = layer_sizes(g)
    _ints(g)
    chain = g.graph.get("synapses", "ideal") == "chain"
    allowed = {"signal", "neuron"} | ({"rf_line", "resonator"} if chain else set())
    _only_kinds(g, allowed, f"dynamical ({g.graph.get('synapses', 'ideal')} synapses)")
    below = _indexed(g, "signal", 0, sizes[0])
    seen: set = set()
    for layer in range(1, len(sizes)):
        neurons = _indexed(g, "neuron", layer, sizes[layer])
        if chain:
            line = _line(g, layer, below)
            for j, (end, want) in enumerate(zip(_chains(g, layer, line, sizes[layer], seen),
                                                neurons)):
                if end != want:
                    raise GraphError(f"chain {j} of layer {layer} ends in {end!r}, expected the "
                                     f"neuron {want!r}")
        below = neurons
    _stray_resonators(g, seen)
    _shared_neuron_params(g)
    for a, b, attrs in g.edges(data=True):
        if attrs.get("link") != "weight":
            continue
        src, dst = g.nodes[a], g.nodes[b]
        if dst["kind"] != "neuron" or src["kind"] not in ("signal", "neuron"):
            raise GraphError(f"weight edge {a!r} -> {b!r}: weights connect signals or neurons to "
                             f"neurons")
        step = dst["layer"] - src["layer"]
        if step == 0 and src["kind"] == "neuron":
            continue                                   # recurrent, inside one layer
        if step != 1:
            raise GraphError(f"weight edge {a!r} -> {b!r} goes from layer {src['layer']} to "
                             f"{dst['layer']}: only the layer below or the same layer "
                             f"(recurrent) can drive a neuron")
        if chain:
            raise GraphError(f"weight edge {a!r} -> {b!r}: with chain synapses the layer below "
                             f"drives a neuron through resonator chains, not weight edges")
    _links(g)
