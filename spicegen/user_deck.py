"""Decks a user runs with plain ``ngspice -b deck.cir``: the netlist plus a ``.control`` block.

The co-simulation runs the bare netlist (``.save`` and ``.tran`` cards; the back ends add ``-r
raw`` or drive the shared library), which plain ``ngspice -b`` refuses with "no simulations run".
The control block runs the analysis, checks that it reached its end, prints every output at its read
time (``meas tran``: one line per output per sample, sample after sample), writes those values to
``<stem>.outputs.txt`` and the output waveforms to ``<stem>.waves.txt`` beside the deck, and quits
with 0 (1 when the transient stopped early).

    deck = user_deck(net, "n")        # net: a compiler.Netlist; ngspice -b n.cir
"""
from __future__ import annotations

import re

import numpy as np

from .deck import number

#: values printed at most; the waveform file holds everything
MAX_PRINTED = 2000


def _vector_name(vec: str, k: int | None) -> str:
    """``v(c2_3)``, read 4 -> ``c2_3_s4``; ``i(vcol0)`` -> ``i_vcol0_s4``; read None -> ``c2_3``."""
    m = re.fullmatch(r"([vi])\((.*)\)", vec.strip(), re.I)
    inner = re.sub(r"[^A-Za-z0-9_]", "_", m.group(2) if m else vec)
    return f"{'i_' if m and m.group(1).lower() == 'i' else ''}{inner}" + \
        ("" if k is None else f"_s{k}")


def _stem(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem) or "deck"


def _t_stop(text: str) -> float | None:
    """The stop time of the deck's last ``.tran`` card."""
    from .backends._ngspice import _analysis_cards, _tran_times

    stop = None
    for _, _, tokens in _analysis_cards(text):
        if tokens[0].lower() == ".tran":
            times = _tran_times(tokens)
            stop = times[1] if times else stop
    return stop


def control_block(net, stem: str = "deck") -> list[str]:
    """The ``.control`` ... ``.endc`` lines for ``net`` (a compiler.Netlist): envelope and
    transient decks read each output at its read time (the last of a sample's read times when a
    sample has several: ``read_times`` of shape (samples, steps)), rf decks average it from the
    read-out start to the end, as the co-simulation does."""
    stem = _stem(stem)
    times = np.asarray(net.read_times, dtype=np.float64)
    if times.ndim == 2:
        times = times[:, -1]
    rf = net.style == "rf"
    t_stop = _t_stop(net.text)
    lines = [".control", "* run by plain `ngspice -b`; the co-simulation runs the deck without it",
             "option noinit", "run"]
    if t_stop is not None:
        lines += [f"let t_end = time[length(time) - 1]",
                  f"if t_end < {number(t_stop * (1 - 1e-9))}",
                  f"  echo \"ERROR: the transient stopped at $&t_end s, before {number(t_stop)} s\"",
                  "  quit 1", "end"]
    outputs = list(net.outputs)
    per_sample = max(1, len(outputs))
    shown = min(len(times), max(1, MAX_PRINTED // per_sample))
    if shown < len(times):
        lines.append(f"echo \"printing the first {shown} of {len(times)} read times\"")
    names = []
    # a sample per read time, or several reads per sample (dw: the reads of a stochastic synapse)
    label = "sample" if len(times) == net.n_samples else "read"
    for k, t in enumerate(times[:shown]):
        what = (f"averaged from {number(t)} s to the end" if rf else f"at {number(t)} s")
        lines.append(f"echo \"{label} {k}: {', '.join(outputs[:2])}"
                     f"{', ...' if len(outputs) > 2 else ''} {what}\"")
        for vec in outputs:
            name = _vector_name(vec, k if len(times) > 1 else None)
            names.append(name)
            lines.append(f"meas tran {name} avg {vec} from={number(t)}" if rf else
                         f"meas tran {name} find {vec} at={number(t)}")
    out_file = f"$inputdir/{stem}.outputs.txt"
    lines += [f"echo \"* {stem}: outputs at the read times"
              f"{f', by {label} (_s<k>)' if len(times) > 1 else ''}\" > {out_file}"]
    lines += [f"print {' '.join(names[k:k + 10])} >> {out_file}" for k in range(0, len(names), 10)]
    if not rf and outputs:
        # carrier-level waveforms would be millions of points: only the envelope ones are written
        lines.append(f"wrdata $inputdir/{stem}.waves.txt {' '.join(outputs)}")
    lines += [f"echo \"wrote {stem}.outputs.txt" + ("" if rf or not outputs else
                                                    f" and {stem}.waves.txt") + " beside the deck\"",
              "quit 0", ".endc"]
    return lines


def user_deck(net, stem: str = "deck") -> str:
    """``net.text`` with the control block of :func:`control_block` before its ``.end``."""
    lines = net.text.rstrip().splitlines()
    if lines and lines[-1].strip().lower() == ".end":
        lines.pop()
    return "\n".join(lines + control_block(net, stem) + [".end"]) + "\n"
