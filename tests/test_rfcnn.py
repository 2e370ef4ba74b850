"""RF convolutional networks (kind rfcnn): weight sharing, the convolution against an explicit
unfold with the Lorentzian weights, the device graph and its checks, bad input, and a tiny
co-simulation."""
import argparse
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spintronic import networks
from spintronic.graph import schema
from spintronic.graph.schema import GraphError
from spintronic.models import resonator
from spintronic.networks.rfcnn import CNN, RFCNN, RFCNNConfig
from spicegen import rfcnn_analysis as ra
from spicegen import rfcnn_netlist as rn

from .conftest import requires_ngspice

ARR = ("reuse", "shared-line")


def _config(arrangement, side=8, filters=2, kernel=3, stride=2, padding=1, classes=10, **kw):
    out = rn.conv_side(side, kernel, stride, padding)
    return RFCNNConfig(sizes=(side * side, filters * out * out, classes), side=side,
                       filters=filters, kernel=kernel, stride=stride, padding=padding,
                       arrangement=arrangement, **kw)


@pytest.fixture(scope="module")
def trained(digits):
    """Both arrangements after a short training (stride 2, padding 1: borders exercised)."""
    from spintronic.training.trainer import TrainConfig, train
    torch.set_num_threads(1)
    out = {}
    for arrangement in ARR:
        model = RFCNN(_config(arrangement), seed=1)
        train(model, digits, TrainConfig(epochs=2, lr=0.03))
        out[arrangement] = model
    return out


def test_patch_index_is_unfold():
    for side, k, s, p in ((8, 3, 1, 0), (8, 3, 2, 1), (7, 4, 3, 2), (5, 5, 1, 0)):
        img = torch.arange(1, side * side + 1, dtype=torch.float64).reshape(1, 1, side, side)
        want = F.unfold(img, k, padding=p, stride=s)[0].T.numpy()
        idx = rn.patch_index(side, k, s, p)
        assert (np.where(idx >= 0, idx + 1, 0) == want).all()


@pytest.mark.parametrize("arrangement", ARR)
def test_tied_taps_receive_the_sum_of_their_resonators_gradients(arrangement, digits):
    model = RFCNN(_config(arrangement), seed=0)
    powers = torch.as_tensor(digits.X_train[:16]) * model.config.p_max
    target = torch.randn(16, model.sizes[1], dtype=torch.float64)
    model.conv_voltages(powers).mul(target).sum().backward()
    # the same forward with one free detuning per resonator, started at the shared values
    C, P, T = model.config.filters, model.config.positions, model.config.kernel ** 2
    free = model.detuning.detach()[:, None, :].expand(C, P, T).clone().requires_grad_()
    model.conv_voltages(powers, free).mul(target).sum().backward()
    per_resonator = free.grad
    assert per_resonator.abs().max() > 0
    # positions really see different signals: tying is not a no-op
    assert (per_resonator - per_resonator[:, :1]).abs().max() > 1e-3 * per_resonator.abs().max()
    torch.testing.assert_close(model.detuning.grad, per_resonator.sum(1), rtol=1e-10, atol=0)


@pytest.mark.parametrize("arrangement", ARR)
def test_one_tap_control_moves_every_chain_of_its_filter(arrangement):
    model = RFCNN(_config(arrangement), seed=0)
    before = model.resonance_frequencies().detach().clone()
    with torch.no_grad():
        model.detuning[1, 4] += 0.5
    moved = (model.resonance_frequencies().detach() != before)
    assert moved[1, :, 4].all() and moved.sum() == model.config.positions


def _lorentz(f, f_r, prm):
    return float(resonator.lorentzian(torch.tensor(f), torch.tensor(f_r), prm))


def test_reuse_convolution_equals_unfold_with_lorentzian_kernel(digits):
    model = RFCNN(_config("reuse", filters=3), seed=2)
    with torch.no_grad():
        model.bias_mv.copy_(torch.tensor([0.5, -1.0, 2.0]))
    c, prm = model.config, model.config.resonator
    taps = c.kernel ** 2
    f_tap = c.line_frequencies()
    det = model.detuning.detach().numpy()
    # effective kernel: channel u reaches the chain through every resonator t, crosstalk included
    K = np.array([[sum((1 if t % 2 == 0 else -1) *
                       _lorentz(f_tap[u], f_tap[t] * (1 + prm.alpha * det[f, t]), prm)
                       for t in range(taps)) for u in range(taps)] for f in range(c.filters)])
    x = torch.as_tensor(digits.X_test[:5])
    img = (x * c.p_max).reshape(-1, 1, c.side, c.side)
    want = F.conv2d(img, torch.tensor(K).reshape(c.filters, 1, c.kernel, c.kernel),
                    bias=model.bias_mv.detach() * 1e-3, stride=c.stride, padding=c.padding)
    got = model.conv_voltages(x * c.p_max).detach()
    torch.testing.assert_close(got, want.flatten(1), rtol=1e-9, atol=1e-15)


def test_shared_line_convolution_equals_explicit_sum_over_every_channel(digits):
    model = RFCNN(_config("shared-line", filters=2), seed=3)
    c, prm = model.config, model.config.resonator
    f_pix = c.line_frequencies()
    det = model.detuning.detach().numpy()
    patch = rn.patch_index(c.side, c.kernel, c.stride, c.padding)
    x = digits.X_test[:3] * c.p_max
    got = model.conv_voltages(torch.as_tensor(x)).detach().numpy()
    for f in range(c.filters):
        for p in (0, 3, c.positions - 1):      # corners (padding) and an inner patch
            w = np.zeros(len(f_pix))
            for t, i in enumerate(patch[p]):
                if i < 0:
                    continue                   # no resonator over padding
                f_r = f_pix[i] * (1 + prm.alpha * det[f, t])
                w += (1 if t % 2 == 0 else -1) * np.array([_lorentz(fi, f_r, prm)
                                                           for fi in f_pix])
            want = x @ w + 1e-3 * model.bias_mv[f].item()
            np.testing.assert_allclose(got[:, f * c.positions + p], want, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("arrangement", ARR)
def test_graph_round_trips_and_reads_back_the_trained_network(arrangement, trained, digits,
                                                              tmp_path):
    model = trained[arrangement]
    kind = networks.get_kind("rfcnn")
    g = kind.to_graph(model)
    path = str(tmp_path / "g.json")
    schema.save(g, path)
    back = schema.load(path)
    kind.check_graph(back)
    X = digits.X_test[:40]
    logits, (v1, v2) = model(torch.as_tensor(X), return_all=True)
    s1, s2 = rn.graph_forward(back, X)
    np.testing.assert_allclose(s1, v1.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s2, v2.detach().numpy(), rtol=0, atol=1e-12)
    kinds = [a["kind"] for _, a in back.nodes(data=True)]
    c = model.config
    per_chain = c.kernel ** 2 if arrangement == "reuse" else None
    assert kinds.count("stno") == c.sizes[1] and kinds.count("readout") == c.sizes[2]
    assert kinds.count("rf_line") == (c.positions if arrangement == "reuse" else 1) + 1
    if per_chain:
        assert kinds.count("resonator") == c.sizes[1] * per_chain + c.sizes[1] * c.sizes[2]
    # every resonator of one (filter, tap) holds the same detuning
    det = {}
    for _, a in back.nodes(data=True):
        if a["kind"] == "resonator" and a["layer"] == 1:
            det.setdefault((a["filter"], a["tap"]), set()).add(a["detuning"])
    assert all(len(v) == 1 for v in det.values())


def _first(g, **match):
    return next(n for n, a in g.nodes(data=True) if all(a.get(k) == v for k, v in match.items()))


@pytest.mark.parametrize("arrangement", ARR)
def test_structure_check_refuses_broken_sharing_and_wiring(arrangement, trained):
    kind = networks.get_kind("rfcnn")
    g = kind.to_graph(trained[arrangement])
    P = trained[arrangement].config.positions
    r = _first(g, kind="resonator", layer=1, chain=P + 1, position=1)
    bad = g.copy()
    bad.nodes[r]["detuning"] += 0.1
    with pytest.raises(GraphError, match="taps of a filter are shared"):
        kind.check_graph(bad)
    bad = g.copy()
    bad.nodes[r]["f_r"] *= 1 + 1e-6
    with pytest.raises(GraphError, match="f_serve"):
        kind.check_graph(bad)
    bad = g.copy()
    bad.graph["kernel"] = 5             # 3x3 positions, not the 4x4 of the sizes
    with pytest.raises(GraphError, match="sizes"):
        kind.check_graph(bad)
    if arrangement == "reuse":
        bad = g.copy()
        src = _first(g, kind="input", patch=3, tap=4)
        bad.nodes[src]["frequency"] *= 1.01
        with pytest.raises(GraphError, match="one channel per tap"):
            kind.check_graph(bad)


def test_crosstalk_report_gives_the_plans_spacing():
    reports = {}
    for arrangement in ARR:
        model = RFCNN(_config(arrangement), seed=0)
        c = model.config
        g = networks.get_kind("rfcnn").to_graph(model)
        rows = ra.crosstalk_report(g)
        f = c.line_frequencies()
        want = float(np.min(np.diff(f) / (c.resonator.alpha * f[:-1])))
        assert rows[0]["spacing_linewidths"] == pytest.approx(want, rel=1e-12)
        assert rows[0]["lines"] == (c.positions if arrangement == "reuse" else 1)
        # the plan: a resonator at its peak (+1 linewidth above its channel) against its two
        # neighbours; on a geometric grid every channel gives the same figure
        prm = c.resonator
        i = len(f) // 2
        peak = abs(_lorentz(f[i], f[i] * (1 + prm.alpha), prm))
        near = max(abs(_lorentz(f[i + d], f[i] * (1 + prm.alpha), prm)) for d in (-1, 1))
        assert rows[0]["plan_crosstalk"] == pytest.approx(near / peak, rel=1e-6)
        assert 0 < rows[0]["worst_crosstalk"] <= 1
        reports[arrangement] = rows[0]
    assert reports["shared-line"]["worst_crosstalk"] > 3 * reports["reuse"]["worst_crosstalk"]


def test_bad_inputs_are_one_clear_message():
    with pytest.raises(ValueError, match="5x5 filter is larger than the 4x4 image"):
        rn.conv_side(4, 5, 1, 0)
    with pytest.raises(ValueError, match="stride must be an integer >= 1, got 0"):
        rn.conv_side(8, 3, 0, 0)
    with pytest.raises(ValueError, match="arrangement must be one of"):
        _config("serpentine")
    kind = networks.get_kind("rfcnn")
    args = argparse.Namespace(kernel=3, stride=1, padding=0, filters=2, arrangement="reuse",
                              allow_overlap=False, sizes=None, line_f_max=0.12e9,
                              readout_f_max=None)
    data = argparse.Namespace(n_features=60, n_classes=10)
    with pytest.raises(ValueError, match="square images; 60 features"):
        kind.config_from_args(args, data)
    # 784 pixels on one line of 0.02-0.12 GHz: 0.23 linewidths apart
    wide = _config("shared-line", side=28, filters=1, kernel=5, stride=4, padding=0)
    with pytest.raises(ValueError,
                       match=r"channels \d+ and \d+ \(.* Hz\) are 0.229 linewidths apart"):
        RFCNN(wide)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        RFCNN(dataclasses_replace(wide, allow_overlap=True))
    assert any("within one linewidth" in str(w.message) for w in caught)
    RFCNN(dataclasses_replace(wide, arrangement="reuse"))      # 25 taps: well apart


@pytest.mark.parametrize("arrangement", ARR)
def test_chains_start_where_bias_start_puts_them(arrangement, digits):
    """The calibration puts each filter's mean chain current at the asked fraction of the
    amplifier window; by default near threshold for reuse, mid-window for shared-line."""
    X = torch.as_tensor(digits.X_train[:200])
    default = _config(arrangement)
    assert default.start_fraction == (0.1 if arrangement == "reuse" else 0.5)
    for start in (0.2, 0.7):
        model = RFCNN(_config(arrangement, bias_start=start), seed=0)
        model.prepare(X)
        c = model.config
        with torch.no_grad():
            _, (v1, _) = model(X, return_all=True)
        z = (c.g_m * (v1 + c.v_bias) / c.stno.I_th).reshape(len(X), c.filters, -1).mean((0, 2))
        lo, hi = c.stno.I_min_ratio, c.stno.I_max_ratio
        assert torch.allclose(z, torch.full_like(z, lo + start * (hi - lo)), rtol=1e-9)
    with pytest.raises(ValueError, match="bias_start must be within \\[0, 1\\].*got 1.5"):
        _config(arrangement, bias_start=1.5)


def dataclasses_replace(config, **kw):
    import dataclasses
    return dataclasses.replace(config, **kw)


def test_cli_refuses_bad_shapes_with_one_line(capsys):
    from spicegen.cli import main
    for argv, msg in ((["--kernel", "9"], "9x9 filter is larger than the 8x8 image"),
                      (["--stride", "0"], "stride must be an integer >= 1"),
                      (["--sizes", "64,10,10"], "does not match the convolution's shape"),
                      (["--readout-f-max", "1e7"], "f_max (10000000.0) must exceed f_min"),
                      (["--filters", "8"], "read-out line (one channel per conv STNO): channels")):
        assert main(["train", "--model", "rfcnn", "--epochs", "1", "--quiet", *argv]) == 2
        assert msg in capsys.readouterr().err


def test_software_cnn_has_the_same_shape():
    c = _config("reuse", filters=3)
    cnn = CNN(c)
    assert cnn.conv.weight.shape == (3, 1, 3, 3) and cnn.fc.in_features == c.sizes[1]
    assert cnn(torch.rand(2, 64)).shape == (2, 10)


@requires_ngspice
@pytest.mark.parametrize("arrangement", ARR)
def test_tiny_compile_and_cosim_agree(arrangement, trained, digits):
    g = networks.get_kind("rfcnn").to_graph(trained[arrangement])
    X, y = digits.X_test[:6], digits.y_test[:6]
    net = rn.compile_rfcnn(g, X[:2])
    assert net.text.endswith(".end\n") and len(net.hidden[0]) == trained[arrangement].sizes[1]
    res = rn.cosim_rfcnn(g, X, y, workers=1, chunk=3)
    rep = res.report()
    assert rep["argmax_agreement"] == 1.0 and res.runs == 2
    # chains settle to the steady state the surrogate assumes: within a few uV
    for s, c in zip(res.surrogate, res.circuit):
        assert np.abs(s - c).max() < 20e-6
    assert math.isfinite(rep["seconds"])


def test_crosstalk_line_picks_one_line_and_the_channels_its_resonators_serve(trained):
    kind = networks.get_kind("rfcnn")
    g = kind.to_graph(trained["reuse"])
    c = trained["reuse"].config
    line = ra.crosstalk_line(g, 1, single=True)
    # the middle one of the patches clear of the padding (stride 2, padding 1: 4 of 16)
    assert line["line"] == "L1.line10"
    np.testing.assert_array_equal(line["freqs"], c.line_frequencies())
    # one single-resonator chain per tap, each serving its own tap's channel
    assert line["served"] == list(range(c.kernel ** 2)) * min(4, c.filters)
    with pytest.raises(ValueError, match="sit on 2 lines"):
        kind.crosstalk_line(g, 1, chains=[0, 1])
    g = kind.to_graph(trained["shared-line"])
    line = ra.crosstalk_line(g, 1, single=True)
    served = [line["freqs"][i] for i in line["served"]]
    assert -1 not in line["served"] and len(line["freqs"]) > len(set(served))  # + neighbours


@requires_ngspice
def test_sequential_arrangement_gives_the_parallel_convolution(trained, digits):
    g = networks.get_kind("rfcnn").to_graph(trained["reuse"])
    rep = ra.run_sequential(g, digits.X_test[:2], slot=200e-9)
    assert rep["chain_error_V"] < 1e-9          # the chain is instantaneous in the envelope
    assert rep["power_error"] < 1e-4            # and the STNO settles within a slot
    assert rep["resonators"] * trained["reuse"].config.positions == rep["parallel_resonators"]
    with pytest.raises(ValueError, match="needs a reuse graph"):
        ra.compile_sequential(networks.get_kind("rfcnn").to_graph(trained["shared-line"]),
                              digits.X_test[:1])
