"""Circuit topology of a crossbar: nodes and resistors for one bias configuration, and its netlist.

``_build_circuit`` lays out the rows, columns, wire segments, access transistors, devices and sense
resistors of a crossbar as an element list (``_Circuit``) that both solvers read;
``_netlist_text`` writes that list as an ngspice ``.op`` deck, and :func:`crossbar_netlist` gives
the deck of the crossbar computing W @ x.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from spintronic.models.params import spice_number

from ..deck import Op
from .config import ConductanceMap, CrossbarConfig, _as_map, _row_voltages

_KINDS = ("row_wire", "col_wire", "access", "device", "sense")
_PREFIX = {"row_wire": "Rrw", "col_wire": "Rcw", "access": "Ra", "device": "Rd", "sense": "Rs"}


@dataclasses.dataclass
class _Circuit:
    """Nodes and two-terminal conductances of one crossbar bias configuration.

    Node 0 is ground. ``fixed`` maps node ids to the voltages of their sources: the row drivers
    ``in<i>`` and the column sense ends ``s<j>`` (0 V sources, whose currents are the column
    currents). Every element: kind, node a, node b, conductance, name suffix.
    """

    names: list[str]
    fixed_ids: np.ndarray
    fixed_v: np.ndarray
    a: np.ndarray
    b: np.ndarray
    g: np.ndarray
    kind: np.ndarray          # index into _KINDS
    label: list[str]
    row_node: np.ndarray      # (rows, cols) node of each cell on its row wire
    mid_node: np.ndarray      # (rows, cols) node between access transistor and device
    col_node: np.ndarray      # (rows, cols) node of each cell on its column wire
    drive: np.ndarray         # (rows,) row voltage, NaN for a floating row
    sense: np.ndarray         # (cols,) node id of the 0 V sense end, -1 for a floating column
    device: np.ndarray        # (rows, cols) element index of each device


def _build_circuit(G: np.ndarray, cfg: CrossbarConfig, drive: np.ndarray,
                   sensed: np.ndarray, selected: np.ndarray) -> _Circuit:
    R, C = G.shape
    names = ["0"]

    def new(name: str) -> int:
        names.append(name)
        return len(names) - 1

    def grid(fmt: str) -> np.ndarray:
        return np.array([[new(fmt.format(i=i, j=j)) for j in range(C)] for i in range(R)])

    driven = ~np.isnan(drive)
    drv = np.array([new(f"in{i}") if driven[i] else -1 for i in range(R)])
    s = np.array([new(f"s{j}") if sensed[j] else -1 for j in range(C)])
    if cfg.sensing == "resistor":
        cb = np.array([new(f"cb{j}") if sensed[j] else -1 for j in range(C)])
    else:
        cb = s.copy()
    wires = cfg.r_wire > 0
    if wires:
        rn = grid("r{i}_{j}")
    else:
        rn = np.array([[drv[i]] * C if driven[i] else [new(f"r{i}")] * C for i in range(R)])
    mid = grid("m{i}_{j}") if cfg.access else rn
    if wires:
        cn = grid("c{i}_{j}")
    else:
        cn = np.array([cb[j] if sensed[j] else new(f"c{j}") for j in range(C)])[None, :]
        cn = np.repeat(cn, R, axis=0)

    a, b, g, kind, label = [], [], [], [], []

    def add(k: str, na, nb, gg, lab) -> None:
        a.append(na)
        b.append(nb)
        g.append(gg)
        kind.append(_KINDS.index(k))
        label.append(lab)

    gw = 1.0 / cfg.r_wire if wires else 0.0
    for i in range(R):
        for j in range(C):
            if wires and (j > 0 or driven[i]):
                add("row_wire", drv[i] if j == 0 else rn[i, j - 1], rn[i, j], gw, f"{i}_{j}")
            if cfg.access:
                add("access", rn[i, j], mid[i, j], 1.0 / (cfg.r_on if selected[i] else cfg.r_off),
                    f"{i}_{j}")
    device = np.empty((R, C), dtype=int)
    for i in range(R):
        for j in range(C):
            device[i, j] = len(a)
            add("device", mid[i, j], cn[i, j], G[i, j], f"{i}_{j}")
    for j in range(C):
        if wires:
            for i in range(R):
                if i < R - 1:
                    add("col_wire", cn[i, j], cn[i + 1, j], gw, f"{i}_{j}")
                elif sensed[j]:
                    add("col_wire", cn[i, j], cb[j], gw, f"{i}_{j}")
        if cfg.sensing == "resistor" and sensed[j]:
            add("sense", cb[j], s[j], 1.0 / cfg.r_sense, f"{j}")
    fixed_ids = np.concatenate([[0], drv[driven], s[sensed]]).astype(int)
    fixed_v = np.concatenate([[0.0], drive[driven], np.zeros(int(sensed.sum()))])
    return _Circuit(names, fixed_ids, fixed_v, np.array(a, dtype=int), np.array(b, dtype=int),
                    np.array(g, dtype=float), np.array(kind, dtype=int), label, rn, mid, cn,
                    drive, s, device)


def _netlist_text(circ: _Circuit, title: str) -> str:
    n = circ.names
    lines = [f"* {title}",
             f"* crossbar {circ.row_node.shape[0]} rows x {circ.row_node.shape[1]} device columns; "
             "cells Rd<i>_<j>, wires Rrw/Rcw, access Ra, sense Rs, column currents i(vs<j>)"]
    for i, v in enumerate(circ.drive):
        if not np.isnan(v):
            lines.append(f"Vin{i} in{i} 0 dc {spice_number(v)}")
    for j, node in enumerate(circ.sense):
        if node >= 0:
            lines.append(f"Vs{j} {n[node]} 0 dc 0")
    # resistors from the sense ends back to the drivers: the order in which nodes first appear
    # breaks ties in the pivot search of ngspice's Sparse 1.3, and this one reorders a 64 x 64
    # array about 1.5x faster than the driver-first order (the result is the same)
    for k in reversed(range(len(circ.a))):
        lines.append(f"{_PREFIX[_KINDS[circ.kind[k]]]}{circ.label[k]} {n[circ.a[k]]} "
                     f"{n[circ.b[k]]} {spice_number(1.0 / circ.g[k])}")
    lines += [Op().render(), ".end"]
    return "\n".join(lines) + "\n"


def _mac_circuit(cmap: ConductanceMap, cfg: CrossbarConfig, v: np.ndarray) -> _Circuit:
    """The MAC bias: every row driven at v, every column sensed, every access transistor on."""
    R, C = cmap.G.shape
    return _build_circuit(cmap.G, cfg, v, np.ones(C, bool), np.ones(R, bool))


def crossbar_netlist(W_or_map, x, cfg: CrossbarConfig | None = None,
                     title: str = "DW-MTJ crossbar, DC operating point") -> str:
    """The ngspice netlist (plain text, deterministic) of the crossbar computing W @ x."""
    cmap, cfg = _as_map(W_or_map, cfg)
    _, v, _ = _row_voltages(x, cmap, cfg)
    return _netlist_text(_mac_circuit(cmap, cfg, v), _title(title))


def _title(title: str) -> str:
    """One line of at most 200 characters, without backslashes, for the title comment."""
    return " ".join(str(title).split()).replace("\\", "")[:200]


__all__ = ["crossbar_netlist"]
