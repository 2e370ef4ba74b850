"""Co-simulation: a test set through ngspice, beside the surrogate computed from the same graph."""
from __future__ import annotations

import dataclasses
import functools
import time

import networkx as nx
import numpy as np
import torch

from spintronic.models import stno

from spintronic.graph import schema
from spintronic.graph.progress import progress_bar
from .compiler import compile_envelope, layer_weights, source_power_scale
from .backends._ngspice import size_timeout
from .runner import run_netlist


def graph_forward(g: nx.DiGraph, X: np.ndarray, macs: dict | None = None,
                  line_powers: list | None = None) -> list[np.ndarray]:
    """Steady-state surrogate of the graph: every layer's chain voltages (V) for inputs X.

    ``macs`` may replace a layer's product: {layer: f(P) -> P @ W.T} (e.g. the same weights on a
    resistive crossbar); ``line_powers``, if a list, receives the powers on each layer's line (W).
    """
    sizes = schema.layer_sizes(g)
    srcs = schema.sources(g, 1)
    powers = np.asarray(X, dtype=np.float64) * np.array([g.nodes[s]["p_max"] for s in srcs])
    voltages = []
    for l in range(1, len(sizes)):
        W, bias = layer_weights(g, l)
        line = powers * source_power_scale(g, l)
        if line_powers is not None:
            line_powers.append(line)
        v = (macs[l](line) if macs and l in macs else line @ W.T) + bias
        voltages.append(v)
        if l == len(sizes) - 1:
            break
        nxt = []
        for j, (_, _, amp) in enumerate(schema.chains(g, l)):
            (osc,) = list(g.successors(amp))
            a, prm = g.nodes[amp], schema.stno_params(g.nodes[osc])
            current = stno.clamp_current(
                torch.tensor(a["g_m"] * (v[:, j] + a["v_bias"])), prm)
            nxt.append(stno.emitted_power(stno.steady_power(current, prm), current, prm).numpy())
        powers = np.stack(nxt, axis=1)
    return voltages


def _chain_waveforms(res, net) -> list[list[np.ndarray]]:
    """Every layer's chain-voltage waveforms (hidden layers, then outputs) from a run of ``net``."""
    return [[res[name] for name in names] for names in net.hidden + [net.outputs]]


@dataclasses.dataclass
class CosimResult:
    y: np.ndarray
    surrogate: list[np.ndarray]      # chain voltages per layer, steady-state surrogate
    circuit: list[np.ndarray]        # the same, read from ngspice at the read-out times
    seconds: float
    runs: int
    waveforms: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    unit: str = "V"                  # "V": chain voltages; "p": normalised STNO powers

    @property
    def surrogate_pred(self) -> np.ndarray:
        return self.surrogate[-1].argmax(1)

    @property
    def circuit_pred(self) -> np.ndarray:
        return self.circuit[-1].argmax(1)

    def report(self) -> dict:
        per_layer = []
        for l, (s, c) in enumerate(zip(self.surrogate, self.circuit), start=1):
            err = np.abs(c - s)
            per_layer.append({"layer": l, f"max_error_{self.unit}": float(err.max()),
                              f"mean_error_{self.unit}": float(err.mean())})
        return {
            "samples": int(len(self.y)),
            "surrogate_accuracy": float((self.surrogate_pred == self.y).mean()),
            "circuit_accuracy": float((self.circuit_pred == self.y).mean()),
            "argmax_agreement": float((self.surrogate_pred == self.circuit_pred).mean()),
            "layers": per_layer,
            "seconds": self.seconds,
            "ngspice_runs": self.runs,
            "unit": self.unit,
        }

    def text(self) -> str:
        """The report as ``spicegen cosim`` prints it."""
        return format_report(self.report())

    def plot(self, out_dir: str) -> list[str]:
        """Write the figures ``spicegen cosim`` writes (scores, confusion matrices, waveforms)
        into ``out_dir``; returns their paths."""
        from .cosim_plots import plot_cosim
        return plot_cosim(self, out_dir)


#: optional report sections: a key of the report dict -> the lines that format it (a kind whose
#: co-simulation says more than the lines below registers one; ``format_report`` appends them)
REPORT_SECTIONS: dict = {}


def format_report(rep: dict) -> str:
    lines = [f"samples                 {rep['samples']}",
             f"surrogate accuracy      {100 * rep['surrogate_accuracy']:.2f} %",
             f"circuit accuracy        {100 * rep['circuit_accuracy']:.2f} %",
             f"argmax agreement        {100 * rep['argmax_agreement']:.2f} %",
             f"co-simulation time      {rep['seconds']:.1f} s ({rep['ngspice_runs']} ngspice runs)"]
    for layer in rep["layers"]:
        if rep.get("unit", "V") == "V":
            lines.append(f"layer {layer['layer']} chain voltage error: max "
                         f"{1e6 * layer['max_error_V']:.3f} uV, mean {1e6 * layer['mean_error_V']:.3f} uV")
        elif rep.get("unit") == "p":
            lines.append(f"layer {layer['layer']} STNO power error (normalised p): max "
                         f"{layer['max_error_p']:.2e}, mean {layer['mean_error_p']:.2e}")
        else:
            unit = rep["unit"]
            lines.append(f"layer {layer['layer']} output error ({unit}): max "
                         f"{layer[f'max_error_{unit}']:.3g}, mean {layer[f'mean_error_{unit}']:.3g}")
    for key, section in REPORT_SECTIONS.items():
        if key in rep:
            lines += section(rep[key])
    return "\n".join(lines)


def _check_labels(X: np.ndarray, y) -> np.ndarray:
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    return y


def run_length(n: int, chunk: int | None, workers: int) -> int:
    """Samples per ngspice run: ``chunk``, or (None, 0) the n samples split evenly over the
    workers."""
    chunk = chunk or int(np.ceil(n / max(1, workers)))
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 samples per run, got {chunk}")
    return chunk


def run_chunks(run_piece, n: int, chunk: int | None, workers: int, backend: str,
               progress: bool, executor: str = "threads", scheduler: str | None = None
               ) -> tuple[list[np.ndarray], dict, int]:
    """Cut n samples into runs of ``chunk``, map ``run_piece(slice) -> (per-layer arrays,
    waveforms)`` over them with the named executor (each run is its own ngspice process), and
    join the layers. Waveforms (for plots) come from the first run; they travel back with the
    result because a remote worker cannot fill a caller's dict."""
    from .executors import get_executor

    chunk = run_length(n, chunk, workers)
    pieces = [slice(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    bar = None
    if progress:
        bar = progress_bar()(total=len(pieces), desc="ngspice", unit="run")
    try:
        # the executor runs a back end that holds one ngspice per process (shared library) one
        # piece at a time in this process, and in parallel only in worker processes
        with get_executor(executor, workers=workers, scheduler=scheduler, backend=backend) as pool:
            parts = pool.map(run_piece, pieces, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    layers = [np.concatenate([p[0][l] for p in parts]) for l in range(len(parts[0][0]))]
    return layers, parts[0][1], len(pieces)


def windowed_piece(compile_fn, g: nx.DiGraph, X: np.ndarray, window: float, backend: str,
                   timeout: float | None):
    """``run_piece(slice)`` for ``run_chunks`` of a time-multiplexed envelope netlist: compile
    ``compile_fn(g, X[slice], window=window, checked=True)``, run it, and read every layer's
    chains at the end of each window (plus the first few windows' waveforms, for plots)."""
    def run_piece(sl: slice) -> tuple[list[np.ndarray], dict]:
        net = compile_fn(g, X[sl], window=window, checked=True)
        res = run_netlist(net.text, backend, timeout=timeout or size_timeout(net.text))
        t = res.scale
        layers = _chain_waveforms(res, net)
        waveforms = {}
        if sl.start == 0:
            keep = t <= min(5, net.n_samples) * window
            waveforms = {"t": t[keep], "outputs": np.stack([v[keep] for v in layers[-1]]),
                         "read_times": net.read_times[:5]}
        return [np.stack([np.interp(net.read_times, t, v) for v in vecs], axis=1)
                for vecs in layers], waveforms
    return run_piece


def cosim_envelope(g: nx.DiGraph, X: np.ndarray, y: np.ndarray, window: float = 200e-9,
                   workers: int = 2, chunk: int | None = 45, backend: str = "subprocess",
                   progress: bool = False, executor: str = "threads",
                   scheduler: str | None = None, timeout: float | None = None,
                   device_level: bool = False) -> CosimResult:
    """Time-multiplex the samples into ngspice runs of ``chunk`` samples (None: one run per
    worker), run ``workers`` of them at a time, and read every layer's chain voltages at the end of
    each sample's window.

    Why chunks: ngspice evaluates a PWL source by scanning its points, so a run's cost grows faster
    than its length. Measured on the digits test set (359 samples, 2 cores): one run 7.95 s, two
    parallel runs 3.34 s, chunks of 45 on two workers 2.92 s (benchmarks/rf_digits.py).
    device_level: run the device-level decks that ``export --netlist`` writes instead of numeric
    gains (the same values, slower to read).
    """
    from .compiler import _check_rf

    X = np.asarray(X, dtype=np.float64)
    y = _check_labels(X, y)
    start = time.perf_counter()
    _check_rf(g)                     # once, not once per chunk

    # numeric gains: the device-level deck evaluates to the same gains (tests/test_device_level.py
    # holds the two to 1e-12) but costs ngspice about 1 s more to read per run
    # (benchmarks/device_level.py)
    run_piece = windowed_piece(functools.partial(compile_envelope, device_level=device_level),
                               g, X, window, backend, timeout)
    circuit, waveforms, runs = run_chunks(run_piece, len(X), chunk, workers, backend, progress,
                                          executor, scheduler)
    seconds = time.perf_counter() - start
    return CosimResult(y, graph_forward(g, X), circuit, seconds, runs, waveforms)


__all__ = ["CosimResult", "cosim_envelope", "graph_forward", "format_report"]


def cosim_rf(g: nx.DiGraph, X: np.ndarray, y: np.ndarray, workers: int = 2,
             settle_tau: float = 12.0, points_per_period: int | None = None,
             lp_ratio: float | None = None, progress: bool = False, executor: str = "threads",
             scheduler: str | None = None, timeout: float | None = None) -> CosimResult:
    """A few samples at carrier level, one ngspice process per sample; chain voltages averaged over
    the last 20 periods of the slowest carrier. ``lp_ratio`` overrides the read-out corner
    (a fraction of the lowest carrier on each line): it must sit well below the spacing of the
    carriers, or their beat notes reach the next layer (benchmarks/rf_beat_notes.py)."""
    from . import rfstep

    from .compiler import _check_rf, compile_rf

    X = np.asarray(X, dtype=np.float64)
    y = _check_labels(X, y)
    start = time.perf_counter()
    _check_rf(g)

    def run_one(sl: slice) -> list[np.ndarray]:
        net = compile_rf(g, X[sl.start], settle_tau, points_per_period or rfstep.POINTS_PER_PERIOD,
                         lp_ratio, checked=True)
        res = run_netlist(net.text, "subprocess", timeout=timeout or size_timeout(net.text))
        t = res.scale
        last = t >= net.read_times[0]
        layers = _chain_waveforms(res, net)
        return [np.array([[np.trapezoid(v[last], t[last]) / np.ptp(t[last]) for v in vecs]])
                for vecs in layers], {}

    circuit, _, _ = run_chunks(run_one, len(X), 1, workers, "subprocess", progress, executor,
                               scheduler)
    return CosimResult(y, graph_forward(g, X), circuit, time.perf_counter() - start, len(X))
