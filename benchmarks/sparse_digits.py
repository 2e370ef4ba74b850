"""Sparse RF networks against equal-parameter sparse perceptrons: accuracy against K (resonators,
or weights, per output), and the envelope co-simulation of a K = 10 network. Prints every figure.

    .venv/bin/python benchmarks/sparse_digits.py                  # digits, 1 seed (a few minutes)
    .venv/bin/python benchmarks/sparse_digits.py --seeds 5        # the issue's 5 seeds
    .venv/bin/python benchmarks/sparse_digits.py --data mnist:/usr/share/datasets/fashion-mnist \\
        --ks 10 --epochs 10 --seeds 3 --cosim-limit 0             # Fashion-MNIST at K = 10

Variants, all a perceptron (inputs -> classes) trained with the same trainer, data and epochs:
``rf`` (kind sparse: K resonators per chain, input frequencies fixed), ``rf+f_in`` (the same with
trained input frequencies, no extra devices), and the software baselines of kind sparse-mlp with K
weights per output: ``random`` (fixed random mask), ``prune`` (dense for half the epochs, then the
K largest |w| per output, fine-tuned), ``set`` (Sparse Evolutionary Training), and ``dense``.
Each kind trains at its own default learning rate; no early stop (patience = epochs), the trainer
keeps the best validation epoch. Run it alone: torch and ngspice use the cores given.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spintronic import networks  # noqa: E402
from spintronic.networks.checkpoints import make_model  # noqa: E402
from spintronic.networks.sparse import SparseMLPConfig, SparseRFConfig  # noqa: E402
from spintronic.training.datasets import load  # noqa: E402
from spintronic.training.trainer import TrainConfig, save_checkpoint, train  # noqa: E402
from spicegen.topology import topology  # noqa: E402

VARIANTS = ("rf", "rf+f_in", "random", "prune", "set")


def model_for(variant: str, sizes, k: int, seed: int, epochs: int, data, batch: int):
    if variant.startswith("rf"):
        # the default band: the inputs spread over 18.9 linewidths, whatever their number
        config = SparseRFConfig(sizes=sizes, per_chain=k, train_input_freqs=variant == "rf+f_in")
        return make_model("sparse", sizes, seed, config), networks.get_kind("sparse").default_lr
    steps = epochs * math.ceil(len(data.y_train) / batch)
    config = SparseMLPConfig(sizes=sizes, per_chain=k, baseline=variant, schedule_steps=steps)
    return make_model("sparse-mlp", sizes, seed, config), networks.get_kind("sparse-mlp").default_lr


def run(variant, sizes, k, seed, epochs, data, batch):
    model, lr = model_for(variant, sizes, k, seed, epochs, data, batch)
    start = time.perf_counter()
    result = train(model, data, TrainConfig(epochs=epochs, lr=lr, seed=seed, patience=epochs,
                                            batch_size=batch))
    return model, result, time.perf_counter() - start


def sweep(args, data) -> dict:
    sizes = (data.n_features, data.n_classes)
    ks = [data.n_features if k == "dense" else int(k) for k in args.ks.split(",")]
    table: dict = {}
    models: dict = {}
    for k in ks:
        variants = [v for v in args.variants.split(",") if not (
            k == data.n_features and v in ("random", "set", "prune"))]
        for variant in variants:
            accs, secs = [], []
            for seed in range(args.seeds):
                model, result, seconds = run(variant, sizes, k, seed, args.epochs, data,
                                             args.batch_size)
                accs.append(100 * result.test_accuracy)
                secs.append(seconds)
                if seed == 0:
                    models[(variant, k)] = model
            table[(variant, k)] = np.array(accs)
            print(f"  K={k:<4d} {variant:8s} test {np.mean(accs):6.2f} +- {np.std(accs):5.2f} % "
                  f"({args.seeds} seeds, {np.mean(secs):.1f} s per run)", flush=True)
            if variant.startswith("rf"):
                g = networks.get_kind("sparse").to_graph(model)
                print(f"           {topology(g).summary()}", flush=True)
    if args.dense:
        accs = [100 * run("dense", sizes, sizes[0], s, args.epochs, data, args.batch_size)[1]
                .test_accuracy for s in range(args.seeds)]
        table[("dense", sizes[0])] = np.array(accs)
        print(f"  dense perceptron   test {np.mean(accs):6.2f} +- {np.std(accs):5.2f} %")
    print_table(table, ks, data.n_features)
    return models


def print_table(table, ks, n_in) -> None:
    print(f"\ntest accuracy (%), mean over seeds; K = {n_in} is dense")
    cols = list(VARIANTS)
    print("K      " + "".join(f"{c:>16s}" for c in cols))
    for k in ks:
        cells = [f"{table[(c, k)].mean():8.2f} +-{table[(c, k)].std():5.2f}" if (c, k) in table
                 else f"{'-':>16s}" for c in cols]
        print(f"{k:<7d}" + "".join(f"{c:>16s}" for c in cells))
    if ("dense", n_in) in table:
        print(f"dense perceptron: {table[('dense', n_in)].mean():.2f} %")
    for k in ks:
        rf = table.get(("rf+f_in", k))
        best = max((table[(c, k)].mean() for c in ("random", "prune", "set") if (c, k) in table),
                   default=None)
        if rf is not None and best is not None:
            print(f"K={k}: rf+f_in {rf.mean() - best:+.2f} pp against the best equal-parameter "
                  f"sparse baseline" + (f", {rf.mean() - table[('dense', n_in)].mean():+.2f} pp "
                                        f"against the dense perceptron"
                                        if ("dense", n_in) in table else ""))


def cosim(model, data, limit: int, workers: int) -> None:
    kind = networks.get_kind("sparse")
    g = kind.to_graph(model)
    kind.check_graph(g)
    X, y = data.X_test, data.y_test
    if limit:
        X, y = X[:limit], y[:limit]
    rep = kind.cosim(g, X, y, networks.CosimOptions(workers=workers)).report()
    print(f"\nenvelope co-simulation, K = {model.config.per_chain}, {rep['samples']} test samples: "
          f"surrogate {100 * rep['surrogate_accuracy']:.2f} %, circuit "
          f"{100 * rep['circuit_accuracy']:.2f} %, argmax agreement "
          f"{100 * rep['argmax_agreement']:.2f} %, max output error "
          f"{1e6 * rep['layers'][-1]['max_error_V']:.3f} uV, {rep['seconds']:.1f} s "
          f"({rep['ngspice_runs']} ngspice runs, {workers} workers)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="digits")
    p.add_argument("--ks", default="1,2,5,10,20,50,dense", help="K values ('dense': every input)")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma-separated, of {','.join(VARIANTS)}")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--no-dense", dest="dense", action="store_false",
                   help="skip the dense perceptron")
    p.add_argument("--cosim-k", type=int, default=10,
                   help="co-simulate the seed-0 rf+f_in network of this K (0: none)")
    p.add_argument("--cosim-limit", type=int, default=None,
                   help="test samples co-simulated (default: all; 0: no co-simulation)")
    # one torch thread: these layers are tiny, and on 2 shared cores a second thread made a
    # training step 4-10x slower (measured: 10 ms -> 86 ms per step under load)
    p.add_argument("--save", metavar="PATH",
                   help="also write the co-simulated network's checkpoint here")
    p.add_argument("--train-limit", type=int, help="a seeded subset of N training samples")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--workers", type=int, default=2, help="parallel ngspice runs")
    args = p.parse_args()
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown:
        p.error(f"--variants: unknown {', '.join(sorted(unknown))}; choose from "
                f"{', '.join(VARIANTS)}")
    torch.set_num_threads(args.threads)
    data = load(args.data, train_limit=args.train_limit)
    print(data.summary())
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); "
          f"{args.epochs} epochs, {args.seeds} seeds, {args.threads} torch threads")
    start = time.perf_counter()
    models = sweep(args, data)
    picked = models.get(("rf+f_in", args.cosim_k))
    if picked is not None and args.save:
        save_checkpoint(picked, args.save, dataset=args.data)
        print(f"wrote {args.save}")
    if picked is not None and args.cosim_limit != 0:
        cosim(picked, data, args.cosim_limit, args.workers)
    print(f"total {time.perf_counter() - start:.0f} s; load average at end: "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
