"""Contract of every registered network kind: train one epoch on a tiny problem, checkpoint round
trip, device graph with JSON and GraphML round trips, compile, co-simulate 3 samples beside the
surrogate. A new kind that registers itself is held to all of it without a new test."""
import re
import subprocess

import networkx as nx
import numpy as np
import pytest
import torch

from spintronic import networks
from spintronic.graph import schema
from spintronic.networks.checkpoints import load_checkpoint, make_model
from spintronic.training.datasets import make_dataset
from spintronic.training.trainer import TrainConfig, save_checkpoint, train

from .conftest import requires_ngspice

# the tiny shapes each kind trains at; a registered kind missing here fails the completeness test
TINY = {"rf": (16, 4, 3), "mlp": (16, 4, 3), "stno": (4, 5, 3), "ctrnn": (4, 5, 3),
        "rfcnn": (16, 4, 3), "cnn": (16, 4, 3)}  # conv: one 3x3 filter, 2x2 positions
TINY.update({"dw": (16, 3), "dw_meanfield": (16, 3), "dw_perceptron": (16, 3)})  # one layer
TINY.update({"sparse": (16, 4, 3), "sparse-mlp": (16, 4, 3)})  # 10 resonators per chain, 4 hidden


def _config(kind, sizes):
    if kind in ("stno", "ctrnn"):
        from spintronic.training.stno_network import DynamicalConfig
        return DynamicalConfig(sizes=sizes, steps=4, substeps=4)
    if kind.startswith("dw"):
        # many reads: the circuit's and the surrogate's independent draws must pick one class
        from spintronic.networks.dw import DWConfig
        return DWConfig(sizes=sizes, reads=1024)
    return None


@pytest.fixture(scope="module")
def tiny_data(digits):
    """4x4 images (digits pooled 2x2), three classes: fast for every kind."""
    def pool(X):
        return X.reshape(-1, 4, 2, 4, 2).mean((2, 4)).reshape(-1, 16)
    keep_tr, keep_te = digits.y_train < 3, digits.y_test < 3
    return make_dataset("tiny", pool(digits.X_train[keep_tr]), digits.y_train[keep_tr],
                        pool(digits.X_test[keep_te]), digits.y_test[keep_te])


def test_every_kind_has_a_tiny_shape():
    assert set(networks.NETWORKS) == set(TINY)


def test_unknown_kind_names_the_registered_ones():
    with pytest.raises(networks.KindError,
                       match="registered: " + ", ".join(sorted(networks.NETWORKS))):
        networks.get_kind("no-such-kind")


@pytest.mark.parametrize("name", sorted(TINY))
def test_kind_trains_and_checkpoints(name, tiny_data, tmp_path):
    sizes = TINY[name]
    model = make_model(name, sizes, seed=0, config=_config(name, sizes))
    result = train(model, tiny_data, TrainConfig(epochs=1, batch_size=16))
    assert len(result.history) == 1 and np.isfinite(result.history[0]["train_loss"])
    path = str(tmp_path / "m.pt")
    save_checkpoint(model, path, TrainConfig(epochs=1), result, "tiny")
    back, meta = load_checkpoint(path)
    assert meta["kind"] == name and type(back) is type(model)
    x = torch.as_tensor(tiny_data.X_test[:5])
    assert torch.allclose(back(x), model(x))


@pytest.mark.parametrize("name", [n for n in sorted(TINY) if networks.NETWORKS[n].graph_network])
def test_kind_graph_round_trips_and_passes_its_structure_check(name, tiny_data, tmp_path):
    kind = networks.get_kind(name)
    sizes = TINY[name]
    model = make_model(name, sizes, seed=0, config=_config(name, sizes))
    g = kind.to_graph(model)
    kind.check_graph(g)
    assert networks.kind_for_graph(g) is kind
    for suffix in (".json", ".graphml"):
        path = str(tmp_path / f"g{suffix}")
        schema.save(g, path)
        back = schema.load(path)
        kind.check_graph(back)
        assert nx.utils.graphs_equal(nx.DiGraph(back), g) or \
            sorted(back.nodes(data=True)) == sorted(g.nodes(data=True))


@requires_ngspice
@pytest.mark.parametrize("name", [n for n in sorted(TINY) if networks.NETWORKS[n].graph_network])
def test_kind_compiles_and_cosimulates_like_its_surrogate(name, tiny_data, tmp_path):
    kind = networks.get_kind(name)
    sizes = TINY[name]
    model = make_model(name, sizes, seed=0, config=_config(name, sizes))
    train(model, tiny_data, TrainConfig(epochs=2, batch_size=16))
    g = kind.to_graph(model)
    X, y = tiny_data.X_test[:3], tiny_data.y_test[:3]
    opts = networks.CosimOptions(workers=1)
    net = kind.compile(g, X, opts, title="contract")
    assert net.n_samples == 3 and net.text.endswith(".end\n")
    # the deck `export --netlist` writes runs in plain `ngspice -b` and prints every output
    net.write(str(tmp_path / "n.cir"))
    run = subprocess.run(["ngspice", "-b", "n.cir"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    printed = re.findall(r"^(\w+)\s+=\s+\S+", run.stdout, re.M)
    assert len(set(printed)) >= 3 * len(net.outputs)
    result = kind.cosim(g, X, y, opts)
    rep = result.report()
    assert rep["samples"] == 3
    assert rep["argmax_agreement"] == 1.0
    # the graph's surrogate is the trained model's own output
    logits = model(torch.as_tensor(X)).detach().numpy()
    assert (result.surrogate_pred == logits.argmax(1)).all()
