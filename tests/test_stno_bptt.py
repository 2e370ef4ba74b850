"""The fast BPTT path of the dynamical STNO network (models.stno_trajectories.network_trajectories:
wavefront over layers, one fused clamp + power-step node) against the plain layer-by-layer loop
through power_step: the same powers to float64 rounding and the same gradients."""
import dataclasses

import pytest
import torch

from spintronic.models import STNOParams, stno, stno_trajectories
from spintronic.training.stno_network import DynamicalConfig, DynamicalSTNONetwork

trajectories = stno_trajectories.network_trajectories
PRM = STNOParams(f0=10e9, Gg=2 * 3.141592653589793 * 10e9 * 0.01)


def plain_trajectories(seq, weights, recurrent, biases, dt, substeps, p_init, prm, grad_leak=0.0,
                       line_power=None):
    """The loop network_trajectories stands for, one layer at a time, through power_step."""
    h = dt / substeps
    p = [torch.full((seq.shape[0], b.shape[0]), p_init, dtype=seq.dtype) for b in biases]
    current = [torch.zeros_like(q) for q in p]
    out = [[] for _ in p]
    for t in range(seq.shape[1]):
        for _ in range(substeps):
            for l in range(len(p)):
                u = seq[:, t] if l == 0 else p[l - 1] if line_power is None else \
                    line_power * stno.emitted_power(p[l - 1], current[l - 1], prm)
                z = biases[l] + u @ weights[l].T + p[l] @ recurrent[l].T
                current[l] = stno.clamp_current_train(prm.I_th * z, prm, grad_leak)
                p[l] = stno.power_step(p[l], current[l], h, prm)
        for l in range(len(p)):
            out[l].append(p[l])
    return [torch.stack(o, dim=1) for o in out]


def _problem(sizes, steps, batch, seed, recurrent_last=False, gain=1.0):
    g = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return (2 * torch.rand(*shape, generator=g, dtype=torch.float64) - 1).requires_grad_()

    seq = torch.rand(batch, steps, sizes[0], generator=g, dtype=torch.float64)
    weights = [rand(b, a) for a, b in zip(sizes[:-1], sizes[1:])]
    with torch.no_grad():
        for w in weights:
            w.mul_(gain * 3 / w.shape[1] ** 0.5)
    recurrent = [rand(n, n) for n in sizes[1:]]
    if not recurrent_last:      # frozen at zero, as the network's output layer
        recurrent[-1] = torch.zeros_like(recurrent[-1]).requires_grad_(False)
    biases = [(2.5 + 0 * rand(n)).detach().requires_grad_() for n in sizes[1:]]
    return seq, weights, recurrent, biases


@pytest.mark.parametrize("sizes, steps, batch, substeps, recurrent_last, line_power, gain", [
    ((8, 12, 10), 8, 64, 8, False, None, 1.0),       # the default shape, scaled down
    ((8, 12, 10), 8, 5, 3, True, None, 1.0),         # odd batch, a recurrent output layer
    ((1, 6, 7, 4), 16, 3, 2, False, None, 1.0),      # three layers, pixel-like input
    ((5, 4), 4, 2, 1, True, None, 1.0),              # one layer, one substep
    ((5, 4), 4, 2, 1, False, None, 1.0),             # one layer without recurrence
    ((8, 12, 10), 6, 9, 4, False, 0.3, 1.0),         # chain-style inputs (emitted power)
    ((6, 9, 7, 3), 5, 4, 3, True, 0.3, 1.0),         # chains, three layers, recurrent output
    ((8, 12, 10), 8, 16, 4, False, None, 8.0),       # drives far into both clamps
])
def test_fast_path_equals_the_plain_loop(sizes, steps, batch, substeps, recurrent_last,
                                         line_power, gain):
    seq, weights, recurrent, biases = _problem(sizes, steps, batch, seed=len(sizes) + batch,
                                               recurrent_last=recurrent_last, gain=gain)
    params = weights + biases + [r for r in recurrent if r.requires_grad]
    runs = []
    for fn in (plain_trajectories, stno_trajectories.network_trajectories):
        traj = fn(seq, weights, recurrent, biases, 4e-9, substeps, 0.01, PRM, grad_leak=0.05,
                  line_power=line_power)
        loss = sum((tr * torch.linspace(-1, 1, tr.shape[-1], dtype=tr.dtype)).sum()
                   for tr in traj)
        runs.append(([tr.detach() for tr in traj], torch.autograd.grad(loss, params)))
    (ref, ref_grad), (fast, fast_grad) = runs
    for a, b in zip(ref, fast):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, rtol=1e-13, atol=1e-15)
    for a, b in zip(ref_grad, fast_grad):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-12)
    if gain > 1:   # the clamps were reached: the leaky gradient is exercised
        with torch.no_grad():
            z = biases[0] + seq @ weights[0].T
        assert (z > PRM.I_max_ratio).any() and (z < PRM.I_min_ratio).any()


def test_no_grad_and_a_step_beyond_the_fused_form():
    """Without gradients the same values; a step so long that exp(x) could overflow takes the
    plain loop (power_step's three-form branch), with the same answer as the reference."""
    seq, weights, recurrent, biases = _problem((8, 12, 10), 4, 6, seed=1)
    with torch.no_grad():
        ref = plain_trajectories(seq, weights, recurrent, biases, 4e-9, 4, 0.01, PRM)
        fast = trajectories(seq, weights, recurrent, biases, 4e-9, 4, 0.01, PRM)
    for a, b in zip(ref, fast):
        torch.testing.assert_close(b, a, rtol=1e-13, atol=1e-15)
    long_dt = 2e-6                       # x = 2 Gg (4 - 1) dt ~ 2300 per step
    assert not stno.fused_step_applies(PRM, long_dt)
    with torch.no_grad():
        ref = plain_trajectories(seq, weights, recurrent, biases, long_dt, 1, 0.01, PRM)
        slow = trajectories(seq, weights, recurrent, biases, long_dt, 1, 0.01, PRM)
    for a, b in zip(ref, slow):
        assert torch.equal(a, b)


def test_network_forward_and_backward_match_the_plain_loop(monkeypatch):
    """The whole network (8-64-10 rows, as `spicegen train --model stno` builds it)."""
    net = DynamicalSTNONetwork(DynamicalConfig(), seed=3)
    X = torch.rand(32, 64, dtype=torch.float64)
    y = torch.arange(32) % 10
    grads = []
    for fn in (stno_trajectories.network_trajectories, plain_trajectories):
        monkeypatch.setattr(stno_trajectories, "network_trajectories", fn)
        net.zero_grad()
        logits = net(X)
        torch.nn.functional.cross_entropy(logits, y).backward()
        grads.append((logits.detach(), [p.grad.clone() for p in net.parameters()
                                        if p.grad is not None]))
    (fast, fast_grad), (ref, ref_grad) = grads
    torch.testing.assert_close(fast, ref, rtol=1e-13, atol=1e-13)
    assert len(fast_grad) == len(ref_grad) == 5
    for a, b in zip(fast_grad, ref_grad):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-13)


def test_chain_network_matches_the_plain_loop(monkeypatch):
    cfg = dataclasses.replace(DynamicalConfig(sizes=(8, 6, 4)), synapses="chain")
    net = DynamicalSTNONetwork(cfg, seed=2)
    X = torch.rand(7, 64, dtype=torch.float64)
    outs = []
    for fn in (stno_trajectories.network_trajectories, plain_trajectories):
        monkeypatch.setattr(stno_trajectories, "network_trajectories", fn)
        net.zero_grad()
        out = net(X)
        out.sum().backward()
        outs.append((out.detach(), [p.grad.clone() for p in net.parameters()
                                    if p.grad is not None]))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-13, atol=1e-13)
    for a, b in zip(outs[0][1], outs[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-13)
