"""Dynamical STNO networks (graph network "dynamical"): netlist, surrogate and co-simulation.

The netlist plays samples one after another in one transient. Each sample gets a reset interval,
during which every STNO is held at the surrogate's starting power p_init (``stno_seq``'s reset
input), then ``steps`` input steps of ``dt`` seconds, each a level of a breakpoint-free source
(``compile_dynamical`` says why). A neuron's drive is a 1-Ohm summing node fed by one linear VCCS
per weight (inputs and powers in, units of I_th out) and its bias, turned into the clamped current
I_th z by a B-source amplifier. With chain synapses the weights are the chains' Lorentzian
responses and a hidden layer's line carries its STNOs' emitted power.
The outputs are the powers of the last layer, sampled at the ends of the steps, exactly where the
surrogate (models.stno_trajectories.network_trajectories) reports them.

Why one run per chunk of samples rather than one per sample: see ``cosim_dynamical``.
"""
from __future__ import annotations

import time

import networkx as nx
import numpy as np
import torch

from spintronic.models import get_device, stno, stno_trajectories
from spintronic.models.params import spice_number as num
from spintronic.models.units import POWER_UNIT

from spintronic.graph import schema
from .compiler import CompileError, Netlist, _comment, _finite, layer_weights
from .cosim import CosimResult, _check_labels, run_chunks
from .deck import Options, Tran
from .backends._ngspice import size_timeout
from .runner import run_netlist


def _check(g: nx.DiGraph) -> None:
    """The schema and the dynamical network's structure: what the compiler below relies on."""
    from spintronic.graph.structure import check_dynamical

    schema.validate(g)
    if g.graph.get("network") != "dynamical":
        raise CompileError(f"this is a {g.graph.get('network')!r} graph, not a dynamical STNO network")
    check_dynamical(g)


def chain_synapses(g: nx.DiGraph) -> bool:
    return g.graph.get("synapses", "ideal") == "chain"


def dynamical_layers(g: nx.DiGraph) -> list[dict]:
    """Per layer of a dynamical graph: W (n_out, n_in), R (n_out, n_out, recurrent), bias (n_out,)
    in units of I_th, and the neuron node names by index.

    With chain synapses W is what the chains rectify (``compiler.layer_weights``, crosstalk and
    orientations included) turned into drive: g_m / I_th times p_max per pixel, or times 1 uW per
    microwatt of emitted power on the line; ``line_power`` (per layer) then converts the STNOs'
    emitted power (W) below into those microwatts."""
    sizes = schema.layer_sizes(g)
    names = {(a["layer"], a["index"]): n for n, a in g.nodes(data=True)
             if a["kind"] in ("signal", "neuron")}
    chain = chain_synapses(g)
    layers = []
    for l in range(1, len(sizes)):
        W = np.zeros((sizes[l], sizes[l - 1]))
        R = np.zeros((sizes[l], sizes[l]))
        neurons = [names[(l, j)] for j in range(sizes[l])]
        for j, n in enumerate(neurons):
            for src, _, attrs in g.in_edges(n, data=True):
                if attrs.get("link") != "weight":
                    continue
                a = g.nodes[src]
                (W if a["layer"] == l - 1 else R)[j, a["index"]] = attrs["weight"]
        line_power = None
        if chain:
            G, _ = layer_weights(g, l)                       # V/W
            sources = [g.nodes[s] for s in schema.sources(g, l)]
            drive = np.array([g.nodes[n]["g_m"] / g.nodes[n]["I_th"] for n in neurons])
            per_input = np.array([a["p_max"] if l == 1 else POWER_UNIT for a in sources])
            W = drive[:, None] * G * per_input[None, :]
            for j, n in enumerate(neurons):
                _finite(W[j], n, "the drive its chain gives (g_m / I_th times the chain's weights)")
            if l > 1:
                att = {a["attenuation"] for a in sources}
                if len(att) != 1:
                    raise CompileError(f"layer {l - 1}'s neurons differ in attenuation {sorted(att)}; "
                                       f"the surrogate takes one per layer")
                line_power = att.pop() / POWER_UNIT
                _finite(line_power, schema.sources(g, l)[0],
                        "its emitted power on the next line (attenuation / 1 uW)")
        bias = np.array([g.nodes[n]["bias"] for n in neurons])
        layers.append({"W": W, "R": R, "bias": bias, "neurons": neurons, "line_power": line_power})
    return layers


def sequences(g: nx.DiGraph, X: np.ndarray) -> np.ndarray:
    """Flat images or sequences -> (N, steps, inputs per step), checked against the graph."""
    sizes = schema.layer_sizes(g)
    steps = int(g.graph["steps"])
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        if X.shape[1] != steps * sizes[0]:
            raise CompileError(f"the network reads {steps} steps of {sizes[0]} inputs "
                               f"({steps * sizes[0]} values per sample), got {X.shape[1]}")
        # rows: step k holds row k; pixels: step k holds pixel k (sizes[0] = 1)
        X = X.reshape(len(X), steps, sizes[0])
    if X.ndim != 3 or X.shape[1:] != (steps, sizes[0]):
        raise CompileError(f"sequences must have shape (N, {steps}, {sizes[0]}), got {X.shape}")
    if not np.isfinite(X).all():
        raise CompileError("input sequences must be finite")
    return X


def graph_trajectories(g: nx.DiGraph, X: np.ndarray) -> list[np.ndarray]:
    """The surrogate computed from the graph: every layer's powers at the end of each step."""
    _check(g)
    seq = torch.as_tensor(sequences(g, X))
    layers = dynamical_layers(g)
    prm = schema.stno_params(g.nodes[layers[0]["neurons"][0]])
    line = {L["line_power"] for L in layers[1:]}
    if len(line) > 1:
        raise CompileError(f"the surrogate takes one attenuation for every layer, got {sorted(line)}")
    with torch.no_grad():
        traj = stno_trajectories.network_trajectories(
            seq, [torch.as_tensor(L["W"]) for L in layers], [torch.as_tensor(L["R"]) for L in layers],
            [torch.as_tensor(L["bias"]) for L in layers], float(g.graph["dt"]),
            int(g.graph["substeps"]), float(g.graph["p_init"]), prm,
            line_power=line.pop() if line else None)
    return [t.numpy() for t in traj]


def read_out(g: nx.DiGraph, traj: np.ndarray) -> np.ndarray:
    """(N, steps, n) powers -> (N, n) read-out: the last step, or the mean of the last few."""
    if g.graph["readout"] == "last":
        return traj[:, -1]
    return traj[:, -int(g.graph["readout_steps"]):].mean(1)


def _bpwl(name: str, node: str, times: list[float], values: list[float], t_hold: float) -> str:
    """Breakpoint-free PWL source: a B-source pwl() of time. ngspice extrapolates past its last
    point, so the last value is held to ``t_hold``."""
    pairs = ", ".join(f"{num(t)}, {num(v)}" for t, v in zip(times + [t_hold], values + [values[-1]]))
    return f"B{name} {node} 0 V = pwl(time, {pairs})"


def default_points_per_step(g: nx.DiGraph) -> int:
    """The circuit steps at the surrogate's substep, and at least 8 times per input step."""
    return max(8, int(g.graph["substeps"]))


def compile_dynamical(g: nx.DiGraph, X: np.ndarray, points_per_step: int | None = None,
                      reset_steps: int = 6, title: str = "", checked: bool = False) -> Netlist:
    """Netlist playing the samples X (flat images or (N, steps, inputs)) one after another.

    Fixed-step trapezoidal integration with h = dt / points_per_step (default:
    ``default_points_per_step``) and no breakpoints. A PWL source's corners are breakpoints, and
    after each one ngspice restarts from a step a hundred times smaller and doubles its way back:
    with adaptive steps that made ~180 time points per sample, whatever the tolerances. Here every
    level change is a linear ramp exactly one step wide, centred on the instant the surrogate
    switches, in a B-source pwl() that sets no breakpoint; the trapezoid integrates such a ramp to
    the step's exact integral wherever its grid falls (the interpolation errors at the ramp's two
    corners cancel). So do the gates of each sample's reset (``reset_steps`` steps): ``run`` ramps
    the dynamics off around a sample's last read and on around the next start, and ``rst`` pulls
    every STNO to p_init in between, at the rate 2/h, which the trapezoid completes in one step
    without ringing.

    ``read_times`` has shape (N, steps): the end of every step of every sample. Read them with
    :func:`read_trajectories`; the run lasts two steps past the last sample for its read-out.
    ``checked``: the caller has already run ``_check`` on this very graph (a co-simulation does,
    once for all its chunks).
    """
    if not checked:
        _check(g)
    seq = sequences(g, X)
    sizes = schema.layer_sizes(g)
    layers = dynamical_layers(g)
    dt, steps, p_init = float(g.graph["dt"]), int(g.graph["steps"]), float(g.graph["p_init"])
    points_per_step = points_per_step or default_points_per_step(g)
    if points_per_step < 2 or reset_steps < 6:
        raise CompileError(f"need points_per_step >= 2 and reset_steps >= 6 (run off, read, pull "
                           f"on, pull, pull off, run on), got {points_per_step} and {reset_steps}")
    n = len(seq)
    points = n * (steps * points_per_step + reset_steps) + 2
    if points > schema.MAX_TIME_POINTS or n * steps * sizes[0] > schema.MAX_INPUT_LEVELS:
        raise CompileError(f"{n} samples of {steps} steps of {sizes[0]} inputs at {points_per_step} "
                           f"points per step make {points:,} time points and "
                           f"{n * steps * sizes[0]:,} input levels in one netlist; the limits are "
                           f"{schema.MAX_TIME_POINTS:,} and {schema.MAX_INPUT_LEVELS:,}: compile "
                           f"fewer samples at a time (--chunk) or fewer points per step")
    h = dt / points_per_step
    period = reset_steps * h + steps * dt
    starts = np.arange(n) * period + reset_steps * h     # first input step of each sample
    ends = starts + steps * dt
    read_times = starts[:, None] + dt * (np.arange(steps)[None, :] + 1)
    t_stop = n * period + 2 * h                          # room for the last sample's frozen read
    t_hold = 2 * t_stop
    prm = schema.stno_params(g.nodes[layers[0]["neurons"][0]])
    lines = [f"* spicegen dynamical STNO netlist {title}".rstrip(),
             _comment(f"network sizes {','.join(map(str, sizes))}, {n} samples of {steps} steps "
                      f"of {dt:g} s, fixed step {h:g} s"),
             # trtol huge: the local-truncation-error control stays inert and the step stays h
             Options(method="trap", trtol=1e9, reltol=1e-4, abstol=1e-15, vntol=1e-12).render(),
             stno.spice_subckt(prm, "envelope")]
    # gates, each change a ramp one step wide: run = 1 while a sample plays (off by e + h/2, so
    # the first time point after that holds the read-out); rst = 1 for one step in the middle
    half = h / 2
    run_t, run_v, rst_t, rst_v = [0.0], [0.0], [0.0], [1.0]
    for s, e in zip(starts, ends):
        rst_t += [s - 3 * half, s - half]
        rst_v += [1.0, 0.0]
        run_t += [s - half, s + half, e - half, e + half]
        run_v += [0.0, 1.0, 1.0, 0.0]
        rst_t += [e + 3 * half, e + 5 * half]
        rst_v += [0.0, 1.0]
    lines.append(_bpwl("run", "run", run_t, run_v, t_hold))
    lines.append(_bpwl("rst", "rst", rst_t, rst_v, t_hold))
    lines.append("* inputs: one level per step, each change a ramp one step wide")
    for i in range(sizes[0]):
        t_pts, v_pts = [0.0], [0.0]
        level = 0.0
        for s, x in zip(starts, seq[:, :, i]):
            for k, v in enumerate(x):
                # the first level comes up inside the reset, where it drives nothing
                t0 = s - 2 * h if k == 0 else s + k * dt
                t_pts += [t0 - half, t0 + half]
                v_pts += [level, v]
                level = v
        lines.append(_bpwl(f"u{i}", f"u0_{i}", t_pts, v_pts, t_hold))
    i_min, i_max = prm.I_min_ratio * prm.I_th, prm.I_max_ratio * prm.I_th
    _finite([i_min, i_max], layers[0]["neurons"][0],
            "its current clamps (I_min_ratio, I_max_ratio times I_th)")
    if layers[1:] and layers[1]["line_power"] is not None:
        _finite(layers[1]["line_power"] * prm.k_P / prm.R, layers[0]["neurons"][0],
                "its emitted power scale (attenuation k_P / R)")
    dev = get_device("stno")
    spice = {**dev.spice_values(prm, ("I_th", "Gg", "Q", "R")), "prst": p_init, "krst": 2 / h}
    for l, L in enumerate(layers, start=1):
        lines.append(f"* layer {l}: {L['W'].shape[0]} STNOs")
        if l == 1:
            src = [f"u0_{i}" for i in range(sizes[0])]
        elif L["line_power"] is None:
            src = [f"p{l - 1}_{i}" for i in range(sizes[l - 1])]
        else:
            # chain synapses read the emitted power P = k_P p R I^2 of the STNOs below, in uW on
            # the line (the stno_env model's pw output, times the attenuation)
            src = [f"pw{l - 1}_{i}" for i in range(sizes[l - 1])]
            lines += [f"Bpw{l - 1}_{i} {s} 0 V = {num(L['line_power'] * prm.k_P / prm.R)}*V(p{l - 1}_{i})"
                      f"*V(in{l - 1}_{i})*V(in{l - 1}_{i})" for i, s in enumerate(src)]
        for j, name in enumerate(L["neurons"]):
            z = f"z{l}_{j}"
            lines.append(_comment(f"neuron {name}"))
            lines += [f"Rz{l}_{j} {z} 0 1", f"Ib{l}_{j} 0 {z} DC {num(L['bias'][j])}"]
            lines += [f"G{l}_{j}_{i} 0 {z} {s} 0 {num(w)}" for i, (s, w) in enumerate(zip(src, L["W"][j]))
                      if w != 0.0]
            lines += [f"Gr{l}_{j}_{k} 0 {z} p{l}_{k} 0 {num(w)}" for k, w in enumerate(L["R"][j])
                      if w != 0.0]
            lines.append(f"Ba{l}_{j} 0 in{l}_{j} I = min(max({num(prm.I_th)}*V({z}), {num(i_min)}), "
                         f"{num(i_max)})")
            lines.append(dev.instance(f"Xs{l}_{j}", {"in": f"in{l}_{j}", "p": f"p{l}_{j}",
                                                     "rst": "rst", "run": "run"},
                                      subckt="stno_seq", spice=spice))
    lines.append(" ".join([".ic"] + [f"v(xs{l}_{j}.s)={num(p_init)}" for l, L in enumerate(layers, 1)
                                    for j in range(len(L["neurons"]))]))
    hidden = [[f"v(p{l}_{j})" for j in range(sizes[l])] for l in range(1, len(sizes) - 1)]
    outputs = [f"v(p{len(sizes) - 1}_{j})" for j in range(sizes[-1])]
    lines.append(".save " + " ".join(outputs + [v for layer in hidden for v in layer]))
    lines.append(Tran(h, t_stop, 0, h).render())
    lines.append(".end")
    return Netlist("\n".join(lines) + "\n", read_times, outputs, hidden, n, "transient")


def read_trajectories(res, net: Netlist, h: float) -> list[np.ndarray]:
    """Every layer's powers at the read times, (N, steps, n) per layer, from a run of
    :func:`compile_dynamical`'s netlist at the step h.

    A step end within a sample is where the inputs switch, over the step h around it. It is
    extrapolated from the last two time points before that ramp (their line is the trajectory up
    to it). At a sample's last step end the ``run`` gate has frozen the dynamics by h/2 later, so
    the first time point from there on holds the read-out itself.
    """
    t = res.scale
    times = net.read_times
    left = np.clip(np.searchsorted(t, times - h / 2, side="right") - 1, 1, len(t) - 1)
    t1, t0 = t[left], t[left - 1]
    frozen = np.searchsorted(t, times[:, -1] + h / 2 * (1 - 1e-6))
    out = []
    for names in net.hidden + [net.outputs]:
        traj = []
        for name in names:
            v = res[name]
            at = v[left] + (v[left] - v[left - 1]) / (t1 - t0) * (times - t1)
            at[:, -1] = v[frozen]
            traj.append(at)
        out.append(np.stack(traj, axis=-1))
    return out


def cosim_dynamical(g: nx.DiGraph, X: np.ndarray, y: np.ndarray, workers: int = 2,
                    chunk: int | None = 60, backend: str = "subprocess", progress: bool = False,
                    points_per_step: int | None = None, executor: str = "threads",
                    scheduler: str | None = None, timeout: float | None = None) -> CosimResult:
    """A test set through ngspice beside the graph's surrogate; layers compared at the read-out.

    Samples are time-multiplexed, ``chunk`` per run, runs on ``workers`` processes. Measured in
    benchmarks/stno_sequences.py on the 359 digits: chunks of 30 / 60 / 90 on two workers take
    22-25 s, one run per sample 37 s (start-up and parsing), and one run for the whole set on one
    worker 44 s. ``points_per_step`` sets the circuit's fixed step (``compile_dynamical``).
    """
    _check(g)
    seq = sequences(g, X)
    y = _check_labels(seq, y)
    start = time.perf_counter()
    pps = points_per_step or default_points_per_step(g)

    def run_piece(sl: slice) -> tuple[list[np.ndarray], dict]:
        net = compile_dynamical(g, seq[sl], points_per_step=pps, checked=True)
        res = run_netlist(net.text, backend, timeout=timeout or size_timeout(net.text))
        t = res.scale
        waveforms = {}
        if sl.start == 0:
            keep = t <= net.read_times[min(4, net.n_samples - 1), -1]
            waveforms = {"t": t[keep], "outputs": np.stack([res[v][keep] for v in net.outputs]),
                         "read_times": net.read_times[:5, -1]}
        return [read_out(g, traj) for traj in
                read_trajectories(res, net, float(g.graph["dt"]) / pps)], waveforms

    circuit, waveforms, runs = run_chunks(run_piece, len(seq), chunk, workers, backend, progress,
                                          executor, scheduler)
    seconds = time.perf_counter() - start
    surrogate = [read_out(g, tr) for tr in graph_trajectories(g, seq)]
    return CosimResult(y, surrogate, circuit, seconds, runs, waveforms, unit="p")
