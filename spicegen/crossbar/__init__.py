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

The package, one job per module:

- ``config``: :class:`CrossbarConfig`, :class:`ConductanceMap`, :func:`weights_to_conductances`
  and the input/validation helpers;
- ``topology``: the circuit (nodes and resistors) of one bias configuration and its netlist;
- ``results``: :class:`CrossbarResult`, built from any solver's node voltages;
- ``solvers``: the :data:`SOLVERS` registry (``"numpy"``, ``"spice"``) behind one :class:`Solver`
  shape, and :func:`solve_numpy` / :func:`solve_spice`;
- ``analysis``: :func:`read_cell`, :func:`effective_weights`, :func:`crossbar_mac`,
  :func:`layer_accuracy`;
- ``reporting``: the text report and the figures.
"""
from __future__ import annotations

from .analysis import CellRead, crossbar_mac, effective_weights, layer_accuracy, read_cell
from .config import SENSING, ConductanceMap, CrossbarConfig, weights_to_conductances
from .reporting import plot_current_map, plot_mac_error_sweep, report
from .results import CrossbarResult
from .solvers import (SOLVERS, NumpySolver, Solution, Solver, SpiceSolver, solve_numpy,
                      solve_sample, solve_spice)
from .topology import crossbar_netlist

__all__ = ["CrossbarConfig", "ConductanceMap", "CrossbarResult", "CellRead",
           "weights_to_conductances", "crossbar_netlist", "solve_numpy", "solve_spice",
           "solve_sample", "read_cell", "effective_weights", "crossbar_mac", "layer_accuracy",
           "report", "plot_current_map", "plot_mac_error_sweep", "SOLVERS", "Solver", "Solution",
           "NumpySolver", "SpiceSolver"]
