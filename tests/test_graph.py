
import networkx as nx
import numpy as np
import pytest
import torch

from spintronic.graph import schema
from spicegen.cosim import graph_forward
from spintronic.networks import to_graph


@pytest.fixture(scope="module")
def trained_graph(small_rf):
    return to_graph(small_rf[0])


def test_graph_has_one_node_per_device(trained_graph):
    kinds = nx.get_node_attributes(trained_graph, "kind")
    count = {k: list(kinds.values()).count(k) for k in set(kinds.values())}
    assert count == {"input": 64, "rf_line": 2, "resonator": 8 * 64 + 10 * 8, "amplifier": 8,
                     "stno": 8, "readout": 10}
    assert trained_graph.nodes["L1.c3.r5"]["orientation"] == -1


def test_graph_surrogate_equals_the_network(small_rf, trained_graph, digits):
    model, _ = small_rf
    with torch.no_grad():
        _, voltages = model(torch.tensor(digits.X_test), return_all=True)
    for a, b in zip(graph_forward(trained_graph, digits.X_test), voltages):
        assert np.allclose(a, b.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("ext", [".json", ".graphml"])
def test_round_trip_loses_nothing(trained_graph, tmp_path, ext):
    path = str(tmp_path / f"g{ext}")
    schema.save(trained_graph, path)
    back = schema.load(path)
    assert back.graph == trained_graph.graph
    assert set(back.edges) == set(trained_graph.edges)
    for node, attrs in trained_graph.nodes(data=True):
        assert back.nodes[node] == attrs, node   # floats bit for bit (f_r needs 1e-7 relative)


def _broken(g, node, **attrs):
    g = g.copy()
    g.nodes[node].update(attrs)
    return g


@pytest.mark.parametrize("make, message", [
    (lambda g: _broken(g, "L1.c0.r0", f_r=float("nan")), "L1.c0.r0.*f_r.*nan"),
    (lambda g: _broken(g, "in3", frequency=-1e9), "in3.*frequency.*must be > 0"),
    (lambda g: _broken(g, "L1.stno2", Gg=-5.0), "L1.stno2.*Gg"),
    (lambda g: _broken(g, "L1.amp0", kind="transistor"), "unknown device kind 'transistor'"),
    (lambda g: _broken(g, "L1.amp0", g_m="3m"), "g_m.*must be a number"),
])
def test_bad_graphs_are_named(trained_graph, make, message):
    with pytest.raises(schema.GraphError, match=message):
        schema.validate(make(trained_graph))


def test_missing_parameter_and_dangling_port(trained_graph):
    g = trained_graph.copy()
    del g.nodes["L2.c1.r2"]["alpha"]
    with pytest.raises(schema.GraphError, match="L2.c1.r2.*missing parameter 'alpha'"):
        schema.validate(g)
    g = trained_graph.copy()
    g.remove_edge("L1.c4.r10", "L1.c4.r11")
    with pytest.raises(schema.GraphError, match="dangling port"):
        schema.validate(g)


def test_bad_files(tmp_path):
    (tmp_path / "g.json").write_text("{not json")
    with pytest.raises(schema.GraphError, match="not a device graph"):
        schema.load(str(tmp_path / "g.json"))
    with pytest.raises(schema.GraphError, match=".json or .graphml"):
        schema.load(str(tmp_path / "g.txt"))
