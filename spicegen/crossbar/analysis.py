"""What a crossbar does to a layer: one cell read alone, the weights it really applies, batches.

:func:`read_cell` is the classic sneak-path measurement of one device; the network is linear, so
:func:`effective_weights` gives the matrix the crossbar really applies (one sparse factorisation),
:func:`crossbar_mac` evaluates a whole batch with it, and :func:`layer_accuracy` scores a network
with one layer replaced by the crossbar.
"""
from __future__ import annotations

import dataclasses
import operator
import time
from typing import Callable

import numpy as np

from .config import CrossbarConfig, _as_map, _finite_matrix
from .results import CrossbarResult, _finish
from .solvers import SOLVERS, SpiceSolver, _nodal, _sense_currents
from .topology import _build_circuit, _mac_circuit

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
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise ValueError(f"solver must be {' or '.join(map(repr, SOLVERS))}, got {solver!r}")
    start = time.perf_counter()
    drive = np.full(R, np.nan)
    drive[i] = cfg.v_read
    sensed = np.zeros(C, bool)
    sensed[j] = True
    selected = np.zeros(R, bool)
    selected[i] = True
    circ = _build_circuit(cmap.G, cfg, drive, sensed, selected)
    # the registered ngspice solver runs on the default backend; a read names its own
    engine = SpiceSolver(backend=backend) if solver == "spice" else SOLVERS[solver]
    volts, cols, netlist = engine.solve(circ, f"DW-MTJ crossbar, read of cell {i} {j}")
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


__all__ = ["CellRead", "read_cell", "effective_weights", "crossbar_mac", "layer_accuracy"]
