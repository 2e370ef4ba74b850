"""STNO settling in the rfcnn envelope co-simulation (spicegen.rfcnn_settling): the power equation
solved over each window predicts what ngspice reads, reaches the steady-state surrogate on long
windows, restarts with each run, and warns before a run whose window is too short."""
import json

import numpy as np
import pytest
import torch

from spintronic import networks
from spintronic.networks.rfcnn import RFCNN, RFCNNConfig
from spicegen import rfcnn_netlist as rn
from spicegen import rfcnn_settling as rs

from .conftest import requires_ngspice


@pytest.fixture(scope="module")
def graph(digits):
    from spintronic.training.trainer import TrainConfig, train
    torch.set_num_threads(1)
    config = RFCNNConfig(sizes=(64, 32, 10), side=8, filters=2, kernel=3, stride=2, padding=1,
                         arrangement="reuse")
    model = RFCNN(config, seed=1)
    train(model, digits, TrainConfig(epochs=2, lr=0.03))
    return networks.get_kind("rfcnn").to_graph(model)


@requires_ngspice
def test_ngspice_reads_what_the_power_equation_predicts(graph, digits):
    # 10 ns windows: far from settled, so the prediction has something to get right
    X, y = digits.X_test[:6], digits.y_test[:6]
    res = rn.cosim_rfcnn(graph, X, y, window=10e-9, workers=1, chunk=3)
    unsettled = np.abs(res.circuit[-1] - res.surrogate[-1]).max()
    predicted = np.abs(res.circuit[-1] - res.settled[-1]).max()
    assert unsettled > 100e-6
    assert predicted < 0.02 * unsettled          # the rise ramp, taken as a step, is what's left
    np.testing.assert_allclose(res.settled[-1], rs.windowed_forward(graph, X, 10e-9, chunk=3)[-1],
                               rtol=1e-12)
    sec = res.report()["settling"]
    assert sec["window_s"] == 10e-9 and sec["circuit_vs_predicted_max_V"] == predicted
    assert "STNO settling in 10 ns windows" in res.text()


def test_a_long_window_reaches_the_steady_state_and_a_short_one_does_not(graph, digits):
    X = digits.X_test[:40]
    steady = rn.graph_forward(graph, X)
    # an STNO held at threshold keeps p <= 1 / (2 Gg (1 + Q) t): ~3e-9 after 1 s, far below nV
    long = rs.windowed_forward(graph, X, 1.0)
    np.testing.assert_allclose(long[0], steady[0], rtol=0, atol=0)      # layer 1 has no dynamics
    np.testing.assert_allclose(long[1], steady[1], rtol=0, atol=1e-9)
    errors = [rs.settling(graph, X, w, surrogate=steady)["mean_error_V"]
              for w in (5e-9, 10e-9, 20e-9)]
    assert errors[0] > errors[1] > errors[2] > 1e-6


def test_each_run_starts_again_from_the_initial_power(graph, digits):
    X = digits.X_test[:6]
    runs = rs.windowed_forward(graph, X, 10e-9, chunk=3)[1]
    np.testing.assert_allclose(runs[3:], rs.windowed_forward(graph, X[3:], 10e-9, chunk=3)[1],
                               rtol=1e-12)
    # in one run, sample 3 starts from where sample 2 left the STNOs instead
    assert not np.allclose(runs[3], rs.windowed_forward(graph, X, 10e-9, chunk=6)[1][3])


@requires_ngspice
def test_the_prediction_restarts_where_runs_cut_by_the_worker_count_do(graph, digits):
    X, y = digits.X_test[:6], digits.y_test[:6]
    res = rn.cosim_rfcnn(graph, X, y, window=10e-9, workers=2, chunk=None)    # 2 runs of 3
    assert res.runs == 2
    np.testing.assert_allclose(res.settled[-1], rs.windowed_forward(graph, X, 10e-9, chunk=3)[-1],
                               rtol=1e-12)
    assert np.abs(res.circuit[-1] - res.settled[-1]).max() < 0.02 * np.abs(
        res.circuit[-1] - res.surrogate[-1]).max()


def test_bad_stimulus_and_windows_get_the_decks_own_message(graph, digits):
    from spicegen.compiler import CompileError
    X = digits.X_test[:3]
    for window in (0.0, 4e-10, 1e-9):          # not longer than the 1 ns rise
        with pytest.raises(CompileError, match="need window > rise > 0"):
            rs.settling_notes(graph, X, window)
    with pytest.raises(CompileError, match="finite and >= 0"):
        rs.windowed_forward(graph, -X, 200e-9)
    with pytest.raises(CompileError, match="shape"):
        rs.windowed_forward(graph, X[:, :10], 200e-9)
    assert rs.settling_notes(graph, X[:0], 200e-9) == []


def test_the_size_limits_are_those_of_one_run_not_of_the_whole_set(graph, digits, monkeypatch):
    from spintronic.graph import schema
    from spicegen.compiler import CompileError
    monkeypatch.setattr(schema, "MAX_INPUT_LEVELS", 64 * 5)     # one deck: 5 samples at most
    X = digits.X_test[:12]
    assert rs.windowed_forward(graph, X, 200e-9, chunk=4)[1].shape == (12, 10)
    assert rs.settling_notes(graph, X, 200e-9, chunk=4) == []
    with pytest.raises(CompileError, match="input levels in one netlist"):
        rs.windowed_forward(graph, X, 200e-9, chunk=6)


def test_a_short_window_is_warned_with_one_that_is_long_enough(graph, digits):
    X = digits.X_test[:40]
    assert rs.settling_notes(graph, X, 200e-9) == []
    (line,) = rs.settling_notes(graph, X, 5e-9)
    assert line.startswith("warning: at 5 ns a sample the STNOs do not settle")
    advised = float(line.split("--window ")[1].split()[0])
    assert advised > 5e-9 and rs.settling(graph, X, advised)["agreement"] >= rs.TARGET
    assert rs.settling(graph, X, advised / 2)["agreement"] < rs.TARGET     # the shortest tried


@requires_ngspice
def test_cosim_says_it_before_the_run_and_reports_it_after(graph, tmp_path, capsys):
    from spintronic.graph import schema
    from spicegen.cli import main
    path = str(tmp_path / "g.json")
    schema.save(graph, path)
    assert main(["cosim", "--graph", path, "--data", "digits", "--window", "2e-9", "--limit",
                 "10", "--workers", "1", "--out", str(tmp_path / "c")]) == 0
    out, err = capsys.readouterr()
    assert "warning: at 2 ns a sample the STNOs do not settle" in err and "--window" in err
    assert "STNO settling in 2 ns windows" in out
    rep = json.loads((tmp_path / "c" / "report.json").read_text())
    assert rep["settling"]["predicted_agreement"] < rs.TARGET
