"""Stochastic DW synapse networks (kind dw): accuracy against the number of reads N, beside the
deterministic perceptron and the mean-field model; the bimodality of the trained p; co-simulation
time per test image and its growth with N. Prints every figure it measures.

    .venv/bin/python benchmarks/dw_reads.py                    # digits, 1 seed (a few minutes)
    .venv/bin/python benchmarks/dw_reads.py --seeds 0,1,2,3,4  # the issue's 5 seeds
    .venv/bin/python benchmarks/dw_reads.py --data mnist:/usr/share/datasets/fashion-mnist \\
        --reads 1,64 --epochs 10 --cosim-reads ""             # Fashion-MNIST pooled to 14x14
    .venv/bin/python benchmarks/dw_reads.py --seeds 0,1,2,3,4 --reads 1,8,64 --epochs 100 \\
        --pairs --gain 1.5 --init-p 0.1 --lr 0.01 --cosim-reads ""   # N = 64: 90.24 % (-0.84 pp)
    .venv/bin/python benchmarks/dw_reads.py ... --save out/dw/table.json --plots out/dw \\
        --circuit out/dw-cosim/report.json     # figures; the circuit's accuracy at its N
    .venv/bin/python benchmarks/dw_reads.py --replot out/dw/table.json   # redraw, no training

Published set-up (Ellis, Welbourne et al.): one layer with bias, cross-entropy, Adam lr 0.02, batch
64, early stopping on validation, N = 2^k reads, stochastic test accuracy averaged over 16 passes.
The mean-field model trains the same drives on the expected input sum x p + b and is tested with N
reads like the dw network (its deterministic accuracy is printed too); the perceptron has real
weights on the same binarised inputs. Targets (issue 13): at N = 64 within 1 pp of the perceptron;
at N = 1 the p distribution bimodal. Run it alone: torch and ngspice use the cores.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spintronic import networks  # noqa: E402
from spintronic.networks.checkpoints import make_model  # noqa: E402
from spintronic.networks.dw import DWConfig  # noqa: E402
from spintronic.training.datasets import load, load_mnist  # noqa: E402
from spintronic.training.trainer import TrainConfig, train  # noqa: E402
from spicegen import dw_plots  # noqa: E402
from spintronic.graph.files import atomic_json  # noqa: E402


def ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def stochastic_accuracy(model, X, y, reads: int, passes: int) -> float:
    """Test accuracy averaged over ``passes`` independent stochastic passes with N reads."""
    logits = model.passes(torch.as_tensor(X), range(1000, 1000 + passes), reads=reads)
    return float((logits.argmax(-1) == y).mean())


def fit(kind: str, data, reads: int, seed: int, args):
    sizes = (data.n_features, data.n_classes)
    dw = kind != "dw_perceptron"      # the perceptron keeps the published set-up: lr 0.02
    config = DWConfig(sizes=sizes, reads=reads, pairs=args.pairs and dw,
                      gain=args.gain if dw else 1.0, init_p=args.init_p if dw else None)
    model = make_model(kind, sizes, seed, config)
    start = time.perf_counter()
    result = train(model, data, TrainConfig(epochs=args.epochs, lr=args.lr if dw else 0.02,
                                            batch_size=64, seed=seed, patience=args.patience))
    return model.eval(), result, time.perf_counter() - start


def bimodal(p: np.ndarray) -> float:
    return float(((p < 0.1) | (p > 0.9)).mean())


def live_inputs(data, threshold: float = 0.5) -> np.ndarray:
    """Inputs that are 1 in some training image: the synapses of the others never train (their
    p stays at p(x0) = 0.51, e.g. the digits' border pixels) and are left out of the histograms."""
    return (data.X_train > threshold).any(0)


def accuracy_vs_reads(data, args) -> dict:
    X, y = data.X_test, data.y_test
    rows = {n: [] for n in args.reads}
    mf_rows = {n: [] for n in args.reads}
    perceptron, meanfield_det, p_hist = [], [], {}
    live = live_inputs(data)
    print(f"  {int(live.sum())} of {len(live)} inputs are 1 in some training image: p statistics "
          f"over their synapses")
    for seed in args.seeds:
        per, res, sec = fit("dw_perceptron", data, 1, seed, args)
        perceptron.append(res.test_accuracy)
        print(f"  seed {seed} perceptron: test {100 * res.test_accuracy:.2f} % "
              f"({res.best_epoch + 1} epochs best, {sec:.1f} s)", flush=True)
        mf, res, sec = fit("dw_meanfield", data, 1, seed, args)
        meanfield_det.append(res.test_accuracy)
        for n in args.reads:
            mf_rows[n].append(stochastic_accuracy(mf, X, y, n, args.passes))
        print(f"  seed {seed} mean field: deterministic {100 * res.test_accuracy:.2f} %, with N "
              f"reads " + ", ".join(f"{n}: {100 * mf_rows[n][-1]:.2f}" for n in args.reads)
              + f" % ({sec:.1f} s)", flush=True)
        for n in args.reads:
            model, res, sec = fit("dw", data, n, seed, args)
            acc = stochastic_accuracy(model, X, y, n, args.passes)
            rows[n].append(acc)
            p = model.probabilities().detach().numpy()[..., live].ravel()
            p_hist.setdefault(n, []).append(p)
            if args.save:     # after every fit: a run cut short keeps what it measured
                partial = [k for k in args.reads if rows[k]]
                save_table(args, result_table(data, args, rows, mf_rows, perceptron,
                                              meanfield_det, p_hist, partial, True))
            print(f"  seed {seed} dw N={n:3d}: stochastic test {100 * acc:.2f} % ({args.passes} "
                  f"passes), p<0.1 or >0.9: {100 * bimodal(p):.1f} % of synapses, "
                  f"{res.best_epoch + 1} epochs best, {sec:.1f} s", flush=True)
    ref = 100 * np.mean(perceptron)
    print(f"\naccuracy against reads ({data.name}, {len(args.seeds)} seed(s), "
          f"{'differential pairs, ' if args.pairs else ''}gain {args.gain:g}, init p "
          f"{args.init_p or 'p(x0)'}, lr {args.lr:g}, up to {args.epochs} epochs, test set of "
          f"{len(y)}; mean +- sd over seeds):")
    print(f"  deterministic perceptron   {ref:6.2f} +- {100 * np.std(perceptron):.2f} %")
    print(f"  mean field, deterministic  {100 * np.mean(meanfield_det):6.2f} +- "
          f"{100 * np.std(meanfield_det):.2f} %")
    print("      N   dw (stochastic)     mean field with N reads   dw - perceptron   "
          "p<0.1 or >0.9")
    for n in args.reads:
        a, m = 100 * np.array(rows[n]), 100 * np.array(mf_rows[n])
        print(f"  {n:5d}   {a.mean():6.2f} +- {a.std():4.2f} %    {m.mean():6.2f} +- {m.std():4.2f} %"
              f"          {a.mean() - ref:+6.2f} pp       "
              f"{100 * bimodal(np.concatenate(p_hist[n])):5.1f} %")
    return result_table(data, args, rows, mf_rows, perceptron, meanfield_det, p_hist)


def result_table(data, args, rows, mf_rows, perceptron, meanfield_det, p_hist, reads=None,
                 partial=False) -> dict:
    """The figures above as a JSON-ready table (spicegen.dw_plots' format); ``partial``: only
    the N in ``reads`` are done, some seeds may be missing."""
    edges = dw_plots.p_histogram([])[1]
    reads = list(args.reads if reads is None else reads)
    return {"data": args.data, "reads": reads, "seeds": list(args.seeds), "partial": partial,
            "epochs": args.epochs, "lr": args.lr, "pairs": args.pairs, "gain": args.gain,
            "init_p": args.init_p, "passes": args.passes, "test_size": int(len(data.y_test)),
            "train_limit": args.train_limit,
            "perceptron": perceptron, "meanfield_deterministic": meanfield_det,
            "dw": {str(n): rows[n] for n in reads},
            "meanfield_reads": {str(n): mf_rows[n] for n in reads},
            "p_edges": edges,
            "p_hist": {str(n): dw_plots.p_histogram(np.concatenate(p_hist[n]))[0] for n in reads},
            "bimodal": {str(n): bimodal(np.concatenate(p_hist[n])) for n in reads},
            "circuit": circuit_table(args)}


def circuit_table(args) -> dict:
    import json
    reports = []
    for path in args.circuit:
        with open(path) as fh:
            reports.append(json.load(fh))
    return dw_plots.circuit_points(reports)


def save_table(args, table: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(args.save)), exist_ok=True)
    atomic_json(args.save, table)


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the ngspice runs): unlike wall
    time, not inflated when other jobs share the cores."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cosim_time(data, args) -> None:
    """Seconds per test image of the co-simulation (one repeat), against N, for an untrained
    network of the data's shape with drives spread around x0 (time does not depend on training)."""
    kind = networks.get_kind("dw")
    X, y = data.X_test[:args.images], data.y_test[:args.images]
    sizes = (data.n_features, data.n_classes)
    synapses = sizes[0] * sizes[1] * (2 if args.pairs else 1)
    print(f"\nco-simulation time ({sizes[0]} x {sizes[1]}: {synapses} DW synapses, "
          f"{len(y)} test images, 1 repeat, {args.workers} worker(s)):")
    print("      N   s per image   ms per read   CPU s per image   argmax agreement   switching test")
    base, c0 = None, None
    for n in args.cosim_reads:
        net = make_model("dw", sizes, 0, DWConfig(sizes=sizes, reads=n, pairs=args.pairs))
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for w in net.drives():
                w.add_(1.5 * torch.randn(w.shape, generator=gen))
        cpu = _cpu()
        res = kind.cosim(kind.to_graph(net.eval()), X, y, networks.CosimOptions(
            workers=args.workers, extra={"repeats": 1, "check_synapses": 32}))
        cpu = (_cpu() - cpu) / len(y)
        rep = res.report()
        per_image = rep["seconds"] / len(y)
        base = base or (n, per_image)
        c0 = c0 or cpu
        sw = rep["dw"]["switching"]
        print(f"  {n:5d}   {per_image:9.3f}     {1e3 * per_image / n:9.2f}     {cpu:9.3f}       "
              f"{100 * rep['argmax_agreement']:6.2f} %          "
              f"{'consistent' if sw['consistent'] else 'NOT consistent'} "
              f"(min p {sw['min_pvalue']:.2g})", flush=True)
    if len(args.cosim_reads) > 1:
        n0, t0 = base
        n1 = args.cosim_reads[-1]
        print(f"  growth: x{per_image / t0:.1f} in wall time, x{cpu / c0:.1f} in CPU time for "
              f"x{n1 / n0:g} in N")


def replot(args) -> None:
    """Figures (and, with --save, one table) from tables written by --save: several are merged
    (the same set-up run over other seeds or N), and the merged figures printed."""
    import json
    paths = [p for p in args.replot.split(",") if p]
    tables = []
    for path in paths:
        with open(path) as fh:
            tables.append(json.load(fh))
    table = dw_plots.merge_tables(tables) if len(tables) > 1 else tables[0]
    if args.circuit:
        table["circuit"] = circuit_table(args)
    per, mfd = 100 * np.array(table["perceptron"]), 100 * np.array(table["meanfield_deterministic"])
    print(f"{table['data']}{' (PARTIAL)' if table.get('partial') else ''}: perceptron "
          f"{per.mean():.2f} +- {per.std():.2f} % ({len(per)} seeds), mean field deterministic "
          f"{mfd.mean():.2f} +- {mfd.std():.2f} %")
    print("      N   seeds   dw (stochastic)    mean field with N reads   dw - perceptron   "
          "p<0.1 or >0.9")
    for n in table["reads"]:
        a, m = 100 * np.array(table["dw"][str(n)]), 100 * np.array(table["meanfield_reads"][str(n)])
        print(f"  {n:5d}   {len(a):5d}   {a.mean():6.2f} +- {a.std():4.2f} %   {m.mean():6.2f} +- "
              f"{m.std():4.2f} %          {a.mean() - per.mean():+6.2f} pp       "
              f"{100 * dw_plots.bimodal_fraction(table['p_hist'][str(n)], table['p_edges']):5.1f} %")
    if args.save:
        save_table(args, table)
    for path in dw_plots.plot_reads(table, args.plots or os.path.dirname(os.path.abspath(paths[0]))):
        print("wrote", path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="digits",
                    help="digits, or mnist:FOLDER (pooled 2x2 and binarised at 0.5)")
    ap.add_argument("--seeds", type=ints, default=[0], help="training seeds, e.g. 0,1,2,3,4")
    ap.add_argument("--reads", type=ints, default=[1, 2, 4, 8, 16, 32, 64])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=20)
    ap.add_argument("--passes", type=int, default=16, help="stochastic test passes")
    ap.add_argument("--train-limit", type=int, help="mnist: first N training images only")
    ap.add_argument("--cosim-reads", type=ints, default=[1, 4, 16, 64],
                    help="N of the co-simulation timing ('' to skip)")
    ap.add_argument("--images", type=int, default=8, help="test images of the timing runs")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--plots", metavar="DIR",
                    help="also write dw_reads.png (accuracy against N) and dw_p_hist.png here")
    ap.add_argument("--save", metavar="JSON",
                    help="write the result table here (after every fit, so a cut run keeps it)")
    ap.add_argument("--circuit", type=lambda t: [x for x in t.split(",") if x], default=[],
                    metavar="REPORTS", help="report.json files of `spicegen cosim` on dw graphs: "
                    "their circuit accuracy is plotted at their N")
    ap.add_argument("--replot", metavar="JSON[,JSON...]",
                    help="only draw --plots from tables written by --save, merged if several "
                    "(other seeds or N of one set-up; --save writes the merged table)")
    ap.add_argument("--pairs", action="store_true",
                    help="dw and mean field with differential pairs (signed weights J+ - J-)")
    ap.add_argument("--gain", type=float, default=1.0,
                    help="dw and mean field: read-out gain (logit = gain x sum J + bias)")
    ap.add_argument("--init-p", type=float, default=None,
                    help="dw and mean field: start every drive at this p (default: w = x0)")
    ap.add_argument("--lr", type=float, default=0.02,
                    help="dw and mean field: Adam learning rate (the perceptron keeps 0.02)")
    args = ap.parse_args()
    if args.replot:
        replot(args)
        return
    torch.set_num_threads(args.threads)
    if args.data.startswith("mnist:"):
        data = load_mnist(args.data[len("mnist:"):], pool=2, binarise=True, limit=args.train_limit)
    else:
        data = load(args.data)
    print(data.summary(), f"(torch threads {args.threads}; load average "
          f"{os.getloadavg()[0]:.1f} at start)", flush=True)
    if args.reads:
        table = accuracy_vs_reads(data, args)
        if args.save:
            save_table(args, table)
        if args.plots:
            for path in dw_plots.plot_reads(table, args.plots):
                print("wrote", path)
    if args.cosim_reads:
        cosim_time(data, args)
    print(f"(load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
