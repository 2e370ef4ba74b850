"""Sparse RF networks (kind sparse) and their equal-parameter baselines (kind sparse-mlp): chains of
K resonators, migration across channels, K weights per output, the topology report, bad input."""
import collections
import math

import numpy as np
import pytest
import torch

from spintronic import networks
from spintronic.graph import schema
from spintronic.graph.schema import GraphError
from spintronic.networks.checkpoints import make_model
from spintronic.networks.sparse import SparseMLPConfig, SparseRFConfig
from spintronic.training.datasets import make_dataset
from spintronic.training.trainer import TrainConfig, train
from spicegen.topology import topology

from .conftest import requires_ngspice

SPARSE = networks.get_kind("sparse")


def _chain_lengths(g) -> collections.Counter:
    c = collections.Counter()
    for _, a in g.nodes(data=True):
        if a["kind"] == "resonator":
            c[(a["layer"], a["chain"])] += 1
    return c


@pytest.fixture(scope="module")
def tiny(digits):
    """Digits pooled to 4x4, classes 0-2."""
    def pool(X):
        return X.reshape(-1, 4, 2, 4, 2).mean((2, 4)).reshape(-1, 16)
    tr, te = digits.y_train < 3, digits.y_test < 3
    return make_dataset("tiny", pool(digits.X_train[tr]), digits.y_train[tr],
                        pool(digits.X_test[te]), digits.y_test[te])


@pytest.mark.parametrize("sizes, k, want", [((16, 3), 5, {1: 5}), ((16, 4, 3), 10, {1: 10, 2: 4})])
def test_chains_hold_k_resonators(sizes, k, want):
    net = make_model("sparse", sizes, 0, SparseRFConfig(sizes=sizes, per_chain=k))
    assert tuple(net.layers[0].resonance_frequencies().shape) == (sizes[1], k)
    g = SPARSE.to_graph(net)
    SPARSE.check_graph(g)
    assert g.graph["per_chain"] == k and g.graph["network"] == "rf"
    lengths = _chain_lengths(g)
    assert set(lengths) == {(l, j) for l in want for j in range(sizes[l])}
    assert all(lengths[(l, j)] == want[l] for l, j in lengths)
    # every resonator starts on a channel of its own within its chain, and nearest to it
    top = topology(g)
    assert (top.nearest == top.initial).all()
    for j in range(sizes[1]):
        assert len(set(top.initial[top.chain == j])) == min(k, sizes[0])


def test_sparse_graph_is_routed_to_the_sparse_kind_and_rf_graphs_to_rf():
    sparse = SPARSE.to_graph(make_model("sparse", (16, 3), 0))
    rf = networks.get_kind("rf").to_graph(make_model("rf", (16, 3), 0))
    assert networks.kind_for_graph(sparse) is SPARSE
    assert networks.kind_for_graph(rf) is networks.get_kind("rf")


def test_resonators_migrate_to_the_informative_input():
    """Class 1 iff input 9 is high (the other inputs are weak noise); the one resonator of each
    chain starts on channel 1, channels one linewidth apart, so it sees input 9 only through its
    tail: the task is learnt well only by moving it across channels, next to channel 9."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    X = 0.2 * rng.uniform(0, 1, (600, 12))
    X[:, 9] += 0.8 * y
    data = make_dataset("toy", X[:500], y[:500], X[500:], y[500:])
    config = SparseRFConfig(sizes=(12, 2), per_chain=1, spacing=1.0)

    def trained(lr):
        net = make_model("sparse", (12, 2), 0, config)
        with torch.no_grad():
            net.layers[0].position_lw.fill_(float(net.bands[0].linewidths(1.0)))
            net.layers[0].initial_channel.fill_(1)
        return net, train(net, data, TrainConfig(epochs=10, lr=lr)).test_accuracy

    _, before = trained(1e-9)              # biases calibrated, resonators where they started
    net, after = trained(0.2)
    top = topology(SPARSE.to_graph(net))
    assert top.counts()["migrated"] >= 1
    assert set(top.nearest.tolist()) & {8, 9, 10}
    assert after > 0.9 and after > before + 0.1


def test_trained_input_frequencies_move_only_when_asked(tiny):
    moved = {}
    for flag in (False, True):
        config = SparseRFConfig(sizes=(16, 3), per_chain=4, train_input_freqs=flag)
        net = make_model("sparse", (16, 3), 0, config)
        f0 = net.input_frequencies().detach().clone()
        train(net, tiny, TrainConfig(epochs=2))
        moved[flag] = float((net.input_frequencies().detach() - f0).abs().max() / f0.min())
    assert moved[False] == 0.0 and moved[True] > 1e-4


@pytest.mark.parametrize("n", [16, 64, 784])
def test_default_band_spans_fixed_linewidths_and_positions_move_in_linewidths(n):
    config = SparseRFConfig(sizes=(n, 3), per_chain=4)
    assert config.line_spacing() == pytest.approx(config.span / (n - 1))
    assert SparseRFConfig(sizes=(n, 3), per_chain=4, spacing=0.2).line_spacing() == 0.2
    f = config.grid_for(n).frequencies           # the inputs spread over `span` linewidths
    assert np.log(f[-1] / f[0]) / config.resonator.alpha == pytest.approx(config.span, rel=1e-2)
    net = make_model("sparse", (n, 3), 0, config)
    layer = net.layers[0]
    with torch.no_grad():
        layer.position_lw.fill_(2.0)
        f0 = layer.resonance_frequencies().clone()
        layer.position_lw.fill_(3.0)            # one unit: one linewidth alpha f, any n
        f1 = layer.resonance_frequencies()
    np.testing.assert_allclose((f1 / f0).numpy(), math.exp(config.resonator.alpha), rtol=1e-12)


def test_positions_pushed_out_of_the_band_are_projected_back():
    config = SparseRFConfig(sizes=(16, 3), per_chain=2, train_input_freqs=True)
    net = make_model("sparse", (16, 3), 0, config)
    band = net.bands[0]
    with torch.no_grad():
        net.layers[0].position_lw[0, 0] = band.hi + 50.0
        net.layers[0].position_lw[1, 1] = band.lo - 50.0
        net.input_shift_lw[3] = 1e3
    f_r = net.layers[0].resonance_frequencies().detach()
    f_in = net.input_frequencies().detach()
    u = net.layers[0].position_lw.detach()
    assert u[0, 0] == band.hi and u[1, 1] == band.lo
    assert float(band.linewidths(3) + net.input_shift_lw[3].detach()) == pytest.approx(band.hi)
    top = float(band.frequency(torch.tensor(band.hi)))
    assert float(f_r[0, 0]) == pytest.approx(top) and float(f_in[3]) == pytest.approx(top)
    # one linewidth beyond the top channel
    assert top / net.grid_in[-1].item() == pytest.approx(math.exp(config.resonator.alpha))


@pytest.mark.parametrize("baseline", ["random", "prune", "set", "dense"])
def test_baselines_keep_k_weights_per_output(baseline, tiny):
    k = 3
    steps = 6 * math.ceil(len(tiny.y_train) / 16)
    config = SparseMLPConfig(sizes=(16, 4, 3), per_chain=k, baseline=baseline,
                             schedule_steps=steps)
    net = make_model("sparse-mlp", (16, 4, 3), 0, config)
    masks0 = [net.mask(l).clone() for l in range(2)]
    result = train(net, tiny, TrainConfig(epochs=6, batch_size=16))
    assert result.test_accuracy > 0.5
    net.eval()
    for l, w in enumerate(net.effective_weights()):
        per_row = (w != 0).sum(1)
        want = w.shape[1] if baseline == "dense" else k
        assert (per_row == want).all(), (l, per_row)
    if baseline == "set":          # rewired while training
        assert any((net.mask(l) != masks0[l]).any() for l in range(2))
    if baseline == "random":       # a fixed mask
        assert all((net.mask(l) == masks0[l]).all() for l in range(2))


def test_pruning_happens_half_way_through_the_schedule():
    torch.manual_seed(0)
    config = SparseMLPConfig(sizes=(16, 3), per_chain=2, baseline="prune", schedule_steps=10)
    net = make_model("sparse-mlp", (16, 3), 0, config)
    net.train()
    x = torch.rand(4, 16)
    for step in range(1, 7):
        net(x)
        assert bool(net.pruned) == (step >= 5)
        assert int((net.mask(0) != 0).sum()) == (6 if step >= 5 else 48)
    assert ((net.linears[0].weight != 0).sum(1) == 2).all()


def _graph_with_positions(positions, initial, spacing=3.0):
    """A 6-input, 2-class sparse graph with resonators placed by hand (channel units)."""
    config = SparseRFConfig(sizes=(6, 2), per_chain=len(positions[0]), spacing=spacing)
    net = make_model("sparse", (6, 2), 0, config)
    with torch.no_grad():
        net.layers[0].position_lw.copy_(net.bands[0].linewidths(positions))
        net.layers[0].initial_channel.copy_(torch.tensor(initial))
    return SPARSE.to_graph(net)


def test_topology_report_counts():
    # channels 3 linewidths apart: +0.2 channel is 0.6 linewidth (serves), +0.5 channel 1.5
    # linewidths from both neighbours (none)
    g = _graph_with_positions([[2.2, 4.5, 5.0], [0.0, 2.1, 3.8]], [[2, 1, 5], [0, 4, 4]])
    top = topology(g)
    assert top.serves.tolist() == [2, -1, 5, 0, 2, 4]
    c = top.counts()
    assert (c["resonators"], c["serving"], c["between_channels"]) == (6, 5, 1)
    assert (c["inputs_served"], c["doubled"], c["migrated"]) == (4, 0, 2)   # 4.5 -> 4 or 5; 2.1
    # input-side: resonators within a linewidth of each input (2.2 and 2.1 both reach input 2)
    assert top.reach.tolist() == [1, 0, 2, 0, 1, 1] and c["inputs_reached"] == 4
    assert "4 of 6 inputs lie within a linewidth of a resonator" in top.summary()
    assert "5 of 6 resonators serve" in top.summary()
    # a chain serving one input twice
    c2 = topology(_graph_with_positions([[1.0, 1.1], [2.0, 3.0]], [[1, 2], [2, 3]])).counts()
    assert c2["doubled"] == 1 and c2["migrated"] == 1


def test_export_prints_the_topology_and_writes_the_plot(tmp_path, tiny):
    from spicegen.cli import main
    from spintronic.training.trainer import save_checkpoint

    net = make_model("sparse", (16, 3), 0, SparseRFConfig(sizes=(16, 3), per_chain=4))
    save_checkpoint(net, str(tmp_path / "n.pt"), dataset="digits")
    assert main(["export", "--checkpoint", str(tmp_path / "n.pt"),
                 "--out", str(tmp_path / "n.graph.json")]) == 0
    png = tmp_path / "n.graph.topology.png"
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("kwargs, match", [
    (dict(per_chain=0), "--per-chain 0 must be between 1 and the number of inputs, 16"),
    (dict(per_chain=17), "--per-chain 17 must be between 1 and the number of inputs, 16"),
    (dict(per_chain=2.5), "--per-chain 2.5"),
    (dict(spacing=40.0), r"cannot hold 16 channels 40 linewidths apart \(alpha 0.01\)"),
    (dict(spacing=-1.0), "--spacing must be > 0"),
    (dict(span=0.0), "--span must be > 0"),
    (dict(span=1e3), r"cannot hold 16 channels 66.6667 linewidths apart"),
    (dict(grid="linear"), "geometrically"),
])
def test_bad_sparse_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SparseRFConfig(**{"sizes": (16, 3), **kwargs})


def test_bad_baseline_configs_are_refused():
    with pytest.raises(ValueError, match="--per-chain 20 must be between 1 and the number of "
                                         "inputs, 16"):
        SparseMLPConfig(sizes=(16, 3), per_chain=20)
    with pytest.raises(ValueError, match="--baseline 'rigl'"):
        SparseMLPConfig(sizes=(16, 3), per_chain=2, baseline="rigl")


def test_cli_refuses_a_band_too_narrow(capsys):
    from spicegen.cli import main

    assert main(["train", "--model", "sparse", "--per-chain", "4", "--spacing", "5",
                 "--epochs", "1", "--out", "/nonexistent/x.pt"]) == 2
    err = capsys.readouterr().err
    assert "cannot hold 64 channels 5 linewidths apart" in err and "--f-max" in err


def test_graph_whose_chains_differ_from_per_chain_is_refused():
    g = SPARSE.to_graph(make_model("sparse", (16, 3), 0, SparseRFConfig(sizes=(16, 3),
                                                                         per_chain=4)))
    g.graph["per_chain"] = 3
    with pytest.raises(GraphError, match="chain 0 of layer 1 holds 4 resonators, but the sparse "
                                         "graph's per_chain 3 asks for 3"):
        SPARSE.check_graph(g)
    for bad in (0, 17, "4", True):
        g.graph["per_chain"] = bad
        with pytest.raises(GraphError, match="per_chain must be an integer from 1"):
            SPARSE.check_graph(g)
    # a shorter chain: its last resonator removed and the chain closed up again
    g.graph["per_chain"] = 4
    end = "L1.c1.r3"
    (prev,) = g.predecessors(end)
    (nxt,) = g.successors(end)
    g.remove_node(end)
    g.add_edge(prev, nxt, link="dc")
    schema.validate(g)
    with pytest.raises(GraphError, match="chain 1 of layer 1 holds 3 resonators"):
        SPARSE.check_graph(g)


@requires_ngspice
def test_tiny_sparse_network_cosimulates_like_its_surrogate(tiny):
    net = make_model("sparse", (16, 3), 0, SparseRFConfig(sizes=(16, 3), per_chain=3,
                                                          train_input_freqs=True))
    train(net, tiny, TrainConfig(epochs=4))
    g = SPARSE.to_graph(net)
    X, y = tiny.X_test[:30], tiny.y_test[:30]
    result = SPARSE.cosim(g, X, y, networks.CosimOptions(workers=1))
    rep = result.report()
    assert rep["argmax_agreement"] == 1.0
    assert (result.surrogate_pred == net(torch.as_tensor(X)).argmax(1).numpy()).all()
    assert rep["layers"][0]["max_error_V"] < 1e-6
