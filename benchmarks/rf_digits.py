"""Benchmark of the RF-network pipeline on the 8x8 digits. Prints every figure it measures.

    .venv/bin/python benchmarks/rf_digits.py            # everything (about 5 minutes on 2 cores)
    .venv/bin/python benchmarks/rf_digits.py --quick    # 1 seed, fewer epochs
    .venv/bin/python benchmarks/rf_digits.py --rf 5     # only: carrier-level co-simulation of the
                                                        # first 5 test samples (~30 min on 2 cores)

Targets (issue 3): >= 97 % surrogate test accuracy (mean of 5 seeds) for a dense 64-32-10 RF
network, beside the software MLP; envelope co-simulation of the whole test set within 0.5 pp of the
surrogate, argmax agreement >= 99 %, <= 20 s; a 784 -> 128 graph (1e5 resonators) compiled in <= 5 s.
Run it alone: torch and ngspice each use both cores.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spicegen.compiler import compile_envelope  # noqa: E402
from spicegen.cosim import cosim_envelope  # noqa: E402
from spintronic.networks import to_graph  # noqa: E402
from spintronic.training.datasets import load_digits  # noqa: E402
from spintronic.training.rf_network import RFNetwork, RFNetworkConfig  # noqa: E402
from spintronic.networks.checkpoints import make_model  # noqa: E402
from spintronic.training.trainer import TrainConfig, train  # noqa: E402


def train_seeds(kind: str, seeds: int, epochs: int, lr: float, data) -> list:
    results = []
    for seed in range(seeds):
        model = make_model(kind, (64, 32, 10), seed)
        result = train(model, data, TrainConfig(epochs=epochs, lr=lr, seed=seed, patience=epochs))
        results.append((model, result))
        print(f"  {kind} seed {seed}: test {100 * result.test_accuracy:.2f} %, "
              f"{result.seconds_per_epoch:.3f} s/epoch", flush=True)
    accs = np.array([r.test_accuracy for _, r in results]) * 100
    times = np.array([r.seconds_per_epoch for _, r in results])
    print(f"{kind}: test accuracy {accs.mean():.2f} +- {accs.std():.2f} % over {seeds} seeds, "
          f"{times.mean():.3f} s/epoch")
    return results


def cosim_strategies(g, data) -> None:
    X, y = data.X_test, data.y_test
    print(f"envelope co-simulation of the {len(y)} test samples (window 200 ns):")
    for label, kw in [("one ngspice run", dict(workers=1, chunk=None)),
                      ("two parallel runs", dict(workers=2, chunk=None)),
                      ("chunks of 90 on two workers", dict(workers=2, chunk=90)),
                      ("chunks of 45 on two workers", dict(workers=2, chunk=45)),
                      ("chunks of 20 on two workers", dict(workers=2, chunk=20))]:
        rep = cosim_envelope(g, X, y, **kw).report()
        print(f"  {label:30s} {rep['seconds']:6.2f} s  surrogate {100 * rep['surrogate_accuracy']:.2f} %"
              f"  circuit {100 * rep['circuit_accuracy']:.2f} %  agreement "
              f"{100 * rep['argmax_agreement']:.2f} %  max error "
              f"{1e6 * rep['layers'][-1]['max_error_V']:.3f} uV")


def window_sweep(g, data) -> None:
    print("read-out window (STNO settling) vs accuracy, full test set:")
    for window in (5e-9, 10e-9, 20e-9, 50e-9, 100e-9, 200e-9):
        rep = cosim_envelope(g, data.X_test, data.y_test, window=window).report()
        print(f"  {window * 1e9:5.0f} ns  circuit {100 * rep['circuit_accuracy']:.2f} %  agreement "
              f"{100 * rep['argmax_agreement']:.2f} %  max output error "
              f"{1e3 * rep['layers'][-1]['max_error_V']:.4f} mV")


def big_compile() -> None:
    net = RFNetwork(RFNetworkConfig(sizes=(784, 128, 10)), seed=0)
    t0 = time.perf_counter()
    g = to_graph(net)
    t1 = time.perf_counter()
    n_res = sum(1 for _, a in g.nodes(data=True) if a["kind"] == "resonator")
    X = np.random.default_rng(0).random((2, 784))
    t2 = time.perf_counter()
    text = compile_envelope(g, X).text
    t3 = time.perf_counter()
    # memory in a second, traced compile: tracemalloc itself slows the compile down
    tracemalloc.start()
    compile_envelope(g, X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"784-128-10 graph: {n_res} resonators, back-annotation {t1 - t0:.2f} s, compile "
          f"{t3 - t2:.2f} s ({len(text) / 1e6:.1f} MB netlist), compile peak Python memory "
          f"{peak / 1e6:.0f} MB, process peak RSS {rss:.0f} MB")


def rf_cosim(n: int, lp_ratio: float) -> None:
    """Carrier-level co-simulation of the frozen example network (netlists/examples/digits_rf.pt)
    on the first n test samples, one ngspice process per sample on two workers."""
    from spicegen.cosim import cosim_rf
    from spintronic.networks.checkpoints import load_checkpoint

    model, _ = load_checkpoint(os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "netlists", "examples", "digits_rf.pt"))
    g = to_graph(model)
    data = load_digits()
    res = cosim_rf(g, data.X_test[:n], data.y_test[:n], workers=2, lp_ratio=lp_ratio)
    rep = res.report()
    print(f"rf co-simulation, 64-32-10 example network, read-out corner {lp_ratio:g} f, "
          f"10 points per period, fixed step:")
    for k in range(n):
        print(f"  sample {k}: label {data.y_test[k]}, surrogate argmax {res.surrogate_pred[k]}, "
              f"circuit argmax {res.circuit_pred[k]}, max chain error "
              + ", ".join(f"layer {l + 1} {1e3 * np.abs(s[k] - c[k]).max():.3f} mV"
                          for l, (s, c) in enumerate(zip(res.surrogate, res.circuit))))
    print(f"  argmax agreement {100 * rep['argmax_agreement']:.0f} % on {n} samples; "
          f"{res.seconds:.0f} s wall on 2 workers = {2 * res.seconds / n:.0f} s of one core per sample")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only-compile", action="store_true", help="only the 784-128-10 compile")
    ap.add_argument("--rf", type=int, metavar="N", help="only the rf co-simulation of N samples")
    ap.add_argument("--lp-ratio", type=float, default=0.002,
                    help="rf read-out corner (fraction of the lowest carrier on a line)")
    args = ap.parse_args()
    if args.only_compile:
        big_compile()
        return
    if args.rf:
        rf_cosim(args.rf, args.lp_ratio)
        return
    seeds, epochs = (1, 20) if args.quick else (5, 60)
    data = load_digits()
    print(data.summary())
    rf = train_seeds("rf", seeds, epochs, 0.01, data)
    train_seeds("mlp", seeds, epochs, 0.003, data)
    g = to_graph(rf[0][0])
    cosim_strategies(g, data)
    window_sweep(g, data)
    big_compile()


if __name__ == "__main__":
    main()
