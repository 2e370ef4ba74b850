"""Figures of the dw benchmark (issue 13): accuracy against the number of reads N, and the trained p
per N, drawn from a JSON-ready result table (so a saved table can be re-plotted without retraining).

The table (written by ``benchmarks/dw_reads.py --save``), accuracies as fractions, N as string keys:

    {"data": "digits", "reads": [1, 8], "perceptron": [per seed], "meanfield_deterministic": [...],
     "dw": {"1": [per seed], ...}, "meanfield_reads": {"1": [per seed], ...},
     "p_edges": [21 bin edges], "p_hist": {"1": [20 counts, all seeds], ...},
     "circuit": {"8": {"mean": .., "sd": .., "runs": ..}, ...}}      # optional: spicegen cosim

The circuit vs surrogate accuracy distributions of one co-simulation are drawn by
``DWCosimResult.extra_plots`` (``dw_accuracy.png``), not here.
"""
from __future__ import annotations

import os

import numpy as np

P_BINS = 20


def p_histogram(p: np.ndarray) -> tuple[list[int], list[float]]:
    """Counts and edges of trained p over [0, 1] in the table's bins."""
    counts, edges = np.histogram(np.asarray(p, dtype=float).ravel(), bins=P_BINS, range=(0.0, 1.0))
    return counts.tolist(), edges.tolist()


def _series(table: dict, key: str, reads: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd over seeds per N, in percent (a partial table may hold fewer seeds at some N);
    refuses a table that lacks an N it lists."""
    rows = table.get(key, {})
    missing = [n for n in reads if not rows.get(str(n))]
    if missing:
        raise ValueError(f"dw result table: {key!r} has no entry for N = {missing}")
    values = [100 * np.asarray(rows[str(n)], dtype=float) for n in reads]
    return np.array([v.mean() for v in values]), np.array([v.std() for v in values])


def bimodal_fraction(counts, edges) -> float:
    """Share of the synapses with p below 0.1 or above 0.9, from histogram counts (the bins must
    have edges at 0.1 and 0.9, as the table's do)."""
    counts, edges = np.asarray(counts, dtype=float), np.asarray(edges, dtype=float)
    outer = (edges[1:] <= 0.1 + 1e-9) | (edges[:-1] >= 0.9 - 1e-9)
    return float(counts[outer].sum() / counts.sum())


def reads_figure(table: dict):
    """Accuracy against N: dw and mean field with N reads (mean +- sd over seeds), the circuit's
    mean accuracy where co-simulated (+- sd over repeats), both baselines as horizontal lines."""
    from .plotting import pyplot
    plt = pyplot()
    reads = [int(n) for n in table["reads"]]
    if not reads:
        raise ValueError("dw result table: no N in 'reads'")
    fig, ax = plt.subplots(figsize=(6, 4))
    n = np.array(reads)
    for label, key, style in (("dw surrogate (rule)", "dw", "o-"),
                              ("mean field, N reads", "meanfield_reads", "s--")):
        mean, sd = _series(table, key, reads)
        ax.errorbar(n, mean, yerr=sd, fmt=style, capsize=3, label=label)
    circuit = table.get("circuit") or {}
    if circuit:
        cn = sorted(int(k) for k in circuit)
        ax.errorbar(cn, [100 * circuit[str(k)]["mean"] for k in cn],
                    yerr=[100 * circuit[str(k)].get("sd", 0.0) for k in cn], fmt="D", color="k",
                    ms=6, capsize=3, label="circuit (ngspice), mean over repeats")
        own = [k for k in cn if "surrogate" in circuit[str(k)]]
        if own:     # the co-simulated network's own surrogate on the same test images
            ax.plot([k * 1.1 for k in own], [100 * circuit[str(k)]["surrogate"] for k in own],
                    "D", color="k", mfc="none", ms=6,
                    label="its surrogate (same network and images)")
    ax.axhline(100 * np.mean(table["perceptron"]), color="k", lw=1,
               label="deterministic perceptron")
    ax.axhline(100 * np.mean(table["meanfield_deterministic"]), color="0.5", lw=1, ls=":",
               label="mean field, deterministic")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("reads N")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(str(table.get("data", "")), fontsize=9)
    ax.legend(fontsize=8)
    return fig


def p_figure(table: dict):
    """One histogram of the trained p per N (every seed's synapses together)."""
    from .plotting import pyplot
    plt = pyplot()
    reads = [int(n) for n in table["reads"]]
    edges = np.asarray(table["p_edges"], dtype=float)
    fig, axes = plt.subplots(1, len(reads), figsize=(2.2 * len(reads) + 0.6, 2.8),
                             sharey=True, squeeze=False)
    for ax, k in zip(axes[0], reads):
        counts = np.asarray(table["p_hist"][str(k)], dtype=float)
        if len(counts) != len(edges) - 1:
            raise ValueError(f"dw result table: N = {k} has {len(counts)} p counts for "
                             f"{len(edges) - 1} bins")
        ax.stairs(counts, edges, fill=True, color="tab:blue")
        ax.set_title(f"N = {k}", fontsize=9)
        ax.set_xlabel("trained p")
    axes[0][0].set_ylabel("synapses")
    return fig


def plot_reads(table: dict, out_dir: str) -> list[str]:
    """Write dw_reads.png and dw_p_hist.png (atomic) into ``out_dir``; return their paths."""
    from .plotting import save
    return [save(reads_figure(table), os.path.join(out_dir, "dw_reads.png")),
            save(p_figure(table), os.path.join(out_dir, "dw_p_hist.png"))]


_SETTINGS = ("data", "epochs", "lr", "pairs", "gain", "init_p", "passes", "test_size",
             "train_limit", "p_edges")


def merge_tables(tables: list[dict]) -> dict:
    """One table from runs of the same set-up over other seeds or other N (e.g. seeds 1-4 run
    after seed 0). A baseline measured twice for a seed must agree (training is seeded); an
    (N, seed) pair measured twice is refused, since p counts are pooled over seeds."""
    if not tables:
        raise ValueError("merge_tables: no tables")
    first = tables[0]
    for t in tables[1:]:
        for key in _SETTINGS:
            if t.get(key) != first.get(key):
                raise ValueError(f"dw result tables differ in {key!r}: {first.get(key)!r} vs "
                                 f"{t.get(key)!r}")
    base: dict[str, dict] = {"perceptron": {}, "meanfield_deterministic": {}}
    per_n: dict[str, dict] = {"dw": {}, "meanfield_reads": {}}
    hist: dict[str, np.ndarray] = {}
    for t in tables:
        for key, got in base.items():
            for seed, v in zip(t["seeds"], t[key]):
                if seed in got and abs(got[seed] - v) > 1e-9:
                    raise ValueError(f"dw result tables: seed {seed} {key} is {got[seed]} in one "
                                     f"and {v} in another")
                got[seed] = v
        for n in map(str, t["reads"]):
            for key, got in per_n.items():
                for seed, v in zip(t["seeds"], t[key][n]):
                    if seed in got.setdefault(n, {}):
                        raise ValueError(f"dw result tables: N = {n}, seed {seed} measured twice")
                    got[n][seed] = v
            hist[n] = hist.get(n, 0) + np.asarray(t["p_hist"][n])
    seeds = sorted(set().union(*(t["seeds"] for t in tables)))
    reads = sorted({int(n) for n in hist})
    merged = {key: first.get(key) for key in _SETTINGS}
    merged.update({
        "reads": reads, "seeds": seeds, "merged_from": len(tables),
        "partial": any(t.get("partial") for t in tables)
        or any(len(per_n["dw"][str(n)]) < len(seeds) for n in reads),
        **{key: [got[s] for s in seeds if s in got] for key, got in base.items()},
        **{key: {str(n): [got[str(n)][s] for s in seeds if s in got[str(n)]] for n in reads}
           for key, got in per_n.items()},
        "p_hist": {str(n): hist[str(n)].tolist() for n in reads},
        "bimodal": {str(n): bimodal_fraction(hist[str(n)], first["p_edges"]) for n in reads},
        "circuit": {k: v for t in tables for k, v in (t.get("circuit") or {}).items()}})
    return merged


def circuit_points(reports: list[dict]) -> dict:
    """``table["circuit"]`` from ``spicegen cosim`` report.json contents of dw graphs: per N, the
    circuit's mean accuracy over repeats (several reports at one N: the runs pooled) and, where
    the report has it, the mean of its own surrogate passes on the same images."""
    runs: dict[int, list[float]] = {}
    own: dict[int, list[float]] = {}
    for rep in reports:
        dw = rep.get("dw")
        if not dw:
            raise ValueError("not a dw co-simulation report (no 'dw' section)")
        runs.setdefault(int(dw["reads"]), []).extend(dw["circuit"]["values"])
        if "surrogate" in dw:   # the co-simulated network may not be the table's: show its own
            own.setdefault(int(dw["reads"]), []).extend(dw["surrogate"]["values"])
    return {str(n): {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1
                     else 0.0, "runs": len(v),
                     **({"surrogate": float(np.mean(own[n]))} if n in own else {})}
            for n, v in sorted(runs.items())}


__all__ = ["P_BINS", "p_histogram", "reads_figure", "p_figure", "plot_reads", "circuit_points",
           "merge_tables", "bimodal_fraction"]
