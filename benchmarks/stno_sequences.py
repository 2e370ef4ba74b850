"""Dynamical STNO networks on sequential digits: every figure issue 4 asks for, printed.

    .venv/bin/python benchmarks/stno_sequences.py               # all parts, about an hour on 2 cores
    .venv/bin/python benchmarks/stno_sequences.py --only cosim  # one part: seeds, pixels, cosim,
                                                                # guideline, chains, convergence

- seeds:     row-by-row digits, STNO network and CTRNN of the same shape, 5 seeds: test accuracy
             mean +- std and BPTT seconds per epoch
- pixels:    pixel by pixel (64 steps of 1 input), one seed each
- cosim:     the seed-0 row-by-row network through ngspice on the full test set, for several
             ways of cutting the set into runs (one per sample, chunks on two workers, one run)
- guideline: accuracy against tau / dt for 6 ratios, surrogate and circuit; writes
             out/stno_sequences/guideline.png
- convergence: the circuit's error against its fixed step, ideal and chain synapses
- chains:    the row-by-row network with RF resonator-chain synapses (seed 0, 8 and 16
             substeps): test accuracy, BPTT seconds per epoch, the full test set through ngspice
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spicegen.dynamical import cosim_dynamical, graph_trajectories, read_out  # noqa: E402
from spintronic.networks import to_graph  # noqa: E402
from spintronic.training.datasets import load_digits  # noqa: E402
from spintronic.models import stno  # noqa: E402
from spintronic.training.stno_network import CTRNN, DynamicalConfig, DynamicalSTNONetwork  # noqa: E402
from spintronic.training.trainer import TrainConfig, train  # noqa: E402

OUT = "out/stno_sequences"
ROWS = DynamicalConfig()
PIXELS = dataclasses.replace(ROWS, sizes=(1, 64, 10), steps=64, order="pixels", dt=1e-9,
                             substeps=2)
TRAIN = TrainConfig(epochs=100, lr=0.03, batch_size=64, patience=30)


def fit(kind: str, cfg: DynamicalConfig, seed: int, data, train_cfg: TrainConfig = TRAIN):
    model = DynamicalSTNONetwork(cfg, seed) if kind == "stno" else CTRNN(cfg, seed)
    result = train(model, data, dataclasses.replace(train_cfg, seed=seed))
    return model, result


def part_seeds(data) -> None:
    print("row by row (8 steps of 8 inputs), 8-64-10, recurrent hidden layer, 5 seeds:")
    for kind in ("stno", "ctrnn"):
        accs, secs = [], []
        for seed in range(5):
            _, r = fit(kind, ROWS, seed, data)
            accs.append(r.test_accuracy)
            secs.append(r.seconds_per_epoch)
            print(f"  {kind:5s} seed {seed}: test {100 * r.test_accuracy:.2f} % "
                  f"(best epoch {r.best_epoch}, {r.seconds_per_epoch:.2f} s/epoch)", flush=True)
        print(f"  {kind:5s}: {100 * np.mean(accs):.2f} +- {100 * np.std(accs):.2f} % test, "
              f"{np.mean(secs):.2f} s/epoch", flush=True)


def part_pixels(data) -> None:
    print(f"pixel by pixel (64 steps of 1 input, dt {PIXELS.dt:g} s), 1-64-10, seed 0:")
    for kind in ("stno", "ctrnn"):
        _, r = fit(kind, PIXELS, 0, data)
        print(f"  {kind:5s}: test {100 * r.test_accuracy:.2f} % ({r.seconds_per_epoch:.2f} s/epoch)",
              flush=True)


def resolved(g, X) -> list[np.ndarray]:
    """Read-outs of the graph's network with its step resolved (256 substeps): the exact
    dynamics, against which the circuit's own error is measured."""
    fine = copy.deepcopy(g)
    fine.graph["substeps"] = 256
    return [read_out(fine, tr) for tr in graph_trajectories(fine, X)]


def cosim_line(res, exact) -> str:
    rep = res.report()
    own = max(np.abs(c - e).max() for c, e in zip(res.circuit, exact))
    agree = (res.circuit[-1].argmax(1) == exact[-1].argmax(1)).mean()
    return (f"{res.seconds:.1f} s, circuit {100 * rep['circuit_accuracy']:.2f} % vs surrogate "
            f"{100 * rep['surrogate_accuracy']:.2f} %, agreement {100 * rep['argmax_agreement']:.2f} %, "
            f"max power error " + ", ".join(f"layer {L['layer']} {L['max_error_p']:.1e}"
                                            for L in rep["layers"])
            + f"; vs the resolved surrogate: {own:.1e}, agreement {100 * agree:.2f} %")


def part_cosim(data) -> None:
    model, r = fit("stno", ROWS, 0, data)
    g = to_graph(model)
    X, y = data.X_test, data.y_test
    print(f"co-simulation of the full test set ({len(y)} samples), seed-0 row-by-row network "
          f"(surrogate test {100 * r.test_accuracy:.2f} %):")
    # one run per sample: measured on 40 samples, scaled to the set
    res = cosim_dynamical(g, X[:40], y[:40], workers=2, chunk=1)
    print(f"  one run per sample, 2 workers: {res.seconds:.1f} s for 40 samples -> "
          f"{res.seconds * len(y) / 40:.1f} s for the set (extrapolated)", flush=True)
    exact = resolved(g, X)
    for chunk, workers, pps in ((len(y), 1, 8), (90, 2, 8), (60, 2, 8), (30, 2, 8), (60, 2, 16)):
        res = cosim_dynamical(g, X, y, workers=workers, chunk=chunk, points_per_step=pps)
        print(f"  chunks of {chunk:3d} on {workers} worker(s), {pps} points per step: "
              + cosim_line(res, exact), flush=True)


def trained_memory(model, X) -> float:
    """Median relaxation time of the trained hidden neurons over the test sequences, in units of
    dt: training moves the drives, and a neuron driven near threshold (z -> 1) remembers longer
    than the initial drive's tau suggests."""
    c = model.config
    with torch.no_grad():
        seq = model.sequence(torch.as_tensor(X))
        p = model.trajectories(seq)[0]                                   # (N, T, hidden)
        z = model.biases[0] + seq @ model.effective_weights()[0].T + p @ model.recurrent[0].T
        z = stno.clamp_current(c.stno.I_th * z, c.stno) / c.stno.I_th
        tau = 1.0 / (2.0 * c.stno.Gg * (z - 1.0).abs().clamp_min(1e-9))
    return float(tau.median()) / c.dt


def part_guideline(data, epochs: int = 30) -> None:
    ratios = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    tau = ROWS.tau_bias
    rows = []
    print(f"guideline: accuracy vs tau / dt (tau = {tau:.3g} s at the initial drive), seed 0, "
          f"{epochs} epochs at lr 0.03 and 0.01, the better on validation kept:")
    for ratio in ratios:
        dt = tau / ratio
        substeps = max(8, int(np.ceil(dt / ROWS.tau_min)) * 2)
        cfg = dataclasses.replace(ROWS, dt=dt, substeps=substeps)
        # one learning rate does not fit every dt: at 0.03 the long-dt points stay at chance,
        # at 0.01 the short-dt ones are far from done in 30 epochs
        fits = [fit("stno", cfg, 0, data, dataclasses.replace(TRAIN, epochs=epochs, lr=lr))
                for lr in (0.03, 0.01)]
        model, r = max(fits, key=lambda mr: mr[1].val_accuracy)
        res = cosim_dynamical(to_graph(model), data.X_test, data.y_test)
        rep = res.report()
        memory = trained_memory(model, data.X_test)
        rows.append((ratio, r.test_accuracy, rep["circuit_accuracy"], rep["argmax_agreement"], memory))
        print(f"  tau/dt {ratio:5.1f} (dt {dt:.3g} s, {substeps} substeps): test at lr 0.03 / 0.01 "
              f"{100 * fits[0][1].test_accuracy:.2f} / {100 * fits[1][1].test_accuracy:.2f} %; kept: "
              f"surrogate {100 * r.test_accuracy:.2f} %, circuit {100 * rep['circuit_accuracy']:.2f} %, "
              f"agreement {100 * rep['argmax_agreement']:.2f} % ({res.seconds:.1f} s); trained "
              f"hidden neurons: median tau/dt {memory:.2g}", flush=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    a = np.array(rows)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.semilogx(a[:, 0], 100 * a[:, 1], "o-", label="surrogate")
    ax.semilogx(a[:, 0], 100 * a[:, 2], "s--", label="circuit (ngspice)")
    ax.set_xlabel("neuron relaxation time / input time step (tau / dt)")
    ax.set_ylabel("test accuracy (%)")
    for ratio, acc, _, _, memory in rows:
        ax.annotate(f"{memory:.2g}", (ratio, 100 * acc), textcoords="offset points", xytext=(0, 7),
                    ha="center", fontsize=8)
    ax.set_title("Sequential digits, row by row: the memory guideline\n"
                 "(labels: trained neurons' median tau / dt)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "guideline.png")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"  wrote {path}")


def part_chains(data) -> None:
    print("row by row with resonator-chain synapses, seed 0:")
    for substeps in (8, 16):
        cfg = dataclasses.replace(ROWS, synapses="chain", substeps=substeps)
        model, r = fit("stno", cfg, 0, data)
        print(f"  {substeps} substeps ({cfg.f_min / 1e9:g}-{cfg.f_max / 1e9:g} GHz, alpha "
              f"{cfg.resonator.alpha}, {8 * 64 + 64 * 10} resonators): test "
              f"{100 * r.test_accuracy:.2f} % (best epoch {r.best_epoch}, "
              f"{r.seconds_per_epoch:.2f} s/epoch)", flush=True)
        g = to_graph(model)
        res = cosim_dynamical(g, data.X_test, data.y_test)
        print("    full test set through ngspice: " + cosim_line(res, resolved(g, data.X_test)),
              flush=True)


def part_convergence(data) -> None:
    """The circuit's own error against its fixed step, on a small untrained network (8-6-4, first
    6 test digits) whose surrogate is resolved (256 substeps)."""
    print("circuit vs resolved surrogate, 8-6-4 untrained, 6 samples, by points per step:")
    for synapses in ("ideal", "chain"):
        cfg = DynamicalConfig(sizes=(8, 6, 4), substeps=256, readout="mean", readout_steps=3,
                              synapses=synapses)
        g = to_graph(DynamicalSTNONetwork(cfg, seed=1))
        errors = []
        for pps in (8, 16, 32, 64):
            res = cosim_dynamical(g, data.X_test[:6], data.y_test[:6] % 4, chunk=3,
                                  points_per_step=pps)
            errors.append(max(L["max_error_p"] for L in res.report()["layers"]))
        print(f"  {synapses:5s}: 8 / 16 / 32 / 64 points: "
              + " / ".join(f"{e:.1e}" for e in errors), flush=True)


PARTS = {"seeds": part_seeds, "pixels": part_pixels, "cosim": part_cosim,
         "guideline": part_guideline, "chains": part_chains, "convergence": part_convergence}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(PARTS))
    args = parser.parse_args()
    torch.set_num_threads(1)  # small tensors: threads cost more than they give
    data = load_digits()
    start = time.perf_counter()
    for name in args.only or list(PARTS):
        PARTS[name](data)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
