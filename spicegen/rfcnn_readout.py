"""Read-out on several lines of an RF convolutional graph (graph attribute ``readout_lines`` G):
frequency reuse on the read-out, as the reuse arrangement does for pixels. Line ``L2.line{g}``
carries STNOs g H .. (g + 1) H - 1 (H = hidden / G) on the same H channels as every other line;
chain j of layer 2 sits on line j // classes and serves class j % classes; a class's G chains are
connected in series at DC (currents of different lines never mix, only the rectified voltages
add), so its read-out is the sum of their voltages plus one bias (the read-out node's).

The structure check of those lines, the grouping of chains by the read-out they feed, and the
series segments of the envelope netlist; ``spicegen.rfcnn_netlist`` uses them.
"""
from __future__ import annotations

from spintronic.graph.schema import GraphError
from spintronic.models.params import spice_number as num

from .compiler import _comment


def check_readout_lines(g, G, oscillators, readouts, seen) -> None:
    """G read-out lines: line g fed by exactly its H STNOs, heading one chain per class (chain
    g * classes + class, H resonators), each ending in its class's read-out."""
    H, classes = len(oscillators) // G, len(readouts)
    n_lines = sum(1 for _, a in g.nodes(data=True) if a["kind"] == "rf_line" and a["layer"] == 2)
    if n_lines != G:
        raise GraphError(f"layer 2 has {n_lines} rf lines, expected readout_lines = {G}")
    for line_g in range(G):
        line = f"L2.line{line_g}"
        if line not in g or g.nodes[line]["kind"] != "rf_line" or g.nodes[line]["layer"] != 2:
            raise GraphError(f"layer 2 has no rf line named {line!r} (read-out line {line_g})")
        feeders = oscillators[line_g * H:(line_g + 1) * H]
        for src in set(g.predecessors(line)) ^ set(feeders):
            raise GraphError(f"node {src!r}: read-out line {line!r} is fed by STNOs "
                             f"{feeders[0]!r} .. {feeders[-1]!r} (STNO j on line j // {H}) "
                             f"and by nothing else")
        for src in feeders:
            if [n for n in g.successors(src) if g.nodes[n]["kind"] == "rf_line"] != [line]:
                raise GraphError(f"node {src!r} must feed exactly the line {line!r}")
        done = set()
        for head in g.successors(line):
            a = g.nodes[head]
            j = a.get("chain")
            cls = j - line_g * classes if a["kind"] == "resonator" else -1
            if not 0 <= cls < classes or j in done:
                raise GraphError(f"node {head!r}: line {line!r} heads chains "
                                 f"{line_g * classes}..{(line_g + 1) * classes - 1} (chain "
                                 f"line x classes + class), once each; got chain {j!r}")
            done.add(j)
            node = head
            for k in range(H):
                r = g.nodes[node]
                if r["kind"] != "resonator" or node in seen:
                    raise GraphError(f"node {node!r}: chain {j} of layer 2 must hold {H} "
                                     f"resonators (one per STNO of its line), each once")
                seen.add(node)
                if (r["layer"], r["chain"], r["position"]) != (2, j, k) or \
                        r["orientation"] not in (1, -1):
                    raise GraphError(f"node {node!r}: expected layer 2, chain {j}, position {k}, "
                                     f"orientation +-1, got {r['layer']}, {r['chain']}, "
                                     f"{r['position']}, {r['orientation']!r}")
                (node,) = list(g.successors(node))
            if node != readouts[cls]:
                raise GraphError(f"chain {j} of layer 2 (line {line_g}) ends in {node!r}, "
                                 f"expected the read-out {readouts[cls]!r} of class {cls}")
        if len(done) != classes:
            raise GraphError(f"line {line!r} heads {len(done)} chains, expected one per class "
                             f"({classes})")


def end_groups(chains) -> list[tuple[str, list[int]]]:
    """(end node, chain indices) of each device the chains end in, in order of first chain: a
    read-out fed by G lines has G chains, in series in the order of their lines."""
    out: dict = {}
    for j, (_, _, end) in enumerate(chains):
        out.setdefault(end, []).append(j)
    return list(out.items())


def series_cards(chains, groups, W, nodes, l) -> list[str]:
    """Each read-out's chains (one per line) as 1-Ohm segments stacked in series from ground,
    each segment driven by its chain's sources only; c{l}_j, the top, is the sum of their
    voltages. The read-out's bias drives the first segment."""
    cards = []
    for j, (end, ks) in enumerate(groups):
        cards.append(_comment(f"read-out {j}: {len(ks)} chains in series"))
        lower = "0"
        for m, k in enumerate(ks):
            line, path, _ = chains[k]
            upper = f"c{l}_{j}" if m == len(ks) - 1 else f"s{l}_{j}_{m}"
            cards.append(_comment(f"chain {k} on {line}: {len(path)} resonators"))
            cards.append(f"Rc{l}_{j}_{m} {upper} {lower} 1")
            if m == 0:
                cards.append(f"Ib{l}_{j} {lower} {upper} DC {num(nodes[end]['chain_bias'])}")
            cards += [f"G{l}_{j}_{m}_{i} {lower} {upper} pw{l - 1}_{i} 0 {num(w)}"
                      for i, w in enumerate(W[k]) if w != 0.0]
            lower = upper
    return cards
