"""Stochastic domain-wall synapse networks (kind dw): the learning rule, reads, the device graph,
the ngspice circuit's own random draws against p(w), and bad input."""
import argparse
import math
import warnings

import networkx as nx
import numpy as np
import pytest
import torch
from scipy import stats

from spintronic import networks
from spintronic.graph import schema
from spintronic.graph.schema import GraphError
from spintronic.models.domain_wall import DomainWallParams, sample_reads, switch_probability
from spintronic.networks.checkpoints import make_model
from spintronic.networks.dw import VAR_FLOOR, DWConfig, DWNetwork, check_reads

from .conftest import requires_ngspice

PRM = DomainWallParams()
KIND = networks.get_kind("dw")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: one thread (two threads on a loaded 2-core machine run 50x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _net(n_in=16, n_out=3, reads=8, seed=0, spread=1.5, pairs=False, gain=1.0):
    """A dw network with drives spread around x0 (p from about 0.02 to 0.98) and some biases."""
    net = make_model("dw", (n_in, n_out),
                     config=DWConfig(sizes=(n_in, n_out), reads=reads, pairs=pairs, gain=gain))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for w in net.drives():
            w.add_(spread * torch.randn(w.shape, generator=gen))
        net.bias.copy_(torch.randn(n_out, generator=gen))
    return net


def _binary(n, n_in, seed=1):
    return (torch.rand(n, n_in, generator=torch.Generator().manual_seed(seed)) > 0.5).double()


# ------------------------------------------------------------------ the rule

def test_forward_is_the_sample_and_the_gradient_flows_through_mu_and_sigma():
    net = _net(reads=4)
    x = _binary(32, 16)
    out = net.sample(x, generator=torch.Generator().manual_seed(7))
    # forward value: the binomial sample (same generator), plus the bias
    y = sample_reads(x.float()[:, None, :], net.w.detach()[None], 4, PRM,
                     torch.Generator().manual_seed(7)).sum(-1)
    assert torch.allclose(out, y + net.bias, atol=1e-5)
    # backward: d/dw of mu + eps sigma with eps = (Y - mu) / sigma held fixed
    c = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
    (out * c).sum().backward()
    w = net.w.detach().clone().requires_grad_(True)
    p = switch_probability(w, PRM)
    mu = x.float() @ p.T
    sigma = torch.sqrt(x.float() @ (p * (1 - p)).T / 4 + VAR_FLOOR)
    eps = ((y - mu) / sigma).detach()
    (((mu + eps * sigma) * c).sum()).backward()
    assert torch.allclose(net.w.grad, w.grad, rtol=1e-4, atol=1e-6)
    assert net.w.grad.abs().sum() > 0
    assert torch.allclose(net.bias.grad, c.sum(0))
    # the sigma term matters: without it the gradient differs
    w2 = net.w.detach().clone().requires_grad_(True)
    ((x.float() @ switch_probability(w2, PRM).T * c).sum()).backward()
    assert not torch.allclose(w2.grad, w.grad, rtol=1e-3)


def test_pairs_rule_samples_the_difference_and_trains_both_drives():
    net = _net(reads=8, pairs=True)
    x = _binary(32, 16)
    out = net.sample(x, generator=torch.Generator().manual_seed(2))
    gen = torch.Generator().manual_seed(2)
    y = [sample_reads(x.float()[:, None, :], w.detach()[None], 8, PRM, gen).sum(-1)
         for w in net.drives()]
    assert torch.allclose(out, y[0] - y[1] + net.bias, atol=1e-5)
    out.sum().backward()
    assert net.w.grad.abs().sum() > 0 and net.w_neg.grad.abs().sum() > 0
    p = net.probabilities().detach()
    mf = net.mean_field(x).detach()
    assert torch.allclose(mf, x.float() @ (p[0] - p[1]).T + net.bias.detach(), atol=1e-6)
    # the mean of many passes is the mean field: signed weights
    draws = net.passes(x, range(300))
    assert np.abs(draws.mean(0) - mf.double().numpy()).max() < 0.3
    assert (mf - net.bias.detach()).min() < 0     # a single synapse's weight is never negative


@pytest.mark.parametrize("pairs", [False, True])
def test_gain_scales_the_sample_and_the_gradient_alike(pairs):
    x = _binary(32, 16)
    one, two = _net(reads=4, pairs=pairs), _net(reads=4, pairs=pairs, gain=2.5)
    outs = [net.sample(x, generator=torch.Generator().manual_seed(9)) for net in (one, two)]
    bias = one.bias.detach()
    # forward: the same draws, 2.5 times the count, then the bias
    assert torch.allclose(outs[1] - bias, 2.5 * (outs[0] - bias), atol=1e-4)
    c = torch.randn(outs[0].shape, generator=torch.Generator().manual_seed(3))
    for out in outs:
        (out * c).sum().backward()
    for a, b in zip(one.drives(), two.drives()):
        assert torch.allclose(b.grad, 2.5 * a.grad, rtol=1e-4, atol=1e-6)
    assert torch.allclose(two.bias.grad, one.bias.grad)
    # mean field and the graph carry it
    assert torch.allclose(two.mean_field(x) - bias, 2.5 * (one.mean_field(x) - bias), atol=1e-5)
    g = KIND.to_graph(two.eval())
    assert all(g.nodes[f"out{j}"]["gain"] == 2.5 for j in range(3))
    assert "gain" not in two.state_dict()         # a design value: the config carries it


def test_init_p_sets_the_starting_drives():
    net = make_model("dw", (8, 2), config=DWConfig(sizes=(8, 2), pairs=True, init_p=0.1))
    p = net.probabilities().detach()
    assert torch.allclose(p, torch.full_like(p, 0.1), atol=1e-6)
    assert torch.allclose(make_model("dw", (8, 2)).w, torch.full((2, 8), PRM.x0))
    for bad in (0.01, 1.0, 1.5, True):
        with pytest.raises(ValueError, match=f"init_p must be .*got {bad!r}"):
            DWConfig(sizes=(8, 2), init_p=bad)
    for bad in (0, -1.0, float("nan"), 2e3, "2"):
        with pytest.raises(ValueError, match="gain must be a number"):
            DWConfig(sizes=(8, 2), gain=bad)


def test_eval_pass_is_reproducible_training_pass_is_not():
    net = _net()
    x = _binary(20, 16)
    net.eval()
    assert torch.equal(net(x), net(x))
    assert np.allclose(net.passes(x, [0])[0], net(x).detach().numpy())
    net.train()
    torch.manual_seed(0)
    a = net(x)
    assert not torch.equal(a, net(x))


def test_one_read_vs_many_reads():
    net = _net(reads=1)
    x = _binary(40, 16)
    one = net.passes(x, range(400), reads=1)
    many = net.passes(x, range(400), reads=64)
    bias = net.bias.detach().double().numpy()
    # N = 1: every synapse is one binary read, so the logit minus its bias is a whole count
    counts = one - bias
    assert np.allclose(counts, np.round(counts), atol=1e-5)
    # N = 64: multiples of 1/64; not all whole numbers
    frac = (many - bias) * 64
    assert np.allclose(frac, np.round(frac), atol=1e-3) and not np.allclose(many - bias,
                                                                             np.round(many - bias))
    # same mean (sum x p + b), variance 64 times smaller
    mu = net.mean_field(x).detach().double().numpy()
    for draws in (one, many):
        assert np.abs(draws.mean(0) - mu).max() < 5 * one.std(0).max() / math.sqrt(400)
    live = one.var(0) > 0.05
    ratio = one.var(0)[live].mean() / many.var(0)[live].mean()
    assert 50 < ratio < 80


def test_baselines_are_deterministic_on_the_same_binarised_inputs():
    x = torch.tensor([[0.2, 0.7, 0.5, 1.0]]).double()
    for name in ("dw_meanfield", "dw_perceptron"):
        m = make_model(name, (4, 2), seed=1).eval()
        assert torch.equal(m(x), m(x))
        # binarised at x > 0.5: 0.2 and 0.5 -> 0, 0.7 and 1.0 -> 1
        assert torch.allclose(m(x), m(torch.tensor([[0.0, 1.0, 0.0, 1.0]]).double()))


# ------------------------------------------------------------------ the graph

@pytest.mark.parametrize("pairs, gain", [(False, 1.0), (True, 1.5)])
def test_graph_round_trip_and_surrogate_from_graph(tmp_path, pairs, gain):
    net = _net(reads=16, pairs=pairs, gain=gain).eval()
    g = KIND.to_graph(net)
    kinds = [k for _, k in g.nodes(data="kind")]
    assert kinds.count("dw_synapse") == 48 * (2 if pairs else 1)
    assert g.graph["threshold"] == 0.5 and g.graph["reads"] == 16 and g.graph["pairs"] == pairs
    a = g.nodes["syn2.1"]
    assert a["w"] == float(net.w[1, 2].detach()) and a["G_P"] > a["G_AP"]
    assert a["p"] == pytest.approx(float(switch_probability(net.w[1, 2].detach().double(), PRM)),
                                   abs=1e-12)
    x = _binary(10, 16)
    for suffix in (".json", ".graphml"):
        path = str(tmp_path / f"g{suffix}")
        schema.save(g, path)
        back = schema.load(path)
        KIND.check_graph(back)
        assert torch.equal(KIND.model_from_graph(back)(x), net(x))
        assert KIND.model_from_graph(back).config.gain == gain
    # a graph written before the gain reads as gain 1; per-neuron gains reach the surrogate
    for j in range(3):
        del g.nodes[f"out{j}"]["gain"]
    assert KIND.model_from_graph(g).gain.tolist() == [1.0] * 3
    g.nodes["out1"]["gain"] = 3.0
    back = KIND.model_from_graph(g)
    assert back.gain.tolist() == [1.0, 3.0, 1.0] and back.config.gain == 1.0


def _tampered(change):
    g = KIND.to_graph(_net())
    change(g)
    return g


@pytest.mark.parametrize("change, message", [
    (lambda g: g.nodes["syn0.0"].update(w=float("nan")), r"'w' is nan"),
    (lambda g: g.nodes["syn0.0"].update(p=0.3), r"p = 0.3 is not p\(w"),
    (lambda g: g.nodes["syn1.2"].update(G_P=1e-3), r"G_P = 0.001 differs"),
    (lambda g: g.remove_node("syn3.1"), r"need 48 dw_synapse nodes"),
    (lambda g: g.graph.update(pairs=1), r"need 96 dw_synapse nodes"),
    (lambda g: g.nodes["syn3.1"].update(sign=-1), r"need 48 dw_synapse nodes.*47 at expected"),
    (lambda g: g.add_edge("in0", "syn1.0", link="dc"), r"syn1.0.*fed by 'in1' alone"),
    (lambda g: g.graph.update(reads=0), r"reads must be an integer.*got 0"),
    (lambda g: g.graph.update(threshold=1.5), r"threshold must be .*got 1.5"),
    (lambda g: g.nodes["out2"].update(gain=0.0), r"'out2' \(dw_neuron\): gain must be .*got 0.0"),
    (lambda g: g.nodes["out1"].update(gain="2"), r"'out1' \(dw_neuron\): gain must be .*got '2'"),
])
def test_bad_graphs_are_named(change, message):
    with pytest.raises(GraphError, match=message):
        KIND.check_graph(_tampered(change))


# ------------------------------------------------------------------ the circuit

@requires_ngspice
@pytest.mark.parametrize("pairs, gain", [(False, 1.0), (True, 1.7)])
def test_ngspice_draws_switch_with_p_and_the_readout_is_exact(pairs, gain):
    from spicegen.dw_netlist import compile_dw, read_back, read_graph, state_net
    from spicegen.runner import run_netlist

    net = _net(n_in=4, n_out=2, reads=100, seed=4, spread=1.2, pairs=pairs, gain=gain)
    layer = read_graph(KIND.to_graph(net))
    S = 2 if pairs else 1
    x = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 1]], float)
    every = tuple((i, j, k) for k in range(S) for i in range(4) for j in range(2))
    deck = compile_dw(layer, x, seed=5, states=every)
    assert "trrandom" in deck.text and ".options seed=5" in deck.text
    res = run_netlist(deck.text)
    logits, residual, switched = read_back(res, deck, layer, every)
    reads = 4 * 100
    p = layer.probabilities()
    for (i, j, k), count in zip(every, switched):
        assert stats.binomtest(int(count), reads, p[k, j, i]).pvalue > 1e-3 / len(every)
    # the read-out is exact: every read's logit is the count of switched, driven synapses
    # (+ minus -) times the gain, plus the bias
    assert residual < 1e-6
    t, rt = res.scale, deck.read_times
    s = np.stack([np.interp(rt, t, res[f"v({state_net(*key)})"]) > 0.5 for key in every])
    s = s.reshape(S, 4, 2, 4, 100)                        # (sign, row, column, sample, read)
    expect = gain * np.einsum("k,si,kijsr->sj", [1, -1][:S], x, s) / 100 + layer.bias
    assert np.allclose(logits, expect, atol=1e-9)
    # different seed, different draws; the same seed, the same draws
    other = read_back(run_netlist(compile_dw(layer, x, seed=6, states=every).text), deck,
                      layer, every)
    again = read_back(run_netlist(deck.text), deck, layer, every)
    assert not np.array_equal(other[2], switched) and np.array_equal(again[2], switched)
    # the instances draw independently: the states of two synapses are not the same sequence
    assert not np.array_equal(s[0, 0, 0], s[0, 1, 0])


@requires_ngspice
@pytest.mark.parametrize("pairs", [False, True])
def test_crossbar_without_wires_reads_what_the_ideal_summing_reads(pairs):
    from spicegen.crossbar import CrossbarConfig
    from spicegen.dw_netlist import compile_dw, read_back, read_graph
    from spicegen.runner import run_netlist

    layer = read_graph(KIND.to_graph(_net(n_in=4, n_out=2, reads=4, pairs=pairs, gain=1.3)))
    x = np.array([[1, 0, 1, 1], [0, 1, 1, 1]], float)
    for r_wire, same in ((0.0, True), (20.0, False)):
        net = compile_dw(layer, x, seed=2, crossbar=CrossbarConfig(r_wire=r_wire))
        ideal, xbar = read_back(run_netlist(net.text), net, layer)[0]
        assert np.allclose(ideal, xbar, atol=1e-9) == same


@requires_ngspice
def test_cosim_reports_distributions_and_switching(digits):
    net = _net(n_in=16, n_out=3, reads=4, seed=2)
    X = np.clip(digits.X_test[:6].reshape(-1, 4, 2, 4, 2).mean((2, 4)).reshape(-1, 16), 0, 1)
    X[1] = 0.0          # a blank image: its logits are the biases alone, with no spread
    y = digits.y_test[:6] % 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = KIND.cosim(KIND.to_graph(net), X, y, networks.CosimOptions(
            workers=2, extra={"repeats": 2, "spice_seed": 11, "check_synapses": 8}))
    rep = res.report()
    d = rep["dw"]
    assert all(np.isfinite(v) and v > 0 for v in d["logit_z2"].values())
    assert len(d["circuit"]["values"]) == 2 and d["spice_seeds"][0] == 11
    assert len(d["surrogate"]["values"]) == 16 and d["readout_residual_counts"] < 1e-6
    assert d["switching"]["synapses"] == 8 and d["switching"]["reads"] == 2 * 6 * 4
    assert rep["surrogate_accuracy"] == pytest.approx(np.mean(d["surrogate"]["values"]))
    from spicegen.cosim import format_report
    text = format_report(rep)
    assert "surrogate accuracy" in text and "circuit over 2 repeats" in text


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("reads", [0, -3, 2.5, True, "8", 1 << 17])
def test_bad_reads_are_named(reads):
    with pytest.raises(ValueError, match=f"got {reads!r}".replace("(", r"\(")):
        check_reads(reads)
    with pytest.raises(ValueError, match="reads"):
        DWConfig(sizes=(4, 2), reads=reads)


def test_cli_refuses_bad_reads_and_repeats(capsys):
    from spicegen.cli.parser import build_parser
    parser = build_parser()
    for argv in (["train", "--model", "dw", "--reads", "0"],
                 ["train", "--model", "dw", "--reads", "1.5"],
                 ["cosim", "--repeats", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        err = capsys.readouterr().err
        assert f"argument {argv[-2]}" in err and f"got {argv[-1]}" in err
    args = parser.parse_args(["train", "--model", "dw", "--reads", "16"])
    assert args.reads == 16 and args.threshold == 0.5 and args.gain == 1 and args.init_p is None
    for argv in (["train", "--model", "dw", "--gain", "0"],
                 ["train", "--model", "dw", "--init-p", "0.01"],
                 ["train", "--model", "dw", "--init-p", "1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        assert f"argument {argv[-2]}" in capsys.readouterr().err


def test_non_binary_inputs_are_binarised_or_refused():
    from spicegen.dw_netlist import DWInputError, binarise
    x, changed = binarise(np.array([[0.0, 0.25, 0.5, 0.75, 1.0]]), 0.5)
    assert x.tolist() == [[0, 0, 0, 1, 1]] and changed == 3
    net = _net(n_in=5, n_out=2).eval()
    for bad, shown in ((2.0, "2.0"), (float("nan"), "nan"), (-0.1, "-0.1")):
        X = np.array([[0.0, bad, 1.0, 0.0, 1.0]])
        with pytest.raises(DWInputError, match=shown):
            binarise(X, 0.5)
        with pytest.raises(ValueError, match=f"got {shown}"):
            net(torch.as_tensor(X))


def test_bad_repeats_are_named():
    g = KIND.to_graph(_net())
    X, y = np.zeros((2, 16)), np.zeros(2, int)
    for repeats in (0, -1, 1.5):
        with pytest.raises(ValueError, match=f"repeats must be an integer >= 1, got {repeats}"):
            KIND.cosim(g, X, y, networks.CosimOptions(extra={"repeats": repeats}))
