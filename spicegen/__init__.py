"""Netlists from device graphs, ngspice runners, co-simulation and analyses."""
from .errors import SpiceError
from .runner import BACKENDS, SimResult, run_netlist

__all__ = ["SpiceError", "SimResult", "run_netlist", "BACKENDS"]
