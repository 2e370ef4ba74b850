"""The layers of a dynamical STNO network stepped through time, for BPTT: the one step function
that training, the graph's surrogate and the tests share (``network_trajectories``), and its fast
wavefront form. The device equations it steps are ``spintronic.models.stno``'s.
"""
from __future__ import annotations

import torch

from .stno import (ClampedPowerStep, STNOParams, clamp_current_train, emitted_power,
                   fused_step_applies, power_step)


def network_trajectories(seq: torch.Tensor, weights: list[torch.Tensor],
                         recurrent: list[torch.Tensor], biases: list[torch.Tensor], dt: float,
                         substeps: int, p_init: float, prm: STNOParams,
                         grad_leak: float = 0.0,
                         line_power: float | None = None, fast: bool = True) -> list[torch.Tensor]:
    """Layers of STNOs driven in time: the one step function that training, the graph's surrogate
    and the tests share.

    seq (N, T, n_in) holds the inputs of each step, held for dt. Layer l's drive is
    I = clamp(I_th (b + W u + R p_l)), u being the inputs (l = 0) or the powers of layer l - 1.
    Each step is cut into ``substeps``; in each, the layers advance in order with the exact
    :func:`power_step`, so layer l sees layer l - 1's fresh power. Returns, per layer, the power at
    the end of every step, (N, T, n_l). ``grad_leak`` > 0 lets training gradients through the
    current clamps (the forward values are unchanged).
    ``line_power``: None when a layer reads the normalised powers p of the layer below (ideal
    weights); a factor when it reads their emitted powers instead, u = line_power k_P p R I^2 (RF
    resonator-chain synapses, which rectify microwave power). Recurrent weights always read p.

    Speed: see :func:`_wavefront_trajectories`, taken whenever the clamp bounds keep every step
    in power_step's overflow-free form (always, for the networks this toolkit trains); otherwise,
    or with ``fast=False`` (the reference the benchmarks time it against), the layers advance
    one at a time through :func:`power_step`.
    """
    if not dt > 0:
        raise ValueError(f"time step dt must be > 0, got {dt!r}")
    h = dt / substeps
    rec = [None if not (r.requires_grad or bool(r.detach().any())) else r.T for r in recurrent]
    if fast and fused_step_applies(prm, h):
        return _wavefront_trajectories(seq, weights, rec, biases, h, substeps, p_init, prm,
                                       grad_leak, line_power)
    p = [torch.full((seq.shape[0], b.shape[0]), p_init, dtype=seq.dtype) for b in biases]
    current = [torch.zeros_like(q) for q in p]
    out: list[list[torch.Tensor]] = [[] for _ in p]
    for t in range(seq.shape[1]):
        for _ in range(substeps):
            for l in range(len(p)):
                u = seq[:, t] if l == 0 else p[l - 1] if line_power is None else \
                    line_power * emitted_power(p[l - 1], current[l - 1], prm)
                z = biases[l] + u @ weights[l].T
                if rec[l] is not None:
                    z = z + p[l] @ rec[l]
                current[l] = clamp_current_train(prm.I_th * z, prm, grad_leak)
                p[l] = power_step(p[l], current[l], h, prm)
        for l in range(len(p)):
            out[l].append(p[l])
    return [torch.stack(o, dim=1) for o in out]


def _block_matrix(blocks: dict[tuple[int, int], torch.Tensor], widths: list[int],
                  like: torch.Tensor) -> torch.Tensor | None:
    """The (sum widths)^2 matrix holding ``blocks[(k, l)]`` at rows of layer k, columns of layer
    l, zeros elsewhere (None without blocks); differentiable in the blocks."""
    if not blocks:
        return None
    rows = []
    for k, nk in enumerate(widths):
        rows.append(torch.cat([blocks[(k, l)] if (k, l) in blocks else
                               like.new_zeros(nk, nl) for l, nl in enumerate(widths)], 1))
    return torch.cat(rows, 0)


def _wavefront_trajectories(seq, weights, rec, biases, h, substeps, p_init, prm, grad_leak,
                            line_power) -> list[torch.Tensor]:
    """:func:`network_trajectories` in a few large operations per substep (BPTT time per epoch is
    mostly the fixed cost of each small tensor operation and of each autograd node):

    - Wavefront: layer l's substep s needs only layer l - 1 after substep s and itself after
      s - 1, so layer l runs substep s at tick s + l, beside layer l - 1's substep s + 1. At each
      tick every layer's drive comes from the previous tick's powers P (all layers side by side,
      one tensor) through one block matrix, b + P M (M holds W^T of each layer below its
      consumer and R^T on the diagonal), and all layers step together. Layers that have not
      started are left out of the first ticks; layers that have finished keep stepping on the
      last input, unrecorded, in the last ones.
    - Clamp and power step are one autograd node with closed-form derivatives
      (:class:`ClampedPowerStep`) instead of ~20.
    - The first layer's b + W u is computed once for the whole sequence (it is constant over an
      input step's substeps).

    Each element goes through the same floating-point operations as in the layer-by-layer loop,
    except the sums of the matrix products, which BLAS may group differently for the larger
    shapes, and exp or expm1 of an element that falls in a vectorised kernel's scalar tail: the
    powers equal the loop's to float64 rounding (relative differences of ~1e-16).
    """
    L = len(biases)
    widths = [int(b.shape[0]) for b in biases]
    edge = [0]
    for w in widths:
        edge.append(edge[-1] + w)
    total = edge[-1]
    n_in_steps = seq.shape[1]
    n_steps = n_in_steps * substeps
    chain = line_power is not None
    # the feed-forward blocks read p (ideal weights) or the emitted power (chains)
    ff = {(l - 1, l): weights[l].T for l in range(1, L)}
    rc = {(l, l): rec[l] for l in range(L) if rec[l] is not None}
    M = _block_matrix(rc if chain else {**ff, **rc}, widths, seq)
    Mw = _block_matrix(ff, widths, seq) if chain else None
    # rows that feed something in the first ticks: every layer but the last, which only feeds
    # itself (if recurrent); later ticks take the whole matrices (zero rows cost nothing)
    rows = total if rec[L - 1] is not None else edge[L - 1]
    base = (biases[0] + seq @ weights[0].T)                 # (N, T, n_1): b + W u of layer 1
    if L > 1:
        rest = torch.cat(list(biases[1:])).expand(seq.shape[0], n_in_steps, total - widths[0])
        base = torch.cat([base, rest], 2)
    base = base.unbind(1)                                   # (N, sum widths) per input step
    # p = 0 is a fixed point power_step's clamp keeps; every step keeps p >= 0 from there on
    power = torch.full((seq.shape[0], total), max(p_init, 0.0), dtype=seq.dtype)
    current = torch.zeros_like(power)
    out: list[list[torch.Tensor]] = [[] for _ in range(L)]
    grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (seq, *weights, *biases, *rec))
    for tick in range(n_steps + L - 1):
        cols = edge[min(tick + 1, L)]                      # layers that have started
        drive = base[min(tick // substeps, n_in_steps - 1)]
        if cols == total:          # every layer running: whole tensors, no slices to record
            if Mw is not None:
                drive = drive + (line_power * emitted_power(power, current, prm)) @ Mw
            if M is not None:
                drive = drive + power @ M
        else:                      # the first ticks: the layers that have started
            r = min(rows, cols)
            drive = drive[:, :cols]
            if Mw is not None:
                u = line_power * emitted_power(power[:, :r], current[:, :r], prm)
                drive = drive + u @ Mw[:r, :cols]
            if M is not None:      # chains: recurrent blocks only, on every started layer
                k = cols if chain else r
                drive = drive + power[:, :k] @ M[:k, :cols]
        if grad:
            new_current, new_power = ClampedPowerStep.apply(drive, power[:, :cols], prm, h,
                                                             grad_leak, chain)
        else:          # evaluation: the same values, without the derivatives
            new_current, new_power = ClampedPowerStep.values(drive, power[:, :cols], prm, h)[:2]
        if cols < total:
            power = torch.cat([new_power, power[:, cols:]], 1)
            current = torch.cat([new_current, current[:, cols:]], 1)
        else:
            power, current = new_power, new_current
        for l in range(L):
            s = tick - l                                   # the substep layer l just took
            if 0 <= s < n_steps and (s + 1) % substeps == 0:   # the end of an input step
                out[l].append(power[:, edge[l]:edge[l + 1]])
    return [torch.stack(o, dim=1) for o in out]
