"""What device-level envelope netlists cost ngspice to read. Prints every figure it measures.

    .venv/bin/python benchmarks/device_level.py           # digits example, 10 samples (~1 min)
    .venv/bin/python benchmarks/device_level.py --big     # also a 784-128-10 graph (~10 min)

For the frozen example network (netlists/examples/digits_rf.pt, 64-32-10) and its first 10 test
samples: the deck with numeric gains (what the co-simulation runs) against device-level decks at
several term budgets (spicegen.device_level): window, explicit terms, deck size, compile time,
ngspice wall time (best of 3, ``run_netlist``) and the largest difference of any chain voltage at
the read times from the numeric deck, relative to the largest chain voltage.

Measured with --big on 2 cores shared with other agents' work (load average 4.1 to 5.3), so the
times are inflated; the ratios are what counts:

    digits 64-32-10, 10 samples        deck      ngspice run   chain voltages vs numeric
    numeric gains (the co-simulation)  0.15 MB   0.47 s
    budget 0      W = 0,   2 368 terms  0.39 MB   0.68 s        4.4e-16 relative
    budget 5 000  W = 3,   4 753 terms  0.47 MB   0.78 s        5.5e-16
    budget 20 000 W = 10, 14 990 terms  0.81 MB   1.59 s        4.4e-16 (the default)
    every term,  141 312 terms         4.99 MB   9.84 s        8.3e-16
    784-128-10, 2 samples: numeric 5.2 MB, 25.1 s; device level (W = 0, 101 632 terms) 15.0 MB,
    77.4 s, 7.7e-16; compile 61 s and 57 s (mostly the schema check of the graph, under load)

Before the per-chain subcircuits, every .param in one scope: the digits deck at 20 000 terms took
6.8 s and every term 47 s (ngspice orders one scope's .params in quadratic time).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spicegen.compiler import compile_envelope  # noqa: E402
from spicegen.device_level import DEFAULT_TERM_BUDGET  # noqa: E402
from spicegen.runner import run_netlist  # noqa: E402
from spintronic import networks  # noqa: E402
from spintronic.networks.checkpoints import load_checkpoint  # noqa: E402
from spintronic.training.datasets import load  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(net, repeats: int) -> tuple[float, np.ndarray]:
    best, values = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        res = run_netlist(net.text, timeout=None)
        best = min(best, time.perf_counter() - start)
        names = net.outputs + [v for layer in net.hidden for v in layer]
        values = np.array([np.interp(net.read_times, res.scale, res[n]) for n in names])
    return best, values


def figures(g, X, budgets, repeats: int) -> None:
    start = time.perf_counter()
    ref = compile_envelope(g, X, device_level=False)
    compile_s = time.perf_counter() - start
    t_ref, v_ref = run(ref, repeats)
    print(f"  numeric gains                         {len(ref.text) / 1e6:6.2f} MB  compile "
          f"{compile_s:5.2f} s  run {t_ref:6.2f} s", flush=True)
    for budget in budgets:
        start = time.perf_counter()
        net = compile_envelope(g, X, term_budget=budget)
        compile_s = time.perf_counter() - start
        window, terms = re.search(r"^\* Explicit terms: every resonator within (.*?) of a "
                                  r"source.*?: (\d+) of the", net.text, re.M).groups()
        t, v = run(net, repeats)
        diff = np.abs(v - v_ref).max() / np.abs(v_ref).max()
        print(f"  budget {budget:>9,}: {window:>26}, {terms:>6} terms  {len(net.text) / 1e6:6.2f} "
              f"MB  compile {compile_s:5.2f} s  run {t:6.2f} s  difference {diff:.1e}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="also a 784-128-10 graph (minutes)")
    ap.add_argument("--repeats", type=int, default=3, help="ngspice runs per deck (best counts)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    model, meta = load_checkpoint(os.path.join(ROOT, "netlists", "examples", "digits_rf.pt"))
    kind = networks.get_kind(meta["kind"])
    g = kind.to_graph(model)
    X = load("digits").X_test[:10]
    print("digits example 64-32-10, 10 test samples:")
    figures(g, X, [0, 5_000, DEFAULT_TERM_BUDGET, 10 ** 6], args.repeats)
    if args.big:
        from spintronic.networks import to_graph
        from spintronic.training.rf_network import RFNetwork, RFNetworkConfig

        g = to_graph(RFNetwork(RFNetworkConfig(sizes=(784, 128, 10)), seed=0))
        X = np.random.default_rng(0).random((2, 784))
        print("784-128-10, untrained, 2 random samples:")
        figures(g, X, [DEFAULT_TERM_BUDGET], 1)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
