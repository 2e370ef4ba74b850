"""Simulator back ends as registered plug-ins, one file each.

A back end is a :class:`Backend` subclass with a ``name``, a one-line ``description``,
``parallel_safe`` and a ``dialect``, whose ``simulate(netlist, timeout, limits)`` returns a
:class:`SimResult`; ``register_backend(MyBackend())`` at the bottom of its file makes it available
to ``run_netlist(..., backend="name")``, ``run_many`` and the command line. Built in:

- ``subprocess`` (subprocess.py): ngspice in batch mode, one isolated process per run;
- ``shared`` (shared.py): libngspice through PySpice, one per Python process.
"""
from .base import (BACKENDS, DEFAULT_TIMEOUT, MAX_POINTS, MAX_RAW_BYTES, Backend, Limits,
                   Registry, SimResult, UnknownKindError, get_backend, register_backend)
from . import subprocess, shared  # noqa: E402,F401  (each registers itself)

__all__ = ["BACKENDS", "DEFAULT_TIMEOUT", "MAX_POINTS", "MAX_RAW_BYTES", "Backend", "Limits",
           "Registry", "SimResult", "UnknownKindError", "get_backend", "register_backend"]
