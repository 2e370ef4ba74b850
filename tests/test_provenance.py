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
    moved = {**a, "spec": "/elsewhere/copy.npz"}
    assert data_source.differs(a, moved) == []                   # same bytes elsewhere
    assert data_source.differs(a, {**moved, "sha256": "0" * 64}) == ["spec", "sha256"]
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


def _idx(path, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    path.write_bytes(header + arr.tobytes())


def _digits_as_idx(folder):
    """The built-in digits as an 8 x 8 IDX folder (what mnist:FOLDER reads)."""
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    img = np.round(X.reshape(-1, 8, 8) * 255 / 16)
    for prefix, part in (("train", slice(0, 1400)), ("t10k", slice(1400, None))):
        _idx(folder / f"{prefix}-images-idx3-ubyte", img[part])
        _idx(folder / f"{prefix}-labels-idx1-ubyte", y[part])


def _cli(argv, capsys):
    from spicegen.cli import main
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_export_from_another_folder_and_cosim_on_the_recorded_source(tmp_path, monkeypatch,
                                                                     capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _npz(a / "mine.npz", n=600)
    monkeypatch.chdir(a)
    rc, _, err = _cli(["train", "--data", "mine.npz", "--sizes", "64,4,10", "--epochs", "1",
                       "--out", "my.pt", "--quiet"], capsys)
    assert rc == 0, err
    monkeypatch.chdir(b)
    rc, out, err = _cli(["export", "--checkpoint", "../a/my.pt", "--out", "g.json",
                         "--netlist", "n.cir", "--samples", "2"], capsys)
    assert rc == 0, err
    assert f"data: {a / 'mine.npz'} (recorded in checkpoint ../a/my.pt)" in out
    assert schema.data_source(schema.load("g.json"))["spec"] == str(a / "mine.npz")
    started = time.time()
    rc, out, err = _cli(["cosim", "--graph", "g.json", "--limit", "3", "--out", "co", "--quiet"],
                        capsys)
    assert rc == 0, err
    rep = json.load(open(b / "co" / "report.json"))
    prov = rep["provenance"]
    assert prov["data"]["spec"] == str(a / "mine.npz") and len(prov["data"]["sha256"]) == 64
    import hashlib
    assert prov["graph"] == {"path": str(b / "g.json"),
                             "sha256": hashlib.sha256((b / "g.json").read_bytes()).hexdigest()}
    s = prov["settings"]
    assert (s["fidelity"], s["window"], s["backend"], s["executor"], s["workers"], s["samples"]) \
        == ("envelope", 200e-9, "subprocess", "threads", 2, 3)
    assert "chunk" in s and "timeout" in s and "argv" not in s
    assert prov["command"] == ["spicegen", "cosim", "--graph", "g.json", "--limit", "3", "--out",
                               "co", "--quiet"]
    assert prov["cwd"] == str(b)
    assert abs(time.mktime(time.strptime(prov["started"][:19], "%Y-%m-%dT%H:%M:%S"))
               - time.mktime(time.gmtime(started))) < 120
    assert 0 < prov["seconds"] < 600
    v = prov["versions"]
    assert v["ngspice"].startswith("ngspice-") and v["torch"] and v["numpy"] and v["python"]
    assert v["spintronic-spice"]["version"]
    # --data that differs from the recorded source: a warning naming what differs
    rc, out, err = _cli(["cosim", "--graph", "g.json", "--data", "digits", "--limit", "2",
                         "--out", "co2", "--quiet"], capsys)
    assert rc == 0 and "warning: --data differs from the source graph g.json records" in err
    assert "spec" in err.split("records")[1]
    # a graph that records nothing: exit 2, one line asking for --data, nothing written
    g = schema.load("g.json")
    schema.set_data_source(g, None)
    schema.save(g, "bare.json")
    rc, out, err = _cli(["cosim", "--graph", "bare.json", "--limit", "2", "--out", "co3"], capsys)
    assert rc == 2 and err.strip().splitlines() == [
        "error: graph bare.json records no data source: pass --data (the data set the network "
        "was trained on)"]
    assert not (b / "co3").exists()


def test_cosim_of_a_pooled_idx_graph_uses_its_recorded_pooling(tmp_path, monkeypatch, capsys):
    """The recorded source carries pool/binarise: a pooled graph co-simulates without --data,
    and with --data naming the same folder (the recorded pooling applies)."""
    folder = tmp_path / "idx"
    folder.mkdir()
    _digits_as_idx(folder)
    monkeypatch.chdir(tmp_path)
    rc, _, err = _cli(["train", "--data", "mnist:idx", "--pool", "2", "--sizes", "16,4,10",
                       "--epochs", "1", "--out", "p.pt", "--quiet"], capsys)
    assert rc == 0, err
    rc, _, err = _cli(["export", "--checkpoint", "p.pt", "--out", "p.json"], capsys)
    assert rc == 0, err
    src = schema.data_source(schema.load("p.json"))
    assert (src["spec"], src["pool"]) == (f"mnist:{folder}", 2)
    monkeypatch.chdir("/")
    graph = str(tmp_path / "p.json")
    for extra in ([], ["--data", f"mnist:{folder}"]):
        rc, out, err = _cli(["cosim", "--graph", graph, "--limit", "3", "--out",
                             str(tmp_path / f"co{len(extra)}"), "--quiet"] + extra, capsys)
        assert rc == 0, err
        assert "(pool 2)" in out and "warning" not in err
        rep = json.load(open(tmp_path / f"co{len(extra)}" / "report.json"))
        assert rep["provenance"]["data"]["pool"] == 2


def test_provenance_outside_a_checkout_and_without_the_back_end(monkeypatch, tmp_path):
    from spicegen import provenance
    provenance.toolkit_version.cache_clear()
    monkeypatch.setattr(provenance.os.path, "abspath", lambda p: str(tmp_path / "x" / "y.py"))
    try:
        v = provenance.toolkit_version()
        assert v["git_commit"] is None and v["git_dirty"] is None
    finally:
        provenance.toolkit_version.cache_clear()
    assert provenance.versions("no-such-backend")["ngspice"].startswith("unavailable")
    assert "ngspice" not in provenance.versions(None)
    rec = provenance.record(started=time.time(), graph=str(tmp_path / "missing.json"),
                            backend=None, argv=["x"])
    assert rec["graph"]["sha256"] is None and rec["command"] == ["x"]


def test_confusion_plots_have_a_colour_bar(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from spicegen import cosim_plots
    figs = []
    monkeypatch.setattr(cosim_plots.plt, "close", figs.append)
    y = np.arange(6) % 3
    s = np.eye(3)[y] + 0.1
    res = SimpleNamespace(unit="V", surrogate=[s], circuit=[s], y=y, surrogate_pred=y,
                          circuit_pred=y, waveforms=None,
                          report=lambda: {"argmax_agreement": 1.0, "surrogate_accuracy": 1.0,
                                          "circuit_accuracy": 1.0})
    cosim_plots.plot_cosim(res, str(tmp_path))
    confusion = figs[1]
    bars = [ax for ax in confusion.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 2 and all(ax.get_ylabel() == "test samples" for ax in bars)


def test_twins_report_records_each_check_and_the_simulator(tmp_path, capsys):
    rc, out, err = _cli(["twins", "--only", "resonator_envelope", "--backend", "shared",
                         "--out", str(tmp_path), "--quiet"], capsys)
    assert rc == 0, err
    rep = json.load(open(tmp_path / "report.json"))
    assert rep["checks"] and all(c["twin"] == "resonator_envelope" for c in rep["checks"])
    assert all(c["passed"] == (c["error"] <= c["tolerance"]) for c in rep["checks"])
    prov = rep["provenance"]
    assert prov["settings"]["backend"] == "shared" and prov["command"][:2] == ["spicegen", "twins"]
    assert prov["versions"]["ngspice"].startswith("ngspice-") and "shared library" in \
        prov["versions"]["ngspice"]
