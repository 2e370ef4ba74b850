"""Command line: ``spicegen twins`` and ``spicegen library``."""
from __future__ import annotations

import argparse
import sys
import time

from .errors import SpiceError
from .runner import BACKENDS


def _cmd_twins(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .plots import plot_twin
    from .twins import TWINS, format_table, run_twins

    names = args.only or list(TWINS)
    start = time.perf_counter()
    with tqdm(total=len(names), desc="device twins", unit="twin", file=sys.stderr,
              disable=args.quiet) as bar:
        def progress(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update()
        results = run_twins(names, backend=args.backend, progress=progress)
    print(format_table(results))
    for result in results:
        print(f"wrote {plot_twin(result, args.out)}")
    failed = [c for r in results for c in r.checks if not c.passed]
    print(f"{len(failed)} of {sum(len(r.checks) for r in results)} checks out of tolerance "
          f"({time.perf_counter() - start:.1f} s, backend {args.backend})")
    return 1 if failed else 0


def _cmd_library(args: argparse.Namespace) -> int:
    from .library import write_library

    for path in write_library(args.out, None if args.no_examples else args.examples):
        print(f"wrote {path}")
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}")
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"need >= 2 positive layer widths, got {text!r}")
    return sizes


def _cmd_train(args: argparse.Namespace) -> int:
    from spintronic.training.datasets import load
    from spintronic.training.trainer import TrainConfig, make_model, train

    data = load(args.data)
    print(data.summary())
    if args.model in ("stno", "ctrnn"):
        import math

        from spintronic.training.stno_network import DynamicalConfig
        side = math.isqrt(data.n_features)
        width, steps = (side, side) if args.order == "rows" else (1, data.n_features)
        sizes = args.sizes or (width, 64, data.n_classes)
        if sizes[0] * steps != data.n_features:
            raise ValueError(f"{args.order} order feeds {width} inputs per step, but --sizes "
                             f"starts with {sizes[0]}")
        dyn = DynamicalConfig(sizes=sizes, steps=steps, order=args.order, dt=args.dt,
                              substeps=args.substeps, readout=args.readout,
                              readout_steps=args.readout_steps, synapses=args.synapses)
        model = make_model(args.model, sizes, args.seed, dynamical=dyn)
    else:
        sizes = args.sizes or (data.n_features, 32, data.n_classes)
        model = make_model(args.model, sizes, args.seed)
    lr = args.lr or (0.03 if args.model in ("stno", "ctrnn") else 0.01)
    batch = args.batch_size or (64 if args.model in ("stno", "ctrnn") else 32)
    cfg = TrainConfig(epochs=args.epochs, lr=lr, seed=args.seed, batch_size=batch,
                      patience=args.patience)
    result = train(model, data, cfg, checkpoint=args.out, progress=not args.quiet)
    print(f"{args.model} {sizes}: validation {100 * result.val_accuracy:.2f} %, test "
          f"{100 * result.test_accuracy:.2f} % (best epoch {result.best_epoch}, "
          f"{result.seconds_per_epoch:.3f} s/epoch)")
    print(f"wrote {args.out}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from spintronic.training.annotate import to_graph
    from spintronic.training.trainer import load_checkpoint

    from spintronic.graph import schema
    from .compiler import compile_envelope

    model, meta = load_checkpoint(args.checkpoint)
    if meta["kind"] not in ("rf", "stno"):
        raise ValueError(f"{args.checkpoint} holds a {meta['kind']} network; only RF and STNO "
                         f"networks become device graphs")
    g = to_graph(model)
    schema.save(g, args.out)
    kinds = [a["kind"] for _, a in g.nodes(data=True)]
    what = (f"{kinds.count('resonator')} resonators, {kinds.count('stno')} STNOs"
            if g.graph["network"] == "rf" else
            f"{kinds.count('neuron')} STNOs, {kinds.count('resonator')} resonators, "
            f"{sum(1 for *_, k in g.edges(data='link') if k == 'weight')} weights")
    print(f"wrote {args.out}: {g.number_of_nodes()} devices ({what})")
    if args.netlist:
        from spintronic.training.datasets import load

        X = load(meta.get("dataset") or "digits").X_test[: args.samples]
        if g.graph["network"] == "dynamical":
            from .dynamical import compile_dynamical
            net, what = compile_dynamical(g, X), "transient"
        else:
            net, what = compile_envelope(g, X, window=args.window), "envelope"
        net.write(args.netlist)
        print(f"wrote {args.netlist}: {what} netlist of the first {net.n_samples} test samples")
    return 0


def _cmd_cosim(args: argparse.Namespace) -> int:
    import json

    from spintronic.training.datasets import load

    from spintronic.graph import schema
    from .cosim import cosim_envelope, format_report
    from .plots import plot_cosim

    g = schema.load(args.graph)
    data = load(args.data)
    X, y = data.X_test, data.y_test
    if args.limit:
        X, y = X[: args.limit], y[: args.limit]
    chunk = {"chunk": args.chunk} if args.chunk else {}   # each kind of network has its default
    if g.graph["network"] == "dynamical":
        from .dynamical import cosim_dynamical
        if args.fidelity == "rf":
            raise ValueError("dynamical STNO networks are co-simulated at envelope fidelity (their "
                             "chains, if any, as Lorentzian weights): drop --fidelity rf")
        result = cosim_dynamical(g, X, y, workers=args.workers, backend=args.backend,
                                 progress=not args.quiet, points_per_step=args.points_per_step,
                                 **chunk)
    elif args.fidelity == "rf":
        from .cosim import cosim_rf
        if len(X) > 10:
            print(f"rf fidelity is carrier-level and slow: co-simulating the first 10 of {len(X)} "
                  f"test samples (use --limit to choose)", file=sys.stderr)
            X, y = X[:10], y[:10]
        result = cosim_rf(g, X, y, workers=args.workers, lp_ratio=args.lp_ratio,
                          progress=not args.quiet)
    else:
        result = cosim_envelope(g, X, y, window=args.window, workers=args.workers,
                                backend=args.backend, progress=not args.quiet, **chunk)
    rep = result.report()
    print(format_report(rep))
    import os
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "report.json"), "w") as fh:
        json.dump(rep, fh, indent=1)
    for path in plot_cosim(result, args.out) + [os.path.join(args.out, "report.json")]:
        print(f"wrote {path}")
    return 0


def _cmd_sneak(args: argparse.Namespace) -> int:
    from spintronic.training.datasets import load

    from spintronic.graph import schema
    from .crossbar import CrossbarConfig
    from .sneak import inspect_layer, write_plots

    cfg = CrossbarConfig(on_off=args.on_off, r_wire=args.r_wire, sensing=args.sensing,
                         access=args.access, differential=not args.single_ended)
    g = schema.load(args.graph)
    data = load(args.data)
    X, y = data.X_test, data.y_test
    if args.limit:
        X, y = X[: args.limit], y[: args.limit]
    rep = inspect_layer(g, X, y, args.layer, cfg)
    print(rep.text())
    for path in write_plots(rep, args.out):
        print(f"wrote {path}")
    return 0


def _indices(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated indices, got {text!r}")


def _crosstalk_setup(args: argparse.Namespace):
    from spintronic.models import ResonatorParams

    from . import crosstalk as xt
    from spintronic.graph import schema

    if not args.graph:
        return xt.CrosstalkSetup.layer(args.channels, args.spacing, f_min=args.f_min,
                                       offset=args.offset, power=args.power,
                                       prm=ResonatorParams(alpha=args.alpha),
                                       lp_ratio=args.lp_ratio)
    import torch

    from spintronic.models import stno

    from .compiler import source_frequency, source_power_scale
    g = schema.load(args.graph)
    if g.graph.get("network") != "rf":
        raise ValueError("crosstalk needs an RF graph (resonator chains)")
    srcs = schema.sources(g, args.layer)
    chains = schema.chains(g, args.layer)
    inputs = args.inputs or list(range(min(4, len(srcs))))
    picked = args.chain_index or list(range(min(4, len(chains))))
    if max(inputs) >= len(srcs) or max(picked) >= len(chains) or min(inputs + picked) < 0:
        raise ValueError(f"layer {args.layer} has {len(srcs)} inputs and {len(chains)} chains")
    att = source_power_scale(g, args.layer)
    freqs, powers = [], []
    for i in inputs:
        a = g.nodes[srcs[i]]
        freqs.append(source_frequency(g, srcs[i]))
        # inputs at full scale; oscillators at their largest emitted power (upper current clamp)
        if a["kind"] == "input":
            p = a["p_max"]
        else:
            prm = schema.stno_params(a)
            i_max = torch.tensor(prm.I_max_ratio * prm.I_th, dtype=torch.float64)
            p = float(stno.emitted_power(stno.steady_power(i_max, prm), i_max, prm))
        powers.append(p * att[i])
    res = [[g.nodes[r] for r in chains[j][1]] for j in picked]
    return xt.CrosstalkSetup(freqs, powers, [[a["f_r"] for a in c] for c in res],
                             [[a["orientation"] for a in c] for c in res],
                             prm=schema.resonator_params(res[0][0]), lp_ratio=args.lp_ratio)


def _cmd_crosstalk(args: argparse.Namespace) -> int:
    import math
    import os

    from . import crosstalk as xt

    os.makedirs(args.out, exist_ok=True)
    setup = _crosstalk_setup(args)
    res = xt.measure_crosstalk(setup, workers=args.workers)
    print(res.report())
    paths = [res.plot(os.path.join(args.out, "matrix.png"))]
    if args.beat_notes:
        beats = xt.beat_note_sweep((0.05, 0.1, 0.2, 0.5, 1.0, 2.0), spacing=args.spacing,
                                   workers=args.workers)
        print(beats.report())
        paths.append(beats.plot(os.path.join(args.out, "beat_notes.png")))
    if args.pulling:
        pull = xt.pulling([2 * math.pi * m * 1e6 for m in (0, 1, 2, 5, 10, 20, 50)])
        print(pull.report())
        paths.append(pull.plot(os.path.join(args.out, "pulling.png")))
    if args.guideline:
        guide = xt.spacing_guideline(args.guideline, n_channels=args.channels,
                                     prm=setup.prm, rf_spacings=(3, 8, 20), workers=args.workers)
        print(guide.report())
        paths.append(guide.plot(os.path.join(args.out, "guideline.png"),
                                bounds=(args.guideline,)))
    for path in paths:
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .library import DEFAULT_DIR, EXAMPLES_DIR
    from .twins import TWINS

    parser = argparse.ArgumentParser(
        prog="spicegen", description="Spintronic neural networks: surrogates, netlists, ngspice.")
    sub = parser.add_subparsers(dest="command", required=True)
    twins = sub.add_parser("twins", help="run every device's surrogate against its ngspice model")
    twins.add_argument("--out", default="out/twins", help="folder for the PNG plots")
    twins.add_argument("--backend", choices=BACKENDS, default="subprocess")
    twins.add_argument("--only", nargs="+", choices=list(TWINS), help="run only these twins")
    twins.add_argument("--quiet", action="store_true", help="no progress bar")
    twins.set_defaults(func=_cmd_twins)
    tr = sub.add_parser("train", help="train an RF network (or the software MLP baseline)")
    tr.add_argument("--data", default="digits", help="'digits', a .npz/.h5 file, or mnist:FOLDER")
    tr.add_argument("--model", choices=["rf", "mlp", "stno", "ctrnn"], default="rf",
                    help="rf: RF resonator network; mlp: its software baseline; stno: dynamical "
                         "STNO network fed in time; ctrnn: its software baseline")
    tr.add_argument("--sizes", type=_sizes, help="layer widths, e.g. 64,32,10")
    tr.add_argument("--epochs", type=int, default=60)
    tr.add_argument("--lr", type=float, help="Adam learning rate (default 0.01; 0.03 for stno/ctrnn)")
    tr.add_argument("--batch-size", type=int, help="default 32; 64 for stno/ctrnn")
    tr.add_argument("--patience", type=int, default=20)
    tr.add_argument("--order", choices=["rows", "pixels"], default="rows",
                    help="stno/ctrnn: feed the image row by row or pixel by pixel")
    tr.add_argument("--dt", type=float, default=4e-9, help="stno/ctrnn: input time step (s)")
    tr.add_argument("--substeps", type=int, default=8, help="stno/ctrnn: integration substeps per dt")
    tr.add_argument("--synapses", choices=["ideal", "chain"], default="ideal",
                    help="stno: ideal trained weights, or RF resonator chains with trained f_r")
    tr.add_argument("--readout", choices=["last", "mean"], default="last")
    tr.add_argument("--readout-steps", type=int, default=1, help="steps averaged by --readout mean")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--out", default="out/rf.pt", help="checkpoint path")
    tr.add_argument("--quiet", action="store_true")
    tr.set_defaults(func=_cmd_train)
    ex = sub.add_parser("export", help="back-annotate a checkpoint into a device graph")
    ex.add_argument("--checkpoint", default="out/rf.pt")
    ex.add_argument("--out", default="out/rf.graph.json", help=".json or .graphml")
    ex.add_argument("--netlist", help="also write an envelope netlist of a few test samples here")
    ex.add_argument("--samples", type=int, default=10)
    ex.add_argument("--window", type=float, default=200e-9, help="seconds per sample")
    ex.set_defaults(func=_cmd_export)
    co = sub.add_parser("cosim", help="run the test set through ngspice beside the surrogate")
    co.add_argument("--graph", default="out/rf.graph.json")
    co.add_argument("--data", default="digits")
    co.add_argument("--limit", type=int, help="only the first N test samples")
    co.add_argument("--fidelity", choices=["envelope", "rf"], default="envelope",
                    help="envelope: whole test sets; rf: carrier level, a few samples")
    co.add_argument("--window", type=float, default=200e-9,
                    help="seconds each sample is applied before the read-out")
    co.add_argument("--workers", type=int, default=2, help="parallel ngspice processes")
    co.add_argument("--chunk", type=int,
                    help="samples per ngspice run (default 45 for rf graphs, 60 for dynamical)")
    co.add_argument("--points-per-step", type=int,
                    help="dynamical: fixed integration steps per input step dt (default: the "
                         "surrogate's substeps, at least 8); each doubling doubles the time and "
                         "cuts the circuit's error two- to threefold (measured)")
    co.add_argument("--backend", choices=BACKENDS, default="subprocess")
    co.add_argument("--lp-ratio", type=float,
                    help="rf: read-out low-pass corner as a fraction of the lowest carrier on a "
                         "line (default: the resonators' lp_ratio); keep it below the channel "
                         "spacing or beat notes reach the next layer")
    co.add_argument("--out", default="out/cosim")
    co.add_argument("--quiet", action="store_true")
    co.set_defaults(func=_cmd_cosim)
    xt = sub.add_parser("crosstalk", help="rf-fidelity crosstalk matrix of a chosen layer or of "
                                          "part of a trained RF layer, beside the Lorentzian")
    xt.add_argument("--graph", help="a trained RF graph; without it, a chosen layer (below)")
    xt.add_argument("--layer", type=int, default=1)
    xt.add_argument("--inputs", type=_indices, help="graph: input indices (default 0,1,2,3)")
    xt.add_argument("--chain-index", type=_indices, help="graph: chain indices (default 0,1,2,3)")
    xt.add_argument("--channels", type=int, default=8, help="chosen layer: number of channels")
    xt.add_argument("--spacing", type=float, default=8.0, help="channel spacing in linewidths")
    xt.add_argument("--f-min", type=float, default=1e9, help="lowest channel (Hz)")
    xt.add_argument("--offset", type=float, default=1.0,
                    help="resonator detuning above its channel, in linewidths")
    xt.add_argument("--power", type=float, default=1e-6, help="power per channel (W)")
    xt.add_argument("--alpha", type=float, default=0.01, help="resonator damping (linewidth / f)")
    xt.add_argument("--lp-ratio", type=float, help="read-out corner as a fraction of the carrier")
    xt.add_argument("--beat-notes", action="store_true", help="also sweep beat ripple vs corner")
    xt.add_argument("--pulling", action="store_true", help="also tabulate frequency pulling")
    xt.add_argument("--guideline", type=float, metavar="BOUND",
                    help="also find the minimum spacing keeping the crosstalk error under BOUND")
    xt.add_argument("--workers", type=int, default=2)
    xt.add_argument("--out", default="out/crosstalk")
    xt.set_defaults(func=_cmd_crosstalk)
    sn = sub.add_parser("sneak", help="one trained RF layer as a DW-MTJ crossbar: sneak paths, "
                                      "IR drop, MAC error and accuracy beside the resonator chains")
    sn.add_argument("--graph", default="out/rf.graph.json")
    sn.add_argument("--data", default="digits")
    sn.add_argument("--layer", type=int, default=1)
    sn.add_argument("--on-off", type=float, default=2.5, help="ON/OFF ratio G_P / G_AP (> 1)")
    sn.add_argument("--r-wire", type=float, default=1.0, help="wire resistance per cell (Ohm)")
    sn.add_argument("--sensing", choices=["tia", "resistor"], default="tia")
    sn.add_argument("--access", action="store_true", help="access transistor in every cell")
    sn.add_argument("--single-ended", action="store_true",
                    help="one device per weight and a reference column, not G+/G- pairs")
    sn.add_argument("--limit", type=int, help="only the first N test samples")
    sn.add_argument("--out", default="out/sneak")
    sn.set_defaults(func=_cmd_sneak)
    lib = sub.add_parser("library", help="regenerate netlists/: the device model library (.lib, "
                         ".va) and the example networks' netlists")
    lib.add_argument("--out", default=DEFAULT_DIR)
    lib.add_argument("--examples", default=EXAMPLES_DIR,
                     help="folder of the example checkpoints whose netlists are regenerated")
    lib.add_argument("--no-examples", action="store_true", help="only the model library")
    lib.set_defaults(func=_cmd_library)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SpiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError, FloatingPointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
