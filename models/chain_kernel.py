"""Fast chain weights with a computed error bound, for inputs on a geometric frequency grid.

The Lorentzian depends on the frequency ratio only. With lam = ln(f / f_r) and x = e^lam - 1,

    L(f, f_r) = kappa(lam) = K_SD [a_sym alpha^2 + 2 a_asym alpha x] / [alpha^2 + x^2],

so the weights of chains of resonators, W[j, i] = sum_k s_k kappa(y_i - x_jk) with y = ln f_i and
x = ln f_r, are a convolution in log-frequency. Inputs on a geometric grid sit on a lattice
y_i = y_0 + t_i h. Every resonance is snapped to its nearest bin m of that lattice (made sigma times
finer when the grid is coarse against the linewidth), x = y_0 + m h + delta with |delta| <= h / 2,
and the displacement is expanded in Chebyshev polynomials of tau = 2 delta / h:

    kappa(l h - delta) = sum_{p < P} c_p(l) T_p(tau) + r,    |r| <= sum_{p >= P} |c_p(l)|,

which converges geometrically because kappa's poles lie about alpha off the real axis, further than
h / 2. Then W = sum_p Psi_p (*) c_p with Psi_p[j, m] = sum_{k in bin m} s_k T_p(tau_jk): P Toeplitz
products, done with real FFTs; the backward pass is the adjoint correlation (custom autograd).

Error, forward: at input i, |W - W_exact| <= sum_m n(m) tail(t_i - m) + round-off + lattice shift,
with tail(l) = sum_{p >= P} |c_p(l)| and n(m) the most resonators one chain has in bin m (one FFT
of one row). :func:`chain_weights_fast` computes this bound on every call and returns None (the
caller then takes the exact path) if it exceeds ``REL_TOL`` = 1e-6 of max |W|. sigma and P are
chosen per grid so that tail summed over every lag is <= TOL_W = 1e-8 of one resonator's peak, and
the derivative's truncation (Markov: |T_p'| <= p^2) <= TOL_GRAD of the peak slope: P = 12 for 256
channels on 0.02-0.12 GHz at alpha = 1 %, 8 for 784; measured: forward ~1e-10 of max |W|,
gradients ~1e-7 of their largest entry (tests/test_chain_kernel.py holds both to 1e-6).
"""
from __future__ import annotations

import contextlib
import math
from collections import OrderedDict

import numpy as np
import torch

NODES = 64            # Chebyshev nodes per lag when tabulating c_p(l)
TOL_W = 1e-8          # a priori truncation target, summed over lags, / peak of one resonator
TOL_GRAD = 5e-7      # same for d kappa / d delta (Markov bound, pessimistic), / its peak
REL_TOL = 1e-6        # a posteriori guard: the computed bound must stay below REL_TOL * max|W|
MAX_P = 32
WINDOW = 16          # orders summed in the truncation bounds
MAX_FINE = 1 << 16    # most fine lattice bins a plan may use
LATTICE_TOL = 1e-12   # |ln f_i - (y_0 + t_i h)| allowed for inputs to count as a lattice
BUCKET = 8            # bin ranges are rounded out to multiples of this, so caches survive drift

# what the last calls did: counters by path, and the reason of the last fallback
STATS: dict = {"fast": 0, "exact": 0, "reason": None, "bound": None, "max_abs": None}
_FORCED: list[str | None] = [None]


@contextlib.contextmanager
def forced(mode: str | None):
    """``with forced("exact"):`` makes :func:`resonator.chain_weights` take the exact path
    (``"fast"``: the fast one whatever the size, when it applies). For benchmarks and tests."""
    if mode not in (None, "exact", "fast"):
        raise ValueError(f"forced: mode must be None, 'exact' or 'fast', got {mode!r}")
    old = _FORCED[0]
    _FORCED[0] = mode
    try:
        yield
    finally:
        _FORCED[0] = old


def forced_mode() -> str | None:
    return _FORCED[0]


def _kappa(lam: np.ndarray, prm) -> np.ndarray:
    x = np.expm1(lam)
    a = prm.alpha
    return prm.K_SD * (prm.a_sym * a * a + 2.0 * prm.a_asym * a * x) / (a * a + x * x)


_NODE_T = np.cos(np.pi * (np.arange(NODES) + 0.5) / NODES)
_DCT = 2.0 / NODES * np.cos(np.outer(np.pi * (np.arange(NODES) + 0.5) / NODES, np.arange(NODES)))
_DCT[:, 0] *= 0.5


def coefficients(lags: np.ndarray, hf: float, prm) -> np.ndarray:
    """(len(lags), NODES) Chebyshev coefficients of tau -> kappa(l hf - tau hf / 2) on [-1, 1]."""
    lam = np.asarray(lags, dtype=np.float64)[:, None] * hf - 0.5 * hf * _NODE_T[None, :]
    vals = _kappa(lam, prm)
    return vals @ _DCT


def _tails(c: np.ndarray, hf: float) -> tuple[np.ndarray, np.ndarray]:
    """Per P: bound on the truncation of kappa and of d kappa / d lam (Markov: |T_p'| <= p^2),
    summed over the tabulated lags. Sums stop WINDOW orders after P: the coefficients decay
    geometrically (ratio < 0.2 for sigma's choice), and beyond that they are round-off."""
    a = np.abs(c).sum(0)
    p = np.arange(c.shape[1])
    tail = np.array([a[P:P + WINDOW].sum() for P in p])
    dtail = np.array([(a * p * p)[P:P + WINDOW].sum() for P in p]) / (0.5 * hf)
    return tail, dtail


def _peaks(prm) -> tuple[float, float]:
    lam = np.linspace(-12, 12, 48001) * prm.alpha
    k = _kappa(lam, prm)
    return float(np.abs(k).max()), float(np.abs(np.gradient(k, lam)).max())


class _NoPlan(ValueError):
    pass


class Lattice:
    """Inputs on a lattice ln(f_i / f_0) = t_i h (any order, any subset), each within resid."""

    def __init__(self, f0: float, h: float, t: np.ndarray, resid: float):
        self.f0, self.h, self.t, self.resid = f0, h, t, resid


def find_lattice(freqs: np.ndarray) -> Lattice | None:
    """The lattice of positive input frequencies (numpy), or None if they are not on one."""
    if freqs.ndim != 1 or len(freqs) < 2 or not np.all(np.isfinite(freqs)) or freqs.min() <= 0:
        return None
    f0 = float(freqs.min())
    y = np.log(freqs / f0)
    ys = np.unique(y)
    if len(ys) < 2:
        return None
    h = float(np.diff(ys).min())
    t = np.rint(y / h)
    if t.max() > 4 * len(freqs) + 64:
        return None  # a sparse subset of a lattice: the FFT grid would be mostly empty
    # refit h on the lattice indices, then check every input sits on it
    h = float((t * y).sum() / (t * t).sum())
    if np.abs(y - t * h).max() > LATTICE_TOL:
        return None
    return Lattice(f0, h, t.astype(np.int64), float(np.abs(y - t * h).max()))


class Plan:
    """sigma and P for one input lattice and one set of resonator parameters; FFT kernels cached
    per range of source bins."""

    def __init__(self, lat: Lattice, prm):
        self.lat, self.prm = lat, prm
        self.peak, self.dpeak = _peaks(prm)
        span = int(lat.t.max()) + 1
        best = None
        # fine bins at most 2.5 linewidths wide (narrower: longer FFTs, wider: more orders)
        first = max(1, math.ceil(lat.h / (2.5 * prm.alpha)))
        for sigma in sorted({max(first, round(first * f)) for f in (1, 1.25, 1.5, 2, 2.5, 3, 4)}):
            if sigma * span > MAX_FINE:
                break
            hf = lat.h / sigma
            reach = sigma * span + 64
            tail, dtail = _tails(coefficients(np.arange(-reach, reach + 1), hf, prm), hf)
            ok = np.nonzero((tail <= TOL_W * self.peak) & (dtail <= TOL_GRAD * self.dpeak))[0]
            if len(ok) == 0 or ok[0] > MAX_P:
                continue
            P = max(int(ok[0]), 2)
            cost = (P + 1) * 2 * sigma * span * math.log2(2 * sigma * span + 2)
            if best is None or cost < best[0]:
                best = (cost, sigma, P)
        if best is None:
            raise _NoPlan("the input grid is too coarse against the linewidth")
        _, self.sigma, self.P = best
        self.hf = lat.h / self.sigma
        self.targets = torch.as_tensor(self.sigma * lat.t)
        self.n_fine = int(self.targets.max()) + 1
        self.contiguous = bool(torch.equal(self.targets, torch.arange(len(self.targets))))
        # inputs off their lattice point by <= resid shift W by <= resid sum |kappa'| per resonator
        lam = np.arange(-self.n_fine - 64, self.n_fine + 65) * self.hf
        dk = np.abs(np.gradient(_kappa(lam, prm), lam))
        self.shift = lat.resid * (2 * self.dpeak + float(dk.sum()))
        self._ffts: OrderedDict = OrderedDict()

    def fft(self, m_lo: int, m_hi: int, device=None):
        """For source bins m_lo..m_hi (fine lattice indices): the FFT length N, the kernels'
        spectra Khat (P, N // 2 + 1), the spectrum of the truncation bound per lag (tail(l) =
        sum of |c_p(l)| over the orders left out) and the round-off coefficient."""
        key = (m_lo, m_hi, str(device))
        hit = self._ffts.get(key)
        if hit is not None:
            self._ffts.move_to_end(key)
            return hit
        nb = m_hi - m_lo + 1
        lags = np.arange(-m_hi, self.n_fine - m_lo)         # every lag a target - source reaches
        c = coefficients(lags, self.hf, self.prm)
        tail = np.abs(c[:, self.P:self.P + WINDOW]).sum(1)
        N = _fast_size(self.n_fine + nb - 1)
        # FFT convolution round-off: ||error||_inf <= ~ eps log2(N) ||psi_p||_2 ||c_p||_1 per order
        roundoff = 4 * np.finfo(np.float64).eps * math.log2(N) * float(np.abs(c[:, :self.P]).sum())
        khat = torch.fft.rfft(torch.as_tensor(c[:, :self.P].T.copy(), device=device), n=N, dim=-1)
        tail_hat = torch.fft.rfft(torch.as_tensor(tail, device=device), n=N)
        hit = (N, khat, tail_hat, roundoff)
        self._ffts[key] = hit
        if len(self._ffts) > 8:
            self._ffts.popitem(last=False)
        return hit


def _fast_size(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n."""
    best = 1 << (n - 1).bit_length()
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            v = f35
            while v < n:
                v *= 2
            best = min(best, v)
            f35 *= 3
        f5 *= 5
    return best


_PLANS: OrderedDict = OrderedDict()


def plan_for(freqs: torch.Tensor, prm) -> Plan | None:
    key = (freqs.detach().cpu().numpy().tobytes(), prm.K_SD, prm.alpha, prm.a_sym, prm.a_asym)
    if key in _PLANS:
        _PLANS.move_to_end(key)
        return _PLANS[key]
    lat = find_lattice(freqs.detach().cpu().numpy())
    try:
        plan = Plan(lat, prm) if lat is not None else None
    except _NoPlan:
        plan = None
    _PLANS[key] = plan
    if len(_PLANS) > 16:
        _PLANS.popitem(last=False)
    return plan


_BUFFERS: OrderedDict = OrderedDict()


def _padded(shape: tuple, used: int, like: torch.Tensor) -> torch.Tensor:
    """A zero buffer of ``shape`` whose last dimension is zero beyond ``used``: kept between calls,
    only [..., :used] is cleared (the FFT reads it at once; autograd does not keep it)."""
    key = (shape, used, like.dtype, like.device)
    buf = _BUFFERS.get(key)
    if buf is None:
        buf = like.new_zeros(shape)
        _BUFFERS[key] = buf
        if len(_BUFFERS) > 4:
            _BUFFERS.popitem(last=False)
    else:
        _BUFFERS.move_to_end(key)
        buf[..., :used].zero_()
    return buf


class _ChebConv(torch.autograd.Function):
    """tau (n_out, n_res) -> W (n_out, n_in): Psi_p = scatter of s_k T_p(tau), FFT convolution
    with the tabulated c_p, read out at the input bins. Backward: the adjoint correlation."""

    @staticmethod
    def forward(ctx, tau, bins, signs, khat, N, nb, readout, P):
        n_out, n_res = tau.shape
        src = tau.new_empty(P, n_out, n_res)                      # s_k T_p(tau), by recurrence
        src[0] = signs
        torch.mul(tau, signs, out=src[1])
        tau2 = 2.0 * tau
        for p in range(2, P):
            torch.mul(tau2, src[p - 1], out=src[p])
            src[p] -= src[p - 2]
        psi = _padded((P, n_out, N), nb, tau)                     # zero-padded to the FFT length
        psi.scatter_add_(2, bins.expand(P, -1, -1), src)
        X = torch.fft.rfft(psi, dim=-1)
        spec = X[0] * khat[0]                                     # (n_out, F)
        for p in range(1, P):
            spec.addcmul_(X[p], khat[p])
        W = torch.fft.irfft(spec, n=N, dim=-1)
        W = W[:, readout] if isinstance(readout, torch.Tensor) else W[:, readout[0]:readout[1]]
        ctx.save_for_backward(tau, bins, signs, khat)
        ctx.N, ctx.nb, ctx.P, ctx.readout = N, nb, P, readout
        return W

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        tau, bins, signs, khat = ctx.saved_tensors
        N, nb, P, readout = ctx.N, ctx.nb, ctx.P, ctx.readout
        g = grad.new_zeros(grad.shape[0], N)
        if isinstance(readout, torch.Tensor):
            g.index_copy_(1, readout, grad)
        else:
            g[:, readout[0]:readout[1]] = grad
        gspec = torch.fft.rfft(g, dim=-1)
        corr = torch.fft.irfft(gspec * khat.conj()[:, None, :], n=N, dim=-1)[..., :nb]
        gp = corr.gather(2, bins.expand(P, -1, -1))               # (P, n_out, n_res)
        # d T_p / d tau = p U_{p-1}(tau)
        u_prev, u = torch.zeros_like(tau), torch.ones_like(tau)
        out = gp[1].clone()
        tau2 = 2.0 * tau
        for p in range(2, P):
            u_prev, u = u, (tau2 * u).sub_(u_prev)
            out.addcmul_(gp[p], u, value=float(p))
        return out.mul_(signs), None, None, None, None, None, None, None


def applicable(freqs: torch.Tensor, f_r: torch.Tensor) -> str | None:
    """None if the fast path can compute W for these tensors, else the reason it cannot."""
    if freqs.dim() != 1 or f_r.dim() != 2:
        return "shapes: freqs must be (n_in,) and f_r (n_chains, n_res)"
    if freqs.dtype != torch.float64 or f_r.dtype != torch.float64:
        return "dtype: the fast path is float64"
    if freqs.requires_grad:
        return "trainable input frequencies"
    if f_r.numel() == 0 or freqs.numel() < 2:
        return "empty"
    return None


def chain_weights_fast(freqs: torch.Tensor, f_r: torch.Tensor, prm,
                       signs: torch.Tensor) -> torch.Tensor | None:
    """W (n_chains, n_in) within the computed bound, or None (and STATS['reason']) when the fast
    path does not apply or cannot guarantee REL_TOL of max |W|."""
    why = applicable(freqs, f_r)
    plan = None if why else plan_for(freqs, prm)
    if why is None and plan is None:
        why = "input frequencies are not on a geometric lattice"
    if why is None:
        with torch.no_grad():
            ok = bool(torch.isfinite(f_r).all()) and bool((f_r > 0).all())
        if not ok:
            why = "non-finite or non-positive resonance frequencies"
    if why:
        STATS["reason"] = why
        return None
    x = torch.log(f_r / plan.lat.f0)
    with torch.no_grad():
        m = torch.round(x / plan.hf)
        m_lo, m_hi = int(m.min()), int(m.max())
        lo = (m_lo - 2) // BUCKET * BUCKET
        hi = -((-(m_hi + 2)) // BUCKET) * BUCKET
        if hi - lo > 8 * plan.n_fine + 1024:
            STATS["reason"] = "resonances spread far beyond the input band"
            return None
        bins = (m - lo).long()
        nb = hi - lo + 1
        counts = torch.zeros(f_r.shape[0], nb, dtype=torch.int32, device=f_r.device).scatter_add_(
            1, bins, torch.ones_like(bins, dtype=torch.int32))
    N, khat, tail_hat, roundoff = plan.fft(lo, hi, f_r.device)
    tau = (x - m * plan.hf) * (2.0 / plan.hf)
    readout = plan.targets.to(f_r.device) + (hi - lo)             # + nb - 1
    if plan.contiguous:
        readout = (hi - lo, hi - lo + len(plan.targets))
    W = _ChebConv.apply(tau, bins, signs.to(tau.dtype), khat, N, nb, readout, plan.P)
    # error bound: at each input, sum over bins of (most resonators of a chain in the bin) x tail
    # of the lag to the input; plus round-off
    with torch.no_grad():
        most = counts.max(0).values.to(torch.float64)
        per_input = torch.fft.irfft(torch.fft.rfft(most, n=N) * tail_hat, n=N)
        per_input = per_input[readout] if isinstance(readout, torch.Tensor) else \
            per_input[readout[0]:readout[1]]
        bound = (float(per_input.max()) + float(most.max()) * plan.shift
                 + roundoff * math.sqrt(f_r.shape[1] * float(most.max())))
    max_abs = float(W.detach().abs().max())
    STATS["bound"], STATS["max_abs"] = bound, max_abs
    if not bound <= REL_TOL * max_abs:
        STATS["reason"] = f"error bound {bound:.3g} above {REL_TOL:g} x max|W| = {max_abs:.3g}"
        return None
    return W
