"""Netlists from device graphs, ngspice runners, co-simulation and analyses."""
from .errors import SpiceError
from .runner import BACKENDS, SimResult, run_many, run_netlist

__all__ = ["SpiceError", "SimResult", "run_netlist", "run_many", "BACKENDS"]
