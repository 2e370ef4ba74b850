import networkx as nx
import numpy as np
import pytest

from spicegen import SpiceError, run_netlist
from spicegen.compiler import CompileError, compile_envelope, layer_weights
from spicegen.cosim import cosim_envelope
from spintronic.networks import to_graph

from .conftest import requires_ngspice


@pytest.fixture(scope="module")
def graph(small_rf):
    return to_graph(small_rf[0])


def test_netlist_is_deterministic_and_keeps_every_digit(graph, digits):
    a = compile_envelope(graph, digits.X_test[:3]).text
    b = compile_envelope(nx.DiGraph(graph), digits.X_test[:3]).text
    assert a == b and a.endswith(".end\n")
    # numeric gains (the co-simulation's decks; device-level ones: tests/test_device_level.py)
    a = compile_envelope(graph, digits.X_test[:3], device_level=False).text
    W, _ = layer_weights(graph, 1)
    gains = {}
    for line in a.splitlines():
        if line.startswith("G1_"):
            name, *_, value = line.split()
            gains[name] = float(value)
    # gains round-trip to the bit (values are W * 1 uW per volt of power node)
    assert gains["G1_3_7"] == W[3, 7] * 1e-6
    assert len(gains) == W.size


def test_names_from_a_file_cannot_inject_cards(graph, digits):
    evil = nx.relabel_nodes(graph, {"in0": "in0\n.include /etc/passwd",
                                    "L1.c0.r0": "r\n.control\nshell touch /tmp/pwned\n.endc"})
    text = compile_envelope(evil, digits.X_test[:2]).text
    for line in text.splitlines():
        assert not line.lower().startswith((".include", ".control", "shell", ".endc")), line


def test_bad_stimulus_and_pulling_oscillators(graph, digits):
    with pytest.raises(CompileError, match="shape"):
        compile_envelope(graph, digits.X_test[:2, :10])
    with pytest.raises(CompileError, match="finite"):
        compile_envelope(graph, np.full((2, 64), np.nan))
    with pytest.raises(CompileError, match="window"):
        compile_envelope(graph, digits.X_test[:2], window=-1.0)
    pulled = graph.copy()
    pulled.nodes["L1.stno0"]["N"] = 1e8
    with pytest.raises(CompileError, match="L1.stno0.*rf fidelity"):
        compile_envelope(pulled, digits.X_test[:2])


@requires_ngspice
def test_envelope_cosim_matches_the_surrogate(graph, digits):
    res = cosim_envelope(graph, digits.X_test[:30], digits.y_test[:30], window=200e-9, workers=2,
                         chunk=15)
    rep = res.report()
    assert rep["argmax_agreement"] == 1.0
    assert rep["circuit_accuracy"] == rep["surrogate_accuracy"]
    for layer in rep["layers"]:
        assert layer["max_error_V"] < 1e-6          # 1 uV against mV-scale chain voltages
    assert res.runs == 2 and res.waveforms["outputs"].shape[0] == 10


@requires_ngspice
def test_too_short_a_window_shows_the_stno_transient(graph, digits):
    """With 3 ns per sample the oscillators (tau ~ 8 ns) cannot settle: the circuit departs from
    the steady-state surrogate, which is what the co-simulation is for."""
    rep = cosim_envelope(graph, digits.X_test[:30], digits.y_test[:30], window=3e-9,
                         workers=1, chunk=None).report()
    assert rep["layers"][-1]["max_error_V"] > 1e-4
    assert rep["layers"][0]["max_error_V"] < 1e-9   # the first layer has no dynamics


@requires_ngspice
def test_a_netlist_that_ngspice_rejects(graph, digits):
    text = compile_envelope(graph, digits.X_test[:2]).text
    broken = text.replace("Rc1_0 c1_0 0 1", "Rc1_0 c1_0 0 one_kilo_ohm")
    with pytest.raises(SpiceError) as err:
        run_netlist(broken)
    assert "Rc1_0" in err.value.netlist_line


@requires_ngspice
def test_rf_cosim_of_a_resonator_layer_matches_the_lorentzians():
    """Carrier-level: 4 input carriers, 3 chains of 4 mtj_rf resonators, read-out low-passes. The
    rectified chain voltages must match the envelope (Lorentzian) prediction within 3 % of the
    largest single-resonator response, K_SD P_max."""
    import torch

    from spicegen.cosim import cosim_rf
    from spintronic.training.rf_network import RFNetwork, RFNetworkConfig

    cfg = RFNetworkConfig(sizes=(4, 3), f_min=1.0e9, f_max=1.2e9, p_max=1e-6)
    net = RFNetwork(cfg, seed=0)
    X = torch.rand(2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    net.calibrate_biases(X)
    res = cosim_rf(to_graph(net), X.numpy(), np.zeros(2, dtype=int), workers=2)
    scale = cfg.resonator.K_SD * cfg.p_max
    err = np.abs(res.circuit[-1] - res.surrogate[-1]).max()
    assert err < 0.03 * scale, (res.circuit[-1], res.surrogate[-1])
    assert (res.circuit_pred == res.surrogate_pred).all()


@requires_ngspice
def test_chain_cards_equal_a_string_of_two_terminal_resonators():
    """The compiler's chain (one junction B-source over linear precessions) and a plain series
    string of ``mtj_rf_core`` two-terminals, mixed orientations, driven by two carriers: the same
    chain voltage at every time point."""
    from spintronic.models import ResonatorParams, resonator
    from spintronic.models.params import spice_number as num
    from spicegen import rfstep
    from spicegen.compiler import chain_cards

    prm = ResonatorParams()
    f_rs = [0.99e9, 1.0e9, 1.012e9, 1.03e9]
    orient = [1, -1, 1, -1]
    h = rfstep.step_for(1.05e9)
    drive = "I = 1e-4*sin(6.283185307179586e9*time) + 7e-5*sin(6.40884e9*time)"
    lines = ["* chain twins", resonator.spice_subckt(prm, "rf"),
             f"Bd1 0 h1 {drive}", f"Bd2 0 a0 {drive}"]
    lines += chain_cards(f_rs, orient, prm.R0 * len(f_rs), "1", "h1")
    for k, (f, o) in enumerate(zip(f_rs, orient)):
        near, far = f"a{k}", ("0" if k == len(f_rs) - 1 else f"a{k + 1}")
        a, b = (near, far) if o > 0 else (far, near)
        lines.append(f"Xs{k} {a} {b} mtj_rf_core params: fr={num(f)}")
    lines += [".save v(h1) v(a0)"] + rfstep.cards(h, 100e-9) + [".end"]
    res = run_netlist("\n".join(lines) + "\n")
    chain, string = res["v(h1)"], res["v(a0)"]
    assert np.abs(chain).max() > 0.1
    np.testing.assert_allclose(chain, string, atol=1e-9 * np.abs(string).max())
