"""The solved crossbar: :class:`CrossbarResult` and how a solution becomes one.

Both solvers hand ``_finish`` the node voltages and column currents of a circuit; it derives the
cell currents and the ideal-crossbar reference that every error measure compares against.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import reporting
from .config import ConductanceMap, CrossbarConfig
from .topology import _Circuit

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
        return reporting.report(self)

    def plot_current_map(self, path: str) -> str:
        return reporting.plot_current_map(self, path)


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


__all__ = ["CrossbarResult"]
