"""Predictions from the device models, no simulation: the surrogate's Lorentzian matrix, the exact
(non-rotating-wave) linear response of the rf circuit, its beat amplitudes, and the crosstalk error
of a square matrix."""
from __future__ import annotations

import numpy as np
import torch

from spintronic.models import resonator

from .setup import METRICS, CrosstalkSetup


def surrogate_matrix(setup: CrosstalkSetup) -> np.ndarray:
    """The surrogate's W[j, i] (V/W): sum_k o_k G(f_i, f_r,jk), via ``resonator.chain_weights``
    for alternately mounted chains (the surrogate's own layout) and the same Lorentzian otherwise."""
    f = torch.tensor(setup.freqs, dtype=torch.float64)
    rows = []
    for fr, o in zip(setup.chains, setup.orientations):
        f_r = torch.tensor(fr, dtype=torch.float64)
        alternating = tuple(resonator.orientation(k) for k in range(len(fr)))
        if o == alternating:
            rows.append(resonator.chain_weights(f, f_r[None, :], setup.prm)[0])
        else:
            g = resonator.lorentzian(f[None, :], f_r[:, None], setup.prm)
            rows.append(torch.tensor(o, dtype=torch.float64) @ g)
    return torch.stack(rows).numpy()


def chain_response(setup: CrosstalkSetup) -> np.ndarray:
    """(n_chains, n_in) complex dR / I of every chain at every input frequency (Ohm/A)."""
    f = np.asarray(setup.freqs)
    return np.array([resonator.series_response(f, c, orient, setup.prm)
                     for c, orient in zip(setup.chains, setup.orientations)])


def linear_response(setup: CrosstalkSetup) -> np.ndarray:
    """Exact DC response (V/W) of the rf circuit: <I dR> / P = Re(H) / Z0, H = :func:`chain_response`.

    In the rotating-wave limit it is the Lorentzian; the counter-rotating term adds about
    -alpha x K_SD a_asym per resonator (x orientation), whatever the detuning
    (``resonator.dc_weight``).
    """
    return resonator.dc_weight(chain_response(setup), setup.prm)


def beat_amplitudes(setup: CrosstalkSetup) -> np.ndarray:
    """(n_chains, n_pairs) amplitude (V) of the unfiltered beat of each pair in ``setup.beats``:
    (I_i I_j / 2) |H_j(f_i) + conj(H_j(f_k))|, I = sqrt(2 P / Z0)."""
    H = chain_response(setup)
    amp = np.sqrt(2.0 * np.asarray(setup.powers) / setup.prm.Z0)
    return np.array([[0.5 * amp[i] * amp[k] * abs(H[j, i] + np.conj(H[j, k]))
                      for i, k, _, _ in setup.beats] for j in range(setup.n_chains)]
                    ).reshape(setup.n_chains, len(setup.beats))


def crosstalk_error(W: np.ndarray, metric: str = "abs") -> np.ndarray:
    """Per chain j of a square layer, off-diagonal weight relative to |W[j, j]|.

    "abs": sum_{i != j} |W_ji| (every other channel at full power, worst signs);
    "worst": the worst case for non-negative inputs, max(sum of positive, sum of negative tails);
    "signed": |sum_{i != j} W_ji| (all channels on at equal power).
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"crosstalk_error needs a square (chains x channels) matrix, got {W.shape}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    off = W - np.diag(np.diag(W))
    if metric == "abs":
        tail = np.abs(off).sum(axis=1)
    elif metric == "worst":
        tail = np.maximum(np.clip(off, 0, None).sum(axis=1), -np.clip(off, None, 0).sum(axis=1))
    else:
        tail = np.abs(off.sum(axis=1))
    return tail / np.abs(np.diag(W))
