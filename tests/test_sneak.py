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


def test_headline_is_the_sweep_row_at_these_settings_and_solvers_agree(graph, digits):
    """The headline MAC error is the sweeps' measure (worst over the samples, one full scale) and
    equals the sweep row at the same settings; sample 0 alone is labelled as such and, on the same
    full scale, cannot exceed the worst over the samples it belongs to."""
    X, y = digits.X_test[:80], digits.y_test[:80]
    cfg = CrossbarConfig(r_wire=1.0, on_off=2.5)
    spice = inspect_layer(graph, X, y, 1, cfg, on_off=(1.5, 2.5, 10), r_wire=(0.0, 1.0),
                          chain_samples=5)
    nodal = inspect_layer(graph, X, y, 1, cfg, on_off=(1.5, 2.5, 10), r_wire=(0.0, 1.0),
                          chain_samples=5, solver="nodal")
    for rep in (spice, nodal):
        values, errors, _ = rep.sweeps["ON/OFF ratio"]
        assert errors[values.index(2.5)] == rep.mac_error
        values, errors, _ = rep.sweeps["wire resistance per cell (Ohm)"]
        assert errors[values.index(1.0)] == rep.mac_error
        assert 0 < rep.sample_error_fs <= rep.mac_error * (1 + 1e-6)
        text = rep.text()
        assert text.count("<- these settings") == 2 and "sample 0 alone" in text
        assert f"{100 * rep.mac_error:.3f} % FS, worst over the 80 samples" in text
    assert spice.sample.solver == "ngspice" and nodal.sample.solver == "numpy"
    assert np.allclose(spice.sample.output, nodal.sample.output, rtol=1e-6, atol=1e-12)
    assert nodal.to_dict()["mac_error_fs"] == nodal.mac_error
    with pytest.raises(ValueError, match="solver must be one of spice, nodal"):
        inspect_layer(graph, X, y, 1, cfg, solver="numpy")


def test_the_timeout_reaches_ngspice(graph, digits):
    from spicegen.errors import SpiceError
    with pytest.raises(SpiceError, match="timed out after 0.001 s: use --solver nodal"):
        inspect_layer(graph, digits.X_test[:5], digits.y_test[:5], 1, CrossbarConfig(),
                      chain_samples=5, timeout=1e-3)
    with pytest.raises(SpiceError, match="timed out"):     # the chains' envelope run too
        inspect_layer(graph, digits.X_test[:5], digits.y_test[:5], 1, CrossbarConfig(),
                      chain_samples=5, timeout=1e-3, solver="nodal")


def test_cli_sneak_uses_the_recorded_data_and_writes_a_report(graph, tmp_path, capsys):
    import json

    from spintronic.graph import schema
    from spintronic.training.datasets import load
    g = graph.copy()
    plain = str(tmp_path / "plain.json")
    schema.save(g, plain)
    assert main(["sneak", "--graph", plain, "--limit", "5", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "records no data source: pass --data" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
    schema.set_data_source(g, load("digits", train_limit=300).source)
    path = str(tmp_path / "g.json")
    schema.save(g, path)
    out = str(tmp_path / "sn")
    assert main(["sneak", "--graph", path, "--limit", "20", "--solver", "nodal", "--timeout",
                 "60", "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "data: digits (train_limit 300) (recorded in graph" in printed
    rep = json.load(open(f"{out}/report.json"))
    assert rep["solver"] == "nodal" and rep["samples"] == 20
    prov = rep["provenance"]
    assert prov["data"]["train_limit"] == 300 and prov["settings"]["timeout"] == 60.0
    assert prov["graph"]["path"] == path and len(prov["graph"]["sha256"]) == 64
    assert "ngspice" in prov["versions"]["ngspice"]


def test_sweep_figures_use_log_axes_when_values_span_decades(monkeypatch, tmp_path):
    from spicegen.crossbar import reporting
    figs = []
    monkeypatch.setattr(reporting, "save", lambda fig, path: figs.append(fig) or path)
    reporting.plot_mac_error_sweep([1.5, 2.5, 100], [0.2, 0.1, 0.001], "ON/OFF", "a.png")
    reporting.plot_mac_error_sweep([0.0, 0.1, 3.0], [0.0, 0.01, 0.3], "r_wire", "b.png", mark=1.0)
    reporting.plot_mac_error_sweep([8, 16], [0.01, 0.02], "size", "c.png")
    scales = [(f.axes[0].get_xscale(), f.axes[0].get_yscale()) for f in figs]
    # an exact point (0 at no wire) does not force a linear axis: it sits marked at the foot
    assert scales == [("log", "log"), ("symlog", "log"), ("linear", "linear")]
    ax = figs[1].axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "these settings (1)" in texts and "exact to rounding (< 1e-06 % FS)" in texts
    assert ax.get_ylim()[0] == pytest.approx(0.1)            # a decade under the smallest, 1 %
    foot = [ln for ln in ax.lines if ln.get_label().startswith("exact")][0]
    assert list(foot.get_xdata()) == [0.0] and list(foot.get_ydata()) == [pytest.approx(0.1)]
    curve = [ln for ln in ax.lines if ln.get_label() == "MAC error"][0]
    assert np.isnan(curve.get_ydata()[0]) and curve.get_ydata()[2] == pytest.approx(30.0)
