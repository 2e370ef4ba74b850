"""Provenance: data sources recorded resolved and hashed, carried by checkpoints and graphs, used
by export / cosim / sneak from any folder (never a silent default), and report.json's record."""
import json
import os
import time

import numpy as np
import pytest

from spintronic.graph import schema
from spintronic.training import data_source
from spintronic.training.datasets import DatasetError, load, load_source

ROOT = os.path.dirname(os.path.dirname(__file__))
EXAMPLE = os.path.join(ROOT, "netlists", "examples", "digits_rf.pt")


@pytest.fixture(scope="module")
def rf_graph():
    from spintronic import networks
    from spintronic.networks.checkpoints import load_checkpoint
    model, meta = load_checkpoint(EXAMPLE)
    return networks.get_kind(meta["kind"]).to_graph(model)


def _npz(path, seed=1, n=400):
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    r = np.random.default_rng(seed).permutation(len(y))[:n]
    X, y = X[r] / 16, y[r]
    k = n * 3 // 4
    np.savez(path, X_train=X[:k], Y_train=y[:k], X_test=X[k:], Y_test=y[k:])


def test_a_source_records_the_resolved_path_split_scale_and_digest(tmp_path, monkeypatch):
    _npz(tmp_path / "mine.npz")
    monkeypatch.chdir(tmp_path)
    src = load("mine.npz", train_limit=200).source
    assert src["spec"] == str(tmp_path / "mine.npz") and src["given"] == "mine.npz"
    assert src["train_limit"] == 200 and src["val_fraction"] == 0.1
    assert src["scale"] == pytest.approx(1.0) and "X_test" in src["test_split"]
    import hashlib
    assert src["sha256"] == hashlib.sha256((tmp_path / "mine.npz").read_bytes()).hexdigest()
    digits = load("digits").source
    assert digits["scale"] == 16.0 and len(digits["sha256"]) == 64
    # from another folder, the recorded source still names the file
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    again = load_source(src)
    assert again.source["sha256"] == src["sha256"] and len(again.y_train) + len(again.y_val) == 200


def test_a_changed_file_is_a_warning_and_an_old_relative_spec_is_found_beside(tmp_path,
                                                                            monkeypatch):
    _npz(tmp_path / "mine.npz")
    src = load(str(tmp_path / "mine.npz")).source
    _npz(tmp_path / "mine.npz", seed=2)            # the same name, other data
    with pytest.warns(UserWarning, match="changed since it was recorded"):
        load_source(src)
    monkeypatch.chdir("/")
    old = {"spec": "mine.npz", "seed": 0}           # as checkpoints recorded it before
    with pytest.raises(DatasetError, match="no such file"):
        load_source(old)
    assert load_source(old, base=str(tmp_path)).source["spec"] == str(tmp_path / "mine.npz")
    with pytest.raises(DatasetError, match="sha256"):
        load_source({"spec": "digits", "sha256": 5})


def test_describe_and_differs():
    a = load("digits").source
    assert data_source.describe(a) == "digits"
    assert data_source.differs(a, dict(a)) == []
    assert data_source.differs(a, {**a, "seed": 3}) == ["seed"]
    assert data_source.differs(a, {"spec": "digits"}) == []     # defaults, no digest: the same
    assert "pool 2" in data_source.describe({"spec": "mnist:/x", "pool": 2, "binarise": True})


def test_the_graph_carries_its_data_source_through_json_and_graphml(tmp_path, rf_graph):
    g = rf_graph.copy()
    src = load("digits").source
    schema.set_data_source(g, src)
    for name in ("g.json", "g.graphml"):
        schema.save(g, str(tmp_path / name))
        assert schema.data_source(schema.load(str(tmp_path / name))) == src
    schema.set_data_source(g, None)
    assert schema.data_source(g) is None
    for bad in ("not json", json.dumps({"pool": 2}), "x" * 9000, 3):
        g.graph["data_source"] = bad
        with pytest.raises(schema.GraphError, match="data_source"):
            schema.validate(g)
