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


@dataclasses.dataclass
class SneakReport:
    layer: int
    shape: tuple[int, int]
    sample: crossbar.CrossbarResult          # ngspice solve of the layer on test sample 0
    accuracy: dict                           # ideal vs crossbar network accuracy
    chain_error_fs: float                    # resonator chains in the envelope circuit, % FS
    sweeps: dict[str, tuple[list, list, list]]  # name -> (values, MAC error, accuracy)

    def text(self) -> str:
        a = self.accuracy
        worst = float(np.abs(self.sample.mac_error).max())
        lines = [crossbar.report(self.sample), "",
                 f"layer {self.layer} ({self.shape[0]} outputs x {self.shape[1]} inputs) on the crossbar:",
                 f"  network accuracy, ideal layer     {100 * a['ideal_accuracy']:.2f} %",
                 f"  network accuracy, crossbar layer  {100 * a['crossbar_accuracy']:.2f} % "
                 f"(argmax agreement {100 * a['argmax_agreement']:.2f} %)",
                 f"  MAC error, crossbar (sample 0)    {100 * worst:.3f} % of full scale",
                 f"  MAC error, resonator chains       {100 * self.chain_error_fs:.5f} % of full scale "
                 f"(envelope circuit; one series path per chain, no sneak path)"]
        for name, (values, errors, accs) in self.sweeps.items():
            lines.append(f"  sweep of {name}:")
            lines += [f"    {v:8.3g}: MAC error {100 * e:7.3f} % FS, accuracy {100 * acc:6.2f} %"
                      for v, e, acc in zip(values, errors, accs)]
        return "\n".join(lines)


def _accuracy(g, X, y, layer, W, P, ideal_pred, cfg) -> tuple[float, dict]:
    """Worst MAC error over the test set (fraction of full scale) and the accuracy figures, for
    the layer's line powers P and the ideal network's predictions (computed once by the caller)."""
    W_eff = crossbar.effective_weights(W, cfg)
    real_pred = graph_forward(g, X, macs={layer: lambda Q: Q @ W_eff.T})[-1].argmax(1)
    err = float(np.abs(P @ (W_eff - W).T).max() / np.abs(P @ W.T).max())
    return err, {"ideal_accuracy": float((ideal_pred == y).mean()),
                 "crossbar_accuracy": float((real_pred == y).mean()),
                 "argmax_agreement": float((ideal_pred == real_pred).mean())}


def inspect_layer(g: nx.DiGraph, X: np.ndarray, y: np.ndarray, layer: int,
                  cfg: crossbar.CrossbarConfig, on_off: tuple = (1.5, 2.5, 5, 10, 100),
                  r_wire: tuple = (0.0, 0.1, 0.3, 1.0, 3.0), chain_samples: int = 45) -> SneakReport:
    schema.validate(g)
    if g.graph.get("network") != "rf":
        raise ValueError("sneak-path inspection takes an RF graph (resonator-chain layers)")
    n_layers = len(schema.layer_sizes(g)) - 1
    if not 1 <= layer <= n_layers:
        raise ValueError(f"layer must be in 1..{n_layers}, got {layer}")
    y = np.asarray(y)
    W, bias = layer_weights(g, layer)
    lines: list = []
    ideal_pred = graph_forward(g, X, line_powers=lines)[-1].argmax(1)
    P = lines[layer - 1]
    sample = crossbar.solve_spice(W, P[0], cfg)
    _, acc = _accuracy(g, X, y, layer, W, P, ideal_pred, cfg)
    # the chains: envelope circuit vs surrogate on the layer's chain voltages
    res = cosim_envelope(g, X[:chain_samples], y[:chain_samples])
    full = np.abs(res.surrogate[layer - 1] - bias).max()
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
    return SneakReport(layer, W.shape, sample, acc, chain_err, sweeps)


def write_plots(rep: SneakReport, out: str) -> list[str]:
    os.makedirs(out, exist_ok=True)
    paths = [crossbar.plot_current_map(rep.sample, os.path.join(out, "current_map.png"))]
    for name, (values, errs, _) in rep.sweeps.items():
        fname = "mac_error_vs_on_off.png" if name.startswith("ON") else "mac_error_vs_r_wire.png"
        paths.append(crossbar.plot_mac_error_sweep(values, {"crossbar": errs, "resonator chains":
                                                            [rep.chain_error_fs] * len(values)},
                                                   name, os.path.join(out, fname)))
    return paths
