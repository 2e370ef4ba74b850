"""One trained layer of an RF graph as a resistive DW-MTJ crossbar, beside its resonator chains.

The RF layer computes V_j = sum_i W_ji P_i + b_j with resonator chains: every chain is one series
path driven by the line current, so no current can flow anywhere but through its own devices: no
sneak path exists by construction, and its error in the envelope circuit is the simulator's
(``cosim_envelope``). The same W written into a crossbar (``spicegen.crossbar``) computes the sum
with currents that also flow through wire resistance and neighbouring cells. This module puts the
two side by side on a real trained network: the crossbar's current map and MAC error for one test
sample, the network's accuracy with that layer on the crossbar, and sweeps of the ON/OFF ratio and
the wire resistance.
"""
from __future__ import annotations

import dataclasses
import os

import networkx as nx
import numpy as np

from . import crossbar
from spintronic.graph import schema
from .compiler import layer_weights
from .cosim import cosim_envelope, graph_forward


#: --solver names: the single-sample solve in ngspice, or by sparse nodal analysis (scipy)
SOLVERS = ("spice", "nodal")


@dataclasses.dataclass
class SneakReport:
    """One layer on the crossbar beside its chains.

    Every "% FS" figure is relative to one full scale: the largest |W P| of the layer over the
    test samples inspected (``full_scale``, in weight units x W), the range the read-out must
    resolve; ``mac_error`` and every sweep point are the worst output error over those samples.
    ``sample`` is test sample 0 alone, solved in full (cell currents), with its own figures.
    """

    layer: int
    shape: tuple[int, int]
    sample: crossbar.CrossbarResult          # test sample 0, solved by ``solver``
    accuracy: dict                           # ideal vs crossbar network accuracy
    mac_error: float                         # crossbar, worst over the samples, fraction of FS
    chain_error_fs: float                    # resonator chains in the envelope circuit, of FS
    sweeps: dict[str, tuple[list, list, list]]  # name -> (values, MAC error, accuracy)
    full_scale: float = 1.0
    n_samples: int = 0
    chain_samples: int = 0
    cfg: crossbar.CrossbarConfig = dataclasses.field(default_factory=crossbar.CrossbarConfig)
    solver: str = "spice"

    @property
    def sample_error_fs(self) -> float:
        """Sample 0's worst output error as a fraction of the test set's full scale."""
        s = self.sample
        return float(np.abs(s.output - s.ideal_output).max() / self.full_scale)

    @property
    def sample_error_own(self) -> float:
        """Sample 0's worst output error relative to its own largest output (crossbar.report)."""
        return float(np.abs(self.sample.mac_error).max())

    def current(self, name: str) -> float:
        """The configuration's value of a swept quantity."""
        return self.cfg.on_off if name.startswith("ON") else self.cfg.r_wire

    def text(self) -> str:
        a, n = self.accuracy, self.n_samples
        lines = [crossbar.report(self.sample), "",
                 f"layer {self.layer} ({self.shape[0]} outputs x {self.shape[1]} inputs) on the "
                 f"crossbar (ON/OFF {self.cfg.on_off:g}, r_wire {self.cfg.r_wire:g} Ohm, sensing "
                 f"{self.cfg.sensing}); % FS = % of the largest |W P| over the {n} test samples "
                 f"({self.full_scale:.4g}):",
                 f"  network accuracy, ideal layer     {100 * a['ideal_accuracy']:.2f} %",
                 f"  network accuracy, crossbar layer  {100 * a['crossbar_accuracy']:.2f} % "
                 f"(argmax agreement {100 * a['argmax_agreement']:.2f} %)",
                 f"  MAC error, crossbar               {100 * self.mac_error:.3f} % FS, worst over "
                 f"the {n} samples (the sweeps' measure)",
                 f"    sample 0 alone                  {100 * self.sample_error_fs:.3f} % FS "
                 f"({self.solver} solve; {100 * self.sample_error_own:.3f} % of sample 0's own "
                 f"largest output, as in the table above)",
                 f"  MAC error, resonator chains       {100 * self.chain_error_fs:.5f} % FS, worst "
                 f"over the first {self.chain_samples} samples (envelope circuit; one series path "
                 f"per chain, no sneak path)"]
        for name, (values, errors, accs) in self.sweeps.items():
            held = (f"r_wire {self.cfg.r_wire:g} Ohm" if name.startswith("ON")
                    else f"ON/OFF {self.cfg.on_off:g}")
            lines.append(f"  sweep of {name} ({held} held; worst over the {n} samples, % FS):")
            lines += [f"    {v:8.3g}: MAC error {100 * e:7.3f} % FS, accuracy {100 * acc:6.2f} %"
                      + ("   <- these settings" if v == self.current(name) else "")
                      for v, e, acc in zip(values, errors, accs)]
        return "\n".join(lines)

    def write_plots(self, out: str) -> list[str]:
        """The figures (:func:`write_plots`)."""
        return write_plots(self, out)

    def to_dict(self) -> dict:
        """The figures of :meth:`text`, for report.json."""
        return {"layer": self.layer, "shape": list(self.shape), "solver": self.solver,
                "config": dataclasses.asdict(self.cfg),
                "samples": self.n_samples, "full_scale": self.full_scale,
                "accuracy": dict(self.accuracy), "mac_error_fs": self.mac_error,
                "sample0_mac_error_fs": self.sample_error_fs,
                "sample0_mac_error_own_scale": self.sample_error_own,
                "sample0_sneak_current_A": self.sample.sneak_current,
                "chain_error_fs": self.chain_error_fs, "chain_samples": self.chain_samples,
                "sweeps": {name: {"values": list(map(float, v)), "mac_error_fs": list(e),
                                  "crossbar_accuracy": list(acc)}
                           for name, (v, e, acc) in self.sweeps.items()}}


def _accuracy(g, X, y, layer, W, P, ideal_pred, cfg) -> tuple[float, dict]:
    """Worst MAC error over the test set (fraction of full scale, the largest |W P| over the test
    set) and the accuracy figures, for the layer's line powers P and the ideal network's
    predictions (computed once by the caller)."""
    W_eff = crossbar.effective_weights(W, cfg)
    real_pred = graph_forward(g, X, macs={layer: lambda Q: Q @ W_eff.T})[-1].argmax(1)
    err = float(np.abs(P @ (W_eff - W).T).max() / np.abs(P @ W.T).max())
    return err, {"ideal_accuracy": float((ideal_pred == y).mean()),
                 "crossbar_accuracy": float((real_pred == y).mean()),
                 "argmax_agreement": float((ideal_pred == real_pred).mean())}


def inspect_layer(g: nx.DiGraph, X: np.ndarray, y: np.ndarray, layer: int,
                  cfg: crossbar.CrossbarConfig, on_off: tuple = (1.5, 2.5, 5, 10, 100),
                  r_wire: tuple = (0.0, 0.1, 0.3, 1.0, 3.0), chain_samples: int = 45,
                  solver: str = "spice", timeout: float | None = 120.0,
                  backend: str = "subprocess") -> SneakReport:
    """The layer on the crossbar: sample 0 solved by ``solver`` ("spice": ngspice .op within
    ``timeout`` s; "nodal": scipy, for arrays ngspice is slow on), the whole test set through
    the crossbar's effective weights, the chains' envelope run (``timeout`` s per run) and the
    sweeps."""
    schema.validate(g)
    if g.graph.get("network") != "rf":
        raise ValueError("sneak-path inspection takes an RF graph (resonator-chain layers)")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    n_layers = len(schema.layer_sizes(g)) - 1
    if not 1 <= layer <= n_layers:
        raise ValueError(f"layer must be in 1..{n_layers}, got {layer}")
    y = np.asarray(y)
    W, bias = layer_weights(g, layer)
    lines: list = []
    ideal_pred = graph_forward(g, X, line_powers=lines)[-1].argmax(1)
    P = lines[layer - 1]
    full = float(np.abs(P @ W.T).max()) or 1.0
    sample = crossbar.solve_sample(W, P[0], cfg, solver, backend=backend, timeout=timeout)
    err, acc = _accuracy(g, X, y, layer, W, P, ideal_pred, cfg)
    # the chains: envelope circuit vs surrogate on the layer's chain voltages, on the same scale
    n_chain = min(chain_samples, len(X))
    res = cosim_envelope(g, X[:n_chain], y[:n_chain], backend=backend, timeout=timeout)
    chain_err = float(np.abs(res.circuit[layer - 1] - res.surrogate[layer - 1]).max() / full)
    sweeps = {}
    for name, values in (("ON/OFF ratio", on_off), ("wire resistance per cell (Ohm)", r_wire)):
        key = "on_off" if name.startswith("ON") else "r_wire"
        errs, accs = [], []
        for v in values:
            e, a = _accuracy(g, X, y, layer, W, P, ideal_pred,
                             dataclasses.replace(cfg, **{key: float(v)}))
            errs.append(e)
            accs.append(a["crossbar_accuracy"])
        sweeps[name] = (list(values), errs, accs)
    return SneakReport(layer, W.shape, sample, acc, err, chain_err, sweeps, full, len(X),
                       n_chain, cfg, solver)


def write_plots(rep: SneakReport, out: str) -> list[str]:
    os.makedirs(out, exist_ok=True)
    paths = [crossbar.plot_current_map(rep.sample, os.path.join(out, "current_map.png"))]
    for name, (values, errs, _) in rep.sweeps.items():
        on_off = name.startswith("ON")
        fname = "mac_error_vs_on_off.png" if on_off else "mac_error_vs_r_wire.png"
        held = f"r_wire {rep.cfg.r_wire:g} Ohm" if on_off else f"ON/OFF {rep.cfg.on_off:g}"
        paths.append(crossbar.plot_mac_error_sweep(
            values, {"crossbar": errs, f"resonator chains (first {rep.chain_samples} samples)":
                     [rep.chain_error_fs] * len(values)},
            "ON/OFF ratio G_P / G_AP" if on_off else name, os.path.join(out, fname),
            ylabel=f"worst MAC error over {rep.n_samples} samples (% FS)",
            title=f"layer {rep.layer} ({rep.shape[0]} x {rep.shape[1]}) on the crossbar, {held}, "
                  f"sensing {rep.cfg.sensing}", mark=rep.current(name)))
    return paths
