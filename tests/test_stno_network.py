"""Dynamical STNO networks: sequences, the surrogate's step, BPTT, export and transient co-simulation."""
import dataclasses

import numpy as np
import pytest
import torch

from spintronic.graph import schema
from spicegen.compiler import CompileError
from spicegen.dynamical import (compile_dynamical, cosim_dynamical, dynamical_layers,
                                graph_trajectories, read_out)
from spintronic.networks import to_graph
from spintronic.training.datasets import load_digits
from spintronic.training.stno_network import CTRNN, DynamicalConfig, DynamicalSTNONetwork, to_sequence

SMALL = DynamicalConfig(sizes=(8, 6, 4))


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_sequences_row_by_row_and_pixel_by_pixel():
    X = torch.arange(2 * 64, dtype=torch.float64).reshape(2, 64)
    rows = to_sequence(X, "rows")
    assert rows.shape == (2, 8, 8) and torch.equal(rows[1, 3], X[1, 24:32])
    pixels = to_sequence(X, "pixels")
    assert pixels.shape == (2, 64, 1) and pixels[0, 10, 0] == X[0, 10]
    with pytest.raises(ValueError, match="square"):
        to_sequence(torch.zeros(2, 60), "rows")


def test_bad_configurations_are_refused_or_warned():
    with pytest.raises(ValueError, match="dt must be a time step > 0"):
        DynamicalConfig(dt=0.0)
    with pytest.raises(ValueError, match="dt must be a time step > 0"):
        DynamicalConfig(dt=-1e-9)
    with pytest.raises(ValueError, match="fixed point"):
        DynamicalConfig(p_init=0.0)
    with pytest.raises(ValueError, match="order"):
        DynamicalConfig(order="columns")
    with pytest.warns(RuntimeWarning, match="substep"):
        DynamicalSTNONetwork(dataclasses.replace(SMALL, dt=50e-9, substeps=2))
    with pytest.warns(RuntimeWarning, match="forget"):
        DynamicalSTNONetwork(dataclasses.replace(SMALL, dt=500e-9, substeps=400))


def test_a_sequence_of_the_wrong_length_is_refused():
    net = DynamicalSTNONetwork(SMALL)
    with pytest.raises(ValueError, match="8 steps of 8 inputs"):
        net(torch.zeros(3, 7, 8, dtype=torch.float64))
    with pytest.raises(ValueError):
        net(torch.zeros(3, 63))


def test_a_divergent_surrogate_raises_instead_of_returning_nan():
    net = DynamicalSTNONetwork(SMALL)
    with torch.no_grad():
        net.weights[0][0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="diverged"):
        net(torch.rand(2, 64, dtype=torch.float64))


def test_the_step_size_does_not_change_the_answer():
    """Substeps only resolve the coupling between neurons: the outputs converge as they shrink."""
    X = torch.rand(5, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    outs = {}
    for sub in (4, 16, 64, 256):
        with torch.no_grad():
            outs[sub] = DynamicalSTNONetwork(dataclasses.replace(SMALL, substeps=sub), seed=3).output_power(X)
    diffs = [float((outs[a] - outs[256]).abs().max()) for a in (4, 16, 64)]
    assert diffs[0] > diffs[1] > diffs[2]
    assert diffs[2] < 5e-4   # normalised power, outputs ~0.4


def test_bptt_reaches_the_first_input_step():
    """The gradient of the loss reaches a weight through the whole unrolled time loop: the first
    row's pixels change the outcome, so the loss must depend on them through the dynamics."""
    net = DynamicalSTNONetwork(SMALL)
    X = torch.rand(4, 64, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(net(X), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    first_row = X.grad[:, :8].abs().sum()
    assert torch.isfinite(X.grad).all() and first_row > 0
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in net.weights)


def test_ctrnn_baseline_shape():
    m = CTRNN(SMALL)
    assert m(torch.rand(3, 64)).shape == (3, 4)
    assert m.n_features == 64


def test_graph_holds_every_weight_and_round_trips(tmp_path):
    net = DynamicalSTNONetwork(SMALL, seed=2)
    g = to_graph(net)
    layers = dynamical_layers(g)
    np.testing.assert_array_equal(layers[0]["W"], net.weights[0].detach().numpy())
    np.testing.assert_array_equal(layers[0]["R"], net.recurrent[0].detach().numpy())
    np.testing.assert_array_equal(layers[1]["bias"], net.biases[1].detach().numpy())
    path = str(tmp_path / "dyn.json")
    schema.save(g, path)
    h = schema.load(path)
    np.testing.assert_array_equal(dynamical_layers(h)[0]["W"], layers[0]["W"])
    g.edges["u0", "L1.n0"]["weight"] = float("nan")
    with pytest.raises(schema.GraphError, match="weight must be a finite number"):
        schema.validate(g)


def test_graph_surrogate_equals_the_trained_network(digits):
    net = DynamicalSTNONetwork(SMALL, seed=4)
    X = digits.X_test[:6]
    with torch.no_grad():
        expected = net.output_power(torch.as_tensor(X)).numpy()
    got = read_out(to_graph(net), graph_trajectories(to_graph(net), X)[-1])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_transient_cosim_converges_to_the_surrogate(digits):
    """Time-multiplexed samples with a reset between them, integrated at a fixed step h = dt /
    points_per_step: against a surrogate whose own step is resolved (256 substeps) the circuit's
    error falls more than tenfold from 8 to 32 points per step (measured 5.2e-4 -> 3.9e-5 of
    normalised power on this network), so the ramps and gates cost no accuracy order."""
    cfg = dataclasses.replace(SMALL, substeps=256, readout="mean", readout_steps=3)
    g = to_graph(DynamicalSTNONetwork(cfg, seed=1))
    X, y = digits.X_test[:6], digits.y_test[:6] % 4
    errors = {}
    for pps in (8, 32):
        res = cosim_dynamical(g, X, y, workers=2, chunk=3, points_per_step=pps)
        rep = res.report()
        assert res.runs == 2
        assert rep["argmax_agreement"] == 1.0
        errors[pps] = max(layer["max_error_p"] for layer in rep["layers"])   # outputs are ~0.4
    assert errors[32] < errors[8] / 5
    assert errors[32] < 1e-4
    # the reset works: sample 3 opens the second run and sample 2 closes the first, yet both
    # match the surrogate, which starts every sample from p_init
    np.testing.assert_allclose(res.circuit[-1][2:4], res.surrogate[-1][2:4], atol=1e-4)


def test_the_circuit_runs_at_one_fixed_step_without_breakpoints(digits):
    """No PWL corners for ngspice to restart from: after its start-up the step is h throughout,
    so a sample costs (reset + steps dt) / h time points."""
    from spicegen.runner import run_netlist
    g = to_graph(DynamicalSTNONetwork(SMALL))
    net = compile_dynamical(g, digits.X_test[:3], points_per_step=8)
    assert "PWL(" not in net.text and "pwl(time" in net.text
    t = run_netlist(net.text, "subprocess").scale
    h = SMALL.dt / 8
    steps = np.diff(t)
    assert np.allclose(steps[-100:], h, rtol=1e-6)
    assert np.sum(~np.isclose(steps, h, rtol=1e-6)) <= 12       # the start-up only
    assert len(t) <= 3 * (6 + 8 * 8) + 2 + 13


def test_netlist_rejects_a_wrong_sequence_and_a_wrong_graph(digits):
    g = to_graph(DynamicalSTNONetwork(SMALL))
    with pytest.raises(CompileError, match="8 steps of 8 inputs"):
        compile_dynamical(g, np.zeros((2, 60)))
    with pytest.raises(CompileError, match="finite"):
        compile_dynamical(g, np.full((2, 64), np.nan))
    net = compile_dynamical(g, digits.X_test[:2])
    assert net.read_times.shape == (2, 8)
    assert net.text == compile_dynamical(g, digits.X_test[:2]).text


def test_clamped_neurons_still_learn_but_compute_the_same():
    """Training lets a small gradient through the current clamps (a neuron pushed into one can
    come back); the forward values, which the SPICE amplifier reproduces, are the hard clamp."""
    from spintronic.models import STNOParams, stno
    prm = STNOParams()
    x = torch.tensor([0.5e-5, 2e-5, 9e-5], dtype=torch.float64, requires_grad=True)
    y = stno.clamp_current_train(x, prm, leak=0.05)
    assert torch.equal(y.detach(), stno.clamp_current(x.detach(), prm))
    y.sum().backward()
    assert x.grad.tolist() == [0.05, 1.0, 0.05]
    net = DynamicalSTNONetwork(SMALL)
    X = torch.rand(3, 64, dtype=torch.float64)
    net.train()
    a = net(X)
    net.eval()
    assert torch.equal(a.detach(), net(X).detach())


CHAIN = dataclasses.replace(SMALL, synapses="chain")


def test_chain_synapses_rectify_the_lorentzian_of_each_channel():
    """A chain's weight on pixel i is what its resonators rectify from a full-scale carrier at f_i,
    written out here: V = p_max sum_k (-1)^k K_SD 2 D (f_i - f_k) / (D^2 + (f_i - f_k)^2), turned
    into drive by g_m / I_th; a layer reading STNOs counts their emitted microwatts."""
    net = DynamicalSTNONetwork(CHAIN, seed=3)
    c = CHAIN
    f_in = np.array(c.frequencies(8))
    f_r = net.resonance_frequencies(0).detach().numpy()          # (6 chains, 8 resonators)
    D = c.resonator.alpha * f_r
    delta = f_in[None, None, :] - f_r[:, :, None]
    lor = c.resonator.K_SD * 2 * D[:, :, None] * delta / (D[:, :, None] ** 2 + delta ** 2)
    signs = np.where(np.arange(8) % 2 == 0, 1.0, -1.0)
    volts = c.p_max * np.einsum("jki,k->ji", lor, signs)
    W = net.effective_weights()
    np.testing.assert_allclose(W[0].detach().numpy(), c.g_m * volts / c.stno.I_th, rtol=1e-10)
    # crosstalk: every chain responds to channels its resonators do not serve
    assert (np.abs(W[0].detach().numpy()) > 1e-3).all()
    assert net.line_power == pytest.approx(c.attenuation / 1e-6)


def test_chain_synapses_train_and_refuse_a_pulled_oscillator():
    net = DynamicalSTNONetwork(CHAIN, seed=0)
    loss = net(torch.rand(4, 64, dtype=torch.float64)).logsumexp(1).sum()
    loss.backward()
    assert all(torch.isfinite(o.grad).all() and o.grad.abs().sum() > 0 for o in net.offsets)
    from spintronic.models import STNOParams
    with pytest.raises(ValueError, match="fixed STNO frequencies"):
        dataclasses.replace(CHAIN, stno=STNOParams(N=1e8))
    with pytest.warns(RuntimeWarning, match="rings for"):
        DynamicalSTNONetwork(dataclasses.replace(CHAIN, f_min=1e9, f_max=3e9))


def test_chain_graph_and_checkpoint_give_the_same_network(digits, tmp_path):
    from spintronic.networks.checkpoints import load_checkpoint
    from spintronic.training.trainer import save_checkpoint
    net = DynamicalSTNONetwork(CHAIN, seed=5)
    g = to_graph(net)
    kinds = [a["kind"] for _, a in g.nodes(data=True)]
    assert kinds.count("resonator") == 8 * 6 + 6 * 4
    layers = dynamical_layers(g)
    for L, W in zip(layers, net.effective_weights()):
        np.testing.assert_allclose(L["W"], W.detach().numpy(), rtol=1e-12)
    X = digits.X_test[:4]
    with torch.no_grad():
        expected = [t.numpy() for t in net.trajectories(torch.as_tensor(X))]
    for got, want in zip(graph_trajectories(g, X), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    path = str(tmp_path / "chain.pt")
    save_checkpoint(net, path)
    back, _ = load_checkpoint(path)
    assert back.config == net.config
    np.testing.assert_array_equal(back.resonance_frequencies(1).detach().numpy(),
                                  net.resonance_frequencies(1).detach().numpy())
    schema.save(g, str(tmp_path / "chain.json"))
    back_g = schema.load(str(tmp_path / "chain.json"))
    assert back_g.graph["synapses"] == "chain"
    np.testing.assert_array_equal(dynamical_layers(back_g)[1]["W"], layers[1]["W"])
    del g.nodes["u0"]["frequency"]
    with pytest.raises(schema.GraphError, match="chain synapses need a parameter 'frequency'"):
        schema.validate(g)


def test_chain_synapse_cosim_matches_the_surrogate(digits):
    """The chains' netlist: the Lorentzian weights as VCCS (envelope level, as compile_envelope),
    the hidden STNOs' emitted power P = k_P p R I^2 as a B-source on each line node."""
    cfg = dataclasses.replace(CHAIN, substeps=256, readout="mean", readout_steps=3)
    g = to_graph(DynamicalSTNONetwork(cfg, seed=1))
    net = compile_dynamical(g, digits.X_test[:2])
    assert net.text.count("Bpw1_") == 6
    res = cosim_dynamical(g, digits.X_test[:6], digits.y_test[:6] % 4, workers=2, chunk=3)
    rep = res.report()
    assert rep["argmax_agreement"] == 1.0
    for layer in rep["layers"]:
        assert layer["max_error_p"] < 1e-3


@pytest.mark.parametrize("field", ["bias_init", "readout_scale", "grad_leak", "init_spread"])
def test_config_refuses_non_finite_scalars(field):
    # found by Hypothesis: bias_init = inf gave tau_bias = 0 and a ZeroDivisionError on load
    with pytest.raises(ValueError, match=field):
        DynamicalConfig(**{field: float("inf")})
