"""Per-layer design rules (spicegen.design_rules): the envelope co-simulation's blind spot for beat
notes is named per layer, at the figures the physics gives, and agrees with rf measurements."""
import dataclasses
import json
import math

import numpy as np
import pytest

from spintronic import networks
from spintronic.models import ResonatorParams
from spintronic.networks.checkpoints import make_model
from spintronic.training.rf_network import RFNetwork, RFNetworkConfig
from spicegen import design_rules as dr
from spicegen.cli import main

from .conftest import requires_ngspice

BAND = (0.02e9, 0.12e9)      # the RF network's default band


def _rf_graph(sizes, **kw):
    return networks.to_graph(RFNetwork(RFNetworkConfig(sizes=sizes, **kw), seed=0))


def _geometric_step(n, f_min=BAND[0], f_max=BAND[1]):
    return (f_max / f_min) ** (1.0 / (n - 1)) - 1.0


def test_196_inputs_on_the_default_band_fail_and_name_the_layer():
    g = _rf_graph((196, 8, 10))
    # the default corner (0.5 % of f) fails it too; the figures below are at 1 %
    assert [r.status for r in dr.check(g).rows] == [dr.FAILS, dr.HOLDS]
    rules = dr.check(g, lp_ratio=0.01, graph_path="net.json")
    first, second = rules.rows
    w = first.worst
    step = _geometric_step(196)
    assert w.channels == 196 and w.spacing == pytest.approx(step / 0.01, rel=1e-9)
    assert 0.9 < w.spacing < 0.95                       # about one linewidth (DESIGN.md)
    assert w.closest_beat == pytest.approx(BAND[0] * step, rel=1e-9)
    assert w.corner == pytest.approx(0.01 * BAND[0])    # lp_ratio x the lowest carrier
    assert w.attenuation == pytest.approx(1 / (1 + (w.closest_beat / w.corner) ** 2))
    assert w.attenuation > 0.5 and w.ripple > 0.5
    assert first.status == dr.FAILS and second.status == dr.HOLDS    # 8 STNOs: 26 lw apart
    (msg,) = rules.warnings
    assert msg.startswith("layer 1 (L1.line, 196 channels) FAILS")
    assert "0.1846 MHz" in msg and "0.2 MHz" in msg
    assert msg.endswith("spicegen crosstalk --graph net.json --layer 1")
    # a layer of several lines: the command names the worst line, whose chains must be picked
    several = dataclasses.replace(first, lines=3).message("net.json")
    assert several.endswith("--layer 1 --chain-index <chains on L1.line>")


def test_the_64_input_digits_network_fails_at_a_1_percent_corner_and_holds_at_the_default():
    """The real numbers: 64 channels on 0.02-0.12 GHz sit 2.9 linewidths apart, so the closest
    beat (0.58 MHz) passes a 0.2 MHz read-out (lp_ratio 0.01, the default before) at |H| = 0.107
    (the README's rf co-simulation of this network: outputs mV off at this corner, agreement at
    lp_ratio 0.002). The RF network's default corner, 0.5 % of f, holds; so does a 0.02-1 GHz
    band, or a read-out at 0.2 % of f."""
    g = _rf_graph((64, 32, 10))
    assert dr.check(g).ok and not dr.check(g).warnings      # lp_ratio 0.005, the default
    default = dr.check(g, lp_ratio=0.01)
    assert default.rows[0].worst.spacing == pytest.approx(_geometric_step(64) / 0.01)
    assert 0.1 < default.rows[0].worst.attenuation < 0.11
    assert [r.status for r in default.rows] == [dr.FAILS, dr.HOLDS]
    slow = dr.check(g, lp_ratio=0.002)
    assert slow.ok and not slow.warnings and not slow.notes
    assert dr.check(_rf_graph((64, 32, 10), f_max=1e9), lp_ratio=0.01).ok
    # the corner the message proposes is the edge of "holds"
    lp = default.rows[0].worst.lp_ratio_that_holds
    assert dr.check(g, lp_ratio=0.99 * lp).rows[0].status == dr.HOLDS
    assert dr.check(g, lp_ratio=1.01 * lp).rows[0].status == dr.MARGINAL
    assert "lp_ratio <= 0.0066" in default.warnings[0]


@pytest.mark.parametrize("name, sizes, config, layers", [
    ("rfcnn", (64, 144, 10), None, {1: 36, 2: 1}),        # reuse: one line per patch
    ("sparse", (16, 4, 3), None, {1: 1, 2: 1}),
    ("stno", (8, 12, 10), "chain", {1: 1, 2: 1}),
    ("stno", (8, 12, 10), "ideal", {}),
    ("dw", (16, 3), None, {}),
])
def test_every_kind_with_resonator_lines_gets_rows(name, sizes, config, layers):
    if name == "stno":
        from spintronic.training.stno_network import DynamicalConfig
        config = DynamicalConfig(sizes=sizes, synapses=config)
    kind = networks.get_kind(name)
    g = kind.to_graph(make_model(name, sizes, 0, config))
    rules = kind.design_rules(g)
    assert {r.layer: r.lines for r in rules.rows} == layers
    assert rules.to_dict()["rows"] == [r.to_dict() for r in rules.rows]
    json.dumps(rules.to_dict())                              # report.json-ready
    if not layers:
        assert rules.ok and not rules.messages() and rules.text() == ""


def test_rfcnn_read_out_line_of_144_oscillators_fails():
    """144 conv STNOs share the read-out line at 1.26 linewidths: beats pass the corner."""
    kind = networks.get_kind("rfcnn")
    rules = kind.design_rules(kind.to_graph(make_model("rfcnn", (64, 144, 10), 0)))
    conv, readout = rules.rows
    assert conv.status == dr.HOLDS and conv.worst.channels == 9     # 9 taps, 25 lw apart
    assert readout.status == dr.FAILS and readout.worst.channels == 144


def test_coincident_sources_and_wide_resonators_are_flagged():
    g = _rf_graph((4, 3, 2), f_min=1e9, f_max=1.5e9)
    assert dr.check(g).ok
    g.nodes["in1"]["frequency"] = g.nodes["in0"]["frequency"]
    (w,) = dr.check(g).warnings[:1]
    assert "share a frequency" in w
    wide = _rf_graph((4, 3, 2), f_min=1e9, f_max=1.5e9, resonator=ResonatorParams(alpha=0.06))
    row = dr.check(wide).rows[0]
    assert row.worst.statuses()["rotating wave"] == dr.FAILS and "alpha = 0.06" in row.message()


def test_big_layers_sample_chains_and_stay_fast():
    import time
    g = _rf_graph((196, 64, 10))
    start = time.perf_counter()
    old = dr.MAX_EVALUATIONS
    try:
        dr.MAX_EVALUATIONS = 196 * 196 * 8
        row = dr.check(g).rows[0]
    finally:
        dr.MAX_EVALUATIONS = old
    assert row.worst.chains == 64 and row.worst.chains_checked == 8
    assert "over 8 of 64 chains" in row.summary()
    assert time.perf_counter() - start < 10


def test_bad_lp_ratio_is_one_message():
    with pytest.raises(ValueError, match="lp_ratio .* got 1.5"):
        dr.check(_rf_graph((4, 3, 2)), lp_ratio=1.5)


@requires_ngspice
def test_thresholds_agree_with_an_rf_measurement_of_a_small_layer():
    """4 channels at 1 GHz, 3 chains: 1.5 linewidths apart the check fails the layer and the rf
    circuit's chains ripple by tens of % of their signal (superposition error); 8 linewidths apart
    it holds and the ripple is below 1 % (the RF network's default corner, 0.5 % of f)."""
    from spicegen import crosstalk as xt

    peaks = {}
    for spacing, status in ((1.5, dr.FAILS), (8.0, dr.HOLDS)):
        g = _rf_graph((4, 3, 2), f_min=1e9, f_max=1e9 * (1 + 0.01 * spacing) ** 3,
                      p_max=1e-6)
        row = dr.check(g).rows[0]
        assert row.status == status and row.worst.spacing == pytest.approx(spacing)
        setup = xt.CrosstalkSetup(**dr.line_crosstalk(g, "L1.line", range(4), range(3)))
        assert min(b for *_, b in setup.beats) == pytest.approx(row.worst.closest_beat, rel=0.15)
        res = xt.measure_crosstalk(setup, workers=2)
        peaks[spacing] = res.superposition_rel[1]
        # the predicted ripple bounds the measured one (every pair in phase)
        assert peaks[spacing] <= 1.05 * row.worst.ripple
    assert peaks[1.5] > 0.15 and peaks[8.0] < 0.05, peaks    # measured 22 % and 0.8 %


@requires_ngspice
def test_cli_warns_at_train_export_cosim_and_records_the_rules(tmp_path, capsys):
    ckpt, graph = str(tmp_path / "rf.pt"), str(tmp_path / "rf.json")
    # 64 channels on 0.02-0.04 GHz: 1.1 linewidths apart, beats inside the default corner
    assert main(["train", "--model", "rf", "--sizes", "64,8,10", "--f-max", "4e7", "--epochs", "1",
                 "--out", ckpt, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: layer 1 (L1.line, 64 channels) FAILS" in err
    assert "spicegen crosstalk --graph GRAPH --layer 1" in err
    assert main(["export", "--checkpoint", ckpt, "--out", graph]) == 0
    cap = capsys.readouterr()
    assert "design rules, layer 1 (L1.line): 64 channels" in cap.out
    assert f"spicegen crosstalk --graph {graph} --layer 1" in cap.err
    out = tmp_path / "cosim"
    assert main(["cosim", "--graph", graph, "--limit", "3", "--out", str(out), "--quiet"]) == 0
    assert "FAILS the envelope model's assumptions" in capsys.readouterr().err
    rep = json.loads((out / "report.json").read_text())["design_rules"]
    assert [r["status"] for r in rep["rows"]] == [dr.FAILS, dr.HOLDS]
    assert rep["rows"][0]["channels"] == 64 and math.isclose(
        rep["rows"][0]["spacing_linewidths"], _geometric_step(64, f_max=4e7) / 0.01)
    assert len(rep["warnings"]) == 1 and "layer 1" in rep["warnings"][0]
    # spread over 0.02-1 GHz: every layer holds, nothing on stderr about it
    from spintronic.training.trainer import save_checkpoint
    save_checkpoint(RFNetwork(RFNetworkConfig(sizes=(64, 8, 10), f_max=1e9)), ckpt)
    assert main(["export", "--checkpoint", ckpt, "--out", graph]) == 0
    cap = capsys.readouterr()
    assert "layer 1 (L1.line): 64 channels 6.41 linewidths apart" in cap.out
    assert cap.out.count(": holds\n") == 2
    assert "FAILS" not in cap.err and "MARGINAL" not in cap.err and "crosstalk" not in cap.err


def test_cli_helper_gives_rows_without_warnings_for_an_rf_fidelity_run(capsys):
    """cosim --fidelity rf simulates the beats itself: the rows are printed, no warning."""
    from spicegen.cli.networks_cmds import design_rules
    rules = design_rules(networks.get_kind("rf"), _rf_graph((196, 8, 10)), summary=True,
                         warn=False)
    cap = capsys.readouterr()
    assert rules.warnings and cap.err == "" and "layer 1 (L1.line): 196 channels" in cap.out
