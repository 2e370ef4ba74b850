"""The fast chain weights (models/chain_kernel.py) against the exact sum: forward and gradient
within 1e-6 of the largest entry for any sizes, linewidths, offsets and parameters; the computed
bound holds; the fast path is the one large layers take; everything it cannot do goes exact."""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spintronic.models import ResonatorParams, chain_kernel, resonator
from spintronic.training.rf_network import RFNetwork, RFNetworkConfig

F64 = dict(dtype=torch.float64)
TOL = 1e-6   # the bound: of max|W| (forward) and of max|grad| (gradient)


def geometric(n: int, f_min: float = 0.02e9, f_max: float = 0.12e9) -> torch.Tensor:
    return torch.tensor(f_min * (f_max / f_min) ** (np.arange(n) / max(n - 1, 1)), **F64)


def compare(freqs, serve, offset, prm, seed=0):
    """max errors of the fast path, forward (/ max|W|) and gradient to the offsets of a random
    linear functional of W (/ max|grad|), and the computed bound (/ max|W|)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for mode in ("exact", "fast"):
        off = offset.clone().requires_grad_(True)
        f_r = serve * (1.0 + prm.alpha * off)
        if mode == "exact":
            W = resonator.chain_weights_exact(freqs, f_r, prm)
            G = torch.randn(W.shape, generator=gen, **F64)
        else:
            W = chain_kernel.chain_weights_fast(freqs, f_r, prm,
                                                resonator.chain_signs(f_r.shape[1]))
            if W is None:
                # only the guard may refuse: its bound is the a priori one (TOL_W of the peak per
                # resonator in a bin) and W nearly cancels out, below 1 / REL_TOL of that
                st = chain_kernel.STATS
                assert st["reason"].startswith("error bound"), st
                assert st["bound"] <= 1.01 * chain_kernel.TOL_W * resonator.peak_weight(prm) * (
                    f_r.shape[1])
                assert float(out["exact"][0].abs().max()) < st["bound"] / chain_kernel.REL_TOL
                return None
        (W * G).sum().backward()
        out[mode] = (W.detach(), off.grad)
    (We, ge), (Wf, gf) = out["exact"], out["fast"]
    scale = float(We.abs().max())
    # the gradient's scale: its largest entry; or, where every entry is nearly zero (one
    # resonator sitting on the peak of a symmetric term), 1 % of the gradient that the steepest
    # slope of one resonator's response would give under this functional
    u = torch.linspace(-3, 3, 6001, **F64)
    slope = float(resonator.lorentzian(1 + prm.alpha * u, torch.tensor(1.0, **F64), prm)
                  .diff().abs().max()) / float(u[1] - u[0])
    gscale = max(float(ge.abs().max()), 1e-2 * float(G.abs().max()) * slope)
    return (float((Wf - We).abs().max()) / scale, float((gf - ge).abs().max()) / gscale,
            chain_kernel.STATS["bound"] / scale)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_out=st.integers(1, 24), n_res=st.integers(1, 160), n_in=st.integers(2, 300),
       alpha=st.floats(0.005, 0.05), spread=st.floats(0.0, 30.0), a_sym=st.sampled_from([0.0, 0.7]),
       a_asym=st.sampled_from([1.0, -0.3, 0.0]), band=st.floats(1.5, 8.0),
       seed=st.integers(0, 2 ** 16))
def test_fast_matches_exact_within_the_bound(n_out, n_res, n_in, alpha, spread, a_sym, a_asym,
                                             band, seed):
    if a_sym == 0.0 and a_asym == 0.0:
        a_sym = 1.0
    prm = ResonatorParams(alpha=alpha, a_sym=a_sym, a_asym=a_asym)
    rng = np.random.default_rng(seed)
    freqs = geometric(n_in, 1e9, band * 1e9)
    # resonators serve inputs in any order (n_res != n_in: not a dense chain), or sit anywhere
    serve = freqs[torch.as_tensor(rng.integers(0, n_in, n_res))]
    if seed % 3 == 0:
        serve = torch.as_tensor(rng.uniform(0.8e9, 1.1 * band * 1e9, n_res))
    spread = min(spread, 0.5 / alpha)   # keep f_r > 0
    offset = torch.as_tensor(rng.uniform(-spread, spread, (n_out, n_res)))
    errors = compare(freqs, serve, offset, prm, seed)
    if errors is None:
        return
    fwd, grad, bound = errors
    assert fwd <= TOL and grad <= TOL
    assert fwd <= bound + 1e-14      # the bound it computes holds


@pytest.mark.parametrize("n_in,n_out,spread", [(784, 16, 1.0), (256, 64, 30.0), (64, 32, 1.0)])
def test_network_sizes(n_in, n_out, spread):
    freqs = geometric(n_in)
    offset = (torch.rand(n_out, n_in, generator=torch.Generator().manual_seed(1), **F64) * 2 - 1)
    fwd, grad, bound = compare(freqs, freqs, offset * spread, ResonatorParams())
    assert fwd <= TOL and grad <= TOL and fwd <= bound
    assert bound <= 1e-8          # the a priori target: far inside the guarantee


def test_inputs_in_any_order_and_lattice_subsets():
    freqs = geometric(300)
    perm = torch.randperm(300, generator=torch.Generator().manual_seed(0))
    for f in (freqs[perm], freqs[::3], freqs[perm[:120]]):
        offset = torch.rand(16, 40, generator=torch.Generator().manual_seed(2), **F64) * 4 - 2
        serve = f[torch.arange(40) % len(f)]
        fwd, grad, _ = compare(f, serve, offset, ResonatorParams())
        assert fwd <= TOL and grad <= TOL


def test_large_layers_take_the_fast_path():
    """Fails if the normal case silently falls back to the exact sum."""
    net = RFNetwork(RFNetworkConfig(sizes=(256, 128, 10)), seed=0)
    x = torch.rand(8, 256, **F64)
    before = dict(chain_kernel.STATS)
    loss = net(x).square().sum()
    loss.backward()
    assert chain_kernel.STATS["fast"] == before["fast"] + 2     # 256 -> 128 and 128 -> 10
    assert chain_kernel.STATS["exact"] == before["exact"]
    assert chain_kernel.plan_for(net.grid_in, net.config.resonator) is not None
    # and after large trained offsets the bound still holds and the path stays fast
    with torch.no_grad():
        net.layers[0].offset.mul_(20.0)
    W = resonator.chain_weights(net.grid_in, net.layers[0].resonance_frequencies(),
                                net.config.resonator)
    assert chain_kernel.STATS["fast"] == before["fast"] + 3
    assert chain_kernel.STATS["bound"] <= 1e-8 * float(W.detach().abs().max())


def test_what_the_fast_path_does_not_do_goes_exact():
    prm = ResonatorParams()
    f = geometric(128)
    f_r = f * (1 + prm.alpha * (torch.rand(40, 128, **F64) - 0.5))
    cases = {
        "trainable input frequencies": (f.clone().requires_grad_(True), f_r),
        "not on a geometric lattice": (torch.linspace(0.02e9, 0.12e9, 128, **F64), f_r),
        "float32": (f.float(), f_r.float()),
        "non-positive": (f, torch.cat([f_r[:, :1] * -1, f_r[:, 1:]], 1)),
    }
    for name, (freqs, fr) in cases.items():
        n = chain_kernel.STATS["exact"]
        with chain_kernel.forced("fast"):
            W = resonator.chain_weights(freqs, fr, prm)
        assert chain_kernel.STATS["exact"] == n + 1, name
        assert torch.equal(W, resonator.chain_weights_exact(freqs, fr, prm)), name
    # the exact path keeps its gradient to trainable input frequencies
    freqs = f.clone().requires_grad_(True)
    resonator.chain_weights(freqs, f_r, prm).sum().backward()
    assert torch.isfinite(freqs.grad).all() and freqs.grad.abs().sum() > 0


def test_forced_modes_and_dispatch():
    prm = ResonatorParams()
    f = geometric(300)
    f_r = f * (1 + prm.alpha * (torch.rand(100, 300, **F64) - 0.5))
    with chain_kernel.forced("exact"):
        We = resonator.chain_weights(f, f_r, prm)
    assert torch.equal(We, resonator.chain_weights_exact(f, f_r, prm))
    Wf = resonator.chain_weights(f, f_r, prm)
    assert float((Wf - We).abs().max()) <= 1e-9 * float(We.abs().max())
    with pytest.raises(ValueError, match="forced"):
        with chain_kernel.forced("fastest"):
            pass


def test_lattice_detection():
    lat = chain_kernel.find_lattice(geometric(64).numpy())
    assert lat is not None and lat.h == pytest.approx(math.log(6) / 63, rel=1e-12)
    assert list(lat.t) == list(range(64))
    assert chain_kernel.find_lattice(np.linspace(1.0, 2.0, 10)) is None
    assert chain_kernel.find_lattice(np.array([1.0])) is None
    assert chain_kernel.find_lattice(np.array([1.0, -1.0])) is None
