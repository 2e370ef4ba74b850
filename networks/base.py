"""What a network kind provides: the one shape every kind plugs into.

A kind is registered once (``register_network``) and everything else looks it up: the trainer's
model factory and checkpoints, the command line (``--model`` choices and the kind's own options),
export, co-simulation and the example library. A kind without devices (a software baseline) sets
``graph_network = None`` and is trained and checkpointed like the others but never exported.
"""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import networkx as nx
import numpy as np
from torch import nn


class KindError(ValueError):
    """An unknown kind, or an operation the kind does not support."""


@dataclasses.dataclass
class CosimOptions:
    """Co-simulation settings common to every kind; a kind ignores what does not apply to it and
    refuses what it cannot do (an rf fidelity it has no compiler for)."""
    fidelity: str = "envelope"
    window: float = 200e-9
    workers: int = 2
    chunk: int | None = None
    backend: str = "subprocess"
    executor: str = "threads"
    scheduler: str | None = None
    points_per_step: int | None = None
    lp_ratio: float | None = None
    timeout: float | None = None
    progress: bool = False
    #: the kind's own cosim options (``add_cosim_args``), by their argparse dest
    extra: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class SneakOptions:
    """``spicegen sneak`` settings: the crossbar around the layer and how it is inspected. on_off
    None: 2.5 for an RF layer, the devices' own G_P / G_AP where the graph holds devices (dw);
    limit None: the kind's default; seed: the draws of a stochastic kind's device states."""
    layer: int = 1
    on_off: float | None = None
    r_wire: float = 1.0
    sensing: str = "tia"
    access: bool = False
    single_ended: bool = False
    solver: str = "spice"
    timeout: float = 120.0
    limit: int | None = None
    seed: int = 0


class NetworkKind:
    """Base of a network kind. Subclasses set the class attributes and override the methods their
    kind supports; the defaults refuse with a message naming the kind."""

    name: str = ""
    description: str = ""
    #: the graph's ``network`` attribute this kind exports to, None for a software baseline
    graph_network: str | None = None
    #: kinds sharing an option group add their CLI options once
    cli_group: str = ""
    default_lr: float = 0.01
    default_batch_size: int = 32
    #: the fidelities ``compile`` writes decks at (``export --fidelity``)
    fidelities: tuple[str, ...] = ("envelope",)

    # --- surrogate ---------------------------------------------------------------------------
    def add_cli_args(self, group: argparse._ArgumentGroup) -> None:
        """The kind's own ``spicegen train`` options (added once per ``cli_group``)."""

    def add_cosim_args(self, group: argparse._ArgumentGroup) -> None:
        """The kind's own ``spicegen cosim`` options (added once per ``cli_group``); their
        values reach ``cosim`` and ``compile`` in ``CosimOptions.extra``."""

    def config_from_args(self, args: argparse.Namespace, data) -> dict:
        """The kwargs of ``make_model`` for this kind from parsed CLI options and the data set."""
        sizes = args.sizes or (data.n_features, 32, data.n_classes)
        return {"sizes": tuple(sizes)}

    def make_model(self, sizes: tuple[int, ...], seed: int = 0, config: Any = None) -> nn.Module:
        raise NotImplementedError

    def connections(self, sizes: tuple[int, ...]) -> int:
        """Weights (or resonators) a network of ``sizes`` holds: what a checkpoint's stated sizes
        are held to (``checkpoints.MAX_PARAMETERS``) before its model is built. A kind whose
        layers are not dense (convolutions) overrides it."""
        return sum(a * b for a, b in zip(sizes, sizes[1:]))

    def config_to_dict(self, model: nn.Module) -> dict:
        return model.config.to_dict()

    def model_from_dict(self, network: dict) -> nn.Module:
        raise NotImplementedError

    # --- devices -----------------------------------------------------------------------------
    def _no_devices(self) -> KindError:
        return KindError(f"a {self.name} network is a software baseline: it has no devices, so no "
                         f"device graph, netlist or co-simulation")

    def to_graph(self, model: nn.Module) -> nx.DiGraph:
        raise self._no_devices()

    def claims_graph(self, g: nx.DiGraph) -> bool:
        """Whether a graph of this kind's ``graph_network`` is this kind's: when several kinds
        export one network (a sparse RF graph is an RF graph), the last registered that claims
        a graph handles it."""
        return True

    def check_graph(self, g: nx.DiGraph) -> None:
        """Structural checks beyond the schema (the compiler's assumptions); raise GraphError."""

    def describe_graph(self, g: nx.DiGraph) -> str:
        return f"{g.number_of_nodes()} devices"

    def resonator_lines(self, g: nx.DiGraph) -> list:
        """The graph's resonator lines, each with the sources that share it and its chains: what
        the design-rule check reads (``spicegen.design_rules``; default: every ``rf_line`` node,
        its predecessors and the chains it heads; a graph without lines has none)."""
        from spicegen.design_rules import resonator_lines
        return resonator_lines(g)

    def crosstalk_line(self, g: nx.DiGraph, layer: int, inputs=None, chains=None) -> dict:
        """What ``spicegen crosstalk --graph`` simulates of ``layer``: picked sources (default the
        first 4) at full scale and picked chains (default the first 4) of its one line, as the
        fields of a ``crosstalk.CrosstalkSetup`` (default: the line ``L<layer>.line``; kinds
        whose layers hold several lines override it)."""
        from spicegen.design_rules import line_crosstalk
        if f"L{layer}.line" not in g:
            raise ValueError(f"a {self.name} graph has no resonator line at layer {layer}: "
                             f"crosstalk needs resonator chains")
        return line_crosstalk(g, f"L{layer}.line", inputs, chains)

    def sneak(self, g: nx.DiGraph, X: np.ndarray, y: np.ndarray, opts: SneakOptions):
        """``spicegen sneak``: the layer on a DW-MTJ crossbar, as a report with ``text()``,
        ``to_dict()`` and ``write_plots(out)``. Kinds with such a layer override this (rf: beside
        its chains; dw: in drawn switch states); the default refuses, naming the networks that
        have one."""
        from . import NETWORKS
        able = sorted({k.graph_network for k in NETWORKS.values()
                       if k.graph_network and type(k).sneak is not NetworkKind.sneak})
        raise KindError(f"sneak-path inspection takes a graph of network {' or '.join(able)}; "
                        f"this is a {g.graph.get('network')!r} graph")

    def design_rules(self, g: nx.DiGraph, lp_ratio: float | None = None,
                     graph_path: str | None = None):
        """Per-layer design rules of the graph (``spicegen.design_rules.check``) on this kind's
        resonator lines: where the envelope co-simulation cannot see beat notes."""
        from spicegen.design_rules import check
        return check(g, self.resonator_lines(g), lp_ratio=lp_ratio, graph_path=graph_path)

    def export_extras(self, model: nn.Module, g: nx.DiGraph, graph_path: str) -> list[str]:
        """What ``export`` also writes beside the graph (reports, plots): one line each."""
        return []

    def compile(self, g: nx.DiGraph, X: np.ndarray, opts: CosimOptions, title: str = ""):
        """The netlist of the first samples of X (the example and ``export --netlist`` deck), at
        ``opts.fidelity`` (one of ``fidelities``); a list of netlists where that fidelity takes one
        sample per deck (rf)."""
        raise self._no_devices()

    def cosim(self, g: nx.DiGraph, X: np.ndarray, y: np.ndarray, opts: CosimOptions):
        raise self._no_devices()

    def cosim_notes(self, g: nx.DiGraph, X: np.ndarray, opts: CosimOptions) -> list[str]:
        """What a co-simulation of X at ``opts`` is predicted to miss, said before it runs (one
        line each; rfcnn: STNOs that do not settle within the window)."""
        return []

    def default_cosim_limit(self, opts: CosimOptions) -> int | None:
        """How many test samples a co-simulation takes when the user does not say (None: all)."""
        return None
