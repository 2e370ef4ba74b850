"""The two crossbar solvers behind one small interface.

A :class:`Solver` turns a circuit (``topology._Circuit``) into node voltages and column currents;
:data:`SOLVERS` registers the two there are:

- ``"numpy"`` (:class:`NumpySolver`): nodal analysis with scipy.sparse on the element list;
- ``"spice"`` (:class:`SpiceSolver`): the plain-text netlist of the same list, solved at its DC
  operating point (``.op``) in ngspice through :func:`spicegen.runner.run_netlist`.

:func:`solve_numpy` and :func:`solve_spice` solve the crossbar computing W @ x with one or the
other.
"""
from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple, Protocol

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import SpiceError
from ..runner import run_netlist
from .config import CrossbarConfig, _as_map, _row_voltages
from .results import CrossbarResult, _finish
from .topology import _Circuit, _mac_circuit, _netlist_text

# ---------------------------------------------------------------- nodal analysis (numpy)

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


# ---------------------------------------------------------------- ngspice

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


# ---------------------------------------------------------------- the registry

class Solution(NamedTuple):
    """What a solver returns: node voltages (n_nodes,), column currents (device columns; 0 for
    floating columns) and the netlist it ran (None for the numpy solver)."""

    volts: np.ndarray
    column_current: np.ndarray
    netlist: str | None


class Solver(Protocol):
    """A crossbar solver: one DC solution of one circuit."""

    def solve(self, circ: _Circuit, title: str) -> Solution:
        """Node voltages and column currents of ``circ``; ``title`` heads a netlist, if any."""
        ...


@dataclasses.dataclass(frozen=True)
class NumpySolver:
    """Sparse nodal analysis (scipy): one LU factorisation of the free nodes' matrix."""

    def solve(self, circ: _Circuit, title: str) -> Solution:
        volts = _nodal(circ, circ.fixed_v)[:, 0]
        cols = _sense_currents(circ, volts[:, None])[:, 0]
        return Solution(volts, cols, None)


@dataclasses.dataclass(frozen=True)
class SpiceSolver:
    """ngspice ``.op`` of the circuit's netlist, run by ``run_netlist(backend=, timeout=)``."""

    backend: str = "subprocess"
    timeout: float = 120.0

    def solve(self, circ: _Circuit, title: str) -> Solution:
        return Solution(*_spice_solve(circ, title, self.backend, self.timeout))


SOLVERS: dict[str, Solver] = {"numpy": NumpySolver(), "spice": SpiceSolver()}


# ---------------------------------------------------------------- W @ x

def _solve_mac(W_or_map, x, cfg: CrossbarConfig | None, solver: Solver, label: str
               ) -> CrossbarResult:
    start = time.perf_counter()
    cmap, cfg = _as_map(W_or_map, cfg)
    x, v, x_scale = _row_voltages(x, cmap, cfg)
    circ = _mac_circuit(cmap, cfg, v)
    volts, cols, netlist = solver.solve(circ, "DW-MTJ crossbar, DC operating point")
    return _finish(cmap, cfg, circ, volts, cols, x, x_scale, label,
                   time.perf_counter() - start, netlist)


def solve_numpy(W_or_map, x, cfg: CrossbarConfig | None = None) -> CrossbarResult:
    """Solve the crossbar computing W @ x by sparse nodal analysis (scipy)."""
    return _solve_mac(W_or_map, x, cfg, SOLVERS["numpy"], "numpy")


def solve_spice(W_or_map, x, cfg: CrossbarConfig | None = None, backend: str = "subprocess",
                timeout: float = 120.0) -> CrossbarResult:
    """Solve the crossbar computing W @ x in ngspice (``.op``); cell currents from node voltages."""
    return _solve_mac(W_or_map, x, cfg, SpiceSolver(backend, timeout), "ngspice")


def solve_sample(W_or_map, x, cfg: CrossbarConfig, solver: str, backend: str = "subprocess",
                 timeout: float = 120.0) -> CrossbarResult:
    """One input solved by ``solver`` ("spice": ngspice .op within ``timeout`` s; "nodal": sparse
    nodal analysis); a timed-out ngspice names the way out."""
    if solver != "spice":
        return solve_numpy(W_or_map, x, cfg)
    try:
        return solve_spice(W_or_map, x, cfg, backend=backend, timeout=timeout)
    except SpiceError as exc:
        if "timed out" not in exc.reason:
            raise
        # measured: 196 x 128 weights (50 176 pairs, r_wire 1 Ohm) take ngspice over 600 s,
        # nodal analysis of the same circuit 3 s
        rows, cols = _as_map(W_or_map, cfg)[0].G.shape
        raise SpiceError(f"ngspice's solve of the {rows} x {cols} crossbar timed out after "
                         f"{timeout:g} s: use --solver nodal (the same circuit by sparse nodal "
                         f"analysis) or a longer --timeout") from None


__all__ = ["Solution", "Solver", "NumpySolver", "SpiceSolver", "SOLVERS", "solve_numpy",
           "solve_spice", "solve_sample"]
