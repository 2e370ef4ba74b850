"""RF convolutional graphs beyond the parallel envelope netlist: the crosstalk each frequency plan
has (Lorentzian figures per layer, and one line at carrier level through ``spicegen.crosstalk``),
and the sequential arrangement (Leroux et al.): one chain per filter on one line carrying the k^2
tap frequencies, the patches played one after another in time.
"""
from __future__ import annotations

import math
import time

import networkx as nx
import numpy as np
import torch

from spintronic.graph import schema
from spintronic.models import resonator, stno
from spintronic.models.params import spice_number as num
from spintronic.models.units import POWER_UNIT

from .compiler import (CompileError, Netlist, _comment, _finite, _neuron_cards, _pwl,
                       source_power)
from .deck import Options, Tran
from .rfcnn_netlist import (_rectification, check_rfcnn, conv_shape, graph_forward, layer_chains,
                            line_sources, patch_index, pixel_p_max)


# ------------------------------------------------------------------------- Lorentzian figures

def crosstalk_report(g: nx.DiGraph) -> list[dict]:
    """Per layer: lines, channels per line, the smallest channel spacing (linewidths), the plan's
    crosstalk (a resonator at its peak, +1 linewidth above its channel, against the nearest other
    channel), and the trained worst: the largest |weight| a tap gives a channel it does not
    serve, as a fraction of the largest |weight| any tap gives the channel it serves. A tap is a
    resonator, or a differential tap's two (the chain sums them: their leaks partly cancel)."""
    rows = []
    for layer in (1, 2):
        by_line: dict = {}
        for line, path, _ in layer_chains(g, layer):
            by_line.setdefault(line, []).append(path)
        spacing, plan, on_max, off = math.inf, 0.0, 0.0, (0.0, None, None)
        channels = 0
        for line, paths in by_line.items():
            srcs, _, f, _ = line_sources(g, line)
            prm = schema.resonator_params(g.nodes[paths[0][0]])
            fs = np.sort(f)
            channels = max(channels, len(fs))
            if len(fs) > 1:
                spacing = min(spacing, float(np.min(np.diff(fs) / (prm.alpha * fs[:-1]))))
                peak = torch.tensor(fs * (1 + prm.alpha))       # each channel's resonator at +1
                g_all = resonator.lorentzian(torch.tensor(fs)[None, :], peak[:, None],
                                             prm).abs().numpy()
                diag = np.diag(g_all).copy()
                np.fill_diagonal(g_all, 0.0)
                plan = max(plan, float((g_all.max(1) / diag).max()))
            for path in paths:
                groups = tap_groups(g, path)
                rect = _rectification(g, path, f)
                w = np.abs(np.stack([rect[ks].sum(0) for ks in groups]))
                serve = np.array([g.nodes[path[ks[0]]].get("f_serve", np.nan) for ks in groups])
                target = np.isclose(f[None, :], serve[:, None], rtol=1e-12, atol=0.0)
                on_max = max(on_max, float(np.where(target, w, 0.0).max()))
                w_off = np.where(target, 0.0, w)
                k, i = np.unravel_index(int(np.argmax(w_off)), w_off.shape)
                if w_off[k, i] > off[0]:
                    off = (float(w_off[k, i]), path[groups[k][0]], srcs[i])
        rows.append({"layer": layer, "lines": len(by_line), "channels": channels,
                     "spacing_linewidths": spacing, "plan_crosstalk": plan,
                     "worst_crosstalk": off[0] / on_max if on_max > 0 else math.inf,
                     "worst_resonator": off[1], "worst_source": off[2]})
    return rows


def tap_groups(g: nx.DiGraph, path) -> list[list[int]]:
    """Positions in ``path`` of each tap's resonators: runs of resonators serving the same
    channel (a differential tap's + and - resonators; one resonator otherwise)."""
    out: list[list[int]] = []
    last = object()
    for k, r in enumerate(path):
        f = g.nodes[r].get("f_serve", k)
        if out and f == last:
            out[-1].append(k)
        else:
            out.append([k])
        last = f
    return out


# ------------------------------------------------------------------------- one line at rf level

def default_chains(g: nx.DiGraph, layer: int) -> list[int]:
    """Up to 4 chains of one line: layer 1, the first filters at the middle one of the positions
    whose patch holds the most pixels (clear of the padding); layer 2, the first 4 chains (on
    several read-out lines: line 0's; chain line x classes + class picks another line's)."""
    if layer == 2:
        return list(range(min(4, schema.layer_sizes(g)[2])))
    s = conv_shape(g)
    full = (patch_index(s["side"], s["kernel"], s["stride"], s["padding"]) >= 0).sum(1)
    inner = np.nonzero(full == full.max())[0]
    p = int(inner[len(inner) // 2])
    return [f * s["positions"] + p for f in range(min(4, s["filters"]))]


def crosstalk_line(g: nx.DiGraph, layer: int, inputs=None, chains=None, single=False) -> dict:
    """What ``spicegen crosstalk`` simulates of an rfcnn layer: picked chains of one line and
    picked sources of that line (indices among its sources, sorted by pixel or neuron index).
    Default sources: the channels the picked chains' resonators serve and, on a line carrying
    more (shared-line), the channels next to them. ``single``: every tap as its own chain (a
    differential tap's two resonators in series), so the rf matrix is each tap's weight per
    channel. Returns freqs, powers,
    chains (f_r lists), orientations, prm, served (per chain: the picked input it serves or -1)."""
    if layer not in (1, 2):
        raise ValueError(f"an rfcnn has layers 1 and 2, got {layer}")
    all_chains = layer_chains(g, layer)
    picked = chains or default_chains(g, layer)
    if min(picked) < 0 or max(picked) >= len(all_chains):
        raise ValueError(f"layer {layer} has chains 0..{len(all_chains) - 1}, got {picked}")
    lines = {all_chains[j][0] for j in picked}
    if len(lines) > 1:
        raise ValueError(f"chains {picked} of layer {layer} sit on {len(lines)} lines "
                         f"({', '.join(sorted(map(str, lines))[:3])}); pick chains of one line")
    line = lines.pop()
    srcs, _, f, _ = line_sources(g, line)
    paths = [all_chains[j][1] for j in picked]
    if inputs is None:
        served = {r_f for p in paths for r_f in (g.nodes[r].get("f_serve") for r in p)}
        near = {i for i, fi in enumerate(f) if fi in served}
        if layer == 2:
            near = set(range(min(4, len(f))))
        else:
            order = list(np.argsort(f))
            near |= {order[k + d] for k, i in enumerate(order) if i in near for d in (-1, 1)
                     if 0 <= k + d < len(order)}
        inputs = sorted(near)
    if min(inputs) < 0 or max(inputs) >= len(srcs):
        raise ValueError(f"{line} carries sources 0..{len(srcs) - 1}, got {inputs}")
    res = [[g.nodes[r] for r in p] for p in paths]
    if single:
        res = [[g.nodes[p[k]] for k in ks] for p in paths for ks in tap_groups(g, p)]
    freqs = [float(f[i]) for i in inputs]
    served = [next((k for k, fi in enumerate(freqs) if c[0].get("f_serve") == fi), -1)
              if len({a.get("f_serve") for a in c}) == 1 else -1 for c in res]
    return {"line": line, "freqs": freqs, "powers": [source_power(g, srcs[i]) for i in inputs],
            "chains": [[a["f_r"] for a in c] for c in res],
            "orientations": [[a["orientation"] for a in c] for c in res],
            "prm": schema.resonator_params(res[0][0]), "served": served}


def rf_resonator_crosstalk(g: nx.DiGraph, layer: int = 1, chain: int | None = None,
                           workers: int = 2, lp_ratio: float | None = None) -> dict:
    """One chain's taps on their line at carrier level, each as its own chain: the worst
    off-target weight (a channel the tap does not serve) as a fraction of the largest
    on-target one, measured and from the Lorentzian; plus the rf-vs-Lorentzian error."""
    from .crosstalk import CrosstalkSetup, measure_crosstalk

    picked = [chain] if chain is not None else default_chains(g, layer)[:1]
    line = crosstalk_line(g, layer, chains=picked, single=True)
    setup = CrosstalkSetup(line["freqs"], line["powers"], line["chains"], line["orientations"],
                           prm=line["prm"], lp_ratio=lp_ratio)
    res = measure_crosstalk(setup, workers=workers)
    served = np.array(line["served"])
    target = np.zeros(res.measured.shape, dtype=bool)
    rows = np.nonzero(served >= 0)[0]
    target[rows, served[rows]] = True

    def worst(m):
        m = np.abs(m)
        return float(np.where(target, 0, m).max() / np.where(target, m, 0).max())

    return {"line": line["line"], "resonators": len(line["chains"]), "channels": len(line["freqs"]),
            "rf_worst": worst(res.measured), "lorentzian_worst": worst(res.surrogate),
            "rf_error_of_max": res.error_of_max, "seconds": res.seconds, "result": res}


# ------------------------------------------------------------------------- sequential arrangement

def compile_sequential(g: nx.DiGraph, X: np.ndarray, slot: float = 100e-9, rise: float = 1e-9,
                       p_init: float = 1e-3, title: str = "") -> Netlist:
    """The sequential arrangement of a reuse graph's convolution: one line carries the k^2 tap
    channels, one chain per filter (the filter's shared taps) with its amplifier and STNO, and
    every patch of every sample is played for ``slot`` seconds. Reads each filter's chain voltage
    (``outputs``) and its STNO's normalised power (``hidden[0]``) at the end of every slot, in
    the order (sample, position). k^2 resonators per filter instead of positions x k^2, at the
    price of positions x slot per image; the dense read-out would need the positions' outputs
    held at once and is not part of this netlist."""
    schema.validate(g)
    check_rfcnn(g)
    s = conv_shape(g)
    if s["arrangement"] != "reuse":
        raise CompileError("the sequential arrangement plays each patch at the k^2 tap "
                           "frequencies: it needs a reuse graph (--arrangement reuse)")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != s["side"] ** 2 or not np.isfinite(X).all() or X.min() < 0:
        raise CompileError(f"stimulus must be finite values >= 0 of shape (n, {s['side'] ** 2})")
    if not (slot > 0 and 0 < rise < slot):
        raise CompileError(f"need slot > rise > 0, got slot={slot}, rise={rise}")
    P, taps = s["positions"], s["kernel"] ** 2
    n_slots = len(X) * P
    if 50 * n_slots > schema.MAX_TIME_POINTS or n_slots * taps > schema.MAX_INPUT_LEVELS:
        raise CompileError(f"{len(X)} samples of {P} patches exceed one netlist's limits")
    chains = layer_chains(g, 1)
    # the chain of position 0 stands for its filter: all positions share the taps (check_rfcnn)
    picked = [chains[f * P] for f in range(s["filters"])]
    f_of_tap = {g.nodes[r]["tap"]: g.nodes[r]["f_serve"] for r in picked[0][1]}
    f_tap = np.array([f_of_tap[t] for t in range(taps)])    # differential: two resonators each
    patch = patch_index(s["side"], s["kernel"], s["stride"], s["padding"])
    powers = np.where(patch[None] >= 0, (X * pixel_p_max(g, X.shape[1]))[:, patch.clip(0)], 0.0)
    powers = powers.reshape(n_slots, taps) / POWER_UNIT     # (slot, tap), 1 V = 1 uW
    lines = [f"* spicegen rfcnn sequential netlist {title}".rstrip(),
             _comment(f"{s['filters']} chains of {taps} resonators on one line, {len(X)} samples "
                      f"x {P} patches, slot {slot:g} s"),
             Options(reltol=1e-5, vntol=1e-12, abstol=1e-15).render(),
             stno.spice_subckt(schema.stno_params(g.nodes[next(
                 iter(g.successors(picked[0][2])))]), "envelope")]
    times = np.empty(2 * n_slots)
    times[0::2] = np.arange(n_slots) * slot
    times[1::2] = np.arange(n_slots) * slot + rise
    times[0] = 0.0
    for t in range(taps):
        values = np.repeat(powers[:, t], 2)
        values[0::2] = np.concatenate([[values[0]], values[1:-1:2]])
        lines.append(_comment(f"tap {t} at {f_tap[t]!r} Hz"))
        lines.append(f"Vt{t} pw0_{t} 0 {_pwl(times, values)}")
    outputs, powers_p, ics = [], [], []
    for f, (_, path, amp) in enumerate(picked):
        w = _rectification(g, path, f_tap).sum(0) * POWER_UNIT
        _finite(w, amp, "its chain's weights")
        node = f"c1_{f}"
        lines += [f"Rc1_{f} {node} 0 1",
                  f"Ib1_{f} 0 {node} DC {num(g.nodes[amp]['chain_bias'])}"]
        lines += [f"G1_{f}_{t} 0 {node} pw0_{t} 0 {num(wt)}" for t, wt in enumerate(w)]
        cards, ic = _neuron_cards(g, amp, 1, f, node, "envelope", p_init)
        lines += cards
        ics.append(ic)
        outputs.append(f"v({node})")
        powers_p.append(f"v(p1_{f})")
    lines += ics
    lines.append(".save " + " ".join(outputs + powers_p))
    lines.append(Tran(slot / 50, n_slots * slot, 0, slot / 10).render())
    lines.append(".end")
    return Netlist("\n".join(lines) + "\n", (np.arange(n_slots) + 1) * slot, outputs,
                   [powers_p], n_slots, "sequential")


def run_sequential(g: nx.DiGraph, X: np.ndarray, slot: float = 100e-9,
                   backend: str = "subprocess") -> dict:
    """Run :func:`compile_sequential` and hold it against the parallel arrangement's steady
    state (the graph's surrogate): chain voltages and STNO powers per (sample, filter, position)."""
    from .backends._ngspice import size_timeout
    from .runner import run_netlist

    start = time.perf_counter()
    net = compile_sequential(g, X, slot)
    res = run_netlist(net.text, backend, timeout=size_timeout(net.text))
    s = conv_shape(g)
    n, P, C = len(X), s["positions"], s["filters"]

    def read(names):        # (n, C, P)
        return np.stack([np.interp(net.read_times, res.scale, res[v]) for v in names]) \
            .reshape(C, n, P).transpose(1, 0, 2)

    v_seq, p_seq = read(net.outputs), read(net.hidden[0])
    v_par = graph_forward(g, X)[0].reshape(n, C, P)
    p_par = np.zeros_like(v_par)
    chains = layer_chains(g, 1)
    for j, (_, _, amp) in enumerate(chains):
        a = g.nodes[amp]
        prm = schema.stno_params(g.nodes[next(iter(g.successors(amp)))])
        current = stno.clamp_current(torch.tensor(a["g_m"] * (v_par[:, j // P, j % P]
                                                              + a["v_bias"])), prm)
        p_par[:, j // P, j % P] = stno.steady_power(current, prm).numpy()
    return {"samples": n, "slot": slot, "seconds": time.perf_counter() - start,
            "resonators": C * len(chains[0][1]),
            "parallel_resonators": sum(len(path) for _, path, _ in chains),
            "chain_error_V": float(np.abs(v_seq - v_par).max()),
            "power_error": float(np.abs(p_seq - p_par).max()),
            "power_error_mean": float(np.abs(p_seq - p_par).mean()),
            "time_per_image": P * slot}
