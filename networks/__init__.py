"""Network kinds as registered plug-ins (``spintronic.networks``).

This layer sits above ``training`` (surrogates, trainer) and ``spicegen`` (compilers, ngspice) and
ties each kind's pieces together; neither of those imports it. A new kind is one module here that
subclasses ``NetworkKind`` and calls ``register_network`` once, plus its import line below.
"""
from __future__ import annotations

import networkx as nx

from .base import CosimOptions, KindError, NetworkKind

NETWORKS: dict[str, NetworkKind] = {}


def register_network(kind: NetworkKind) -> NetworkKind:
    if not kind.name or kind.name in NETWORKS:
        raise KindError(f"network kind {kind.name!r} is empty or registered twice")
    NETWORKS[kind.name] = kind
    return kind


def get_kind(name: str) -> NetworkKind:
    try:
        return NETWORKS[name]
    except (KeyError, TypeError):
        raise KindError(f"unknown network kind {name!r}; registered: "
                        f"{', '.join(sorted(NETWORKS))}") from None


def graph_networks() -> dict[str, NetworkKind]:
    """Graph ``network`` attribute -> the kind that compiles such graphs."""
    out: dict[str, NetworkKind] = {}
    for k in NETWORKS.values():      # the first registered for a network is its default
        if k.graph_network:
            out.setdefault(k.graph_network, k)
    return out


def kind_for_graph(g: nx.DiGraph) -> NetworkKind:
    from spintronic.graph.schema import GraphError

    network = g.graph.get("network")
    kinds = graph_networks()
    if not isinstance(network, str) or network not in kinds:
        raise GraphError(f"graph attribute network is {network!r}; known networks: "
                         f"{', '.join(sorted(kinds))}")
    # several kinds may export one network: the last registered that claims the graph
    claiming = [k for k in NETWORKS.values() if k.graph_network == network and k.claims_graph(g)]
    return claiming[-1] if claiming else kinds[network]


# built-in kinds: one import each registers them
from . import rf  # noqa: E402,F401  (first: the default kind)
from . import dynamical  # noqa: E402,F401
from . import dw  # noqa: E402,F401
from . import rfcnn  # noqa: E402,F401
from . import sparse  # noqa: E402,F401

__all__ = ["CosimOptions", "KindError", "NETWORKS", "NetworkKind", "get_kind", "graph_networks",
           "kind_for_graph", "register_network", "to_graph"]


def to_graph(model) -> nx.DiGraph:
    """The device graph of a trained model, by its kind."""
    return get_kind(getattr(model, "kind", None)).to_graph(model)
