"""Helpers that build the parts of a device graph several network kinds share."""
from __future__ import annotations

import networkx as nx

from spintronic.models.resonator import orientation


def add_chains(g: nx.DiGraph, layer: int, feeders: list[str], f_r: list[list[float]],
               res_common: dict, line: str | None = None, first_chain: int = 0) -> list[str]:
    """Layer ``layer``'s rf line (``line``, default ``L<layer>.line``), fed by ``feeders``, and one
    chain of resonators per row of f_r (Hz), numbered from ``first_chain`` (a layer of several
    lines numbers its chains across them); returns each chain's last resonator, for its end
    device."""
    line = line or f"L{layer}.line"
    g.add_node(line, kind="rf_line", layer=layer)
    for src in feeders:
        g.add_edge(src, line, link="rf")
    ends = []
    for j, row in enumerate(f_r, start=first_chain):
        prev = line
        for k, f in enumerate(row):
            name = f"L{layer}.c{j}.r{k}"
            g.add_node(name, kind="resonator", layer=layer, chain=j, position=k,
                       orientation=orientation(k), **{**res_common, "f_r": float(f)})
            g.add_edge(prev, name, link="rf" if prev == line else "dc")
            prev = name
        ends.append(prev)
    return ends
