"""Sneak paths and IR drop in a resistive DW-MTJ crossbar holding one layer's weights.

A weight matrix W (n_out x n_in) is written into a crossbar of DW-MTJ synapses whose conductances
lie between G_AP and G_P (``DomainWallParams``: 1/12.5 kOhm and 1/5 kOhm, ON/OFF ratio 2.5):

- rows are inputs: row i is driven from its left end by a voltage source at x_i v_read / max|x|;
- columns are outputs: column c is sensed at its bottom end, either by an ideal transimpedance
  amplifier that holds it at virtual ground (``sensing="tia"``) or through a sense resistor to
  ground (``sensing="resistor"``); a zero-volt source at the end of every column measures its
  current;
- every cell is a resistor 1/G from its row wire to its column wire, optionally in series with an
  access transistor (``access=True``), modelled as ``r_on`` in a selected row and ``r_off`` in an
  unselected one;
- every cell owns one segment of ``r_wire`` on its row wire (on its left, towards the driver) and
  one on its column wire (below it, towards the sense end).

Signed weights (``differential=True``, the default) use a pair of devices per weight on two adjacent
device columns, 2j (G+) and 2j+1 (G-), and output j is I(2j) - I(2j+1). With ``differential=False``
every weight is one device, shifted into [G_AP, G_P], and one extra *reference column* whose devices
all hold the conductance of a zero weight is subtracted from every output (so the array has
n_out + 1 device columns).

Two solvers give one :class:`CrossbarResult`: :func:`solve_spice` writes a plain-text netlist
(:func:`crossbar_netlist`, deterministic bytes) and solves its DC operating point (``.op``) in
ngspice; :func:`solve_numpy` does nodal analysis with scipy.sparse on the same element list. The
network is linear, so :func:`effective_weights` gives the matrix the crossbar really applies and
:func:`crossbar_mac` evaluates a whole batch with one sparse factorisation.
"""
from __future__ import annotations

import dataclasses
import operator
import time
from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from spintronic.models.domain_wall import DomainWallParams
from spintronic.models.params import Params, param, spice_number

from .errors import SpiceError
from .runner import run_netlist

_DW = DomainWallParams()
SENSING = ("tia", "resistor")


# ---------------------------------------------------------------- configuration

@dataclasses.dataclass(frozen=True)
class CrossbarConfig(Params):
    """Electrical description of one crossbar. SI units (S, Ohm, V)."""

    g_p: float = param(_DW.G_P, "positive", "conductance of a device in the parallel state (S)")
    on_off: float = param(_DW.on_off_ratio, "positive", "ON/OFF ratio G_P / G_AP, must be > 1")
    r_wire: float = param(0.0, "nonneg",
                          "wire resistance of one cell segment, row and column (Ohm)")
    v_read: float = param(0.1, "positive", "row voltage for the largest input magnitude (V)")
    r_sense: float = param(100.0, "positive", "sense resistor to ground per column (Ohm), "
                                              "used when sensing='resistor'")
    r_on: float = param(1e3, "positive", "access transistor on-resistance, selected row (Ohm)")
    r_off: float = param(1e9, "positive", "access transistor off-resistance, unselected row (Ohm)")
    sensing: str = dataclasses.field(default="tia", metadata={
        "doc": "'tia': columns at virtual ground; 'resistor': columns to ground through r_sense"})
    differential: bool = dataclasses.field(default=True, metadata={
        "doc": "signed weights as G+/G- device pairs (True) or shifted weights with a reference "
               "column (False)"})
    access: bool = dataclasses.field(default=False, metadata={
        "doc": "an access transistor in series with every cell"})
    rows: int | None = dataclasses.field(default=None, metadata={
        "doc": "physical number of rows (None: as many as W has inputs)"})
    cols: int | None = dataclasses.field(default=None, metadata={
        "doc": "physical number of device columns (None: as many as the mapping needs)"})

    def validate(self) -> None:
        name = type(self).__name__
        if not self.on_off > 1:
            raise ValueError(f"{name}.on_off (the ON/OFF ratio G_P/G_AP) must be > 1, "
                             f"got {self.on_off!r}")
        if not (isinstance(self.sensing, str) and self.sensing in SENSING):
            raise ValueError(f"{name}.sensing must be one of {SENSING}, got {self.sensing!r}")
        for field in ("differential", "access"):
            if not isinstance(getattr(self, field), (bool, np.bool_)):
                raise ValueError(f"{name}.{field} must be True or False, "
                                 f"got {getattr(self, field)!r}")
        for field in ("rows", "cols"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)) or value < 1):
                raise ValueError(f"{name}.{field} must be None or an integer >= 1, got {value!r}")
        if self.access and self.r_off <= self.r_on:
            raise ValueError(f"{name}.r_off ({self.r_off!r}) must exceed r_on ({self.r_on!r})")

    @property
    def g_ap(self) -> float:
        """Conductance of a device in the antiparallel state (S)."""
        return self.g_p / self.on_off


# ---------------------------------------------------------------- weight mapping

@dataclasses.dataclass(frozen=True, eq=False)
class ConductanceMap:
    """Device conductances of a crossbar and how its column currents combine into outputs.

    ``G`` is (rows, device columns): row = input, column = device column. Output currents are
    ``combine @ column_current`` and outputs in weight units are
    ``output_current * w_per_siemens * x_scale / v_read`` with x_scale = max|x| of the input.
    """

    G: np.ndarray
    combine: np.ndarray
    w_per_siemens: float
    n_in: int
    n_out: int
    cfg: CrossbarConfig

    @property
    def shape(self) -> tuple[int, int]:
        return self.G.shape

    @property
    def positions(self) -> np.ndarray:
        """Domain-wall positions in [0, 1] that give ``G`` (``models.domain_wall.conductance``)."""
        return (self.G - self.cfg.g_ap) / (self.cfg.g_p - self.cfg.g_ap)

    @classmethod
    def from_conductances(cls, G, cfg: CrossbarConfig | None = None) -> "ConductanceMap":
        """A crossbar of given conductances (rows x columns), each column its own output.

        Outputs are then ``G.T @ x`` in S (times the unit of x); no range check against
        [G_AP, G_P] is made, only that every conductance is finite and > 0.
        """
        cfg = cfg or CrossbarConfig()
        G = _finite_matrix(G, "G")
        if np.any(G <= 0):
            raise ValueError(f"every conductance must be > 0, got min {G.min()!r}")
        _check_fits(G.shape, cfg, "G")
        rows, cols = G.shape
        return cls(G, np.eye(cols), 1.0, rows, cols, cfg)


def _finite_matrix(A, what: str) -> np.ndarray:
    arr = np.asarray(A)
    if np.iscomplexobj(arr):
        raise ValueError(f"{what} must be real, got a complex array")
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a numeric matrix, got {A!r:.80}") from None
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{what} must be a non-empty 2-D matrix, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{what} holds {int(bad.sum())} non-finite value(s) (NaN or inf), "
                         f"first at {where}: {arr[where]!r}")
    return arr


def _check_fits(needed: tuple[int, int], cfg: CrossbarConfig, what: str) -> None:
    rows = cfg.rows if cfg.rows is not None else needed[0]
    cols = cfg.cols if cfg.cols is not None else needed[1]
    if needed[0] > rows or needed[1] > cols:
        raise ValueError(f"{what} needs an array of {needed[0]} rows x {needed[1]} device columns, "
                         f"which does not fit the {rows} x {cols} array of the configuration")


def weights_to_conductances(W, cfg: CrossbarConfig | None = None) -> ConductanceMap:
    """Map W (n_out x n_in, signed) onto device conductances in [G_AP, G_P].

    Differential: G+ = G_AP + max(w, 0) / wmax (G_P - G_AP) on device column 2j and
    G- = G_AP + max(-w, 0) / wmax (G_P - G_AP) on column 2j + 1, wmax = max|W|; so
    (G+ - G-) = w (G_P - G_AP) / wmax.
    Single-ended: G = G_AP + (w - wmin) / (wmax - wmin) (G_P - G_AP) with wmin = min(W, 0),
    wmax = max(W, 0), and a reference column (the last mapped one) at the conductance of w = 0,
    which every output subtracts.
    With zero wire resistance and ideal virtual grounds the outputs map back to W @ x exactly.
    If cfg.rows / cfg.cols give a larger array, the extra cells are at G_AP (their rows at 0 V
    and their columns sensed but unused); a W that does not fit raises ValueError.
    """
    cfg = cfg or CrossbarConfig()
    W = _finite_matrix(W, "W")
    n_out, n_in = W.shape
    g_ap, dg = cfg.g_ap, cfg.g_p - cfg.g_ap
    mapped_cols = 2 * n_out if cfg.differential else n_out + 1
    _check_fits((n_in, mapped_cols), cfg, f"W of shape {W.shape}"
                + (" (differential pairs)" if cfg.differential else " (plus a reference column)"))
    rows = cfg.rows if cfg.rows is not None else n_in
    cols = cfg.cols if cfg.cols is not None else mapped_cols
    G = np.full((rows, cols), g_ap)
    combine = np.zeros((n_out, cols))
    if cfg.differential:
        wmax = float(np.abs(W).max()) or 1.0
        G[:n_in, 0:2 * n_out:2] = g_ap + np.maximum(W, 0).T / wmax * dg
        G[:n_in, 1:2 * n_out:2] = g_ap + np.maximum(-W, 0).T / wmax * dg
        combine[np.arange(n_out), 2 * np.arange(n_out)] = 1.0
        combine[np.arange(n_out), 2 * np.arange(n_out) + 1] = -1.0
        w_per_siemens = wmax / dg
    else:
        wmin, wmax = min(float(W.min()), 0.0), max(float(W.max()), 0.0)
        span = (wmax - wmin) or 1.0
        G[:n_in, :n_out] = g_ap + (W.T - wmin) / span * dg
        G[:n_in, n_out] = g_ap - wmin / span * dg
        combine[np.arange(n_out), np.arange(n_out)] = 1.0
        combine[:, n_out] = -1.0
        w_per_siemens = span / dg
    return ConductanceMap(G, combine, w_per_siemens, n_in, n_out, cfg)


def _as_map(W_or_map, cfg: CrossbarConfig | None) -> tuple[ConductanceMap, CrossbarConfig]:
    """A ConductanceMap keeps its conductances; cfg (if given) sets the circuit around them."""
    if isinstance(W_or_map, ConductanceMap):
        return W_or_map, cfg or W_or_map.cfg
    cfg = cfg or CrossbarConfig()
    return weights_to_conductances(W_or_map, cfg), cfg


# ---------------------------------------------------------------- circuit topology

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
    lines += [".op", ".end"]
    return "\n".join(lines) + "\n"


def _row_voltages(x, cmap: ConductanceMap, cfg: CrossbarConfig) -> tuple[np.ndarray, np.ndarray,
                                                                           float]:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.shape[0] != cmap.n_in:
        raise ValueError(f"x must be a vector of {cmap.n_in} inputs, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x holds non-finite values: {x[~np.isfinite(x)][:5]!r}")
    x_scale = float(np.abs(x).max()) or 1.0
    v = np.zeros(cmap.G.shape[0])
    v[:cmap.n_in] = (x / x_scale) * cfg.v_read
    return x, v, x_scale


# ---------------------------------------------------------------- results

@dataclasses.dataclass
class CrossbarResult:
    """One solved crossbar. Currents in A, voltages in V; cells are (rows, device columns).

    - ``cell_current``: current through each device from its row wire to its column wire.
    - ``ideal_cell_current``: G V_row for a driven row and a sensed column (ideal wires and virtual
      grounds), 0 otherwise (floating rows and columns should carry nothing).
    - ``column_current``: current out of each column into its 0 V sense source.
    - ``output_current`` = combine @ column_current (I+ - I- per output), ``output`` the same in
      weight units (W @ x as realised); ``ideal_*`` likewise for the ideal crossbar.
    - ``mac_error[j] = (I_out[j] - I_out_ideal[j]) / max_k |I_out_ideal[k]|`` (output currents):
      signed error of each output relative to the largest ideal output magnitude (the full scale
      the read-out must resolve); with all ideal outputs 0, relative to rows * G_P * v_read.
    - ``sneak_current`` = sum over cells of |cell_current - ideal_cell_current|: every ampere that
      does not flow where the ideal crossbar puts it (IR drop deficits, current through cells
      of floating rows or columns, current pushed back into rows by raised column potentials).
    - ``reverse_current`` = sum over cells of the current flowing from the column back into the row,
      i.e. against the sign of the row drive (for undriven rows, any column-to-row current):
      the classic sneak-path signature.
    """

    cmap: ConductanceMap
    cfg: CrossbarConfig
    solver: str
    x: np.ndarray
    row_drive: np.ndarray
    row_voltage: np.ndarray
    mid_voltage: np.ndarray
    col_voltage: np.ndarray
    cell_current: np.ndarray
    ideal_cell_current: np.ndarray
    column_current: np.ndarray
    ideal_column_current: np.ndarray
    x_scale: float
    seconds: float
    netlist: str | None = None
    mode: str = "mac"         # "mac" (every row driven, every column sensed) or "read i j"

    @property
    def output_current(self) -> np.ndarray:
        return self.cmap.combine @ self.column_current

    @property
    def ideal_output_current(self) -> np.ndarray:
        return self.cmap.combine @ self.ideal_column_current

    @property
    def _to_weight_units(self) -> float:
        return self.cmap.w_per_siemens * self.x_scale / self.cfg.v_read

    @property
    def output(self) -> np.ndarray:
        """W @ x as the crossbar computes it (weight units)."""
        return self.output_current * self._to_weight_units

    @property
    def ideal_output(self) -> np.ndarray:
        return self.ideal_output_current * self._to_weight_units

    @property
    def mac_error(self) -> np.ndarray:
        ideal = self.ideal_output_current
        scale = float(np.abs(ideal).max()) if ideal.size else 0.0
        if scale == 0:
            scale = self.cmap.G.shape[0] * self.cfg.g_p * self.cfg.v_read
        return (self.output_current - ideal) / scale

    @property
    def sneak_current(self) -> float:
        return float(np.abs(self.cell_current - self.ideal_cell_current).sum())

    @property
    def reverse_current(self) -> float:
        sign = np.where(np.nan_to_num(self.row_drive) < 0, -1.0, 1.0)[:, None]
        return float(np.maximum(-sign * self.cell_current, 0.0).sum())

    def report(self) -> str:
        return report(self)

    def plot_current_map(self, path: str) -> str:
        return plot_current_map(self, path)


def _finish(cmap, cfg, circ: _Circuit, volts: np.ndarray, column_current: np.ndarray, x,
            x_scale: float, solver: str, seconds: float, netlist: str | None,
            mode: str = "mac") -> CrossbarResult:
    G = cmap.G
    dev_a, dev_b = circ.a[circ.device], circ.b[circ.device]
    cell = G * (volts[dev_a] - volts[dev_b])
    sensed = circ.sense >= 0
    drive = np.nan_to_num(circ.drive)
    ideal_cell = G * drive[:, None] * sensed[None, :]
    return CrossbarResult(cmap, cfg, solver, x, circ.drive, volts[circ.row_node],
                          volts[circ.mid_node], volts[circ.col_node], cell, ideal_cell,
                          column_current, ideal_cell.sum(axis=0), x_scale, seconds, netlist, mode)


# ---------------------------------------------------------------- solvers

def _laplacian(circ: _Circuit) -> sp.csr_matrix:
    n = len(circ.names)
    a, b, g = circ.a, circ.b, circ.g
    rows = np.concatenate([a, b, a, b])
    cols = np.concatenate([a, b, b, a])
    vals = np.concatenate([g, g, -g, -g])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def _nodal(circ: _Circuit, fixed_v: np.ndarray) -> np.ndarray:
    """Node voltages (n_nodes, k) for k sets of fixed-node voltages (n_fixed, k)."""
    n = len(circ.names)
    fixed_v = fixed_v.reshape(len(circ.fixed_ids), -1)
    free = np.setdiff1d(np.arange(n), circ.fixed_ids)
    volts = np.zeros((n, fixed_v.shape[1]))
    volts[circ.fixed_ids] = fixed_v
    if free.size:
        L = _laplacian(circ)
        A_ff = L[free][:, free].tocsc()
        rhs = -(L[free][:, circ.fixed_ids] @ fixed_v)
        try:
            # the nodal matrix is symmetric positive definite: symmetric ordering, diagonal pivots
            lu = spla.splu(A_ff, permc_spec="MMD_AT_PLUS_A",
                           options={"SymmetricMode": True, "DiagPivotThresh": 0.0})
        except RuntimeError as exc:
            raise ValueError(f"the crossbar's nodal matrix is singular ({exc}): a node has no "
                             "path to a source") from None
        volts[free] = lu.solve(np.asarray(rhs))
    return volts


def _sense_currents(circ: _Circuit, volts: np.ndarray) -> np.ndarray:
    """Current from the network into each column's 0 V sense node (0 for floating columns)."""
    column_of = np.full(len(circ.names), -1)
    column_of[circ.sense[circ.sense >= 0]] = np.flatnonzero(circ.sense >= 0)
    current = circ.g[:, None] * (volts[circ.a] - volts[circ.b])   # (elements, k), a -> b
    out = np.zeros((len(circ.sense), volts.shape[1]))
    into = column_of[circ.b] >= 0
    np.add.at(out, column_of[circ.b[into]], current[into])
    out_of = column_of[circ.a] >= 0
    np.add.at(out, column_of[circ.a[out_of]], -current[out_of])
    return out


def _mac_circuit(cmap: ConductanceMap, cfg: CrossbarConfig, v: np.ndarray) -> _Circuit:
    R, C = cmap.G.shape
    return _build_circuit(cmap.G, cfg, v, np.ones(C, bool), np.ones(R, bool))


def crossbar_netlist(W_or_map, x, cfg: CrossbarConfig | None = None,
                     title: str = "DW-MTJ crossbar, DC operating point") -> str:
    """The ngspice netlist (plain text, deterministic) of the crossbar computing W @ x."""
    cmap, cfg = _as_map(W_or_map, cfg)
    _, v, _ = _row_voltages(x, cmap, cfg)
    return _netlist_text(_mac_circuit(cmap, cfg, v), _title(title))


def _title(title: str) -> str:
    return " ".join(str(title).split()).replace("\\", "")[:200]


def solve_numpy(W_or_map, x, cfg: CrossbarConfig | None = None) -> CrossbarResult:
    """Solve the crossbar computing W @ x by sparse nodal analysis (scipy)."""
    start = time.perf_counter()
    cmap, cfg = _as_map(W_or_map, cfg)
    x, v, x_scale = _row_voltages(x, cmap, cfg)
    circ = _mac_circuit(cmap, cfg, v)
    volts = _nodal(circ, circ.fixed_v)[:, 0]
    cols = _sense_currents(circ, volts[:, None])[:, 0]
    return _finish(cmap, cfg, circ, volts, cols, x, x_scale, "numpy",
                   time.perf_counter() - start, None)


def _spice_solve(circ: _Circuit, title: str, backend: str, timeout: float
                 ) -> tuple[np.ndarray, np.ndarray, str]:
    netlist = _netlist_text(circ, title)
    res = run_netlist(netlist, backend=backend, timeout=timeout)
    volts = np.zeros(len(circ.names))
    volts[circ.fixed_ids] = circ.fixed_v
    free = np.setdiff1d(np.arange(len(circ.names)), circ.fixed_ids)
    try:
        for k in free:
            volts[k] = res[f"v({circ.names[k]})"][-1]
        cols = np.array([res[f"i(vs{j})"][-1] if node >= 0 else 0.0
                         for j, node in enumerate(circ.sense)])
    except KeyError as exc:
        raise SpiceError(f"ngspice returned no vector for {exc}", res.log[-2000:],
                         netlist) from None
    return volts, cols, netlist


def solve_spice(W_or_map, x, cfg: CrossbarConfig | None = None, backend: str = "subprocess",
                timeout: float = 120.0) -> CrossbarResult:
    """Solve the crossbar computing W @ x in ngspice (``.op``); cell currents from node voltages."""
    start = time.perf_counter()
    cmap, cfg = _as_map(W_or_map, cfg)
    x, v, x_scale = _row_voltages(x, cmap, cfg)
    circ = _mac_circuit(cmap, cfg, v)
    volts, cols, netlist = _spice_solve(circ, "DW-MTJ crossbar, DC operating point", backend,
                                        timeout)
    return _finish(cmap, cfg, circ, volts, cols, x, x_scale, "ngspice",
                   time.perf_counter() - start, netlist)


# ---------------------------------------------------------------- single-cell read

@dataclasses.dataclass
class CellRead:
    """A read of one device: row i at v_read, column j sensed, every other row and column floating.

    ``g_measured`` = sensed current / v_read; ``g_intended`` is the device alone and ``g_cell`` the
    device in series with its access transistor (r_on) when there is one. ``result`` holds the
    whole solution, including ``sneak_current`` (its MAC fields compare the sensed column with
    the selected cell alone).
    """

    i: int
    j: int
    g_measured: float
    g_intended: float
    g_cell: float
    result: CrossbarResult

    @property
    def r_measured(self) -> float:
        return 1.0 / self.g_measured

    @property
    def relative_error(self) -> float:
        """(g_measured - g_cell) / g_cell: how far the sneak paths move the read value."""
        return (self.g_measured - self.g_cell) / self.g_cell


def read_cell(W_or_map, i: int, j: int, cfg: CrossbarConfig | None = None,
              solver: str = "numpy", backend: str = "subprocess") -> CellRead:
    """Read device (row i, device column j) alone: the classic sneak-path measurement.

    Without access transistors the other rows and columns float and current finds its way through
    unselected cells; with them, unselected rows are isolated by r_off (their wires still float).
    """
    cmap, cfg = _as_map(W_or_map, cfg)
    R, C = cmap.G.shape
    try:
        i, j = operator.index(i), operator.index(j)
    except TypeError:
        raise ValueError(f"cell indices must be integers, got ({i!r}, {j!r})") from None
    if not (0 <= i < R and 0 <= j < C):
        raise ValueError(f"cell ({i}, {j}) is outside the {R} x {C} array")
    if solver not in ("numpy", "spice"):
        raise ValueError(f"solver must be 'numpy' or 'spice', got {solver!r}")
    start = time.perf_counter()
    drive = np.full(R, np.nan)
    drive[i] = cfg.v_read
    sensed = np.zeros(C, bool)
    sensed[j] = True
    selected = np.zeros(R, bool)
    selected[i] = True
    circ = _build_circuit(cmap.G, cfg, drive, sensed, selected)
    netlist = None
    if solver == "numpy":
        volts = _nodal(circ, circ.fixed_v)[:, 0]
        cols = _sense_currents(circ, volts[:, None])[:, 0]
    else:
        volts, cols, netlist = _spice_solve(circ, f"DW-MTJ crossbar, read of cell {i} {j}",
                                            backend, 120.0)
    x = np.zeros(cmap.n_in)
    result = _finish(cmap, cfg, circ, volts, cols, x, 1.0, solver,
                     time.perf_counter() - start, netlist, mode=f"read {i} {j}")
    g = float(cmap.G[i, j])
    g_cell = 1.0 / (1.0 / g + cfg.r_on) if cfg.access else g
    return CellRead(i, j, float(cols[j]) / cfg.v_read, g, g_cell, result)


# ---------------------------------------------------------------- batches and accuracy

def effective_weights(W_or_map, cfg: CrossbarConfig | None = None) -> np.ndarray:
    """The (n_out x n_in) matrix the crossbar really applies, in weight units.

    The network is linear, so the crossbar output for any x is effective_weights @ x (and the
    per-sample voltage scaling cancels). One sparse LU factorisation, one solve per input row.
    """
    cmap, cfg = _as_map(W_or_map, cfg)
    R = cmap.G.shape[0]
    circ = _mac_circuit(cmap, cfg, np.zeros(R))
    fixed = np.zeros((len(circ.fixed_ids), cmap.n_in))
    fixed[1:1 + cmap.n_in, :] = np.eye(cmap.n_in) * cfg.v_read  # drivers follow node 0
    volts = _nodal(circ, fixed)
    cols = _sense_currents(circ, volts)                   # (cols, n_in)
    return (cmap.combine @ cols) * cmap.w_per_siemens / cfg.v_read


def crossbar_mac(W_or_map, X, cfg: CrossbarConfig | None = None) -> np.ndarray:
    """Outputs W @ x of a batch X (batch x n_in) as the crossbar computes them (batch x n_out)."""
    cmap, cfg = _as_map(W_or_map, cfg)
    X = _finite_matrix(X, "X")
    if X.shape[1] != cmap.n_in:
        raise ValueError(f"X must have {cmap.n_in} columns (inputs), got shape {X.shape}")
    return X @ effective_weights(cmap, cfg).T


def layer_accuracy(forward: Callable, W, X, labels, cfg: CrossbarConfig | None = None
                   ) -> dict[str, float]:
    """Accuracy of a network with one layer replaced by the crossbar.

    ``forward(X, mac)`` must return logits (batch x classes) and compute the layer in question as
    ``mac(h)`` for its input h (batch x n_in), instead of ``h @ W.T``. It is called twice: with
    the ideal product and with :func:`crossbar_mac`.
    """
    W = _finite_matrix(W, "W")
    W_eff = effective_weights(W, cfg)
    labels = np.asarray(labels)
    ideal = np.asarray(forward(X, lambda h: np.asarray(h, dtype=float) @ W.T))
    real = np.asarray(forward(X, lambda h: np.asarray(h, dtype=float) @ W_eff.T))
    p_ideal, p_real = ideal.argmax(axis=1), real.argmax(axis=1)
    return {"ideal_accuracy": float((p_ideal == labels).mean()),
            "crossbar_accuracy": float((p_real == labels).mean()),
            "argmax_agreement": float((p_ideal == p_real).mean()),
            "max_weight_error": float(np.abs(W_eff - W).max()),
            "max_logit_error": float(np.abs(real - ideal).max())}


# ---------------------------------------------------------------- report and plots

def _mode_text(result: CrossbarResult) -> str:
    if result.mode == "mac":
        return "MAC (all rows driven)"
    _, i, j = result.mode.split()
    return f"read of cell ({i}, {j})"


def report(result: CrossbarResult) -> str:
    """Text table: per output the ideal and measured current and value, and the error."""
    out = [f"crossbar {result.cmap.G.shape[0]} x {result.cmap.G.shape[1]} devices, "
           f"{_mode_text(result)}, solver "
           f"{result.solver}, sensing {result.cfg.sensing}, r_wire {result.cfg.r_wire:g} Ohm, "
           f"ON/OFF {result.cfg.on_off:g}, access {'yes' if result.cfg.access else 'no'}",
           f"{'out':>4} {'ideal uA':>11} {'measured uA':>12} {'ideal W@x':>11} {'measured':>11} "
           f"{'error %FS':>10}"]
    for j, (ii, im, yi, ym, e) in enumerate(zip(result.ideal_output_current, result.output_current,
                                               result.ideal_output, result.output,
                                               result.mac_error)):
        out.append(f"{j:>4} {1e6 * ii:11.4f} {1e6 * im:12.4f} {yi:11.5g} {ym:11.5g} "
                   f"{100 * e:10.4f}")
    worst = float(np.abs(result.mac_error).max()) if result.mac_error.size else 0.0
    out.append(f"sneak current {1e6 * result.sneak_current:.4f} uA (sum |I_cell - I_ideal|), "
               f"reverse current {1e6 * result.reverse_current:.4f} uA, worst MAC error "
               f"{100 * worst:.4f} % of full scale")
    return "\n".join(out)


def _pyplot():
    from .plots import plt
    return plt


def _save(fig, path: str) -> str:
    from .plots import save_figure
    return save_figure(fig, path)


def plot_current_map(result: CrossbarResult, path: str) -> str:
    """Heatmaps (uA), rows x device columns: the device currents (negative = column to row) and
    their deviation from the ideal crossbar, I_cell - G V_row, whose absolute sum is the sneak
    current."""
    plt = _pyplot()
    R, C = result.cell_current.shape
    fig, axes = plt.subplots(1, 2, figsize=(min(5 + 0.2 * C, 16), min(3 + 0.1 * R, 9)),
                             squeeze=False)
    panels = [(result.cell_current, "cell current (uA)"),
              (result.cell_current - result.ideal_cell_current, "I_cell - I_ideal (uA)")]
    for ax, (current, label) in zip(axes[0], panels):
        current = 1e6 * current
        lim = float(np.abs(current).max()) or 1.0
        im = ax.imshow(current, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto",
                       interpolation="nearest")
        fig.colorbar(im, ax=ax, label=label)
        ax.set_xlabel("device column" + (" (G+ even, G- odd)" if result.cfg.differential
                                         else " (last: reference)"))
        ax.set_ylabel("row (input)")
    what = (f"worst MAC error {100 * np.abs(result.mac_error).max():.3g} %"
            if result.mode == "mac" else _mode_text(result))
    fig.suptitle(f"{result.solver}: {R} x {C} devices, r_wire {result.cfg.r_wire:g} Ohm, "
                 f"sensing {result.cfg.sensing}; sneak {1e6 * result.sneak_current:.4g} uA, "
                 f"{what}", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_mac_error_sweep(sizes, errors, xlabel: str, path: str) -> str:
    """MAC error (% of full scale) against a swept quantity (array size, ON/OFF ratio, ...).

    ``errors`` is one sequence of relative errors, or a dict label -> sequence for several curves.
    """
    plt = _pyplot()
    series = errors if isinstance(errors, dict) else {"MAC error": errors}
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    positive = True
    for label, values in series.items():
        values = 100 * np.asarray(values, dtype=float)
        if len(values) != len(sizes):
            raise ValueError(f"{len(values)} errors for {len(sizes)} sweep points ({label})")
        positive &= bool(np.all(values > 0))
        ax.plot(sizes, values, "o-", label=label)
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("MAC error (% of full scale)")
    ax.grid(True, which="both", alpha=0.3)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    return _save(fig, path)


__all__ = ["CrossbarConfig", "ConductanceMap", "CrossbarResult", "CellRead",
           "weights_to_conductances", "crossbar_netlist", "solve_numpy", "solve_spice",
           "read_cell", "effective_weights", "crossbar_mac", "layer_accuracy", "report",
           "plot_current_map", "plot_mac_error_sweep"]
