"""Helpers that build the parts of a device graph several network kinds share."""
from __future__ import annotations

import networkx as nx

from spintronic.models.resonator import orientation


def add_chains(g: nx.DiGraph, layer: int, feeders: list[str], f_r: list[list[float]],
               res_common: dict) -> list[str]:
    """Layer ``layer``'s rf line, fed by ``feeders``, and one chain of resonators per row of f_r
    (Hz); returns each chain's last resonator, for its end device."""
    line = f"L{layer}.line"
    g.add_node(line, kind="rf_line", layer=layer)
    for src in feeders:
        g.add_edge(src, line, link="rf")
    ends = []
    for j, row in enumerate(f_r):
        prev = line
        for k, f in enumerate(row):
            name = f"L{layer}.c{j}.r{k}"
            g.add_node(name, kind="resonator", layer=layer, chain=j, position=k,
                       orientation=orientation(k), **{**res_common, "f_r": float(f)})
            g.add_edge(prev, name, link="rf" if prev == line else "dc")
            prev = name
        ends.append(prev)
    return ends
