"""Spin-torque nano-oscillator (STNO): the neuron.

Universal auto-oscillator model (Slavin and Tiberkevich). Complex amplitude c, power p = |c|^2:

    dc/dt = -i w(p) c - Gg (1 + Q p) c + sigma I (1 - p) c,   w(p) = 2 pi f0 + N p,  sigma = Gg / I_th

so that dp/dt = 2 Gg [(z - 1) - (z + Q) p] p with z = I / I_th. This module holds the parameters,
the torch surrogate of the power equation and the SPICE models (envelope: the power equation;
rf: the complex amplitude, emitting a carrier at f0 + N p / 2 pi).
"""
from __future__ import annotations

import dataclasses
import math

import torch

from .device import Device, Subckt, register_device
from .params import Params, param, spice_number
from .units import FREQ_UNIT, POWER_UNIT, check_fidelity

TWO_PI = 2.0 * math.pi


@dataclasses.dataclass(frozen=True)
class STNOParams(Params):
    f0: float = param(1e9, "positive", "free-running frequency at zero power (Hz)")
    Gg: float = param(TWO_PI * 1e9 * 0.01, "positive",
                      "linear positive damping Gamma_G ~ alpha 2 pi f0 (1/s)")
    Q: float = param(2.0, "nonneg", "nonlinear damping coefficient")
    I_th: float = param(10e-6, "positive", "threshold current (A)")
    R: float = param(1e3, "positive", "device resistance (Ohm)")
    k_P: float = param(1.25, "positive", "emitted power factor: P_out = k_P p R I^2")
    N: float = param(0.0, "finite", "nonlinear frequency shift (rad/s): w = 2 pi f0 + N p")
    Z0: float = param(50.0, "positive", "load impedance the rf carrier is emitted into (Ohm)")
    I_min_ratio: float = param(1.0, "nonneg", "lower current clamp, in units of I_th")
    I_max_ratio: float = param(4.0, "positive", "upper current clamp, in units of I_th")

    def validate(self) -> None:
        if self.I_max_ratio <= self.I_min_ratio:
            raise ValueError(
                f"STNOParams.I_max_ratio ({self.I_max_ratio}) must exceed I_min_ratio "
                f"({self.I_min_ratio})")

    @classmethod
    def from_damping(cls, f0: float, alpha: float, **kw: float) -> "STNOParams":
        """Parameters with Gg = alpha 2 pi f0, the usual estimate of the linear damping."""
        return cls(f0=f0, Gg=alpha * TWO_PI * f0, **kw)

    @property
    def sigma(self) -> float:
        """Spin-transfer efficiency (1/(A s)), such that I_th = Gg / sigma."""
        return self.Gg / self.I_th


# ---------------------------------------------------------------- torch surrogate

def clamp_current(current: torch.Tensor, prm: STNOParams) -> torch.Tensor:
    """Keep the drive within [I_min, I_max] to protect the device (public-code convention)."""
    return current.clamp(prm.I_min_ratio * prm.I_th, prm.I_max_ratio * prm.I_th)


def steady_power(current: torch.Tensor, prm: STNOParams) -> torch.Tensor:
    """p0 = (z - 1) / (z + Q) above threshold, 0 below."""
    z = current / prm.I_th
    return torch.where(z > 1.0, (z - 1.0) / (z + prm.Q).clamp(min=1e-30), torch.zeros_like(z))


def relaxation_time(current: torch.Tensor, prm: STNOParams) -> torch.Tensor:
    """tau = 1 / (2 Gg |z - 1|): how fast p forgets; diverges at threshold."""
    z = current / prm.I_th
    return 1.0 / (2.0 * prm.Gg * (z - 1.0).abs())


def power_step(p: torch.Tensor, current: torch.Tensor, dt: float, prm: STNOParams) -> torch.Tensor:
    """Advance p by dt with the current held constant: the exact solution of the power equation.

    dp/dt = a p - b p^2 (a = 2 Gg (z - 1), b = 2 Gg (z + Q)) is a logistic equation whose solution
    over a step is p' = p (1 + a phi) / (1 + b p phi) with phi = expm1(a dt) / a. It is exact for any
    dt, never overshoots and keeps p >= 0, so the step size changes nothing but the sampling of the
    input: this is why the surrogate uses it instead of an explicit Euler step, which goes unstable
    once dt exceeds about tau.
    """
    if not dt > 0:
        raise ValueError(f"time step dt must be > 0, got {dt!r}")
    z = current / prm.I_th
    a = 2.0 * prm.Gg * (z - 1.0)
    b = 2.0 * prm.Gg * (z + prm.Q)
    x = a * dt
    p = p.clamp(min=0.0)
    if float(x.detach().max()) < 50.0:
        # exp(x) cannot overflow: one form, fewer operations (what training steps take)
        return _logistic_step(p, x, b, dt)[0]
    # three algebraically equal forms, each free of overflow where it is used (exp(x) overflows
    # for a dt of many tau); the unused branches are evaluated on clamped, harmless values so that
    # no inf or nan reaches the gradient
    small = x.abs() < 1e-6
    safe_a = torch.where(small, torch.ones_like(a), a)
    phi = dt * (1.0 + 0.5 * x)                               # expm1(x)/a near threshold
    p_small = p * (1.0 + a * phi) / (1.0 + b * p * phi)
    x_pos, x_neg = x.clamp(min=0.0), x.clamp(max=0.0)
    p_grow = p / (torch.exp(-x_pos) - b * p * torch.expm1(-x_pos) / safe_a)   # above threshold
    p_decay = p * torch.exp(x_neg) / (1.0 + b * p * torch.expm1(x_neg) / safe_a)  # below
    return torch.where(small, p_small, torch.where(x > 0, p_grow, p_decay))


def _logistic_step(p: torch.Tensor, x: torch.Tensor, b: torch.Tensor, dt: float):
    """The overflow-free form of :func:`power_step` for x = a dt < 50 (p already >= 0): the new
    power and the pieces its derivatives reuse: p', exp(x), the denominator, expm1(x) / x, where
    |x| < 1e-6 (there the ratio is its series 1 + x / 2) and x with those entries set to 1."""
    small = x.abs() < 1e-6
    x_safe = torch.where(small, 1.0, x)
    ratio = torch.where(small, 1.0 + 0.5 * x, torch.expm1(x) / x_safe)
    e = torch.exp(x)
    den = 1.0 + b * p * dt * ratio
    return p * e / den, e, den, ratio, small, x_safe


def emitted_power(p: torch.Tensor, current: torch.Tensor, prm: STNOParams) -> torch.Tensor:
    """Microwave power delivered by the oscillator (W): P_out = k_P p R I^2."""
    return prm.k_P * p * prm.R * current ** 2


def frequency(p: torch.Tensor, prm: STNOParams) -> torch.Tensor:
    """Oscillation frequency (Hz): f0 + N p / 2 pi (nonlinear frequency shift)."""
    return prm.f0 + prm.N * p / TWO_PI


def simulate_power(p_init: torch.Tensor, currents: torch.Tensor, dt: float,
                   prm: STNOParams) -> torch.Tensor:
    """p after each step for a current sequence of shape (T, ...); returns shape (T + 1, ...)."""
    out = [p_init]
    p = p_init
    for current in currents:
        p = power_step(p, current, dt, prm)
        out.append(p)
    return torch.stack(out)


class _ClampSurrogateGrad(torch.autograd.Function):
    """The hard clamp in the forward pass (what the device and its SPICE model do); in the backward
    pass a small slope ``leak`` outside the range, so that a neuron pushed into a clamp during
    training still gets a gradient and can come back (a straight-through estimator)."""

    @staticmethod
    def forward(ctx, x, lo: float, hi: float, leak: float):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi, ctx.leak = lo, hi, leak
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inside = (x >= ctx.lo) & (x <= ctx.hi)
        return grad * torch.where(inside, torch.ones_like(grad), torch.full_like(grad, ctx.leak)), \
            None, None, None


def clamp_current_train(current: torch.Tensor, prm: STNOParams, leak: float) -> torch.Tensor:
    """:func:`clamp_current` with a leaky gradient outside the clamps (see _ClampSurrogateGrad)."""
    if leak == 0.0 or not current.requires_grad:
        return clamp_current(current, prm)
    return _ClampSurrogateGrad.apply(current, prm.I_min_ratio * prm.I_th,
                                     prm.I_max_ratio * prm.I_th, leak)


class ClampedPowerStep(torch.autograd.Function):
    """One neuron-layer update fused into one autograd node: the clamp of the drive (with the
    leaky gradient of :class:`_ClampSurrogateGrad`) and the exact :func:`power_step`.

    The forward pass evaluates exactly the expressions of ``clamp_current_train`` and
    ``power_step``'s overflow-free form, in the same order, so its values are bit-for-bit theirs
    (p must be >= 0: power_step's clamp of p is left to the caller). The backward pass multiplies
    by derivatives worked out in closed form during the forward pass, with x = 2 Gg (z - 1) h,
    b = 2 Gg (z + Q), r = expm1(x) / x and den = 1 + b p h r (so that p' = p e^x / den):

        dp'/dp = e^x / den^2,   dp'/dz = p' 2 Gg h (1 - p (r + b h r') / den),  r' = (e^x - r) / x

    (r' = 1/2 where the series stands in for r), instead of the ~20 nodes autograd would record.
    Only valid where x < 50 for every clamped z, which :func:`fused_step_applies` checks."""

    @staticmethod
    def values(drive, p, prm: STNOParams, h: float):
        """The forward values (current, p') and the pieces the derivatives reuse; p >= 0."""
        lo, hi = prm.I_min_ratio * prm.I_th, prm.I_max_ratio * prm.I_th
        raw = prm.I_th * drive
        current = raw.clamp(lo, hi)
        z = current / prm.I_th
        k = 2.0 * prm.Gg
        b = k * (z + prm.Q)
        x = k * (z - 1.0) * h
        return (current, *_logistic_step(p, x, b, h), raw, b)

    @staticmethod
    def forward(ctx, drive, p, prm: STNOParams, h: float, leak: float, want_current: bool):
        current, p_new, e, den, ratio, small, x_safe, raw, b = \
            ClampedPowerStep.values(drive, p, prm, h)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            k = 2.0 * prm.Gg
            inside = raw == current             # within [lo, hi]: the clamp let it through
            r_prime = torch.where(small, 0.5, (e - ratio) / x_safe)
            g_z = p_new * (k * h) * (1.0 - p * (ratio + b * h * r_prime) / den)
            g_z = torch.where(inside, g_z, leak * g_z)
            # p >= 0 wherever a gradient can reach: p_init is a constant and every step keeps p >= 0
            g_p = e / (den * den)
            ctx.save_for_backward(g_z, g_p, inside if want_current else None)
            ctx.i_th, ctx.leak = prm.I_th, leak
        if not want_current:
            ctx.mark_non_differentiable(current)
        ctx.set_materialize_grads(False)
        return current, p_new

    @staticmethod
    def backward(ctx, grad_current, grad_p):
        g_z, g_p, inside = ctx.saved_tensors
        grad_drive = grad_prev = None
        if grad_p is not None:
            grad_drive = grad_p * g_z
            grad_prev = grad_p * g_p
        if grad_current is not None and inside is not None:
            extra = grad_current * ctx.i_th
            extra = torch.where(inside, extra, ctx.leak * extra)
            grad_drive = extra if grad_drive is None else grad_drive + extra
        return grad_drive, grad_prev, None, None, None, None


def fused_step_applies(prm: STNOParams, h: float) -> bool:
    """Whether every clamped drive keeps x = 2 Gg (z - 1) h below power_step's overflow guard of
    50 (with a margin), so that the fused step takes the branch power_step itself would take."""
    return 2.0 * prm.Gg * (prm.I_max_ratio * (1.0 + 1e-9) - 1.0) * h < 49.0


# ---------------------------------------------------------------- SPICE models

class STNO(Device):
    """The STNO family: graph nodes ``stno`` (and the ``neuron`` of dynamical networks).

    Subcircuits, envelope: ``stno_env`` (the neuron of RF networks) and ``stno_seq`` (the power
    equation alone, for sequence networks); rf: ``stno_rf``.
    """
    kind = "stno"
    description = "spin-torque nano-oscillator (neuron): power equation, emitted microwave power"
    Params = STNOParams
    per_device_fields = ("f0",)  # each oscillator has its own channel
    spice_names = {"f0": "f0", "Gg": "gg", "Q": "qnl", "I_th": "ith", "R": "rdev", "k_P": "kp",
                   "N": "nshift", "Z0": "zload"}

    def subckt(self, fidelity: str, prm: STNOParams | None = None) -> Subckt:
        return self.subckts(fidelity, prm)[0]

    def subckts(self, fidelity: str, prm: STNOParams | None = None) -> tuple[Subckt, ...]:
        """Envelope, ``stno_env in p pw df``: ``in`` is the DC drive (the device is the resistor R
        from ``in`` to ground, so I = V(in) / R), ``p`` the normalised power, ``pw`` the emitted
        power (1 V = 1 uW), ``df`` the frequency shift from f0 (1 V = 1 MHz); and
        ``stno_seq in p rst run``, the power equation alone for sequence networks that run many
        samples in one transient: ``run`` (0..1) scales the dynamics and ``rst`` (0..1) pulls p
        to prst at the rate krst, so that every sample starts from one state.
        rf, ``stno_rf in out p``: ``out`` is the carrier voltage, sized so that it delivers P_out
        into Z0.
        Initial power: set it with :func:`initial_condition` (p = 0 is a fixed point, as in the
        device, where thermal noise starts the oscillation).
        """
        values = self.spice_values(prm)
        z = "(V(in)/(rdev*ith))"
        dpdt = f"2*gg*(({z} - 1) - ({z} + qnl)*max(V(s),0))*max(V(s),0)"
        if check_fidelity(fidelity) == "envelope":
            env = Subckt("stno_env", ("in", "p", "pw", "df"), values, "\n".join([
                "* power equation dp/dt = 2 Gg [(z-1) - (z+Q) p] p, z = I/I_th, integrated on internal node s",
                "Rdev in 0 {rdev}",
                "Cs s 0 1",
                f"Bs 0 s I = {dpdt}",
                "Bp p 0 V = max(V(s),0)",
                f"Bpw pw 0 V = kp*V(p)*V(in)*V(in)/rdev/{spice_number(POWER_UNIT)}",
                f"Bdf df 0 V = nshift*V(p)/{spice_number(TWO_PI * FREQ_UNIT)}",
            ]))
            seq = Subckt("stno_seq", ("in", "p", "rst", "run"),
                         {**values, "prst": 0.01, "krst": "4e9"}, "\n".join([
                "* the same power equation, for sequence networks: V(run) scales the dynamics, and",
                "* V(rst) pulls p to prst at the rate krst; at krst = 2/h the trapezoid with step h",
                "* lands on prst in one step",
                "Rdev in 0 {rdev}",
                "Cs s 0 1",
                f"Bs 0 s I = V(run)*{dpdt} - krst*V(rst)*(V(s) - prst)",
                "Bp p 0 V = max(V(s),0)",
            ]))
            return env, seq
        pp = "(V(x)*V(x) + V(y)*V(y))"
        omega = f"({spice_number(TWO_PI)}*f0 + nshift*{pp})"
        gain = f"(gg*{z}*(1 - {pp}) - gg*(1 + qnl*{pp}))"
        return (Subckt("stno_rf", ("in", "out", "p"), values, "\n".join([
            "* complex amplitude c = x + i y: dc/dt = -i w(p) c + [sigma I (1-p) - Gg (1+Q p)] c",
            "Rdev in 0 {rdev}",
            "Cx x 0 1",
            "Cy y 0 1",
            f"Bx 0 x I = {omega}*V(y) + {gain}*V(x)",
            f"By 0 y I = -{omega}*V(x) + {gain}*V(y)",
            f"Bp p 0 V = {pp}",
            "* carrier amplitude sqrt(2 P_out Z0) with P_out = k_P p R I^2; V(x) = sqrt(p) cos(phase)",
            "Bout out 0 V = sqrt(2*kp*zload/rdev)*abs(V(in))*V(x)",
        ])),)

    @staticmethod
    def initial_condition(instance: str, p_init: float, fidelity: str,
                          carrier_at_zero: bool = True) -> str:
        return initial_condition(instance, p_init, fidelity, carrier_at_zero)

    def verilog_a(self, prm: STNOParams | None = None) -> dict[str, str]:
        return {"stno.va": verilog_a(self.params(prm))}


DEVICE = register_device(STNO())


def spice_subckt(prm: STNOParams, fidelity: str) -> str:
    """Text of the subcircuits ``stno_env`` and ``stno_seq`` (envelope) or ``stno_rf`` (rf), with
    defaults taken from ``prm``; ports and parameters: :meth:`STNO.subckts`."""
    return DEVICE.library(fidelity, prm)


def initial_condition(instance: str, p_init: float, fidelity: str,
                      carrier_at_zero: bool = True) -> str:
    """``.ic`` card giving instance ``instance`` the initial normalised power ``p_init``.

    rf: by default the phase is 90 degrees, so the carrier (proportional to x) starts at zero and
    the operating point does not charge the read-out low-passes downstream with a DC step.
    """
    if not 0 <= p_init < 1:
        raise ValueError(f"initial power must be in [0, 1), got {p_init!r}")
    if check_fidelity(fidelity) == "envelope":
        return f".ic v({instance}.s)={spice_number(p_init)}"
    x, y = (0.0, math.sqrt(p_init)) if carrier_at_zero else (math.sqrt(p_init), 0.0)
    return f".ic v({instance}.x)={spice_number(x)} v({instance}.y)={spice_number(y)}"


def verilog_a(prm: STNOParams) -> str:
    """Verilog-A modules with the same equations, for simulators other than ngspice."""
    return f"""// STNO behavioural models generated from STNOParams; same equations as the ngspice subcircuits.
`include "disciplines.vams"
`include "constants.vams"

// envelope: normalised power p, emitted power pw (1 V = 1 uW), frequency shift df (1 V = 1 MHz),
// as the ngspice subcircuit stno_env; the power is integrated on the internal node s
module stno_env(in, p, pw, df);
  inout in; output p, pw, df;
  electrical in, p, pw, df, s;
  parameter real gg = {spice_number(prm.Gg)};
  parameter real qnl = {spice_number(prm.Q)};
  parameter real ith = {spice_number(prm.I_th)};
  parameter real rdev = {spice_number(prm.R)};
  parameter real kp = {spice_number(prm.k_P)};
  parameter real nshift = {spice_number(prm.N)};
  real z, pv;
  analog begin
    I(in) <+ V(in) / rdev;
    z = V(in) / (rdev * ith);
    pv = max(V(s), 0.0);
    I(s) <+ ddt(V(s)) - 2.0 * gg * ((z - 1.0) - (z + qnl) * pv) * pv;
    V(p) <+ pv;
    V(pw) <+ kp * pv * V(in) * V(in) / rdev / {spice_number(POWER_UNIT)};
    V(df) <+ nshift * pv / (`M_TWO_PI * {spice_number(FREQ_UNIT)});
  end
endmodule

// rf: complex amplitude (x, y), carrier voltage into zload
module stno_rf(in, out, p);
  inout in; output out, p;
  electrical in, out, p, x, y;
  parameter real f0 = {spice_number(prm.f0)};
  parameter real gg = {spice_number(prm.Gg)};
  parameter real qnl = {spice_number(prm.Q)};
  parameter real ith = {spice_number(prm.I_th)};
  parameter real rdev = {spice_number(prm.R)};
  parameter real kp = {spice_number(prm.k_P)};
  parameter real nshift = {spice_number(prm.N)};
  parameter real zload = {spice_number(prm.Z0)};
  real z, pp, w, g;
  analog begin
    I(in) <+ V(in) / rdev;
    z = V(in) / (rdev * ith);
    pp = V(x) * V(x) + V(y) * V(y);
    w = `M_TWO_PI * f0 + nshift * pp;
    g = gg * z * (1.0 - pp) - gg * (1.0 + qnl * pp);
    I(x) <+ ddt(V(x)) - (w * V(y) + g * V(x));
    I(y) <+ ddt(V(y)) - (-w * V(x) + g * V(y));
    V(p) <+ pp;
    V(out) <+ sqrt(2.0 * kp * zload / rdev) * abs(V(in)) * V(x);
  end
endmodule
"""
