"""A trained RF layer on a DW-MTJ crossbar, beside its resonator chains."""

import numpy as np
import pytest

from spicegen.cli import main
from spicegen.crossbar import CrossbarConfig
from spicegen.sneak import inspect_layer
from spintronic.networks import to_graph


@pytest.fixture(scope="module")
def graph(small_rf):
    return to_graph(small_rf[0])


def test_ideal_crossbar_keeps_the_accuracy_and_wires_cost_some(graph, digits):
    X, y = digits.X_test[:120], digits.y_test[:120]
    ideal = inspect_layer(graph, X, y, 2, CrossbarConfig(r_wire=0.0), on_off=(2.5,),
                          r_wire=(0.0, 1.0, 10.0), chain_samples=10)
    # no wire, virtual ground: the crossbar computes W x exactly, as the chains do
    assert ideal.accuracy["argmax_agreement"] == 1.0
    assert np.abs(ideal.sample.mac_error).max() < 1e-9
    values, errors, accs = ideal.sweeps["wire resistance per cell (Ohm)"]
    assert errors[0] < 1e-9 < errors[1] < errors[2]
    assert ideal.chain_error_fs < 1e-3          # the chains have no sneak path
    lossy = inspect_layer(graph, X, y, 1, CrossbarConfig(r_wire=5.0, sensing="resistor"),
                          on_off=(2.5,), r_wire=(5.0,), chain_samples=10)
    assert np.abs(lossy.sample.mac_error).max() > 0.05
    assert lossy.sample.sneak_current > 0
    assert "resonator chains" in lossy.text()


def test_bad_requests(graph, digits, tmp_path, capsys):
    with pytest.raises(ValueError, match="layer must be in 1..2"):
        inspect_layer(graph, digits.X_test[:5], digits.y_test[:5], 3, CrossbarConfig())
    path = str(tmp_path / "g.json")
    from spintronic.graph import schema
    schema.save(graph, path)
    assert main(["sneak", "--graph", path, "--on-off", "1.0", "--limit", "5"]) == 2
    assert "argument --on-off: must be > 1.0" in capsys.readouterr().err
    assert main(["sneak", "--graph", path, "--r-wire", "-1", "--limit", "5"]) == 2
