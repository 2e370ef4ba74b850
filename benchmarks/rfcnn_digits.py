"""Benchmark of RF convolutional networks (kind rfcnn) beside the software CNN of the same shape.

    .venv/bin/python benchmarks/rfcnn_digits.py                   # digits, 3 seeds, both plans
    .venv/bin/python benchmarks/rfcnn_digits.py --seeds 5 --epochs 60 --rf-crosstalk
    .venv/bin/python benchmarks/rfcnn_digits.py --data mnist:/usr/share/datasets/fashion-mnist \
        --pool 2 --kernel 4 --stride 2 --seeds 1 --epochs 5 --arrangements reuse   # Fashion 14x14
    .venv/bin/python benchmarks/rfcnn_digits.py --data mnist:/usr/share/datasets/fashion-mnist \
        --kernel 4 --stride 2 --seeds 5 --epochs 10 --arrangements reuse --differential \
        --readout-lines 4 --readout-lp-ratio 0.002 --cosim-limit 100 --save out/f28  # 28x28

For each arrangement (shared-line, reuse): test accuracy over seeds, seconds per epoch, the
frequency plan (channel spacing in linewidths, the plan's and the trained network's worst
crosstalk), device counts, and the envelope co-simulation of the whole test set (or --cosim-limit
samples) of the seed-0 network: time, circuit and surrogate accuracy, argmax agreement. The
software CNN (same filters, stride, padding, dense head) trains on the same seeds. Targets
(issue 14): within 1 pp of the CNN; co-simulation >= 99 % agreement. Run it alone (`uptime`).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spicegen.rfcnn_analysis import crosstalk_report, rf_resonator_crosstalk  # noqa: E402
from spicegen.rfcnn_netlist import conv_side, cosim_rfcnn  # noqa: E402
from spintronic.networks import get_kind  # noqa: E402
from spintronic.networks.checkpoints import make_model  # noqa: E402
from spintronic.networks.rfcnn import RFCNNConfig  # noqa: E402
from spintronic.training.datasets import load  # noqa: E402
from spintronic.training.trainer import TrainConfig, save_checkpoint, train  # noqa: E402


def train_seeds(kind: str, config: RFCNNConfig, data, seeds: int, epochs: int, lr: float,
                save: str | None = None):
    """Train every seed; ``save``: write seed 0's checkpoint there as soon as it is trained, so
    that `spicegen export` / `cosim` can start while the other seeds train."""
    out = []
    for seed in range(seeds):
        model = make_model(kind, config.sizes, seed, config)
        result = train(model, data, TrainConfig(epochs=epochs, lr=lr, seed=seed,
                                                patience=epochs))
        if save and seed == 0:
            save_checkpoint(model, save, TrainConfig(epochs=epochs, lr=lr), result, data.name,
                            getattr(data, "source", None))   # export/cosim find the pooling
        first = (model(torch.as_tensor(data.X_test[:100])).argmax(1).numpy()
                 == data.y_test[:100]).mean()
        out.append((model, result, first))
        print(f"  {kind:6s} {config.arrangement if kind == 'rfcnn' else '':11s} seed {seed}: "
              f"test {100 * result.test_accuracy:.2f} % (first 100: {100 * first:.0f} %), "
              f"{result.seconds_per_epoch:.2f} s/epoch", flush=True)
    acc = np.array([r.test_accuracy for _, r, _ in out]) * 100
    print(f"{kind} {config.arrangement if kind == 'rfcnn' else ''}: test accuracy "
          f"{acc.mean():.2f} +- {acc.std():.2f} % over {seeds} seed(s), "
          f"{np.mean([r.seconds_per_epoch for _, r, _ in out]):.2f} s/epoch", flush=True)
    return out, acc


def hardware(model, data, limit, workers: int, rf: bool, window: float) -> dict:
    kind = get_kind("rfcnn")
    g = kind.to_graph(model)
    kind.check_graph(g)
    kinds = [a["kind"] for _, a in g.nodes(data=True)]
    print(f"  devices: {kind.describe_graph(g).split(';')[0]}")
    for r in crosstalk_report(g):
        print(f"  layer {r['layer']}: {r['lines']} line(s), up to {r['channels']} channels, "
              f"spacing {r['spacing_linewidths']:.2f} linewidths; crosstalk of the plan "
              f"(resonator at its peak vs the nearest channel) {100 * r['plan_crosstalk']:.1f} %,"
              f" trained worst off-target {100 * r['worst_crosstalk']:.1f} % of the largest "
              f"weight ({r['worst_resonator']} from {r['worst_source']})")
    for line in kind.design_rules(g).text().splitlines():
        print(f"  {line}")
    if rf:      # one chain's resonators on their line, each alone, at carrier level
        xt = rf_resonator_crosstalk(g, workers=workers)
        print(f"  rf level, {xt['resonators']} taps of one chain on {xt['line']} "
              f"({xt['channels']} channels): worst off-target {100 * xt['rf_worst']:.1f} % "
              f"(Lorentzian {100 * xt['lorentzian_worst']:.1f} %), rf vs Lorentzian "
              f"{100 * xt['rf_error_of_max']:.2f} % of the largest entry, {xt['seconds']:.1f} s")
        print("  " + "\n  ".join(xt["result"].report().splitlines()[-6:]))
    X, y = data.X_test[:limit], data.y_test[:limit]
    res = cosim_rfcnn(g, X, y, window=window, workers=workers)
    rep = res.report()
    print(f"  co-simulation of {rep['samples']} test samples, {window * 1e9:.0f} ns each: "
          f"{rep['seconds']:.1f} s "
          f"({rep['ngspice_runs']} ngspice runs, {workers} workers); surrogate "
          f"{100 * rep['surrogate_accuracy']:.2f} %, circuit {100 * rep['circuit_accuracy']:.2f} "
          f"%, argmax agreement {100 * rep['argmax_agreement']:.2f} %, max error layer 1 "
          f"{1e9 * rep['layers'][0]['max_error_V']:.3g} nV, outputs "
          f"{1e9 * rep['layers'][1]['max_error_V']:.3g} nV", flush=True)
    return {"resonators": kinds.count("resonator"), **rep}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="digits")
    ap.add_argument("--pool", type=int, default=1, help="mnist: average-pool factor")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--filters", type=int, default=4)
    ap.add_argument("--kernel", type=int, default=3)
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--padding", type=int, default=0)
    ap.add_argument("--arrangements", nargs="+", default=["shared-line", "reuse"])
    ap.add_argument("--line-f-max", type=float, default=RFCNNConfig.f_max,
                    help="top of the conv lines' band (Hz)")
    ap.add_argument("--readout-f-max", type=float, help="top of the read-out line's band (Hz)")
    ap.add_argument("--bias-start", type=float, help="rfcnn: where the conv chains start in "
                    "the amplifier window (0 threshold, 1 upper clamp; default per arrangement)")
    ap.add_argument("--differential", action="store_true",
                    help="rfcnn: two resonators of opposite orientation per tap")
    ap.add_argument("--readout-lines", type=int, default=1, metavar="G",
                    help="rfcnn: read-out lines reusing hidden/G channels (default 1)")
    ap.add_argument("--readout-lp-ratio", type=float, metavar="FRACTION",
                    help="rfcnn: the read-out chains' low-pass corner, a fraction of f_r")
    ap.add_argument("--lr", type=float, default=0.03, help="rfcnn learning rate")
    ap.add_argument("--cnn-lr", type=float, default=0.01)
    ap.add_argument("--cosim-limit", type=int, help="co-simulate only the first N test samples")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--window", type=float, default=200e-9,
                    help="co-simulation: seconds each sample plays (benchmarks/rfcnn_window.py "
                         "finds the one a network needs)")
    ap.add_argument("--save", metavar="DIR", help="write each plan's seed-0 rfcnn checkpoint here")
    ap.add_argument("--rf-crosstalk", action="store_true",
                    help="also one chain's resonators at carrier level (seconds per plan)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average at start), torch threads "
          f"{args.threads}")
    data = load(args.data, pool=args.pool) if args.data.startswith("mnist:") else load(args.data)
    print(data.summary())
    side = int(round(data.n_features ** 0.5))
    out = conv_side(side, args.kernel, args.stride, args.padding)
    shape = dict(side=side, filters=args.filters, kernel=args.kernel, stride=args.stride,
                 padding=args.padding, f_max=args.line_f_max, readout_f_max=args.readout_f_max)
    sizes = (side * side, args.filters * out * out, data.n_classes)
    print(f"shape: {args.filters} filters {args.kernel}x{args.kernel}, stride {args.stride}, "
          f"padding {args.padding} on {side}x{side}: sizes {sizes}")
    _, cnn_acc = train_seeds("cnn", RFCNNConfig(sizes=sizes, **shape), data, args.seeds,
                             args.epochs, args.cnn_lr)
    summary = []
    for arrangement in args.arrangements:
        config = RFCNNConfig(sizes=sizes, arrangement=arrangement, bias_start=args.bias_start,
                             differential=args.differential, readout_lines=args.readout_lines,
                             readout_lp_ratio=args.readout_lp_ratio, **shape)
        print(f"rfcnn {arrangement}{' differential' if args.differential else ''}, "
              f"{args.readout_lines} read-out line(s): conv chains start at {config.start_fraction:.2f} of the amplifier window", flush=True)
        if args.save:      # the seed-0 network, for `spicegen export` / `cosim`
            os.makedirs(args.save, exist_ok=True)
        runs, acc = train_seeds("rfcnn", config, data, args.seeds, args.epochs, args.lr,
                                args.save and os.path.join(args.save, f"rfcnn_{arrangement}.pt"))
        start = time.perf_counter()
        hw = hardware(runs[0][0], data, args.cosim_limit, args.workers, args.rf_crosstalk,
                      args.window)
        summary.append((arrangement, acc, runs[0][2], hw, time.perf_counter() - start))
    print("\nsummary (mean +- std over seeds; hardware figures of seed 0):")
    print(f"  cnn          {cnn_acc.mean():.2f} +- {cnn_acc.std():.2f} %")
    for arrangement, acc, first, hw, _ in summary:
        print(f"  rfcnn {arrangement:11s} {acc.mean():.2f} +- {acc.std():.2f} % "
              f"({acc.mean() - cnn_acc.mean():+.2f} pp vs cnn); first 100: {100 * first:.0f} %; "
              f"{hw['resonators']} resonators; circuit {100 * hw['circuit_accuracy']:.2f} %, "
              f"agreement {100 * hw['argmax_agreement']:.2f} % on {hw['samples']} in "
              f"{hw['seconds']:.1f} s")
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average at the end)")


if __name__ == "__main__":
    main()
