"""How long a window an RF convolutional network's envelope co-simulation needs, and what its step
control costs: the whole test set predicted by the STNOs' power equation (seconds), the first N
test samples through ngspice at the same windows (argmax agreement, read-out error, distance from
the prediction, time), and one run at the deck's reltol beside one 100x tighter.

    .venv/bin/python benchmarks/rfcnn_window.py --graph out/f28/g.graph.json --limit 90 \
        --windows 200e-9 400e-9 800e-9 1600e-9 --plot out/f28/window.png

STNOs whose drive ends at the lower clamp (the threshold current) lose their power as 1/t, so the
read-out error halves each time the window doubles; the window a network needs is the shortest
whose agreement passes the target. Run it alone (`uptime`): times depend on the load.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spicegen import rfcnn_netlist  # noqa: E402
from spicegen.cli.data_choice import graph_data  # noqa: E402
from spicegen.rfcnn_settling import settling  # noqa: E402
from spicegen.runner import run_netlist  # noqa: E402
from spintronic.graph import schema  # noqa: E402


def predict(g, X, y, windows) -> None:
    """The power equation solved over each window, on every sample given: seconds, no ngspice."""
    steady = rfcnn_netlist.graph_forward(g, X)
    surrogate = (steady[-1].argmax(1) == y).mean()
    for window in windows:
        start = time.perf_counter()
        got = settling(g, X, window, surrogate=steady)
        circuit = (got["settled"][-1].argmax(1) == y).mean()
        print(f"predicted, {window * 1e9:6.0f} ns, all {len(y)} samples: agreement "
              f"{100 * got['agreement']:6.2f} %, circuit {100 * circuit:.2f} % vs surrogate "
              f"{100 * surrogate:.2f} %, read-out error mean {1e6 * got['mean_error_V']:.2f} uV "
              f"({time.perf_counter() - start:.1f} s)", flush=True)


def sweep(g, X, y, windows, workers: int) -> list[dict]:
    rows = []
    for window in windows:
        res = rfcnn_netlist.cosim_rfcnn(g, X, y, window=window, workers=workers)
        rep = res.report()
        err = np.abs(res.circuit[-1] - res.surrogate[-1])
        rows.append({"window": window, "agreement": rep["argmax_agreement"],
                     "circuit": rep["circuit_accuracy"], "surrogate": rep["surrogate_accuracy"],
                     "mean_uV": 1e6 * err.mean(), "max_uV": 1e6 * err.max(),
                     "seconds": rep["seconds"], **rep["settling"]})
        r = rows[-1]
        print(f"ngspice,   {window * 1e9:6.0f} ns, first {len(y)} samples: agreement "
              f"{100 * r['agreement']:6.2f} % (predicted {100 * r['predicted_agreement']:.2f} %), "
              f"circuit {100 * r['circuit']:.2f} % vs surrogate {100 * r['surrogate']:.2f} %, "
              f"read-out error mean {r['mean_uV']:.2f} uV max {r['max_uV']:.2f} uV, "
              f"{1e6 * r['circuit_vs_predicted_max_V']:.3f} uV at most from the prediction; "
              f"{r['seconds']:.1f} s ({r['seconds'] / len(y):.3f} s a sample, {workers} workers)",
              flush=True)
    return rows


def step_control(g, X, window: float) -> None:
    """One chunk at the deck's reltol and at 1/100 of it: read-out difference and ngspice time."""
    out, seconds = [], []
    for reltol in (rfcnn_netlist.RELTOL, rfcnn_netlist.RELTOL / 100):
        net = rfcnn_netlist.compile_rfcnn(g, X, window=window, reltol=reltol)
        start = time.perf_counter()
        res = run_netlist(net.text, "subprocess", timeout=3600)
        seconds.append(time.perf_counter() - start)
        out.append(np.stack([np.interp(net.read_times, res.scale, res[v]) for v in net.outputs]))
    print(f"step control, {len(X)} samples at {window * 1e9:.0f} ns: reltol "
          f"{rfcnn_netlist.RELTOL:g} vs {rfcnn_netlist.RELTOL / 100:g}: read-out differs by "
          f"{1e6 * np.abs(out[0] - out[1]).max():.3f} uV at most; ngspice {seconds[0]:.1f} s vs "
          f"{seconds[1]:.1f} s ({seconds[1] / seconds[0]:.1f}x)", flush=True)


def plot(rows, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spicegen.plots import save_figure

    w = np.array([r["window"] for r in rows]) * 1e9
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.loglog(w, [r["mean_uV"] for r in rows], "o-", label="mean")
    a.loglog(w, [r["max_uV"] for r in rows], "s-", label="max")
    a.loglog(w, rows[0]["mean_uV"] * w[0] / w, "k:", label="1/t")
    a.set(xlabel="window (ns)", ylabel="read-out error (uV)")
    a.legend()
    b.semilogx(w, [100 * r["agreement"] for r in rows], "o-")
    b.axhline(99, color="k", ls=":")
    b.set(xlabel="window (ns)", ylabel="argmax agreement (%)")
    fig.suptitle("envelope co-simulation against the steady-state surrogate")
    fig.tight_layout()
    print(f"wrote {save_figure(fig, path)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--graph", required=True, help="an rfcnn graph (spicegen export)")
    ap.add_argument("--data", help="data set (default: the one the graph records)")
    ap.add_argument("--limit", type=int, default=90,
                    help="first N test samples through ngspice (0: the prediction only)")
    ap.add_argument("--windows", type=float, nargs="+", default=[200e-9, 400e-9, 800e-9])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--step-samples", type=int, default=9,
                    help="samples of the step-control run (0: skip it)")
    ap.add_argument("--plot", metavar="PNG", help="error and agreement against the window")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average at start)")
    g = schema.load(args.graph)
    rfcnn_netlist.check_rfcnn(g)
    data = graph_data(args, g)
    predict(g, data.X_test, data.y_test, sorted(args.windows))
    X, y = data.X_test[:args.limit], data.y_test[:args.limit]
    if args.step_samples and args.limit:
        step_control(g, X[:args.step_samples], min(args.windows))
    rows = sweep(g, X, y, sorted(args.windows), args.workers) if args.limit else []
    if args.plot and rows:
        plot(rows, args.plot)
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average at the end)")


if __name__ == "__main__":
    main()
