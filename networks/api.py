"""The Python API a notebook needs, re-exported as ``spicegen.<name>``.

    import spicegen
    data = spicegen.load_data("digits")
    model, result = spicegen.train("rf", data, sizes=(64, 16, 10), epochs=2)
    graph = spicegen.to_graph(model)
    res = spicegen.cosimulate(graph, data.X_test[:10], data.y_test[:10])
    print(res.text())

Every kind takes the options of ``spicegen train`` and ``spicegen cosim`` as keyword arguments,
named by their argparse dest (``--f-min`` is ``f_min``): the command line's parser is where each
kind declares its options and their defaults, so the two cannot drift apart, and values are
checked by the same option types (one ``ValueError`` naming the option).
"""
from __future__ import annotations

import argparse
import os
import warnings
from typing import Any

import networkx as nx
import numpy as np

from . import NETWORKS, get_kind, kind_for_graph

__all__ = ["kinds", "load_data", "train", "save_checkpoint", "load_checkpoint", "to_graph",
           "save_graph", "load_graph", "compile", "cosimulate", "DesignRuleWarning",
           "CosimWarning"]

# dests a caller does not pass as options: the API's own arguments stand for them
_TRAIN_FIXED = {"data", "pool", "binarise", "train_limit", "model", "out", "resume", "quiet",
                "func", "shared_defaults", "command"}
_COSIM_FIXED = {"graph", "data", "limit", "out", "quiet", "func", "command"}


class DesignRuleWarning(UserWarning):
    """A layer where the envelope co-simulation cannot see what the circuit does (beat notes):
    measure it at rf fidelity (``spicegen crosstalk``)."""


class CosimWarning(UserWarning):
    """What a co-simulation is predicted to miss, said before it runs (rfcnn: STNOs that do not
    settle within the window, with a window that does)."""


def kinds() -> dict[str, str]:
    """The registered network kinds: name -> one-line description."""
    return {k.name: k.description for k in NETWORKS.values()}


def load_data(spec: str | os.PathLike = "digits", **options):
    """A data set: ``'digits'`` (built in), a ``.npz``/``.h5`` file (X_train, y_train, X_test,
    y_test) or ``'mnist:FOLDER'`` (IDX files, e.g. Fashion-MNIST). Options are those of
    ``spintronic.training.datasets.load`` (seed, pool, binarise, train_limit).

    Returns a ``Dataset`` with X_train/y_train, X_val/y_val, X_test/y_test, n_features,
    n_classes and ``summary()``."""
    from spintronic.training.datasets import load
    return load(spec, **options)


def _subparser(command: str) -> argparse.ArgumentParser:
    from spicegen.cli.parser import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def _checked(action: argparse.Action, name: str, value: Any) -> Any:
    """``value`` for option ``name``, held to the command line's checks of that option."""
    if value is None:
        return None
    flag = f"{name}={value!r}"
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{flag}: expected True or False")
        return bool(value)
    if action.type is not None:
        if isinstance(value, (list, tuple)):      # --sizes 64,16,10
            text = ",".join(map(str, value))
        elif isinstance(value, (str, int, float, np.integer, np.floating)) \
                and not isinstance(value, bool):
            text = str(value)
        else:
            raise ValueError(f"{flag}: expected a number or text")
        try:
            value = action.type(text)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
            raise ValueError(f"{flag}: {exc}") from None
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"{flag}: choose from {', '.join(map(str, action.choices))}")
    return value


def _namespace(command: str, argv: list[str], options: dict, fixed: set[str],
               what: str) -> argparse.Namespace:
    """The command line's namespace for ``command argv`` (its defaults), with ``options`` set."""
    parser = _subparser(command)
    ns = parser.parse_args(argv)
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest not in fixed}
    actions.pop("help", None)
    for name, value in options.items():
        if name not in actions:
            raise ValueError(f"{what} has no option {name!r}; its options: "
                             f"{', '.join(sorted(actions))}")
        setattr(ns, name, _checked(actions[name], name, value))
    return ns


def train(kind: str, data="digits", *, sizes=None, epochs: int = 60, lr: float | None = None,
          batch_size: int | None = None, seed: int = 0, patience: int = 20,
          checkpoint: str | os.PathLike | None = None, progress: bool = True,
          threads: int | None = None, **options):
    """Train a network of a registered kind (see :func:`kinds`) and return ``(model, result)``.

    ``data``: a ``Dataset`` (:func:`load_data`) or its spec. ``sizes``: layer widths (default: by
    kind); lr and batch_size default by kind. ``checkpoint``: also write the best model there
    (safetensors; :func:`load_checkpoint` reads it back). ``threads``: torch threads for this
    call only (default: as ``spicegen train``, the cores the load average leaves idle, at most
    4: torch's own default of every core slows small networks down on a busy machine).
    ``options``: the kind's own ``spicegen train`` options by dest, e.g. ``f_min=1e9,
    grid="geometric"`` (rf) or ``order="pixels"`` (stno).

    ``result`` holds val_accuracy, test_accuracy, best_epoch, seconds_per_epoch and history."""
    import torch

    from spintronic.training.trainer import TrainConfig
    from spintronic.training.trainer import train as run

    from spicegen.cli.options import default_threads

    from .checkpoints import make_model

    k = get_kind(kind)
    if isinstance(data, (str, os.PathLike)):
        data = load_data(data)
    given = {**options, "sizes": sizes, "epochs": epochs, "lr": lr, "batch_size": batch_size,
             "seed": seed, "patience": patience, "threads": threads}
    ns = _namespace("train", ["--model", k.name], given, _TRAIN_FIXED, f"a {k.name} network")
    # a shared option (the RF channels) this kind defaults differently from the kind that added it
    for dest, value in ns.shared_defaults.get(k.cli_group, {}).items():
        if getattr(ns, dest, None) is None:
            setattr(ns, dest, value)
    spec = k.config_from_args(ns, data)
    model = make_model(k.name, spec["sizes"], ns.seed, spec.get("config"))
    cfg = TrainConfig(epochs=ns.epochs, lr=ns.lr or k.default_lr, seed=ns.seed,
                      batch_size=ns.batch_size or k.default_batch_size, patience=ns.patience)
    before = torch.get_num_threads()
    torch.set_num_threads(ns.threads or default_threads())
    try:
        result = run(model, data, cfg, checkpoint=os.fspath(checkpoint) if checkpoint else None,
                     progress=progress)
    finally:
        torch.set_num_threads(before)
    return model, result


def save_checkpoint(model, path: str | os.PathLike, data=None, result=None) -> None:
    """Write ``model`` as a checkpoint (safetensors with its kind and configuration); ``data``
    (the ``Dataset`` it was trained on) and ``result`` (from :func:`train`) are recorded too."""
    from spintronic.training.trainer import save_checkpoint as write

    write(model, os.fspath(path), result=result, dataset=getattr(data, "name", ""),
          data_source=getattr(data, "source", None))


def load_checkpoint(path: str | os.PathLike):
    """``(model, meta)``: the model a checkpoint holds, of the kind it names, in eval mode, and
    the checkpoint's metadata (kind, network, train settings, data source, metrics)."""
    from .checkpoints import load_checkpoint as read
    return read(os.fspath(path))


def to_graph(model, data=None) -> nx.DiGraph:
    """The device graph of a trained model (one node per device, trained values as attributes),
    checked by the schema and by its kind's structural checks. ``data`` (the ``Dataset`` it was
    trained on) is recorded in the graph, so that co-simulating the saved graph later finds it."""
    from spintronic.graph import schema

    k = get_kind(getattr(model, "kind", None))
    g = k.to_graph(model)
    k.check_graph(g)
    if getattr(data, "source", None) is not None:
        schema.set_data_source(g, data.source)
    return g


def save_graph(graph: nx.DiGraph, path: str | os.PathLike) -> None:
    """Write a device graph, ``.json`` or ``.graphml`` by the extension (atomically)."""
    from spintronic.graph import schema
    schema.save(graph, os.fspath(path))


def load_graph(path: str | os.PathLike) -> nx.DiGraph:
    """A device graph file, checked by the schema and by its kind's structural checks."""
    from spintronic.graph import schema

    g = schema.load(os.fspath(path))
    kind_for_graph(g).check_graph(g)
    return g


def _graph(graph) -> nx.DiGraph:
    if isinstance(graph, (str, os.PathLike)):
        return load_graph(graph)
    if not isinstance(graph, nx.DiGraph):
        raise ValueError(f"expected a device graph (networkx.DiGraph) or its file, got "
                         f"{type(graph).__name__}")
    return graph


def _cosim_options(options: dict, what: str):
    from spicegen.cli.networks_cmds import cosim_options

    progress = options.pop("progress", True)
    ns = _namespace("cosim", [], options, _COSIM_FIXED, what)
    ns.quiet = not progress
    return cosim_options(ns)


def compile(graph, X, *, title: str = "", **options):
    """The netlist of samples ``X`` run through ``graph`` (a ``Netlist``: ``.text``,
    ``.write(path)``); ``graph`` may be a file. Options: those of ``spicegen cosim`` by dest
    (window, points_per_step, the kind's own)."""
    g = _graph(graph)
    k = kind_for_graph(g)
    k.check_graph(g)
    opts = _cosim_options(dict(options), f"compiling a {k.name} graph")
    return k.compile(g, np.asarray(X), opts, title=title)


def cosimulate(graph, X, y, *, fidelity: str = "envelope", window: float = 200e-9,
               workers: int = 2, progress: bool = True, **options):
    """Run samples ``X`` (labels ``y``) through ngspice beside the graph's surrogate; ``graph``
    may be a file. Returns a ``CosimResult``: ``.report()`` (a dict: accuracies, argmax
    agreement, per-layer errors, time), ``.text()`` (the report as ``spicegen cosim`` prints it)
    and ``.plot(folder)`` (scores, confusion matrices, waveforms; returns the PNG paths).

    Options: those of ``spicegen cosim`` by dest, e.g. ``chunk``, ``backend``, ``executor``,
    ``timeout``, ``lp_ratio`` and the kind's own (dw: ``repeats``). Fidelity ``rf`` runs the
    carrier-level deck: minutes per sample, so pass a few samples.

    A layer that breaks the envelope model's design rules (channels so close that beat notes
    pass the read-out) is a ``DesignRuleWarning`` at envelope fidelity; ``result.design_rules``
    holds every layer's figures (``.text()``, ``.to_dict()``). What the kind predicts the run
    will miss (rfcnn: a window too short for its STNOs to settle) is a ``CosimWarning``."""
    g = _graph(graph)
    k = kind_for_graph(g)
    k.check_graph(g)
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    opts = _cosim_options({**options, "fidelity": fidelity, "window": window, "workers": workers,
                           "progress": progress}, f"co-simulating a {k.name} graph")
    path = os.fspath(graph) if isinstance(graph, (str, os.PathLike)) else None
    rules = k.design_rules(g, lp_ratio=opts.lp_ratio, graph_path=path)
    if fidelity == "envelope":      # what the envelope run cannot see, said before it runs
        for message in rules.warnings:
            warnings.warn(message, DesignRuleWarning, stacklevel=2)
    for message in k.cosim_notes(g, X, opts):
        warnings.warn(message.removeprefix("warning: "), CosimWarning, stacklevel=2)
    result = k.cosim(g, X, y, opts)
    result.design_rules = rules
    return result
