"""Sneak paths and IR drop of one layer's weights in a DW-MTJ crossbar. Prints every figure.

    .venv/bin/python benchmarks/crossbar_sneak.py       # about 10 s on 2 cores

1. A 64 -> 32 layer (differential: 64 rows x 64 device columns) with 1 Ohm of wire per cell segment,
   solved in ngspice (.op; target <= 10 s) and by sparse nodal analysis, and their difference.
2. MAC error against array size (n x n layers, 8 to 64) and against the ON/OFF ratio (1.5 to 10),
   from the numpy solver (which item 1 checks against ngspice) over a batch of random inputs.
3. Single-cell reads of an 8 x 8 array with and without access transistors.
Figures go to out/crossbar/. Weights are N(0, 1) and inputs U(0, 1) with fixed seeds.

MAC error of one input vector: max_j |y_j - (W x)_j| / max_j |(W x)_j|; the sweeps print its mean
(and worst) over 64 input vectors.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spicegen.crossbar import (CrossbarConfig, crossbar_mac, plot_current_map,  # noqa: E402
                               plot_mac_error_sweep, read_cell, report, solve_numpy, solve_spice)

OUT = os.path.join("out", "crossbar")


def mac_errors(W: np.ndarray, X: np.ndarray, cfg: CrossbarConfig) -> np.ndarray:
    """Per-sample MAC error relative to the largest ideal output of that sample."""
    ideal = X @ W.T
    real = crossbar_mac(W, X, cfg)
    return np.abs(real - ideal).max(axis=1) / np.abs(ideal).max(axis=1)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(32, 64))
    x = rng.uniform(0, 1, size=64)
    cfg = CrossbarConfig(r_wire=1.0)

    # 1. one 64 x 64-device crossbar in ngspice and in numpy
    spice = solve_spice(W, x, cfg)
    num = solve_numpy(W, x, cfg)
    rows, cols = spice.cmap.G.shape
    print(f"crossbar {W.shape[1]} -> {W.shape[0]} (differential: {rows} rows x {cols} device "
          f"columns, {rows * cols} DW-MTJs), r_wire {cfg.r_wire:g} Ohm, ON/OFF {cfg.on_off:g}, "
          f"TIA sensing")
    print(f"  ngspice .op: {spice.seconds:.2f} s wall (netlist, run, read back; target <= 10 s), "
          f"{len(spice.netlist.splitlines())} netlist lines")
    print(f"  numpy nodal: {1e3 * num.seconds:.1f} ms")
    d_cell = np.abs(spice.cell_current - num.cell_current).max()
    d_col = np.abs(spice.column_current - num.column_current).max()
    d_out = np.abs(spice.output - num.output).max()
    print(f"  max |ngspice - numpy|: cell current {d_cell:.3g} A, column current {d_col:.3g} A, "
          f"output {d_out:.3g} (weight units; outputs up to {np.abs(num.ideal_output).max():.3g})")
    print(f"  worst MAC error {100 * np.abs(spice.mac_error).max():.3f} % of full scale, sneak "
          f"current {1e6 * spice.sneak_current:.2f} uA over a total ideal cell current of "
          f"{1e6 * np.abs(spice.ideal_cell_current).sum():.1f} uA, reverse current "
          f"{1e6 * spice.reverse_current:.3g} uA")
    print("  first 8 outputs of the report:")
    print("\n".join("    " + line for line in report(spice).splitlines()[:10]))
    print(f"wrote {plot_current_map(spice, os.path.join(OUT, 'current_map.png'))}")

    X = rng.uniform(0, 1, size=(64, 64))

    # 2a. MAC error against array size
    sizes = [8, 16, 32, 64]
    by_size = {f"r_wire {r:g} Ohm": [] for r in (0.5, 1.0, 2.0)}
    print("MAC error vs array size (n x n weights, n x 2n devices), ON/OFF 2.5, mean (worst) over "
          "64 inputs:")
    for n in sizes:
        Wn = np.random.default_rng(n).normal(size=(n, n))
        line = []
        for r in (0.5, 1.0, 2.0):
            e = mac_errors(Wn, X[:, :n], CrossbarConfig(r_wire=r))
            by_size[f"r_wire {r:g} Ohm"].append(e.mean())
            line.append(f"r_wire {r:g}: {100 * e.mean():7.3f} % ({100 * e.max():7.3f} %)")
        print(f"  {n:3d} x {n:<3d} " + "   ".join(line))
    path = os.path.join(OUT, "mac_error_vs_size.png")
    print(f"wrote {plot_mac_error_sweep(sizes, by_size, 'array size n (n x n weights)', path)}")

    # 2b. MAC error against the ON/OFF ratio, for the 64 -> 32 layer
    ratios = [1.5, 2.0, 2.5, 5.0, 10.0]
    by_ratio = {"TIA, r_wire 1 Ohm": [], "r_sense 100 Ohm, r_wire 1 Ohm": []}
    print("MAC error vs ON/OFF ratio (64 -> 32 layer, G_P = 1/5 kOhm), mean (worst) over 64 "
          "inputs:")
    for ratio in ratios:
        line = []
        for label, sensing in zip(by_ratio, ("tia", "resistor")):
            e = mac_errors(W, X, CrossbarConfig(r_wire=1.0, on_off=ratio, sensing=sensing))
            by_ratio[label].append(e.mean())
            line.append(f"{sensing:8s} {100 * e.mean():7.3f} % ({100 * e.max():7.3f} %)")
        print(f"  ON/OFF {ratio:4g}: " + "   ".join(line))
    path = os.path.join(OUT, "mac_error_vs_on_off.png")
    print(f"wrote {plot_mac_error_sweep(ratios, by_ratio, 'ON/OFF ratio G_P / G_AP', path)}")

    # 3. the classic sneak path: read one cell of an 8 x 8 array
    W8 = np.random.default_rng(8).normal(size=(4, 8))
    for access in (False, True):
        rd = read_cell(W8, 0, 0, CrossbarConfig(access=access), solver="spice")
        print(f"read of cell (0, 0), 8 x 8 devices, {'with' if access else 'no'} access "
              f"transistors: measured {1e-3 * rd.r_measured:.3f} kOhm, intended "
              f"{1e-3 / rd.g_cell:.3f} kOhm ({100 * rd.relative_error:+.3f} % in conductance), "
              f"sneak current {1e6 * rd.result.sneak_current:.3f} uA")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.1f} s")
