"""``spicegen sneak`` on a dw graph: its read-out as a DW-MTJ crossbar, in the devices' real states.

A dw synapse is binary: at every read it sits at G_P (its wall passed, with probability p(w) of its
trained drive) or at G_AP. So the crossbar is analysed in drawn states, not in mean conductances:
for every sample and each of its N reads the states are drawn with a seeded numpy Generator from
the graph's p, every cell is G_AP + (G_P - G_AP) s (the graph's DomainWallParams), the rows are
driven at V_read x_i (x binarised as :func:`spicegen.dw_netlist.binarise`) and the columns are
those of :func:`spicegen.dw_netlist._crossbar`: pairs on device columns 2j (+) and 2j + 1 (-), or
one device per synapse on column j and a reference column of G_AP at n_out. A read's output is
the count (I_j - I_ref) / (V_read (G_P - G_AP)); ideal per-neuron current summing gives exactly
sum_i x_i s_ij, so both read-outs see the same draws and their difference is the arrangement's
alone. Logits as the circuit reads them: gain x (mean count over the N reads) + bias.

Every read has its own conductances, so every read is one solve: :class:`ReadSolver` prepares
the band layout once per arrangement with wires (the row wires eliminated, the column nodes
factorised), and without wires needs no factorisation at all (closed form). Sample 0's read 0 is
also solved by ``spicegen.crossbar`` itself (ngspice or its nodal analysis) for the current map.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time

import numpy as np
import scipy.linalg as sl

from . import crossbar
from .dw_netlist import DWLayer, binarise, binarise_note

SOLVERS = ("spice", "nodal")
ON_OFF_SWEEP = (1.5, 2.5, 5.0, 10.0, 100.0)
R_WIRE_SWEEP = (0.0, 0.1, 0.3, 1.0, 3.0)
#: test samples inspected when --limit is not given: every sample is N factorisations in each of
#: about nine arrangements (the sweeps), measured 1.3 ms each for the 64 x 11 digits array and
#: 5.6-9 ms for 196 x 20 cells (load 5-9 on 2 cores): 200 x 8 reads stay under two minutes
DEFAULT_LIMIT = 200


# ------------------------------------------------------------------------ the arrangement

def arrangement(layer: DWLayer, cfg: crossbar.CrossbarConfig,
                on_off: float | None = None) -> crossbar.CrossbarConfig:
    """cfg's circuit (wires, sensing, access) around the graph's devices: G_P and v_read of the
    graph; G_AP the graph's, or G_P / on_off when given; pairs as the graph has them."""
    ratio = layer.prm.G_P / layer.prm.G_AP if on_off is None else float(on_off)
    return dataclasses.replace(cfg, g_p=layer.prm.G_P, on_off=ratio, v_read=layer.v_read,
                               differential=layer.pairs, rows=None, cols=None)


def conductances(layer: DWLayer, states: np.ndarray, cfg: crossbar.CrossbarConfig) -> np.ndarray:
    """Cells (n_in, device columns) of switch states (S, n_out, n_in) in cfg's device range."""
    g_ap, dg = cfg.g_ap, cfg.g_p - cfg.g_ap
    cells = g_ap + dg * np.asarray(states, dtype=np.float64)
    if layer.pairs:                         # + on 2j, - on 2j + 1, as the crossbar's pairs
        return np.stack([cells[0].T, cells[1].T], axis=2).reshape(layer.shape[1], -1)
    return np.concatenate([cells[0].T, np.full((layer.shape[1], 1), g_ap)], axis=1)


def combine(layer: DWLayer) -> np.ndarray:
    """(n_out, device columns): each output is its column less its reference."""
    n_out = layer.shape[0]
    if layer.pairs:
        return np.kron(np.eye(n_out), [1.0, -1.0])
    return np.concatenate([np.eye(n_out), -np.ones((n_out, 1))], axis=1)


def conductance_map(layer: DWLayer, G: np.ndarray, cfg: crossbar.CrossbarConfig
                    ) -> crossbar.ConductanceMap:
    """The crossbar of cells G whose outputs are counts: (I_j - I_ref) / (V_read (G_P - G_AP))."""
    cmap = crossbar.ConductanceMap.from_conductances(G, cfg)
    return dataclasses.replace(cmap, combine=combine(layer), n_out=layer.shape[0],
                               w_per_siemens=1.0 / (cfg.g_p - cfg.g_ap))


def draw_states(layer: DWLayer, samples: int, seed: int = 0) -> np.ndarray:
    """Switch states (samples, N, S, n_out, n_in), bool: s = 1 with probability p(w)."""
    p = layer.probabilities()
    rng = np.random.default_rng(seed)
    return rng.random((samples, layer.reads) + p.shape) < p


def ideal_counts(layer: DWLayer, x: np.ndarray, states: np.ndarray) -> np.ndarray:
    """sum_i x_i (s+_ij - s-_ij) (or sum_i x_i s_ij), (samples, N, n_out): ideal summing."""
    sign = np.array([1.0, -1.0])[:len(layer.w)]
    return np.einsum("k,si,srkji->srj", sign, x, states.astype(np.float64), optimize=True)


# ------------------------------------------------------------------------ one solve per read

class ReadSolver:
    """The crossbar of one arrangement, solved for any cells G: by :class:`_WiredRows` with
    wires (r_wire > 0); without, in closed form, since every cell then joins its row's driver to
    its column's node (through its access transistor, r_on: every row is read) and only the
    column nodes are unknown: 0 V at a TIA, or sum_i g_ij v_i / (sum_i g_ij + 1 / r_sense)
    above a sense resistor. Column currents as ``spicegen.crossbar``'s nodal analysis gives them
    (a test holds the two together)."""

    def __init__(self, rows: int, cols: int, cfg: crossbar.CrossbarConfig):
        self.cfg = cfg
        self.wired = _WiredRows(rows, cols, cfg) if cfg.r_wire > 0 else None

    def column_currents(self, G: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Current into each column's 0 V sense end (device columns,) for cells G and row
        voltages v (rows,)."""
        if self.wired is not None:
            return self.wired.column_currents(G, v)
        cfg = self.cfg
        g = 1.0 / (1.0 / G + cfg.r_on) if cfg.access else G
        into = v @ g                                   # what the cells drive into each column
        if cfg.sensing != "resistor":
            return into
        return into / (1.0 + cfg.r_sense * g.sum(0))   # = V_column / r_sense


class _WiredRows:
    """The same crossbar with wires (r_wire > 0), solved by eliminating the row wires first.

    A cell's access transistor (r_on, every row selected) is in series with its device, and a
    column's last wire segment with its sense resistor (or straight into the TIA): both fold into
    one conductance. Row i's wire nodes then see only its driver, each other and their cells, so
    they are eliminated exactly per row (a tridiagonal inverse, all rows at once); what is left is
    the column wires' nodes, a block-tridiagonal SPD system (rows x columns unknowns, one dense
    columns x columns block per row), solved as a band of half-width ``columns`` by Cholesky.
    Measured against SuperLU on the whole circuit (same ordering reused): 196 x 20 cells 5.6 ms
    against 25-39 ms a read, 64 x 11 cells 1.2 ms against 3.1 ms (load 5 on 2 cores).
    """

    def __init__(self, rows: int, cols: int, cfg: crossbar.CrossbarConfig):
        self.R, self.C, self.cfg = rows, cols, cfg
        gw = self.gw = 1.0 / cfg.r_wire
        g_end = 1.0 / (cfg.r_wire + cfg.r_sense) if cfg.sensing == "resistor" else gw
        self.g_end = g_end
        i = np.arange(rows)
        self.col_diag = gw * (i > 0) + np.where(i < rows - 1, gw, g_end)
        self.row_diag = gw + gw * (np.arange(cols) < cols - 1)
        # band storage (upper, half-width C) of the block-tridiagonal matrix: where each block
        # entry S[i, r, c] (r <= c) goes, flat, and the -gw between column nodes of rows i, i + 1
        r, c = np.triu_indices(cols)
        self.upper = (r, c)
        self.slot = ((cols - (c - r))[None, :] * rows * cols
                     + (i[:, None] * cols + c[None, :])).ravel()

    def _row_inverse(self, a: np.ndarray) -> np.ndarray:
        """Inverses (R, C, C) of the row chains' tridiagonal matrices (diagonal a, off -gw):
        Thomas' algorithm on the identity, every row at once (diagonally dominant: stable)."""
        R, C, gw = self.R, self.C, self.gw
        cp = np.empty((R, C))
        d = np.zeros((R, C, C))
        m = a[:, 0]
        cp[:, 0] = -gw / m
        d[:, 0, 0] = 1.0 / m
        for j in range(1, C):
            m = a[:, j] + gw * cp[:, j - 1]
            cp[:, j] = -gw / m
            d[:, j] = gw * d[:, j - 1] / m[:, None]
            d[:, j, j] += 1.0 / m
        for j in range(C - 2, -1, -1):
            d[:, j] -= cp[:, j, None] * d[:, j + 1]
        return d

    def column_currents(self, G: np.ndarray, v: np.ndarray) -> np.ndarray:
        cfg, R, C, gw = self.cfg, self.R, self.C, self.gw
        g = 1.0 / (1.0 / G + cfg.r_on) if cfg.access else G
        M = self._row_inverse(self.row_diag[None, :] + g)
        # column nodes after the rows: S = diag(g) - diag(g) M diag(g) + the column wires
        S = -g[:, :, None] * M * g[:, None, :]
        k = np.arange(C)
        S[:, k, k] += g + self.col_diag[:, None]
        rhs = (gw * v[:, None] * g * M[:, :, 0]).ravel()
        ab = np.zeros((C + 1) * R * C)
        ab[self.slot] = S[:, self.upper[0], self.upper[1]].ravel()
        ab = ab.reshape(C + 1, R * C)
        ab[0, C:] = -gw
        w = sl.solveh_banded(ab, rhs, check_finite=False)
        return self.g_end * w[-C:]


def _one_thread():
    """BLAS on one thread (the band Cholesky of a read is small; threads only contend)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:          # scikit-learn brings it; without it, whatever BLAS does
        return contextlib.nullcontext()
    return threadpool_limits(1)


def crossbar_counts(layer: DWLayer, x: np.ndarray, states: np.ndarray,
                    cfg: crossbar.CrossbarConfig) -> np.ndarray:
    """What the crossbar reads, in counts: (samples, N, n_out)."""
    n, N = states.shape[:2]
    mix = combine(layer) / (cfg.v_read * (cfg.g_p - cfg.g_ap))
    solver = ReadSolver(layer.shape[1], mix.shape[1], cfg)
    out = np.empty((n, N, layer.shape[0]))
    # BLAS on one thread for all the reads: a threaded band solve of this size on a loaded
    # machine took seconds a read
    with _one_thread():
        for s in range(n):
            v = cfg.v_read * x[s]
            for k in range(N):
                out[s, k] = mix @ solver.column_currents(conductances(layer, states[s, k], cfg),
                                                         v)
    return out


# ------------------------------------------------------------------------ the report

@dataclasses.dataclass
class DWSneakReport:
    """The dw read-out on the crossbar beside ideal summing, on the same drawn states.

    "% FS" is of one full scale: the largest ideal column current above its reference over every
    read of the samples inspected (``full_scale`` counts, ``full_scale_A`` amperes); MAC errors
    are the worst |crossbar - ideal| over those reads.
    """

    layer: DWLayer
    sample: crossbar.CrossbarResult         # sample 0, read 0, solved by ``solver``
    accuracy: dict
    mac_error: float
    sweeps: dict[str, tuple[list, list, list]]
    full_scale: float
    n_samples: int
    cfg: crossbar.CrossbarConfig
    solver: str
    seed: int
    seconds: float                          # the headline arrangement's reads
    reads_solved: int
    switching: dict
    note: str = ""

    @property
    def full_scale_A(self) -> float:
        return self.full_scale * self.cfg.v_read * (self.cfg.g_p - self.cfg.g_ap)

    @property
    def sample_error_fs(self) -> float:
        s = self.sample
        return float(np.abs(s.output - s.ideal_output).max() / self.full_scale)

    def current(self, name: str) -> float:
        return self.cfg.on_off if name.startswith("ON") else self.cfg.r_wire

    def text(self) -> str:
        a, n, L = self.accuracy, self.n_samples, self.layer
        cells = self.sample.cmap.G.size
        ms = 1e3 * self.seconds / max(self.reads_solved, 1)
        lines = [crossbar.report(self.sample), "(sample 0, read 0: W@x columns in counts, "
                 "sum_i x_i s_ij above the reference)", "",
                 f"dw layer ({L.shape[0]} neurons x {L.shape[1]} inputs"
                 f"{', differential pairs' if L.pairs else ', reference column at G_AP'}; "
                 f"{cells} cells) on the crossbar (ON/OFF {self.cfg.on_off:.4g}, r_wire "
                 f"{self.cfg.r_wire:g} Ohm, sensing {self.cfg.sensing}, access "
                 f"{'yes' if self.cfg.access else 'no'}); {self.note}",
                 f"  switch states drawn from p(w): seed {self.seed}, {n} samples x {L.reads} "
                 f"reads; switching frequency {self.switching['frequency']:.5f} against mean p "
                 f"{self.switching['mean_p']:.5f} (z = {self.switching['z']:+.2f})",
                 f"  % FS = % of the largest ideal column current above its reference: "
                 f"{self.full_scale:g} counts = {1e6 * self.full_scale_A:.4g} uA",
                 f"  network accuracy, ideal summing   {100 * a['ideal_accuracy']:.2f} %",
                 f"  network accuracy, crossbar        {100 * a['crossbar_accuracy']:.2f} % "
                 f"(argmax agreement {100 * a['argmax_agreement']:.2f} %, same drawn states)",
                 f"  MAC error, crossbar               {100 * self.mac_error:.3f} % FS, worst over "
                 f"the {n * L.reads} reads",
                 f"    sample 0 read 0 alone           {100 * self.sample_error_fs:.3f} % FS "
                 f"({self.solver} solve, sneak current {1e6 * self.sample.sneak_current:.4g} uA)",
                 f"  nodal solves: {self.reads_solved} reads in {self.seconds:.1f} s "
                 f"({ms:.2f} ms per read, "
                 f"{'one band factorisation each' if self.cfg.r_wire > 0 else 'closed form'})"]
        for name, (values, errors, accs) in self.sweeps.items():
            held = (f"r_wire {self.cfg.r_wire:g} Ohm; G_P held, G_AP = G_P / ratio"
                    if name.startswith("ON") else f"ON/OFF {self.cfg.on_off:.4g}")
            lines.append(f"  sweep of {name} ({held}; same states, worst over the reads):")
            lines += [f"    {v:8.4g}: MAC error {100 * e:7.3f} % FS, accuracy {100 * acc:6.2f} %"
                      + ("   <- these settings" if np.isclose(v, self.current(name), rtol=1e-12,
                                                              atol=0) else "")
                      for v, e, acc in zip(values, errors, accs)]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        cfg = dataclasses.asdict(self.cfg)
        cfg["g_ap"] = self.cfg.g_ap
        return {"network": "dw", "layer": 1, "shape": list(self.layer.shape),
                "pairs": bool(self.layer.pairs), "reads": self.layer.reads,
                "solver": self.solver, "seed": self.seed, "config": cfg,
                "samples": self.n_samples, "inputs": self.note,
                "full_scale_counts": self.full_scale, "full_scale_A": self.full_scale_A,
                "accuracy": dict(self.accuracy), "mac_error_fs": self.mac_error,
                "sample0_mac_error_fs": self.sample_error_fs,
                "sample0_sneak_current_A": self.sample.sneak_current,
                "switching": dict(self.switching),
                "timing": {"reads": self.reads_solved, "seconds": self.seconds,
                           "ms_per_read": 1e3 * self.seconds / max(self.reads_solved, 1)},
                "sweeps": {name: {"values": list(map(float, v)), "mac_error_fs": list(e),
                                  "crossbar_accuracy": list(acc)}
                           for name, (v, e, acc) in self.sweeps.items()}}

    def write_plots(self, out: str) -> list[str]:
        os.makedirs(out, exist_ok=True)
        paths = [crossbar.plot_current_map(self.sample, os.path.join(out, "current_map.png"))]
        for name, (values, errs, _) in self.sweeps.items():
            on_off = name.startswith("ON")
            held = f"r_wire {self.cfg.r_wire:g} Ohm" if on_off else f"ON/OFF {self.cfg.on_off:.3g}"
            paths.append(crossbar.plot_mac_error_sweep(
                values, {"crossbar": errs}, "ON/OFF ratio G_P / G_AP (G_P held)" if on_off
                else name, os.path.join(out, "mac_error_vs_on_off.png" if on_off
                                        else "mac_error_vs_r_wire.png"),
                ylabel=f"worst MAC error over {self.reads_solved} reads (% FS)",
                title=f"dw {self.layer.shape[0]} x {self.layer.shape[1]} on the crossbar, {held}, "
                      f"sensing {self.cfg.sensing}", mark=self.current(name)))
        return paths


def _figures(layer, x, y, states, ideal, full, cfg) -> tuple[float, dict, float]:
    """(worst MAC error of ``full`` counts, accuracy figures, seconds) of one arrangement."""
    start = time.perf_counter()
    real = crossbar_counts(layer, x, states, cfg)
    seconds = time.perf_counter() - start

    def pred(counts):
        return (layer.gain * counts.mean(1) + layer.bias).argmax(1)
    p_ideal, p_real = pred(ideal), pred(real)
    return float(np.abs(real - ideal).max() / full), {
        "ideal_accuracy": float((p_ideal == y).mean()),
        "crossbar_accuracy": float((p_real == y).mean()),
        "argmax_agreement": float((p_ideal == p_real).mean())}, seconds


def inspect_dw(layer: DWLayer, X, y, cfg: crossbar.CrossbarConfig, solver: str = "spice",
               seed: int = 0, on_off: float | None = None, on_off_sweep=ON_OFF_SWEEP,
               r_wire_sweep=R_WIRE_SWEEP, timeout: float | None = 120.0,
               backend: str = "subprocess", single_ended: bool = False) -> DWSneakReport:
    """The dw read-out on cfg's crossbar (device range and pairs from the graph; ``on_off``:
    G_AP = G_P / on_off instead of the graph's), on states drawn with ``seed``."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if single_ended and layer.pairs:
        raise ValueError("--single-ended: this dw graph has differential pairs (pairs = 1); its "
                         "crossbar reads G+ against G- columns, drop --single-ended")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    x, changed = binarise(X, layer.threshold)
    y = np.asarray(y)
    if len(y) != len(x) or not len(x):
        raise ValueError(f"X has {len(x)} samples and y {len(y)}: need the same number, >= 1")
    cfg = arrangement(layer, cfg, on_off)
    states = draw_states(layer, len(x), int(seed))
    ideal = ideal_counts(layer, x, states)
    full = float(np.abs(ideal).max()) or 1.0       # one full scale for every arrangement
    err, acc, seconds = _figures(layer, x, y, states, ideal, full, cfg)
    cmap = conductance_map(layer, conductances(layer, states[0, 0], cfg), cfg)
    sample = crossbar.solve_sample(cmap, x[0], cfg, solver, backend=backend, timeout=timeout)
    sweeps = {}
    for name, key, values in (("ON/OFF ratio", "on_off", on_off_sweep),
                              ("wire resistance per cell (Ohm)", "r_wire", r_wire_sweep)):
        values = sorted(set(map(float, values)) | {float(getattr(cfg, key))})
        errs, accs = [], []
        for v in values:
            point = arrangement(layer, dataclasses.replace(cfg, r_wire=v) if key == "r_wire"
                                else cfg, v if key == "on_off" else cfg.on_off)
            if point == cfg:
                e, a = err, acc
            else:
                e, a, _ = _figures(layer, x, y, states, ideal, full, point)
            errs.append(e)
            accs.append(a["crossbar_accuracy"])
        sweeps[name] = (values, errs, accs)
    p = layer.probabilities()
    trials = states.size
    freq, mean_p = float(states.mean()), float(p.mean())
    sd = float(np.sqrt((p * (1 - p)).mean() / trials)) or 1.0   # of the mean of all draws
    switching = {"frequency": freq, "mean_p": mean_p, "z": (freq - mean_p) / sd,
                 "draws": int(trials)}
    return DWSneakReport(layer, sample, acc, err, sweeps, full,
                         len(x), cfg, solver, int(seed), seconds, len(x) * layer.reads,
                         switching, binarise_note(changed, x.size, layer.threshold))


__all__ = ["DWSneakReport", "ReadSolver", "arrangement", "conductance_map", "conductances",
           "crossbar_counts", "draw_states", "ideal_counts", "inspect_dw"]
