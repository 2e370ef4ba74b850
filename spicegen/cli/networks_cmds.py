"""``spicegen train | export | cosim | kinds``: every network kind through one path, looked up in
the registry (``spintronic.networks``)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from spintronic import networks
from spintronic.graph import schema
from spintronic.graph.files import atomic_json, output_folder

from .. import provenance
from .data_choice import choose_data, graph_data, recorded_source


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from spintronic.networks.checkpoints import make_model
    from spintronic.training.datasets import load
    from spintronic.training.resume import state_path
    from spintronic.training.trainer import TrainConfig, train

    from .options import default_threads

    threads = getattr(args, "threads", None) or default_threads()
    torch.set_num_threads(threads)
    kind = networks.get_kind(args.model)
    # a shared option (the RF channels) this kind defaults differently from the kind that added it
    for dest, value in getattr(args, "shared_defaults", {}).get(kind.cli_group, {}).items():
        if getattr(args, dest, None) is None:
            setattr(args, dest, value)
    data = load(args.data, pool=getattr(args, "pool", 1),
                binarise=getattr(args, "binarise", False),
                train_limit=getattr(args, "train_limit", None))
    print(data.summary())
    spec = kind.config_from_args(args, data)
    model = make_model(args.model, spec["sizes"], args.seed, spec.get("config"))
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr or kind.default_lr, seed=args.seed,
                      batch_size=args.batch_size or kind.default_batch_size,
                      patience=args.patience)
    resume = getattr(args, "resume", False)
    if not args.quiet:
        print(f"{'resuming' if resume else 'training'} on {threads} thread"
              f"{'s' if threads > 1 else ''}; state after every epoch: {state_path(args.out)}")
    try:
        result = train(model, data, cfg, checkpoint=args.out, progress=not args.quiet,
                       resume=resume)
    except KeyboardInterrupt:
        if os.path.exists(state_path(args.out)):
            print(f"the last finished epoch is kept in {state_path(args.out)}: continue with "
                  f"the same options and --resume", file=sys.stderr)
        raise
    print(f"{args.model} {spec['sizes']}: validation {100 * result.val_accuracy:.2f} %, test "
          f"{100 * result.test_accuracy:.2f} % (best epoch {result.best_epoch}, "
          f"{result.seconds_per_epoch:.3f} s/epoch)")
    print(f"wrote {args.out}")
    if kind.graph_network:
        rules = design_rules(kind, kind.to_graph(model))
        if rules.warnings or rules.notes:
            print(f"(GRAPH: spicegen export --checkpoint {args.out} --out GRAPH)", file=sys.stderr)
    return 0


def design_rules(kind, g, graph_path: str | None = None, lp_ratio: float | None = None,
                 summary: bool = False, warn: bool = True):
    """The per-layer design rules of a graph (``spicegen.design_rules``): warnings and notes on
    stderr (with ``warn``), the one-line rows on stdout with ``summary``; the rules back, for
    report.json."""
    rules = kind.design_rules(g, lp_ratio=lp_ratio, graph_path=graph_path)
    if summary and rules.rows:
        print(rules.text())
    for line in rules.messages() if warn else []:
        print(line, file=sys.stderr)
    return rules


def cosim_options(args: argparse.Namespace) -> networks.CosimOptions:
    return networks.CosimOptions(
        fidelity=getattr(args, "fidelity", "envelope"), window=args.window,
        workers=getattr(args, "workers", 2), chunk=getattr(args, "chunk", None),
        backend=getattr(args, "backend", "subprocess"),
        executor=getattr(args, "executor", "threads"), scheduler=getattr(args, "scheduler", None),
        points_per_step=getattr(args, "points_per_step", None),
        lp_ratio=getattr(args, "lp_ratio", None), timeout=getattr(args, "timeout", None),
        progress=not getattr(args, "quiet", False), extra=dict(vars(args)))


def cmd_export(args: argparse.Namespace) -> int:
    from spintronic.networks.checkpoints import load_checkpoint

    model, meta = load_checkpoint(args.checkpoint)
    kind = networks.get_kind(meta["kind"])
    fidelity = getattr(args, "fidelity", "envelope")
    if args.netlist and fidelity not in kind.fidelities:
        raise ValueError(f"a {kind.name} network has no {fidelity} fidelity netlist (it has: "
                         f"{', '.join(kind.fidelities)}); drop --fidelity {fidelity}")
    g = kind.to_graph(model)
    kind.check_graph(g)
    net = None
    # what train loaded (spec, pooling, digest...), for the netlist and recorded in the graph
    source = recorded_source(meta, args.checkpoint)
    if args.netlist or getattr(args, "data", None):
        data = choose_data(getattr(args, "data", None), source, f"checkpoint {args.checkpoint}",
                           os.path.dirname(os.path.abspath(args.checkpoint)))
        source = data.source
    if args.netlist:    # compiled before anything is written: a failure leaves both files as they were
        X = data.X_test[: args.samples]
        net = kind.compile(g, X, cosim_options(args), title=os.path.basename(args.netlist))
    schema.set_data_source(g, source)
    if source is None:
        print(f"note: {args.checkpoint} records no data source: cosim and sneak on this graph "
              f"will need --data", file=sys.stderr)
    schema.save(g, args.out)
    print(f"wrote {args.out}: {kind.describe_graph(g)}")
    for line in kind.export_extras(model, g, args.out):
        print(line)
    design_rules(kind, g, graph_path=args.out, summary=True)
    if net is not None:
        write_netlists(net, args.netlist)
    return 0


def write_netlists(net, path: str) -> None:
    """One deck (``path``), or one per sample (a list: rf fidelity) as ``NAME.s<k>.EXT``; each
    runs in plain ``ngspice -b`` and prints its outputs."""
    if not isinstance(net, list):
        net.write(path)
        print(f"wrote {path}: netlist of the first {net.n_samples} test samples; run it with "
              f"`ngspice -b {os.path.basename(path)}` (it prints the outputs and writes them beside "
              f"the deck)")
        return
    stem, ext = os.path.splitext(path)
    paths = [path] if len(net) == 1 else [f"{stem}.s{k}{ext or '.cir'}" for k in range(len(net))]
    for one, p in zip(net, paths):
        one.write(p)
    shown = paths[0] if len(paths) == 1 else f"{paths[0]} .. {paths[-1]}"
    print(f"wrote {shown}: carrier-level (rf) deck{'s' if len(paths) > 1 else ''}, one per test "
          f"sample; run each with `ngspice -b {os.path.basename(paths[0])}` (minutes per sample)")


def load_graph(path: str):
    """A graph file, checked by the schema and by its kind's structural checks."""
    g = schema.load(path)
    kind = networks.kind_for_graph(g)
    kind.check_graph(g)
    return g, kind


def cmd_cosim(args: argparse.Namespace) -> int:
    from ..cosim import format_report
    from ..plots import plot_cosim

    from ..executors import get_executor

    started = time.time()
    g, kind = load_graph(args.graph)
    opts = cosim_options(args)
    # refuse executor options (an unknown name, --scheduler without dask) before any folder exists
    get_executor(opts.executor, workers=opts.workers, scheduler=opts.scheduler)
    data = graph_data(args, g)
    X, y = data.X_test, data.y_test
    limit = args.limit or kind.default_cosim_limit(opts)
    if limit and limit < len(X):
        if not args.limit:
            print(f"{opts.fidelity} fidelity is slow: co-simulating the first {limit} of {len(X)} "
                  f"test samples (use --limit to choose)", file=sys.stderr)
        X, y = X[:limit], y[:limit]
    # an rf-fidelity run simulates the beat notes itself: rows only, no warning
    rules = design_rules(kind, g, graph_path=args.graph, lp_ratio=opts.lp_ratio, summary=True,
                         warn=opts.fidelity == "envelope")
    with output_folder(args.out) as out:     # a busy folder is refused before the notes' work
        for line in kind.cosim_notes(g, X, opts):
            print(line, file=sys.stderr)
        result = kind.cosim(g, X, y, opts)
        rep = result.report()
        print(format_report(rep))
        paths = plot_cosim(result, out)
        rep["provenance"] = provenance.for_command(
            args, started=started, graph=args.graph, data_source=data.source,
            backend=opts.backend, settings={"samples": int(len(y))})
        rep["design_rules"] = rules.to_dict()
        report = os.path.join(out, "report.json")
        atomic_json(report, rep)
        for path in paths + [report]:
            print(f"wrote {path}")
    return 0


def cmd_kinds(args: argparse.Namespace) -> int:
    from spintronic.models.device import DEVICES

    from ..backends import BACKENDS
    from ..executors import EXECUTORS

    def section(title: str, rows: list[tuple[str, str]]) -> None:
        print(f"{title}:")
        for name, text in rows:
            print(f"  {name:<12} {text}")

    section("network kinds", [(k.name, k.description + (f" (graph: {k.graph_network})"
                                                        if k.graph_network else ""))
                              for k in networks.NETWORKS.values()])
    section("device families", [(d.kind, d.description) for d in DEVICES.values()])
    section("back ends", [(b.name, b.description) for b in BACKENDS.values()])
    section("executors", [(e.name, e.description) for e in EXECUTORS.values()])
    return 0


def cmd_library(args: argparse.Namespace) -> int:
    from ..library import write_library

    for path in write_library(args.out, None if args.no_examples else args.examples):
        print(f"wrote {path}")
    return 0
