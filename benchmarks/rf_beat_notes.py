"""Carrier-level (rf) co-simulation of a small 4-3-2 RF network: how the read-out low-pass corner
decides whether beat notes between input carriers reach the hidden STNOs. Prints every figure.

    .venv/bin/python benchmarks/rf_beat_notes.py     # about 10 s on 2 cores
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spintronic.models import ResonatorParams  # noqa: E402
from spicegen.cosim import cosim_rf  # noqa: E402
from spintronic.networks import to_graph  # noqa: E402
from spintronic.training.rf_network import RFNetwork, RFNetworkConfig  # noqa: E402


def main() -> None:
    X = torch.rand(50, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for lp_ratio in (0.01, 0.002):
        cfg = RFNetworkConfig(sizes=(4, 3, 2), f_min=1.0e9, f_max=1.2e9, p_max=1e-6,
                              resonator=ResonatorParams(lp_ratio=lp_ratio))
        net = RFNetwork(cfg, seed=0)
        net.calibrate_biases(X)
        start = time.perf_counter()
        res = cosim_rf(to_graph(net), X[:2].numpy(), np.zeros(2, dtype=int))
        errors = [1e3 * float(np.abs(c - s).max()) for s, c in zip(res.surrogate, res.circuit)]
        print(f"read-out corner {lp_ratio:g} f: max chain error "
              f"layer 1 {errors[0]:.3f} mV, layer 2 {errors[1]:.3f} mV, argmax agreement "
              f"{100 * res.report()['argmax_agreement']:.0f} %, {time.perf_counter() - start:.1f} s "
              f"for 2 samples")


if __name__ == "__main__":
    main()
