"""The dw benchmark's figures (spicegen.dw_plots, benchmarks/dw_reads.py --replot) from a tiny
result table: the plotted data are the table's, not only files on disk."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from spicegen import dw_plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _table() -> dict:
    rng = np.random.default_rng(3)
    counts = {str(n): dw_plots.p_histogram(rng.beta(a, a, size=200))[0]
              for n, a in ((1, 0.2), (8, 2.0))}
    return {"data": "tiny", "epochs": 3, "reads": [1, 8], "perceptron": [0.90, 0.92],
            "meanfield_deterministic": [0.86, 0.88],
            "dw": {"1": [0.70, 0.74], "8": [0.85]},          # ragged: a partial table
            "meanfield_reads": {"1": [0.60, 0.62], "8": [0.84, 0.86]},
            "p_edges": dw_plots.p_histogram([])[1], "p_hist": counts,
            "circuit": dw_plots.circuit_points([
                {"dw": {"reads": 8, "circuit": {"values": [0.80, 0.84]},
                        "surrogate": {"values": [0.81, 0.83, 0.79]}}},
                {"dw": {"reads": 8, "circuit": {"values": [0.82]}}}])}


def _container(ax, label):
    hits = [c for c in ax.containers if c.get_label() == label]
    assert len(hits) == 1, [c.get_label() for c in ax.containers]
    return hits[0]


def test_reads_figure_plots_the_table():
    table = _table()
    fig = dw_plots.reads_figure(table)
    ax = fig.axes[0]
    dw = _container(ax, "dw surrogate (rule)").lines[0]
    assert list(dw.get_xdata()) == [1, 8]
    assert np.allclose(dw.get_ydata(), [72.0, 85.0])
    mf = _container(ax, "mean field, N reads").lines[0]
    assert np.allclose(mf.get_ydata(), [61.0, 85.0])
    circ = _container(ax, "circuit (ngspice), mean over repeats").lines[0]
    assert list(circ.get_xdata()) == [8] and np.allclose(circ.get_ydata(), [82.0])  # 3 runs pooled
    lines = {ln.get_label(): ln for ln in ax.lines}
    own = lines["its surrogate (same network and images)"]    # only the report that had one
    assert np.allclose(own.get_ydata(), [81.0]) and own.get_xdata()[0] > 8
    assert np.allclose(lines["deterministic perceptron"].get_ydata(), 91.0)
    assert np.allclose(lines["mean field, deterministic"].get_ydata(), 87.0)
    assert ax.get_xscale() == "log"


def test_p_figure_one_histogram_per_n():
    table = _table()
    fig = dw_plots.p_figure(table)
    assert [a.get_title() for a in fig.axes] == ["N = 1", "N = 8"]
    for ax, n in zip(fig.axes, ("1", "8")):
        (stairs,) = ax.patches
        assert np.array_equal(stairs.get_data().values, table["p_hist"][n])
    # the N = 1 table was drawn bimodal: its end bins outweigh N = 8's
    ends = lambda c: c[0] + c[-1]  # noqa: E731
    assert ends(table["p_hist"]["1"]) > ends(table["p_hist"]["8"])


def test_plot_reads_writes_pngs_atomically(tmp_path):
    paths = dw_plots.plot_reads(_table(), str(tmp_path / "figs"))
    assert [os.path.basename(p) for p in paths] == ["dw_reads.png", "dw_p_hist.png"]
    for p in paths:
        with open(p, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path / "figs")) == ["dw_p_hist.png", "dw_reads.png"]  # no temps


def test_bad_tables_are_refused():
    table = _table()
    del table["dw"]["8"]
    with pytest.raises(ValueError, match=r"'dw' has no entry for N = \[8\]"):
        dw_plots.reads_figure(table)
    table = _table()
    table["p_hist"]["8"] = [1, 2, 3]
    with pytest.raises(ValueError, match="N = 8 has 3 p counts for 20 bins"):
        dw_plots.p_figure(table)
    with pytest.raises(ValueError, match="not a dw co-simulation report"):
        dw_plots.circuit_points([{"accuracy": 0.9}])


def test_benchmark_replot_from_saved_table(tmp_path):
    table = _table()
    table.pop("circuit")
    saved = tmp_path / "table.json"
    saved.write_text(json.dumps(table))
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"dw": {"reads": 1, "circuit": {"values": [0.7, 0.72]}}}))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "dw_reads.py"),
                          "--replot", str(saved), "--circuit", str(report),
                          "--plots", str(tmp_path / "figs")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(tmp_path / "figs")) == ["dw_p_hist.png", "dw_reads.png"]
    assert "dw_reads.png" in out.stdout


def _run(seeds, reads, base=0.0):
    """A table of one run over ``seeds`` and ``reads`` with values that name their seed and N."""
    t = _table()
    t.pop("circuit")
    t.update(seeds=seeds, reads=reads, perceptron=[0.9 + s / 100 for s in seeds],
             meanfield_deterministic=[0.8 + s / 100 for s in seeds],
             dw={str(n): [base + n / 100 + s / 1000 for s in seeds] for n in reads},
             meanfield_reads={str(n): [0.5 + s / 1000 for s in seeds] for n in reads},
             p_hist={str(n): [1] * 20 for n in reads})
    return t


def test_merge_tables_pools_seeds_and_reads():
    merged = dw_plots.merge_tables([_run([0], [1, 8]), _run([1, 2], [1]), _run([1, 2], [8])])
    assert merged["seeds"] == [0, 1, 2] and merged["reads"] == [1, 8]
    assert merged["perceptron"] == pytest.approx([0.90, 0.91, 0.92])    # seeds 1, 2 once each
    assert merged["dw"]["8"] == pytest.approx([0.080, 0.081, 0.082])
    assert merged["p_hist"]["1"] == [2] * 20 and not merged["partial"]   # two runs at N = 1
    assert merged["bimodal"]["1"] == pytest.approx(0.2)                  # 4 of 20 equal bins
    partial = dw_plots.merge_tables([_run([0], [1, 8]), _run([1], [1])])
    assert partial["partial"] and partial["dw"]["8"] == pytest.approx([0.080])


def test_merge_tables_refuses_conflicts():
    with pytest.raises(ValueError, match="N = 1, seed 0 measured twice"):
        dw_plots.merge_tables([_run([0], [1]), _run([0], [1])])
    with pytest.raises(ValueError, match="seed 0 perceptron is"):
        other = _run([0], [8])
        other["perceptron"] = [0.5]
        dw_plots.merge_tables([_run([0], [1]), other])
    with pytest.raises(ValueError, match="differ in 'epochs'"):
        other = _run([1], [1])
        other["epochs"] = 7
        dw_plots.merge_tables([_run([0], [1]), other])
