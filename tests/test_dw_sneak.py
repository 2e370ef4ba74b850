"""``spicegen sneak`` on dw graphs: the read-out as a DW-MTJ crossbar in drawn switch states,
beside ideal per-neuron current summing on the same draws."""
import dataclasses
import json

import networkx as nx
import numpy as np
import pytest
import torch
from scipy import stats

from spicegen import crossbar
from spicegen import dw_sneak as ds
from spicegen.cli import main
from spicegen.dw_netlist import binarise, read_graph
from spintronic import networks
from spintronic.graph import schema
from spintronic.networks.dw import DWConfig

from .conftest import requires_ngspice

KIND = networks.get_kind("dw")
FEW = {"on_off_sweep": (2.5,), "r_wire_sweep": ()}


@pytest.fixture(scope="module", params=[False, True], ids=["single", "pairs"])
def trained(request, digits):
    """A dw network on digits (64 -> 10, N = 4) trained for 2 epochs, single or in pairs."""
    from spintronic.networks.checkpoints import make_model
    from spintronic.training.trainer import TrainConfig, train
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = make_model("dw", (64, 10), seed=0,
                           config=DWConfig(sizes=(64, 10), reads=4, pairs=request.param))
        train(model, digits, TrainConfig(epochs=2, seed=0, patience=2))
    finally:
        torch.set_num_threads(before)
    g = KIND.to_graph(model.eval())
    from spintronic.training.datasets import load
    schema.set_data_source(g, load("digits").source)     # what the CLI reads its test set from
    return g, read_graph(g)


def _x(digits, n, layer):
    return binarise(digits.X_test[:n], layer.threshold)[0]


def test_without_wires_the_crossbar_reads_exactly_what_ideal_summing_reads(trained, digits):
    g, layer = trained
    X, y = digits.X_test[:30], digits.y_test[:30]
    rep = ds.inspect_dw(layer, X, y, crossbar.CrossbarConfig(r_wire=0.0), solver="nodal", **FEW)
    assert rep.mac_error < 1e-9 and rep.sample_error_fs < 1e-9
    assert rep.accuracy["crossbar_accuracy"] == rep.accuracy["ideal_accuracy"]
    assert rep.accuracy["argmax_agreement"] == 1.0
    # well above chance after two epochs, and the logits are the graph's (not a constant class)
    assert rep.accuracy["ideal_accuracy"] > 0.3
    # the ideal count is sum_i x_i s_ij of the drawn states, as the current summing gives it
    states = ds.draw_states(layer, 1, 0)[0, 0]
    x = _x(digits, 1, layer)[0]
    count = x @ states[0].T - (x @ states[1].T if layer.pairs else 0)
    assert np.allclose(rep.sample.ideal_output, count, rtol=0, atol=1e-9)
    assert rep.full_scale == pytest.approx(rep.full_scale_A / (layer.v_read * (
        layer.prm.G_P - layer.prm.G_AP)))


def test_the_error_grows_with_the_wire_resistance(trained, digits):
    g, layer = trained
    values = (0.0, 0.1, 0.3, 1.0, 3.0)
    rep = ds.inspect_dw(layer, digits.X_test[:12], digits.y_test[:12],
                        crossbar.CrossbarConfig(r_wire=0.3), solver="nodal", on_off_sweep=(2.5,),
                        r_wire_sweep=values)
    v, errors, _ = rep.sweeps["wire resistance per cell (Ohm)"]
    assert v == list(values)
    assert errors[0] < 1e-9 < errors[1] < errors[2] < errors[3] < errors[4]
    assert errors[2] == rep.mac_error
    # larger ON/OFF at the same G_P: smaller G_AP, less current, less IR drop
    _, on_errors, _ = ds.inspect_dw(layer, digits.X_test[:12], digits.y_test[:12],
                                    crossbar.CrossbarConfig(r_wire=1.0), solver="nodal",
                                    on_off_sweep=(1.5, 5.0, 100.0), r_wire_sweep=()
                                    ).sweeps["ON/OFF ratio"]
    assert on_errors[0] > on_errors[1] > on_errors[2] > on_errors[3] > 0


@pytest.mark.parametrize("cfg", [crossbar.CrossbarConfig(r_wire=1.0),
                                 crossbar.CrossbarConfig(r_wire=0.5, sensing="resistor",
                                                         access=True),
                                 crossbar.CrossbarConfig(r_wire=0.0, sensing="resistor",
                                                         access=True)],
                         ids=["tia", "resistor-access", "no-wires-resistor-access"])
def test_the_per_read_solver_is_the_crossbar_packages_nodal_analysis(trained, digits, cfg):
    g, layer = trained
    cfg = ds.arrangement(layer, cfg)
    states = ds.draw_states(layer, 3, 5)
    x = _x(digits, 3, layer)
    G = ds.conductances(layer, states[2, 1], cfg)
    ref = crossbar.solve_numpy(ds.conductance_map(layer, G, cfg), x[2], cfg)
    cols = ds.ReadSolver(*G.shape, cfg).column_currents(G, cfg.v_read * x[2])
    assert np.allclose(cols, ref.column_current, rtol=1e-9, atol=0)
    counts = ds.crossbar_counts(layer, x, states, cfg)
    assert np.allclose(counts[2, 1], ref.output, rtol=1e-9, atol=1e-12)


@requires_ngspice
def test_nodal_and_spice_agree_on_sample_0(trained, digits):
    g, layer = trained
    cfg = crossbar.CrossbarConfig(r_wire=1.0)
    X, y = digits.X_test[:3], digits.y_test[:3]
    spice = ds.inspect_dw(layer, X, y, cfg, solver="spice", **FEW)
    nodal = ds.inspect_dw(layer, X, y, cfg, solver="nodal", **FEW)
    assert spice.sample.solver == "ngspice" and nodal.sample.solver == "numpy"
    scale = np.abs(nodal.sample.column_current).max()
    assert np.abs(spice.sample.column_current - nodal.sample.column_current).max() < 1e-6 * scale
    assert np.abs(spice.sample.output - nodal.sample.output).max() < 1e-6 * nodal.full_scale
    assert spice.mac_error == nodal.mac_error         # the bulk is nodal either way


def test_drawn_states_switch_with_p(trained):
    g, layer = trained
    states = ds.draw_states(layer, 250, 3)                   # 1000 draws per synapse
    p = layer.probabilities()
    draws = states.shape[0] * states.shape[1]
    k = states.sum(axis=(0, 1))
    # two-sided binomial p-value of every synapse's count, Bonferroni over the synapses
    lo, hi = stats.binom.cdf(k, draws, p), stats.binom.sf(k - 1, draws, p)
    pvalue = np.minimum(1.0, 2 * np.minimum(lo, hi))
    assert pvalue.min() * p.size > 1e-3
    # and every synapse draws its own p: the counts fit p (chi-square), not p's mean
    def chi2_sf(q):
        return stats.chi2.sf(((k - draws * q) ** 2 / (draws * q * (1 - q))).sum(), p.size)
    assert chi2_sf(p) > 1e-3 and chi2_sf(np.full_like(p, p.mean())) < 1e-6
    assert np.array_equal(states, ds.draw_states(layer, 250, 3))
    assert not np.array_equal(states, ds.draw_states(layer, 250, 4))


def test_on_off_sweep_at_the_devices_own_ratio_is_the_headline(trained, digits):
    g, layer = trained
    X, y = digits.X_test[:10], digits.y_test[:10]
    own = layer.prm.G_P / layer.prm.G_AP
    cfg = crossbar.CrossbarConfig(r_wire=0.5)
    rep = ds.inspect_dw(layer, X, y, cfg, solver="nodal", on_off_sweep=(1.5, 10.0),
                        r_wire_sweep=(0.5,))
    values, errors, accs = rep.sweeps["ON/OFF ratio"]
    at = values.index(own)
    assert errors[at] == rep.mac_error and accs[at] == rep.accuracy["crossbar_accuracy"]
    # the sweep keeps G_P and sets G_AP = G_P / ratio; at the own ratio that is the graph's G_AP
    point = ds.arrangement(layer, cfg, own)
    assert point.g_p == layer.prm.G_P and point.g_ap == pytest.approx(layer.prm.G_AP, rel=1e-15)
    x, states = _x(digits, 10, layer), ds.draw_states(layer, 10, 0)
    ideal = ds.ideal_counts(layer, x, states)
    fresh = ds._figures(layer, x, np.asarray(y), states, ideal, float(np.abs(ideal).max()), point)
    assert fresh[0] == pytest.approx(rep.mac_error, rel=1e-12)
    assert fresh[1]["crossbar_accuracy"] == rep.accuracy["crossbar_accuracy"]
    # --on-off moves G_AP only
    other = ds.inspect_dw(layer, X, y, cfg, solver="nodal", on_off=10.0, **FEW)
    assert other.cfg.g_p == layer.prm.G_P and other.cfg.g_ap == pytest.approx(layer.prm.G_P / 10)
    assert other.mac_error != rep.mac_error


def test_cli_sneak_on_a_dw_graph_writes_the_report(trained, tmp_path, capsys):
    g, layer = trained
    path = str(tmp_path / "dw.graph.json")
    schema.save(g, path)
    out = str(tmp_path / "sn")
    assert main(["sneak", "--graph", path, "--limit", "6", "--solver", "nodal", "--r-wire", "0.2",
                 "--seed", "3", "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "network accuracy, crossbar" in printed and "ms per read" in printed
    rep = json.load(open(f"{out}/report.json"))
    assert rep["network"] == "dw" and rep["pairs"] == layer.pairs and rep["seed"] == 3
    assert rep["samples"] == 6 and rep["reads"] == layer.reads == 4
    assert rep["timing"]["reads"] == 24 and rep["timing"]["seconds"] > 0
    assert rep["config"]["r_wire"] == 0.2 and rep["config"]["g_p"] == layer.prm.G_P
    assert rep["config"]["differential"] == layer.pairs
    assert 0 < rep["mac_error_fs"] < 1 and set(rep["accuracy"]) == {
        "ideal_accuracy", "crossbar_accuracy", "argmax_agreement"}
    assert set(rep["sweeps"]) == {"ON/OFF ratio", "wire resistance per cell (Ohm)"}
    assert rep["provenance"]["settings"]["seed"] == 3
    for name in ("current_map.png", "mac_error_vs_on_off.png", "mac_error_vs_r_wire.png"):
        assert (tmp_path / "sn" / name).stat().st_size > 0
    # --single-ended: a pairs graph refuses it in one line; a single-ended graph is one already
    code = main(["sneak", "--graph", path, "--limit", "2", "--solver", "nodal", "--single-ended",
                 "--out", str(tmp_path / "se")])
    err = capsys.readouterr().err
    if layer.pairs:
        assert code == 2 and "differential pairs" in err and len(err.strip().splitlines()) == 1
    else:
        assert code == 0


def test_graphs_without_a_sneak_analysis_are_refused_naming_those_with_one():
    kind = networks.get_kind("rfcnn")
    g = nx.DiGraph(network="rfcnn")
    with pytest.raises(networks.KindError, match="network dw or rf"):
        kind.sneak(g, np.zeros((1, 2)), np.zeros(1), dataclasses.replace(
            networks.base.SneakOptions(), limit=1))
