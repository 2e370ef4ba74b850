"""Netlists from device graphs, ngspice runners, co-simulation and analyses.

The notebook API (``spicegen.load_data``, ``train``, ``to_graph``, ``cosimulate``, ... see
``API``) lives in ``spintronic.networks.api`` and is loaded on first use: the networks layer sits
above this package (it imports it), and loading it here would pull in torch and every network
kind whenever a netlist tool or the command line imports ``spicegen``.
"""
from .errors import SpiceError
from .runner import BACKENDS, SimResult, run_netlist, run_many

#: names re-exported lazily from spintronic.networks.api (none may be a submodule's name: an
#: imported submodule would shadow it)
API = ("kinds", "load_data", "train", "save_checkpoint", "load_checkpoint", "to_graph",
       "save_graph", "load_graph", "compile", "cosimulate", "DesignRuleWarning", "CosimWarning")

__all__ = ["SpiceError", "SimResult", "run_netlist", "run_many", "BACKENDS", *API]


def __getattr__(name: str):
    if name in API:
        from spintronic.networks import api   # the one upward import: lazy (tests/test_layering)
        return getattr(api, name)
    raise AttributeError(f"module 'spicegen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(API))
