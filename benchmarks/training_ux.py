"""Training a user can watch and resume: BPTT time per epoch of the dynamical STNO network against
its CTRNN baseline, and what the per-epoch resume state costs. Prints every figure it measures.

    .venv/bin/python benchmarks/training_ux.py                 # about 2 minutes on 2 idle cores
    .venv/bin/python benchmarks/training_ux.py --plain         # also the layer-by-layer loop
    .venv/bin/python benchmarks/training_ux.py --threads 2 --epochs 5 --repeats 3

The networks are what ``spicegen train --model stno|ctrnn`` builds on the digits: 8-64-10, rows
(8 steps of 8 inputs), 8 substeps, recurrent hidden layer, batch 64, lr 0.03. Per-epoch time is
the trainer's ``seconds_per_epoch`` (the batches and the validation pass), the best of the
repeats, the kinds interleaved so that a change in the machine's load hits both. Target (issue
"Surrogates that train at the size of real data"): STNO <= 2x CTRNN per epoch (about 5x before
the wavefront step). Run it alone: the figures are wall-clock times, and the script prints the load
average before and after so that a busy machine shows.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spintronic.models import stno_trajectories  # noqa: E402
from spintronic.networks.checkpoints import make_model  # noqa: E402
from spintronic.training.datasets import load_digits  # noqa: E402
from spintronic.training import resume  # noqa: E402
from spintronic.training.stno_network import DynamicalConfig  # noqa: E402
from spintronic.training.trainer import TrainConfig, train  # noqa: E402


def load_line() -> str:
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    state = "idle" if one < 0.5 else f"BUSY ({one:.1f} of {cores} cores): figures inflated"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {cores} cores: {state}"


def seconds_per_epoch(kind: str, data, epochs: int, plain: bool = False,
                      checkpoint: str | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds per epoch; CPU time (this process) is less sensitive to other jobs."""
    model = make_model(kind, (8, 64, 10), 0, DynamicalConfig())
    cfg = TrainConfig(epochs=epochs, lr=0.03, batch_size=64, seed=0, patience=epochs)
    real = stno_trajectories.network_trajectories
    if plain:
        stno_trajectories.network_trajectories = functools.partial(real, fast=False)
    try:
        cpu = time.process_time()
        result = train(model, data, cfg, checkpoint=checkpoint)
        return result.seconds_per_epoch, (time.process_time() - cpu) / len(result.history)
    finally:
        stno_trajectories.network_trajectories = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per timed run")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per kind (best is kept)")
    ap.add_argument("--plain", action="store_true",
                    help="also time the STNO network's layer-by-layer loop (fast=False)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, torch.set_num_threads({args.threads}); "
          f"{args.epochs} epochs x {args.repeats} repeats, best kept")
    print("before: " + load_line())
    data = load_digits()
    print(data.summary())
    kinds = ["ctrnn", "stno"] + (["stno plain"] if args.plain else [])
    for k in kinds:                # warm-up: first-call costs (allocator, BLAS) stay out
        seconds_per_epoch(k.split()[0], data, 1, plain=k.endswith("plain"))
    best = {k: [float("inf"), float("inf")] for k in kinds}
    for _ in range(args.repeats):
        for k in kinds:
            wall, cpu = seconds_per_epoch(k.split()[0], data, args.epochs,
                                          plain=k.endswith("plain"))
            best[k] = [min(best[k][0], wall), min(best[k][1], cpu)]
    print(f"{'network':<12} {'s/epoch':>9} {'x CTRNN':>8} {'CPU s/epoch':>12} {'x CTRNN':>8}")
    for k in kinds:
        (wall, cpu), (wall0, cpu0) = best[k], best["ctrnn"]
        print(f"{k:<12} {wall:9.3f} {wall / wall0:8.2f} {cpu:12.3f} {cpu / cpu0:8.2f}")
    print(f"STNO / CTRNN per epoch: {best['stno'][0] / best['ctrnn'][0]:.2f} wall, "
          f"{best['stno'][1] / best['ctrnn'][1]:.2f} CPU (target <= 2)")
    writes = []
    real_save = resume.save

    def timed_save(*a, **kw):
        start = time.perf_counter()
        real_save(*a, **kw)
        writes.append(time.perf_counter() - start)
    resume.save = timed_save
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seconds_per_epoch("stno", data, args.epochs, checkpoint=os.path.join(tmp, "stno.pt"))
    finally:
        resume.save = real_save
    print(f"resume state of the stno network (model, best, Adam, RNGs; fsync'd): "
          f"{1e3 * min(writes):.1f} ms per epoch (best of {len(writes)})")
    print("after:  " + load_line())


if __name__ == "__main__":
    main()
