"""``spicegen twins | sneak | crosstalk``: the device twins and the analyses of one trained layer."""
from __future__ import annotations

import argparse
import sys
import time

from spintronic.graph.files import output_folder

from .networks_cmds import load_graph


def _layer(g, layer: int) -> int:
    from spintronic.graph import schema

    n = len(schema.layer_sizes(g)) - 1
    if not 1 <= layer <= n:
        raise ValueError(f"--layer {layer} is outside the network's layers 1..{n}")
    return layer


def cmd_twins(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..plots import plot_twin
    from ..twins import TWINS, format_table, run_twins

    names = args.only or list(TWINS)
    started = time.time()
    start = time.perf_counter()
    with tqdm(total=len(names), desc="device twins", unit="twin", file=sys.stderr,
              disable=args.quiet) as bar:
        def progress(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update()
        results = run_twins(names, backend=args.backend, progress=progress)
    print(format_table(results))
    with output_folder(args.out) as out:
        for result in results:
            print(f"wrote {plot_twin(result, out)}")
        _twins_report(args, results, out, started)
    failed = [c for r in results for c in r.checks if not c.passed]
    print(f"{len(failed)} of {sum(len(r.checks) for r in results)} checks out of tolerance "
          f"({time.perf_counter() - start:.1f} s, backend {args.backend})")
    return 1 if failed else 0


def _twins_report(args: argparse.Namespace, results, out: str, started: float) -> None:
    """report.json: every check with its error and tolerance, and the provenance."""
    import os

    from spintronic.graph.files import atomic_json

    from .. import provenance

    checks = [{"twin": r.twin or r.device, "device": c.device, "check": c.name,
               "error": float(c.error), "tolerance": float(c.tolerance), "unit": c.unit,
               "passed": bool(c.passed)} for r in results for c in r.checks]
    path = os.path.join(out, "report.json")
    atomic_json(path, {"checks": checks, "provenance": provenance.for_command(
        args, started=started, backend=args.backend)})
    print(f"wrote {path}")


def cmd_sneak(args: argparse.Namespace) -> int:
    import os

    from spintronic.graph.files import atomic_json
    from spintronic.networks.base import SneakOptions

    from .. import provenance
    from .data_choice import graph_data

    started = time.time()
    g, kind = load_graph(args.graph)
    layer = _layer(g, args.layer)
    data = graph_data(args, g)
    # the kind inspects its own layer: rf beside its chains, dw in its drawn switch states
    opts = SneakOptions(layer=layer, on_off=args.on_off, r_wire=args.r_wire, sensing=args.sensing,
                        access=args.access, single_ended=args.single_ended,
                        solver=getattr(args, "solver", "spice"),
                        timeout=getattr(args, "timeout", 120.0), limit=args.limit,
                        seed=getattr(args, "seed", 0))
    rep = kind.sneak(g, data.X_test, data.y_test, opts)
    print(rep.text())
    with output_folder(args.out) as out:
        paths = rep.write_plots(out)
        report = os.path.join(out, "report.json")
        atomic_json(report, {**rep.to_dict(), "provenance": provenance.for_command(
            args, started=started, graph=args.graph, data_source=data.source,
            backend="subprocess")})
        for path in paths + [report]:
            print(f"wrote {path}")
    return 0


def _crosstalk_setup(args: argparse.Namespace):
    from spintronic.models import ResonatorParams

    from .. import crosstalk as xt

    if not args.graph:
        return xt.CrosstalkSetup.layer(args.channels, args.spacing, f_min=args.f_min,
                                       offset=args.offset, power=args.power,
                                       prm=ResonatorParams(alpha=args.alpha),
                                       lp_ratio=args.lp_ratio)
    g, kind = load_graph(args.graph)
    _layer(g, args.layer)
    # the kind says which sources and chains share a line (rfcnn: one line per patch)
    c = kind.crosstalk_line(g, args.layer, args.inputs, args.chain_index)
    return xt.CrosstalkSetup(c["freqs"], c["powers"], c["chains"], c["orientations"],
                             prm=c["prm"], lp_ratio=args.lp_ratio)


def cmd_crosstalk(args: argparse.Namespace) -> int:
    import math
    import os

    from spintronic.graph.files import atomic_json

    from .. import crosstalk as xt
    from .. import provenance

    started = time.time()
    setup = _crosstalk_setup(args)
    with output_folder(args.out) as out:
        res = xt.measure_crosstalk(setup, workers=args.workers)
        print(res.report())
        paths = [res.plot(os.path.join(out, "matrix.png"))]
        report = {"crosstalk": res.to_dict()}
        if args.beat_notes:
            beats = xt.beat_note_sweep((0.05, 0.1, 0.2, 0.5, 1.0, 2.0), spacing=args.spacing,
                                       workers=args.workers)
            print(beats.report())
            paths.append(beats.plot(os.path.join(out, "beat_notes.png")))
        if args.pulling:
            pull = xt.pulling([2 * math.pi * m * 1e6 for m in (0, 1, 2, 5, 10, 20, 50)])
            print(pull.report())
            paths.append(pull.plot(os.path.join(out, "pulling.png")))
        if args.guideline:
            guide = xt.spacing_guideline(args.guideline, n_channels=args.channels,
                                         prm=setup.prm, rf_spacings=(3, 8, 20), workers=args.workers)
            print(guide.report())
            paths.append(guide.plot(os.path.join(out, "guideline.png"),
                                    bounds=(args.guideline,)))
        report["provenance"] = provenance.for_command(args, started=started, graph=args.graph,
                                                      backend="subprocess")
        paths.append(os.path.join(out, "report.json"))
        atomic_json(paths[-1], report)
        for path in paths:
            print(f"wrote {path}")
    return 0


