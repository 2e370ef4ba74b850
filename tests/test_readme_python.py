"""The README's "Use from Python" block runs as written and does what it says."""
import os
import re
import warnings

import numpy as np

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")


def readme_block(heading: str = "## Use from Python") -> str:
    text = open(README, encoding="utf-8").read()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block under {heading!r} in README.md"
    return match.group(1)


def test_readme_python_block_runs(tmp_path, monkeypatch, capsys):
    import spicegen

    monkeypatch.chdir(tmp_path)       # it writes rf.pt, rf.graph.json and cosim/ where it runs
    scope: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(readme_block(), "README.md", "exec"), scope)
    out = capsys.readouterr().out
    # the design rules hold for this network at its default read-out corner: no warning, as the
    # README says, and every layer's row is there
    rules = [str(w.message) for w in caught if w.category is spicegen.DesignRuleWarning]
    assert rules == scope["cosim"].design_rules.warnings == []
    assert [r.status for r in scope["cosim"].design_rules.rows] == ["holds", "holds"]

    # what it prints: the surrogate's accuracy and the co-simulation report
    acc = re.search(r"surrogate test accuracy ([\d.]+) %", out)
    agree = re.search(r"argmax agreement\s+([\d.]+) %", out)
    assert acc and agree, out
    assert 0 <= float(acc.group(1)) <= 100
    report = scope["report"]
    assert 0.0 <= report["argmax_agreement"] <= 1.0
    assert float(agree.group(1)) == round(100 * report["argmax_agreement"], 2)
    assert report["samples"] == 10 and len(report["layers"]) == 2
    # a tiny rf network after 2 epochs beats chance, and ngspice follows it
    assert report["surrogate_accuracy"] > 0.2 and report["argmax_agreement"] >= 0.8

    # what it writes reads back into the same network and graph
    assert all(os.path.isfile(p) and p.endswith(".png") for p in scope["figures"])
    model, meta = spicegen.load_checkpoint("rf.pt")
    assert meta["kind"] == "rf" and meta["network"]["sizes"] == [64, 16, 10]
    X = scope["data"].X_test[:10]
    g = spicegen.load_graph("rf.graph.json")
    assert sorted(g.nodes) == sorted(scope["graph"].nodes)
    import torch
    with torch.no_grad():
        again = model(torch.as_tensor(X)).argmax(1).numpy()
        first = scope["model"](torch.as_tensor(X)).argmax(1).numpy()
    np.testing.assert_array_equal(again, first)
