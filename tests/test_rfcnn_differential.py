"""Differential taps of RF convolutional networks (RFCNNConfig.differential, --differential): two
resonators of opposite orientation per tap, each with its own shared detuning. The convolution
against an independent numpy sum of L(u+) - L(u-), the dipole leak onto far channels, the graph
and its checks, the per-tap crosstalk figures, and the command line through ngspice."""
import numpy as np
import pytest
import torch

from spintronic import networks
from spintronic.graph import schema
from spintronic.graph.schema import GraphError
from spintronic.networks.checkpoints import load_checkpoint
from spintronic.networks.rfcnn import RFCNN, RFCNNConfig
from spicegen import rfcnn_analysis as ra
from spicegen import rfcnn_netlist as rn

from .conftest import requires_ngspice

ARR = ("reuse", "shared-line")


def _config(arrangement, differential=True, side=8, filters=2, kernel=3, stride=2, padding=1,
            **kw):
    out = rn.conv_side(side, kernel, stride, padding)
    return RFCNNConfig(sizes=(side * side, filters * out * out, 10), side=side, filters=filters,
                       kernel=kernel, stride=stride, padding=padding, arrangement=arrangement,
                       differential=differential, **kw)


def _lorentz_np(f, f_r, prm):
    """V/W of a resonator at f_r for a channel at f, written out in numpy."""
    D = prm.alpha * f_r
    delta = f - f_r
    return prm.K_SD * (prm.a_sym * D ** 2 + prm.a_asym * 2 * D * delta) / (D ** 2 + delta ** 2)


@pytest.fixture(scope="module")
def trained(digits):
    from spintronic.training.trainer import TrainConfig, train
    torch.set_num_threads(1)
    out = {}
    for arrangement in ARR:
        model = RFCNN(_config(arrangement), seed=1)
        train(model, digits, TrainConfig(epochs=2, lr=0.03))
        out[arrangement] = model
    return out


@pytest.mark.parametrize("arrangement", ARR)
def test_differential_convolution_is_the_sum_of_each_taps_pair_over_every_channel(arrangement,
                                                                                  digits):
    model = RFCNN(_config(arrangement, filters=2), seed=4)
    c, prm = model.config, model.config.resonator
    T = c.kernel ** 2
    assert model.detuning.shape == (c.filters, 2 * T)
    det = model.detuning.detach().numpy()
    f_line = c.line_frequencies()
    patch = rn.patch_index(c.side, c.kernel, c.stride, c.padding)
    x = digits.X_test[:3] * c.p_max
    got = model.conv_voltages(torch.as_tensor(x)).detach().numpy()
    for f in range(c.filters):
        for p in (0, 5, c.positions - 1):       # corners (padding) and an inner patch
            v = np.full(len(x), 1e-3 * model.bias_mv[f].item())
            for t in range(T):
                if arrangement == "shared-line":
                    if patch[p, t] < 0:
                        continue                # no resonator over padding
                    f_s, chans, pix = f_line[patch[p, t]], f_line, np.arange(c.side ** 2)
                else:                           # the patch line: tap u carries pixel patch[p, u]
                    f_s, chans, pix = f_line[t], f_line, patch[p]
                w = (_lorentz_np(chans, f_s * (1 + prm.alpha * det[f, 2 * t]), prm)
                     - _lorentz_np(chans, f_s * (1 + prm.alpha * det[f, 2 * t + 1]), prm))
                v += np.where(pix >= 0, x[:, pix.clip(0)], 0.0) @ w
            np.testing.assert_allclose(got[:, f * c.positions + p], v, rtol=1e-9, atol=1e-15)


def test_a_differential_tap_leaks_as_a_dipole():
    """Same on-target weight: the differential tap's far-channel leak is far smaller than the
    single tap's and falls as ~1/d^2 (the single tap's as ~1/d)."""
    single = RFCNN(_config("shared-line", differential=False, filters=1))
    diff = RFCNN(_config("shared-line", filters=1))
    p, t = 0, 4
    i0 = int(single.patch[p, t])
    with torch.no_grad():
        diff.detuning[0, 2 * t], diff.detuning[0, 2 * t + 1] = 0.2, -0.2
        wd = diff.tap_weights()[0, p, 2 * t:2 * t + 2].sum(0).numpy()
        lo, hi = 0.0, 1.0       # |L| rises monotonically up to one linewidth: bisect
        for _ in range(60):
            single.detuning[0, t] = (lo + hi) / 2
            ws = single.tap_weights()[0, p, t].numpy()
            lo, hi = ((lo + hi) / 2, hi) if abs(ws[i0]) < abs(wd[i0]) else (lo, (lo + hi) / 2)
    np.testing.assert_allclose(ws[i0], wd[i0], rtol=1e-9)
    assert abs(wd[i0]) > 0.7 * single.config.resonator.K_SD
    f, alpha = single.f_line.numpy(), single.config.resonator.alpha
    d = (f - f[i0]) / (alpha * f[i0])           # linewidths above the served channel
    far = d > 10
    assert (np.abs(wd[far]) < 0.1 * np.abs(ws[far])).all()

    def slope(w):       # log-log slope of the leak over 10 to 40 linewidths
        band = (d > 10) & (d < 40)
        return np.polyfit(np.log(d[band]), np.log(np.abs(w[band])), 1)[0]

    assert -2.2 < slope(wd) < -1.6 and -1.2 < slope(ws) < -0.8


@pytest.mark.parametrize("arrangement", ARR)
def test_each_tap_control_of_a_pair_gets_the_sum_of_its_resonators_gradients(arrangement,
                                                                             digits):
    model = RFCNN(_config(arrangement), seed=0)
    powers = torch.as_tensor(digits.X_train[:16]) * model.config.p_max
    target = torch.randn(16, model.sizes[1], dtype=torch.float64)
    model.conv_voltages(powers).mul(target).sum().backward()
    C, P, R = model.config.filters, model.config.positions, 2 * model.config.kernel ** 2
    free = model.detuning.detach()[:, None, :].expand(C, P, R).clone().requires_grad_()
    model.conv_voltages(powers, free).mul(target).sum().backward()
    assert free.grad[:, :, 0::2].abs().max() > 0 and free.grad[:, :, 1::2].abs().max() > 0
    torch.testing.assert_close(model.detuning.grad, free.grad.sum(1), rtol=1e-10, atol=0)


@pytest.mark.parametrize("arrangement", ARR)
def test_differential_graph_round_trips_and_checks_each_pair(arrangement, trained, digits,
                                                             tmp_path):
    model, kind = trained[arrangement], networks.get_kind("rfcnn")
    c = model.config
    g = kind.to_graph(model)
    path = str(tmp_path / "g.json")
    schema.save(g, path)
    back = schema.load(path)
    kind.check_graph(back)
    assert back.graph["differential"] == 1
    assert "differential" not in kind.to_graph(RFCNN(_config(arrangement, False))).graph
    X = digits.X_test[:30]
    _, (v1, v2) = model(torch.as_tensor(X), return_all=True)
    s1, s2 = rn.graph_forward(back, X)
    np.testing.assert_allclose(s1, v1.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s2, v2.detach().numpy(), rtol=0, atol=1e-12)
    layer1 = [a for _, a in back.nodes(data=True) if a["kind"] == "resonator" and a["layer"] == 1]
    if arrangement == "reuse":
        assert len(layer1) == c.sizes[1] * 2 * c.kernel ** 2
    # each tap: its + resonator, then its - one, each pair's detunings trained apart
    head = [a for a in layer1 if a["chain"] == 5]
    assert [a["orientation"] for a in sorted(head, key=lambda a: a["position"])] == \
        [1, -1] * (len(head) // 2)
    det = {}
    for a in layer1:
        det.setdefault((a["filter"], a["tap"], a["orientation"]), set()).add(a["detuning"])
    assert all(len(v) == 1 for v in det.values())
    assert all(det[(f, t, 1)] != det[(f, t, -1)] for f, t, _ in det)
    # refused: a - resonator off its shared detuning; a chain one resonator short; the mode
    P = c.positions
    minus = next(n for n, a in g.nodes(data=True) if a["kind"] == "resonator" and
                 a["layer"] == 1 and a["chain"] == P + 1 and a["position"] == 3)
    assert g.nodes[minus]["orientation"] == -1
    bad = g.copy()
    bad.nodes[minus]["detuning"] += 0.1
    with pytest.raises(GraphError, match="orientation -1 differs .* taps of a filter are shared"):
        kind.check_graph(bad)
    bad = g.copy()
    chain = [n for n, a in g.nodes(data=True) if a["kind"] == "resonator" and a.get("chain") == 2
             and a["layer"] == 1]
    last = max(chain, key=lambda n: g.nodes[n]["position"])
    (before,) = g.predecessors(last)
    (amp,) = g.successors(last)
    bad.remove_node(last)
    bad.add_edge(before, amp, link="dc")
    with pytest.raises(GraphError, match=f"chain 2 of layer 1 has {len(chain) - 1} resonators, "
                                         f"expected {len(chain)}"):
        kind.check_graph(bad)
    for value, msg in ((0, "expected layer, chain, position, filter, tap, orientation"),
                       (2, "differential must be 0 or 1, got 2")):
        bad = g.copy()
        bad.graph["differential"] = value
        with pytest.raises(GraphError, match=msg):
            kind.check_graph(bad)


def test_crosstalk_figures_and_sequential_count_a_pair_as_one_tap(trained, digits):
    kind = networks.get_kind("rfcnn")
    g = kind.to_graph(trained["reuse"])
    c = trained["reuse"].config
    T = c.kernel ** 2
    line = ra.crosstalk_line(g, 1, single=True)
    # one chain per tap (its + and - resonator in series), each serving its tap's channel
    assert [len(o) for o in line["orientations"]] == [2] * T * min(4, c.filters)
    assert all(o == [1, -1] for o in line["orientations"])
    assert line["served"] == list(range(T)) * min(4, c.filters)
    # the trained worst off-target: a pair's net leak against the largest pair's net weight
    row = ra.crosstalk_report(g)[0]
    worst = 0.0
    on = 0.0
    for line_node, path, _ in rn.layer_chains(g, 1):
        _, _, f, _ = rn.line_sources(g, line_node)
        rect = rn._rectification(g, path, f)
        net = rect[0::2] + rect[1::2]
        serve = np.array([g.nodes[r]["f_serve"] for r in path[0::2]])
        target = serve[:, None] == f[None, :]
        on = max(on, np.abs(np.where(target, net, 0)).max())
        worst = max(worst, np.abs(np.where(target, 0, net)).max())
    assert row["worst_crosstalk"] == pytest.approx(worst / on, rel=1e-12)
    # the design rules see every resonator of a chain, both of each pair
    lines = [ln for ln in kind.resonator_lines(g) if ln.layer == 1]
    assert len(lines) == c.positions and {len(p) for ln in lines for p in ln.chains} == {2 * T}
    assert [r.layer for r in kind.design_rules(g).rows] == [1, 2]


@requires_ngspice
def test_sequential_arrangement_holds_both_resonators_of_a_tap(trained, digits):
    g = networks.get_kind("rfcnn").to_graph(trained["reuse"])
    c = trained["reuse"].config
    rep = ra.run_sequential(g, digits.X_test[:2], slot=200e-9)
    assert rep["resonators"] == c.filters * 2 * c.kernel ** 2
    assert rep["resonators"] * c.positions == rep["parallel_resonators"]
    assert rep["chain_error_V"] < 1e-9          # both resonators of each tap, instantaneous
    # the STNOs settle within a slot on average; one that starts at threshold settles slowly
    # (0.013 at 200 ns, 0.0026 at 1 us on this network), whatever the taps
    assert rep["power_error_mean"] < 2e-3


@requires_ngspice
@pytest.mark.parametrize("arrangement", ARR)
def test_cli_trains_exports_and_cosimulates_a_differential_network(arrangement, tmp_path,
                                                                    digits):
    from spicegen.cli import main
    ckpt, graph = str(tmp_path / "d.pt"), str(tmp_path / "d.json")
    assert main(["train", "--model", "rfcnn", "--differential", "--arrangement", arrangement,
                 "--filters", "2", "--stride", "2", "--padding", "1", "--epochs", "1",
                 "--out", ckpt, "--quiet"]) == 0
    assert main(["export", "--checkpoint", ckpt, "--out", graph]) == 0
    model = load_checkpoint(ckpt)[0]
    assert model.config.differential and model.detuning.shape == (2, 18)
    g = schema.load(graph)
    X, y = digits.X_test[:6], digits.y_test[:6]
    res = rn.cosim_rfcnn(g, X, y, workers=1, chunk=3)
    assert res.report()["argmax_agreement"] == 1.0
    for s, circ in zip(res.surrogate, res.circuit):
        assert np.abs(s - circ).max() < 20e-6
    _, (v1, v2) = model(torch.as_tensor(X), return_all=True)
    np.testing.assert_allclose(res.surrogate[0], v1.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.surrogate[1], v2.detach().numpy(), rtol=0, atol=1e-12)


def test_differential_chains_start_mid_window_by_default_and_cli_sets_the_mode():
    assert [_config(a).start_fraction for a in ARR] == [0.5, 0.1]    # single: 0.1, 0.5
    assert _config("reuse", False).start_fraction == 0.1
    assert _config("reuse", bias_start=0.2).start_fraction == 0.2
    kind = networks.get_kind("rfcnn")
    import argparse
    ap = argparse.ArgumentParser()
    kind.add_cli_args(ap.add_argument_group())
    data = argparse.Namespace(n_features=64, n_classes=10)
    for argv, want in (([], False), (["--differential"], True)):
        args = ap.parse_args(argv)
        args.sizes = None
        assert kind.config_from_args(args, data)["config"].differential is want
