"""Co-simulation of the digits test set through each executor, side by side in one run: the same
report from every executor, and what Dask costs on one machine.

    .venv/bin/python benchmarks/executors.py            # rf example network (359 samples)
    .venv/bin/python benchmarks/executors.py --stno     # also the dynamical example (~2 min)

Run it alone: ngspice and torch use both cores. The Dask time includes starting and closing its
LocalCluster (2 worker processes, 1 thread each), since a user pays that on every `--executor dask`.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from spintronic import networks
from spintronic.networks.checkpoints import load_checkpoint
from spintronic.training.datasets import load_digits

EXECUTORS = ("threads", "serial", "dask")


def run(example: str, executors=EXECUTORS) -> None:
    model, _ = load_checkpoint(f"netlists/examples/{example}.pt")
    kind = networks.get_kind(model.kind)
    g = kind.to_graph(model)
    data = load_digits()
    reports = {}
    for name in executors:
        opts = networks.CosimOptions(executor=name, workers=2)
        start = time.perf_counter()
        rep = kind.cosim(g, data.X_test, data.y_test, opts).report()
        wall = time.perf_counter() - start
        reports[name] = {k: v for k, v in rep.items() if k != "seconds"}
        print(f"{example:12s} {name:8s} {wall:6.1f} s  circuit {100 * rep['circuit_accuracy']:.2f} %"
              f"  surrogate {100 * rep['surrogate_accuracy']:.2f} %  agreement "
              f"{100 * rep['argmax_agreement']:.2f} %  ({rep['ngspice_runs']} runs)", flush=True)
    first = json.dumps(reports[executors[0]], sort_keys=True)
    same = all(json.dumps(r, sort_keys=True) == first for r in reports.values())
    print(f"{example}: reports identical across executors: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stno", action="store_true", help="also the dynamical example")
    args = parser.parse_args()
    torch.set_num_threads(1)
    run("digits_rf")
    if args.stno:
        run("digits_stno", ("threads", "dask"))


if __name__ == "__main__":
    main()
