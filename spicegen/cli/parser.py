"""The argument parser: every option has help text and shows its default; kinds, back ends and
executors come from their registries."""
from __future__ import annotations

import argparse

from spintronic import networks

from . import analysis_cmds, import_cmds, networks_cmds
from .options import (default_threads, fraction, indices, nonneg_int, positive_float,
                      positive_int, ranged, sizes)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, but not the noise of ``(default: None)`` or ``(default: False)``."""

    def _get_help_string(self, action):
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("spintronic-spice")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _runs(p: argparse.ArgumentParser, workers_help: str = "parallel ngspice processes") -> None:
    from ..backends import BACKENDS
    from ..executors import EXECUTORS

    p.add_argument("--workers", type=positive_int, default=2, help=workers_help)
    p.add_argument("--backend", choices=sorted(BACKENDS), default="subprocess",
                   help="how ngspice runs: its own process, or PySpice's shared library")
    p.add_argument("--executor", choices=sorted(EXECUTORS), default="threads",
                   help="what fans the ngspice runs out: see `spicegen kinds`")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="--executor dask: an existing Dask scheduler (default: a LocalCluster "
                        "of --workers processes)")
    p.add_argument("--timeout", type=positive_float,
                   help="seconds one ngspice run may take before it is stopped (default: derived "
                        "from the run's size)")


def _train(sub) -> None:
    tr = sub.add_parser("train", formatter_class=_Formatter,
                        help="train a network of a registered kind (see `spicegen kinds`)")
    tr.add_argument("--data", default="digits", help="'digits', a .npz/.h5 file, or mnist:FOLDER")
    data = tr.add_argument_group("data")
    data.add_argument("--pool", type=positive_int, default=1,
                      help="mnist:FOLDER: average-pool N x N pixels (N must divide the image "
                           "size: 2 turns 28 x 28 into 14 x 14)")
    data.add_argument("--binarise", action="store_true",
                      help="mnist:FOLDER: pixels to 0 or 1 (threshold 0.5, after pooling)")
    data.add_argument("--train-limit", type=positive_int, metavar="N",
                      help="train on a seeded random subset of N training samples (before the "
                           "validation split; the test set stays whole)")
    tr.add_argument("--model", choices=list(networks.NETWORKS), default="rf",
                    help="; ".join(f"{k.name}: {k.description}" for k in networks.NETWORKS.values()))
    tr.add_argument("--sizes", type=sizes, help="layer widths, e.g. 64,32,10 (default: by kind)")
    tr.add_argument("--epochs", type=positive_int, default=60, help="most epochs to train")
    tr.add_argument("--lr", type=positive_float, help="Adam learning rate (default: by kind, "
                    + ", ".join(f"{k.name} {k.default_lr}" for k in networks.NETWORKS.values()) + ")")
    tr.add_argument("--batch-size", type=positive_int, help="samples per batch (default: by kind, "
                    + ", ".join(f"{k.name} {k.default_batch_size}"
                                for k in networks.NETWORKS.values()) + ")")
    tr.add_argument("--patience", type=positive_int, default=20,
                    help="epochs without validation improvement before stopping")
    tr.add_argument("--seed", type=nonneg_int, default=0, help="seed of the initialisation and "
                    "of the batch order")
    tr.add_argument("--out", default="out/rf.pt", help="checkpoint path (safetensors)")
    tr.add_argument("--resume", action="store_true",
                    help="continue an interrupted run from OUT.resume.safetensors, the state "
                         "written at the end of every epoch (removed when a run finishes); give "
                         "the options of that run: another network, set-up or data is refused")
    tr.add_argument("--threads", type=positive_int, metavar="N",
                    help="CPU threads torch may use (default: the cores the 1-minute load "
                         "average leaves idle, at most 4 and at least 1; "
                         f"{default_threads()} on this machine now)")
    tr.add_argument("--quiet", action="store_true", help="no progress bars")
    groups: set[str] = set()
    shared_defaults: dict[str, dict[str, object]] = {}
    for kind in networks.NETWORKS.values():
        if kind.cli_group and kind.cli_group not in groups:
            groups.add(kind.cli_group)
            kind.add_cli_args(_KindOptions(tr.add_argument_group(kind.cli_group),
                                           kind.cli_group, shared_defaults))
    tr.set_defaults(func=networks_cmds.cmd_train, shared_defaults=shared_defaults)


#: options several kinds may add (the RF channels): the first definition stands
SHARED_OPTIONS = frozenset({"--f-min", "--f-max", "--grid", "--p-max"})


class _KindOptions:
    """A kind's option group. A shared option another kind already added is not added twice:
    the kind's own default is kept instead, and ``train`` applies it when that kind is trained
    without the option (``shared_defaults``: cli_group -> dest -> default)."""

    def __init__(self, group, cli_group: str, shared_defaults: dict) -> None:
        self._group, self._cli_group, self._shared = group, cli_group, shared_defaults

    def add_argument(self, *flags, **kwargs):
        taken = self._group._option_string_actions      # the parser's, shared by its groups
        if flags and set(flags) <= SHARED_OPTIONS and flags[0] in taken:
            action = taken[flags[0]]
            if kwargs.get("default") is not None:
                self._shared.setdefault(self._cli_group, {})[action.dest] = kwargs["default"]
            return action
        return self._group.add_argument(*flags, **kwargs)

    def __getattr__(self, name):
        return getattr(self._group, name)


def _export(sub) -> None:
    from ..device_level import DEFAULT_TERM_BUDGET

    ex = sub.add_parser("export", formatter_class=_Formatter,
                        help="back-annotate a checkpoint into a device graph (and a netlist)")
    ex.add_argument("--checkpoint", default="out/rf.pt", help="a checkpoint written by train")
    ex.add_argument("--out", default="out/rf.graph.json", help="graph file, .json or .graphml")
    ex.add_argument("--netlist", help="also write the netlist of a few test samples here, a "
                    "deck that plain `ngspice -b NETLIST` runs and that prints the outputs")
    ex.add_argument("--samples", type=positive_int, default=10, help="test samples in --netlist")
    ex.add_argument("--fidelity", choices=["envelope", "rf"], default="envelope",
                    help="--netlist level. envelope: every sample in one deck (rf networks: "
                         "powers and DC levels, each resonator an editable .param); rf: carrier "
                         "level (rf networks only), one deck per sample: NETLIST itself for "
                         "--samples 1, else NAME.s0.cir, NAME.s1.cir, ...")
    ex.add_argument("--term-budget", type=nonneg_int, metavar="N",
                    default=DEFAULT_TERM_BUDGET,
                    help="envelope rf networks: explicit Lorentzian terms in the netlist; "
                         "tails beyond the window they allow are frozen numbers (the netlist's "
                         "header says what stays exact)")
    ex.add_argument("--data", help="data set of the --netlist samples, recorded in the graph "
                    "(default: the one the checkpoint records; a different one is a warning)")
    ex.add_argument("--window", type=positive_float, default=200e-9,
                    help="rf networks: seconds each sample is applied")
    ex.add_argument("--points-per-step", type=positive_int,
                    help="dynamical networks: fixed integration steps per input step (default: "
                         "the surrogate's substeps, at least 8)")
    ex.set_defaults(func=networks_cmds.cmd_export)


def _cosim(sub) -> None:
    co = sub.add_parser("cosim", formatter_class=_Formatter,
                        help="run the test set through ngspice beside the surrogate")
    co.add_argument("--graph", default="out/rf.graph.json", help="a graph written by export")
    co.add_argument("--data", help="the data set the graph was trained on (default: the one the "
                    "graph records, with its pooling; without one, this option is needed)")
    co.add_argument("--limit", type=positive_int,
                    help="only the first N test samples (default: all; rf fidelity: 10)")
    co.add_argument("--fidelity", choices=["envelope", "rf"], default="envelope",
                    help="envelope: whole test sets; rf: carrier level, a few samples")
    co.add_argument("--window", type=positive_float, default=200e-9,
                    help="rf networks: seconds each sample is applied before the read-out")
    co.add_argument("--chunk", type=positive_int,
                    help="samples per ngspice run (default 45 for rf graphs, 60 for dynamical)")
    co.add_argument("--points-per-step", type=positive_int,
                    help="dynamical: fixed integration steps per input step dt (default: the "
                         "surrogate's substeps, at least 8); each doubling doubles the time and "
                         "cuts the circuit's error two- to threefold (measured)")
    co.add_argument("--lp-ratio", type=fraction,
                    help="rf fidelity: read-out low-pass corner as a fraction of the lowest "
                         "carrier on a line (default: the resonators' lp_ratio); keep it below "
                         "the channel spacing or beat notes reach the next layer")
    _runs(co)
    co.add_argument("--out", default="out/cosim", help="folder for report.json and the plots")
    groups: set[str] = set()
    for kind in networks.NETWORKS.values():
        group = kind.cli_group or kind.name
        if group not in groups:
            groups.add(group)
            kind.add_cosim_args(co.add_argument_group(f"{group} networks"))
    co.add_argument("--quiet", action="store_true", help="no progress bar")
    co.set_defaults(func=networks_cmds.cmd_cosim)


def _crosstalk(sub) -> None:
    xt = sub.add_parser("crosstalk", formatter_class=_Formatter,
                        help="rf-fidelity crosstalk matrix of a chosen layer or of part of a "
                             "trained RF layer, beside the Lorentzian")
    xt.add_argument("--graph", help="a trained RF graph; without it, a chosen layer (below)")
    xt.add_argument("--layer", type=positive_int, default=1, help="graph: layer to inspect")
    xt.add_argument("--inputs", type=indices, help="graph: input indices (default 0,1,2,3)")
    xt.add_argument("--chain-index", type=indices, help="graph: chain indices (default 0,1,2,3)")
    xt.add_argument("--channels", type=ranged(int, 2, 256), default=8,
                    help="chosen layer: number of channels")
    xt.add_argument("--spacing", type=positive_float, default=8.0,
                    help="channel spacing in linewidths")
    xt.add_argument("--f-min", type=ranged(float, 1e6, 100e9), default=1e9,
                    help="lowest channel (Hz)")
    xt.add_argument("--offset", type=ranged(float, -50.0, 50.0), default=1.0,
                    help="resonator detuning above its channel, in linewidths")
    xt.add_argument("--power", type=positive_float, default=1e-6, help="power per channel (W)")
    xt.add_argument("--alpha", type=ranged(float, 0.0, 0.5, low_open=True), default=0.01,
                    help="resonator damping (linewidth / f)")
    xt.add_argument("--lp-ratio", type=fraction, help="read-out corner as a fraction of the "
                    "carrier (default: the resonators' lp_ratio)")
    xt.add_argument("--beat-notes", action="store_true", help="also sweep beat ripple vs corner")
    xt.add_argument("--pulling", action="store_true", help="also tabulate frequency pulling")
    xt.add_argument("--guideline", type=fraction, metavar="BOUND",
                    help="also find the minimum spacing keeping the crosstalk error under BOUND")
    xt.add_argument("--workers", type=positive_int, default=2, help="parallel ngspice processes")
    xt.add_argument("--out", default="out/crosstalk", help="folder for the plots")
    xt.set_defaults(func=analysis_cmds.cmd_crosstalk)


def _sneak(sub) -> None:
    sn = sub.add_parser("sneak", formatter_class=_Formatter,
                        help="one trained layer as a DW-MTJ crossbar: sneak paths, IR drop, "
                             "MAC error and accuracy beside the resonator chains (rf) or ideal "
                             "current summing in drawn switch states (dw)")
    sn.add_argument("--graph", default="out/rf.graph.json", help="a trained RF or dw graph")
    sn.add_argument("--data", help="the data set the graph was trained on (default: the one the "
                    "graph records, with its pooling; without one, this option is needed)")
    sn.add_argument("--layer", type=positive_int, default=1, help="layer mapped to the crossbar")
    sn.add_argument("--on-off", type=ranged(float, 1.0, 1e6, low_open=True),
                    help="ON/OFF ratio G_P / G_AP (> 1; default 2.5 for an rf graph, the "
                         "devices' own for a dw graph, where G_P is kept and G_AP = G_P / ratio)")
    sn.add_argument("--r-wire", type=ranged(float, 0.0, 1e6), default=1.0,
                    help="wire resistance per cell (Ohm)")
    sn.add_argument("--sensing", choices=["tia", "resistor"], default="tia",
                    help="column read-out: virtual-ground TIA or a sense resistor")
    sn.add_argument("--access", action="store_true", help="access transistor in every cell")
    sn.add_argument("--single-ended", action="store_true",
                    help="one device per weight and a reference column, not G+/G- pairs "
                         "(rf; a dw graph's own pairs attribute decides, a pairs graph refuses it)")
    sn.add_argument("--limit", type=positive_int,
                    help="only the first N test samples (default: all for rf, 200 for dw: "
                         "every dw sample is N reads, each solved in every swept arrangement)")
    sn.add_argument("--seed", type=nonneg_int, default=0,
                    help="seed of the numpy generator drawing a dw graph's switch states "
                         "(default 0; recorded in report.json)")
    sn.add_argument("--solver", choices=["spice", "nodal"], default="spice",
                    help="the single-sample solve: ngspice (.op), or sparse nodal analysis "
                         "(scipy; the same circuit, seconds for a 196 x 128 layer that ngspice "
                         "may take minutes over)")
    sn.add_argument("--timeout", type=positive_float, default=120.0,
                    help="seconds the ngspice runs (the --solver spice solve, and the envelope "
                         "run of the resonator chains) may take")
    sn.add_argument("--out", default="out/sneak", help="folder for the plots")
    sn.set_defaults(func=analysis_cmds.cmd_sneak)


def build_parser() -> argparse.ArgumentParser:
    from ..backends import BACKENDS
    from ..library import DEFAULT_DIR, EXAMPLES_DIR
    from ..twins import TWINS

    parser = argparse.ArgumentParser(
        prog="spicegen", formatter_class=_Formatter,
        description="Spintronic neural networks: train surrogates of every registered network "
                    f"kind ({', '.join(networks.NETWORKS)}), export them to device graphs and "
                    f"ngspice netlists, co-simulate, and inspect crosstalk and sneak paths.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    twins = sub.add_parser("twins", formatter_class=_Formatter,
                           help="run every device's surrogate against its ngspice model")
    twins.add_argument("--out", default="out/twins", help="folder for the PNG plots")
    twins.add_argument("--backend", choices=sorted(BACKENDS), default="subprocess",
                       help="how ngspice runs")
    twins.add_argument("--only", nargs="+", choices=list(TWINS), help="run only these twins")
    twins.add_argument("--quiet", action="store_true", help="no progress bar")
    twins.set_defaults(func=analysis_cmds.cmd_twins)
    _train(sub)
    _export(sub)
    _cosim(sub)
    _crosstalk(sub)
    _sneak(sub)
    import_cmds.add_parser(sub, _Formatter)
    lib = sub.add_parser("library", formatter_class=_Formatter,
                         help="regenerate netlists/: the device model library (.lib, .va) and "
                              "the example networks' netlists")
    lib.add_argument("--out", default=DEFAULT_DIR, help="folder of the model library")
    lib.add_argument("--examples", default=EXAMPLES_DIR,
                     help="folder of the example checkpoints whose netlists are regenerated")
    lib.add_argument("--no-examples", action="store_true", help="only the model library")
    lib.set_defaults(func=networks_cmds.cmd_library)
    kinds = sub.add_parser("kinds", formatter_class=_Formatter,
                           help="list the registered network kinds, device families, back ends "
                                "and executors")
    kinds.set_defaults(func=networks_cmds.cmd_kinds)
    return parser
