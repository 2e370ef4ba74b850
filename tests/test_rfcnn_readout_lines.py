"""Read-out on several lines of RF convolutional networks (RFCNNConfig.readout_lines,
--readout-lines G): STNO j on line j // (hidden/G) at channel j % (hidden/G), one chain per
(class, line), a class's G chains in series. The read-out against an independent numpy sum over
lines, one line unchanged, the graph and its checks, the design rules of the default 144-STNO
network, the crosstalk picking, and the command line through ngspice."""
import numpy as np
import pytest
import torch

from spintronic import networks
from spintronic.graph import schema
from spintronic.graph.schema import GraphError
from spintronic.models import resonator
from spintronic.networks.rfcnn import RFCNN, RFCNNConfig
from spintronic.training.rf_network import FrequencyGrid
from spicegen import rfcnn_analysis as ra
from spicegen import rfcnn_netlist as rn

from .conftest import requires_ngspice

ARR = ("reuse", "shared-line")


def _config(arrangement="reuse", lines=2, differential=False, filters=2, **kw):
    out = rn.conv_side(8, 3, 2, 1)      # 4 x 4 positions: 32 STNOs with 2 filters
    return RFCNNConfig(sizes=(64, filters * out * out, 10), side=8, filters=filters, kernel=3,
                       stride=2, padding=1, arrangement=arrangement, differential=differential,
                       readout_lines=lines, **kw)


def _lorentz_np(f, f_r, prm):
    D = prm.alpha * f_r
    delta = f - f_r
    return prm.K_SD * (prm.a_sym * D ** 2 + prm.a_asym * 2 * D * delta) / (D ** 2 + delta ** 2)


def _readout_np(model, hidden):
    """Each line's chains rectify only that line's STNOs, on its own channels; a class's chains
    add; one bias per class (line 0's)."""
    c, prm = model.config, model.config.resonator
    H = c.sizes[1] // c.readout_lines
    chans = FrequencyGrid(c.f_min, c.f_max, H).frequencies
    v = np.zeros((len(hidden), c.sizes[2]))
    for g, layer in enumerate(model.readout_layers):
        off = layer.offset.detach().numpy()
        for cls in range(c.sizes[2]):
            w = sum((-1) ** k * _lorentz_np(chans, chans[k] * (1 + prm.alpha * off[cls, k]), prm)
                    for k in range(H))
            v[:, cls] += hidden[:, g * H:(g + 1) * H] @ w
    return v + model.readout.bias_mv.detach().numpy() * 1e-3


@pytest.fixture(scope="module")
def trained(digits):
    from spintronic.training.trainer import TrainConfig, train
    torch.set_num_threads(1)
    out = {}
    for arrangement in ARR:
        for diff in (False, True):
            model = RFCNN(_config(arrangement, differential=diff), seed=2)
            train(model, digits, TrainConfig(epochs=1, lr=0.03))
            out[arrangement, diff] = model
    return out


@pytest.mark.parametrize("lines", [1, 2, 4])
def test_readout_is_the_sum_over_lines_of_each_lines_chains_on_its_own_channels(lines, digits):
    model = RFCNN(_config(lines=lines), seed=3)
    c = model.config
    H = c.sizes[1] // lines
    with torch.no_grad():
        for layer in model.readout_more:        # bias of lines 1..: not part of the circuit
            layer.bias_mv.fill_(5.0)
        model.readout.bias_mv.uniform_(-1, 1)
        _, (v1, v2) = model(torch.as_tensor(digits.X_test[:5]), return_all=True)
        hidden = model.hidden_powers(v1).numpy()
    np.testing.assert_array_equal(model.neuron_f0.numpy(),
                                  np.tile(FrequencyGrid(c.f_min, c.f_max, H).frequencies, lines))
    want = _readout_np(model, hidden)
    np.testing.assert_allclose(v2.numpy(), want, rtol=1e-9, atol=1e-15)
    if lines > 1:
        # had each line's chains rectified every STNO (the other lines' reused channels too),
        # the read-out would be far off: the lines are apart, not one crowded line
        with torch.no_grad():
            leak = sum(resonator.chain_voltage(torch.as_tensor(hidden), model.neuron_f0,
                                               layer.resonance_frequencies(), layer.prm)
                       for layer in model.readout_layers).numpy()
        bias = model.readout.bias.detach().numpy()
        assert np.abs(leak + bias - want).max() > 0.1 * np.abs(want - bias).max()
        # one bias per class is trained: line 0's
        assert [p.requires_grad for p in model.parameters()].count(True) == 4 + lines - 1
        assert model.readout.offset.shape == (10, H)


def test_one_line_is_the_layout_before(digits):
    """readout_lines 1: the keys, draws, config dict and graph of a network without the option."""
    model = RFCNN(_config(lines=1), seed=5)
    assert "readout_lines" not in model.config.to_dict()
    # the logit scale: 1e4 as before on one line, 3e4 by default on several, as given if given
    assert (model.config.readout_scale, _config(lines=4).readout_scale,
            _config(lines=4, readout_scale=2e4).readout_scale) == (1e4, 3e4, 2e4)
    assert RFCNNConfig.from_dict(_config(lines=4).to_dict()).readout_scale == 3e4
    assert RFCNNConfig.from_dict(model.config.to_dict()).readout_lines == 1
    assert not [k for k in model.state_dict() if k.startswith("readout_more")]
    assert model.readout.offset.shape == (10, model.sizes[1])
    g = networks.get_kind("rfcnn").to_graph(model)
    assert "readout_lines" not in g.graph and "L2.line" in g and "L2.line0" not in g
    assert all(g.in_degree(f"out{j}") == 1 for j in range(10))
    # the same seed draws the conv taps first: a G-line network shares them
    many = RFCNN(_config(lines=4), seed=5)
    torch.testing.assert_close(many.detuning, model.detuning, rtol=0, atol=0)


@pytest.mark.parametrize("arrangement", ARR)
def test_graph_round_trips_and_refuses_a_wrong_readout_layout(arrangement, trained, digits,
                                                               tmp_path):
    model, kind = trained[arrangement, True], networks.get_kind("rfcnn")
    c = model.config
    H, classes = c.sizes[1] // 2, c.sizes[2]
    g = kind.to_graph(model)
    for suffix in ("json", "graphml"):
        path = str(tmp_path / f"g.{suffix}")
        schema.save(g, path)
        back = schema.load(path)
        kind.check_graph(back)
        assert back.graph["readout_lines"] == 2
        X = digits.X_test[:20]
        _, (v1, v2) = model(torch.as_tensor(X), return_all=True)
        s1, s2 = rn.graph_forward(back, X)
        np.testing.assert_allclose(s1, v1.detach().numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(s2, v2.detach().numpy(), rtol=0, atol=1e-12)
    assert sorted(n for n, a in g.nodes(data=True) if a["kind"] == "rf_line" and
                  a["layer"] == 2) == ["L2.line0", "L2.line1"]
    assert set(g.predecessors("L2.line1")) == {f"L1.stno{j}" for j in range(H, 2 * H)}
    # class 3: chain 3 on line 0, chain classes + 3 on line 1, H resonators each
    ends = {path[-1]: line for line, path, _ in rn.layer_chains(g, 2)
            if g.nodes[path[0]]["chain"] % classes == 3}
    assert set(g.predecessors("out3")) == set(ends) and sorted(ends.values()) == \
        ["L2.line0", "L2.line1"]
    assert g.nodes["out3"]["chain_bias"] == pytest.approx(model.readout.bias[3].item(), abs=0)

    def refused(edit, match, validate=True):
        bad = g.copy()
        edit(bad)
        with pytest.raises(GraphError, match=match):
            if validate:
                schema.validate(bad)
            kind.check_graph(bad)

    def move_stno(bad):         # STNO 0 emits on line 1 instead of line 0
        bad.remove_edge("L1.stno0", "L2.line0")
        bad.add_edge("L1.stno0", "L2.line1", link="rf")
    refused(move_stno, "node 'L1.stno0': read-out line 'L2.line\\d' is fed by STNOs")

    def swap_end(bad):          # chain classes + 1 (line 1, class 1) into class 2's read-out
        last = f"L2.c{classes + 1}.r{H - 1}"
        bad.remove_edge(last, "out1")
        bad.add_edge(last, "out2", link="dc")
        bad.remove_edge(f"L2.c{classes + 2}.r{H - 1}", "out2")
        bad.add_edge(f"L2.c{classes + 2}.r{H - 1}", "out1", link="dc")
    refused(swap_end, f"chain {classes + 1} of layer 2 \\(line 1\\) ends in 'out2', expected "
                      f"the read-out 'out1'")

    def relabel(bad):
        bad.nodes[f"L2.c{classes}.r0"]["chain"] = 0
    refused(relabel, f"node 'L2.c{classes}.r0': line 'L2.line1' heads chains {classes}..")

    def rename(bad):
        import networkx as nx
        nx.relabel_nodes(bad, {"L2.line1": "L2.lineX"}, copy=False)
    refused(rename, "layer 2 has no rf line named 'L2.line1'")
    for value, match in ((3, "node 'out0' \\(readout\\): dangling port, 2 chains end in this "
                             "read-out, expected 3"),
                         (1, "node 'out0' \\(readout\\): dangling port, 2 chains end")):
        refused(lambda bad: bad.graph.update(readout_lines=value), match)
    # past the port check, the rfcnn check names the attribute and the lines
    refused(lambda bad: bad.graph.update(readout_lines=3), "readout_lines must be a divisor of "
            "the 32 conv STNOs, got 3", validate=False)
    refused(lambda bad: bad.graph.update(readout_lines=4), "layer 2 has 2 rf lines, expected "
            "readout_lines = 4", validate=False)


def test_config_and_cli_refuse_a_count_that_does_not_divide_the_stnos(capsys):
    with pytest.raises(ValueError, match="readout_lines must be a divisor of the 32 conv STNOs "
                                         "\\(e.g. the 2 filters\\), got 5"):
        _config(lines=5)
    with pytest.raises(ValueError, match="got 0"):
        _config(lines=0)
    from spicegen.cli import main
    assert main(["train", "--model", "rfcnn", "--readout-lines", "7", "--epochs", "1",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "readout_lines must be a divisor of the 144 conv STNOs" in err and \
        len(err.strip().splitlines()) == 1


def test_design_rules_pass_with_four_readout_lines_and_fail_with_one():
    """The default 144-STNO digits network: one line holds 144 channels 1.26 linewidths apart,
    four lines 36 each, ~5.2 apart."""
    kind = networks.get_kind("rfcnn")
    rows = {}
    for lines in (1, 4):
        g = kind.to_graph(RFCNN(RFCNNConfig(readout_lines=lines)))
        rules = kind.design_rules(g)
        rows[lines] = next(r for r in rules.rows if r.layer == 2)
        assert rows[lines].lines == lines
    one, four = rows[1].worst, rows[4].worst
    assert one.channels == 144 and four.channels == 36
    assert one.spacing == pytest.approx(1.26, abs=0.01) and four.spacing == pytest.approx(5.2, abs=0.1)
    assert rows[1].status == "fails" and one.attenuation > 0.1
    assert rows[4].status == "holds" and four.attenuation < 0.05 and four.ripple < one.ripple / 5
    # the crosstalk figures see four lines of 36 channels
    g = kind.to_graph(RFCNN(RFCNNConfig(readout_lines=4)))
    row = ra.crosstalk_report(g)[1]
    assert (row["lines"], row["channels"]) == (4, 36)
    assert row["spacing_linewidths"] == pytest.approx(four.spacing, rel=1e-9)


def test_crosstalk_picks_line_zero_by_default_and_one_line_at_a_time(trained):
    kind = networks.get_kind("rfcnn")
    model = trained["reuse", False]
    g = kind.to_graph(model)
    classes, H = model.sizes[2], model.sizes[1] // 2
    line = kind.crosstalk_line(g, 2)
    assert line["line"] == "L2.line0" and len(line["chains"]) == 4
    np.testing.assert_array_equal(line["freqs"], model.config.readout_channels()[:4])
    other = kind.crosstalk_line(g, 2, chains=[classes, classes + 1])
    assert other["line"] == "L2.line1" and len(other["chains"][0]) == H
    with pytest.raises(ValueError, match="sit on 2 lines"):
        kind.crosstalk_line(g, 2, chains=[0, classes])


@requires_ngspice
@pytest.mark.parametrize("differential", [False, True])
@pytest.mark.parametrize("arrangement", ARR)
def test_series_readout_cosimulates_as_the_surrogate(arrangement, differential, trained,
                                                     digits):
    model = trained[arrangement, differential]
    g = networks.get_kind("rfcnn").to_graph(model)
    X, y = digits.X_test[:6], digits.y_test[:6]
    net = rn.compile_rfcnn(g, X[:2])
    # class 0: line 0's segment from ground, line 1's on top of it, read at the top
    assert "Rc2_0_0 s2_0_0 0 1" in net.text and "Rc2_0_1 c2_0 s2_0_0 1" in net.text
    assert net.outputs == [f"v(c2_{j})" for j in range(10)]
    res = rn.cosim_rfcnn(g, X, y, workers=1, chunk=3)
    assert res.report()["argmax_agreement"] == 1.0
    for s, circ in zip(res.surrogate, res.circuit):
        assert np.abs(s - circ).max() < 20e-6
    _, (_, v2) = model(torch.as_tensor(X), return_all=True)
    np.testing.assert_allclose(res.surrogate[1], v2.detach().numpy(), rtol=0, atol=1e-12)


@requires_ngspice
def test_cli_trains_exports_and_cosimulates_four_readout_lines(tmp_path, capsys):
    import json

    from spicegen.cli import main
    from spintronic.networks.checkpoints import load_checkpoint
    ckpt, graph = str(tmp_path / "r.pt"), str(tmp_path / "r.json")
    assert main(["train", "--model", "rfcnn", "--readout-lines", "4", "--filters", "2",
                 "--stride", "2", "--padding", "1", "--epochs", "1", "--out", ckpt,
                 "--quiet"]) == 0
    assert load_checkpoint(ckpt)[0].config.readout_lines == 4
    capsys.readouterr()
    assert main(["export", "--checkpoint", ckpt, "--out", graph]) == 0
    assert "layer 2 (4 lines, worst L2.line" in capsys.readouterr().out
    assert schema.load(graph).graph["readout_lines"] == 4
    out = tmp_path / "cosim"
    assert main(["cosim", "--graph", graph, "--limit", "6", "--chunk", "3", "--out", str(out),
                 "--quiet"]) == 0
    with open(out / "report.json") as fh:
        rep = json.load(fh)
    assert rep["argmax_agreement"] == 1.0
