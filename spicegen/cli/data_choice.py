"""Which data set ``export``, ``cosim`` and ``sneak`` run on: ``--data`` when given, else the
source the checkpoint or graph recorded; never a silent default.

A graph trained on one split and scored on another set (the built-in digits, say) reports an
accuracy that means nothing, and its test set may overlap its training data: so the recorded
source is used and named, a ``--data`` that differs from it is a warning, and a file that records
none stops the command with a one-line error asking for ``--data``.
"""
from __future__ import annotations

import os
import sys
import warnings


def legacy_source(meta: dict, base: str | None) -> dict | None:
    """The source of a checkpoint written before sources were recorded: its data set name when
    that names the built-in digits or a file found from here or beside the checkpoint."""
    name = meta.get("dataset")
    if not isinstance(name, str) or not name:
        return None
    if name == "digits":
        return {"spec": "digits"}
    for path in (name, os.path.join(base, name) if base else None):
        if path and os.path.isfile(path) and os.path.splitext(path)[1].lower() in (
                ".npz", ".h5", ".hdf5"):
            return {"spec": os.path.abspath(path)}
    return None


def choose_data(given: str | None, recorded: dict | None, where: str, base: str | None = None):
    """The data set to run on, with a line saying which.

    given: ``--data`` (None when absent); recorded: the source ``where`` (a checkpoint or graph
    file) records, or None; base: that file's folder, where an old relative spec is looked for.
    Raises ValueError when neither names a data set.
    """
    from spintronic.training import data_source
    from spintronic.training.datasets import load, load_source

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if given is None:
            if recorded is None:
                raise ValueError(f"{where} records no data source: pass --data (the data set "
                                 f"the network was trained on)")
            data = load_source(recorded, base=base)
            print(f"data: {data_source.describe(data.source)} (recorded in {where})")
        else:
            options = {}
            if recorded is not None:     # the split and shaping the network was trained with
                options = {k: recorded[k] for k in ("seed", "train_limit") if k in recorded}
                if given.startswith("mnist:"):
                    options.update({k: recorded[k] for k in ("pool", "binarise") if k in recorded})
            data = load_source({"spec": given, **options})
            print(f"data: {data_source.describe(data.source)} (--data)")
            if recorded is not None:
                keys = data_source.differs(recorded, data.source)
                if keys:
                    print(f"warning: --data differs from the source {where} records "
                          f"({data_source.describe(recorded)}) in {', '.join(keys)}: the test "
                          f"set may not be the one the network was trained beside",
                          file=sys.stderr)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return data


def recorded_source(meta: dict, checkpoint: str) -> dict | None:
    """The data source a checkpoint records, an old relative spec made absolute when the file is
    found from here or beside the checkpoint (the graph exported from it is read elsewhere)."""
    base = os.path.dirname(os.path.abspath(checkpoint))
    source = meta.get("data_source")
    if not isinstance(source, dict) or not isinstance(source.get("spec"), str):
        return legacy_source(meta, base)
    from spintronic.training.data_source import find_recorded

    return {**source, "spec": find_recorded(source["spec"], base)}


def graph_data(args, g):
    """``--data`` or the source graph ``g`` (read from ``args.graph``) records."""
    from spintronic.graph import schema

    return choose_data(getattr(args, "data", None), schema.data_source(g), f"graph {args.graph}",
                       os.path.dirname(os.path.abspath(args.graph)))


__all__ = ["choose_data", "legacy_source", "recorded_source", "graph_data"]
