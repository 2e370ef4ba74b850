"""MTJ resonator: the spin-diode synapse.

An MTJ driven by an RF current at frequency f rectifies it into a DC voltage. With resonance f_r and
half-width D = alpha f_r:

    V_dc = P_in K_SD [a_sym D^2 + a_asym 2 D (f - f_r)] / [D^2 + (f - f_r)^2]

At carrier level (rf fidelity) the resonator is a driven, damped oscillator,
dm/dt = -(i 2 pi f_r + 2 pi D) m + 2 pi D I_rf(t), whose resistance oscillates with m:
R(t) = R0 + beta_s Re(m) + beta_a Im(m). The DC part of I_rf(t) R(t) after a low-pass read-out is
the rectified voltage; beta_s and beta_a are chosen so that, in the rotating-wave limit, it equals the
Lorentzian above (derivation in :func:`mixing_coefficients`).
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import torch

from . import chain_kernel, published
from .device import Device, Subckt, register_device
from .params import Params, param, spice_number
from .units import FREQ_UNIT, POWER_UNIT, STATE_CURRENT_UNIT, check_fidelity

TWO_PI = 2.0 * math.pi
# beyond this linewidth the counter-rotating drive term makes the rf model miss the Lorentzian by
# more than 2 % of its peak (the error grows as ~alpha)
RWA_ALPHA_LIMIT = 0.02
# beat notes between carriers of one line pass the read-out's two-pole low-pass at |H|: up to
# BEAT_H_HOLDS the chain error stays within ~5 %, past BEAT_H_FAILS it reaches 12-25 % and more
# (ngspice measurements behind both: spicegen/design_rules.py)
BEAT_H_HOLDS = 0.05
BEAT_H_FAILS = 0.1


@dataclasses.dataclass(frozen=True)
class ResonatorParams(Params):
    f_r: float = param(1e9, "positive", "default resonance frequency (Hz); trained per device")
    alpha: float = param(0.01, "positive", "relative half-width: D = alpha f_r")
    K_SD: float = param(published.K_SD, "positive",
                        "spin-diode sensitivity (V/W): tan(pi/4) / (8 sqrt 2) / 10 uA")
    a_sym: float = param(0.0, "finite", "weight of the symmetric Lorentzian term")
    a_asym: float = param(1.0, "finite", "weight of the antisymmetric Lorentzian term")
    R0: float = param(1e3, "positive", "MTJ resistance at rest (Ohm)")
    Z0: float = param(50.0, "positive", "reference impedance defining P_in = I_rf^2 Z0 / 2 (Ohm)")
    lp_ratio: float = param(0.01, "positive", "rf read-out low-pass corner, in units of f_r")

    def validate(self) -> None:
        if self.a_sym == 0 and self.a_asym == 0:
            raise ValueError("ResonatorParams: a_sym and a_asym are both 0, the device rectifies nothing")
        if self.alpha >= 0.5:
            raise ValueError(f"ResonatorParams.alpha must be < 0.5 (a resonance), got {self.alpha}")
        if self.lp_ratio >= 0.5:
            raise ValueError(f"ResonatorParams.lp_ratio must be < 0.5 so the read-out rejects the "
                             f"carrier, got {self.lp_ratio}")

    def linewidth(self, f_r: float | None = None) -> float:
        return self.alpha * (self.f_r if f_r is None else f_r)


# ---------------------------------------------------------------- torch surrogate

def lorentzian(f: torch.Tensor, f_r: torch.Tensor, prm: ResonatorParams) -> torch.Tensor:
    """Rectified voltage per watt of input (V/W). f and f_r in the same unit (Hz or GHz alike).

    Use float64 for frequencies: float32 keeps 7 digits, i.e. 1e-5 of a linewidth at alpha = 1 %.
    """
    D = prm.alpha * f_r
    delta = f - f_r
    return prm.K_SD * (prm.a_sym * D * D + prm.a_asym * 2.0 * D * delta) / (D * D + delta * delta)


def rectified_voltage(power: torch.Tensor, f: torch.Tensor, f_r: torch.Tensor,
                      prm: ResonatorParams) -> torch.Tensor:
    """V_dc (V) of one resonator for an input of ``power`` (W) at frequency ``f``."""
    return power * lorentzian(f, f_r, prm)


def chain_signs(n_res: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """+1, -1, +1, ...: resonators connected alternately head-to-tail along a chain."""
    signs = torch.ones(n_res, dtype=dtype, device=device)
    signs[1::2] = -1.0
    return signs


# below this many (chain, resonator, input) triples the exact sum is as fast as the kernel (measured
# crossover 1e5 to 2e5; the 64-32-10 digits network, 131 072 and 10 240, stays exact)
FAST_MIN_TERMS = 150_000


def chain_weights_exact(freqs: torch.Tensor, f_r: torch.Tensor,
                        prm: ResonatorParams) -> torch.Tensor:
    """:func:`chain_weights` by the explicit sum over every (chain, resonator, input) triple."""
    g = lorentzian(freqs[None, None, :], f_r[..., None], prm)  # (chains, res, n_in)
    return torch.einsum("cri,r->ci", g, chain_signs(f_r.shape[-1], g.dtype, g.device))


def chain_weights(freqs: torch.Tensor, f_r: torch.Tensor, prm: ResonatorParams) -> torch.Tensor:
    """Effective weight matrix (n_chains, n_in) in V/W of chains f_r (n_chains, n_res) for inputs at
    fixed frequencies freqs (n_in,): W_ji = sum_k (-1)^k G(f_i, f_r[j, k]), crosstalk included.

    Large layers whose inputs lie on a geometric grid (float64, input frequencies not trained) go
    through :mod:`chain_kernel`: a log-frequency convolution by FFT, within a bound it computes on
    every call (<= 1e-6 of max|W|, typically ~1e-12), forward and gradient; everything else, and
    any call where that bound is not met, through :func:`chain_weights_exact`.
    """
    mode = chain_kernel.forced_mode()
    big = f_r.shape[0] * f_r.shape[-1] * freqs.shape[-1] >= FAST_MIN_TERMS
    if mode != "exact" and (big or mode == "fast") and f_r.dim() == 2:
        W = chain_kernel.chain_weights_fast(freqs, f_r, prm, chain_signs(f_r.shape[-1], f_r.dtype))
        if W is not None:
            chain_kernel.STATS["fast"] += 1
            return W
    chain_kernel.STATS["exact"] += 1
    return chain_weights_exact(freqs, f_r, prm)


def chain_voltage(powers: torch.Tensor, freqs: torch.Tensor, f_r: torch.Tensor,
                  prm: ResonatorParams) -> torch.Tensor:
    """Voltage of chains of resonators in series, alternately head-to-tail, without bias.

    powers: (..., n_in); freqs: (n_in,) or, when every sample has its own, (..., n_in);
    f_r: (n_chains, n_res). Every resonator rectifies every frequency on the line,
    V_j = sum_k (-1)^k sum_i P_i G(f_i, f_r[j, k]); the sum over the tails is the crosstalk.
    Returns (..., n_chains).
    """
    if freqs.dim() == 1:
        return powers @ chain_weights(freqs, f_r, prm).T.to(powers.dtype)
    g = lorentzian(freqs[..., None, None, :], f_r[..., None], prm)  # (..., chains, res, n_in)
    signs = chain_signs(f_r.shape[-1], g.dtype, g.device)
    return torch.einsum("...cri,r,...i->...c", g, signs, powers)


def mixing_coefficients(prm: ResonatorParams) -> tuple[float, float]:
    """beta_s, beta_a (Ohm/A) of R(t) = R0 + beta_s u + beta_a v, m = u + i v in amperes.

    For I_rf = I0 cos(w t), with drive coefficient kappa = Gamma = 2 pi D, the rotating-wave solution
    gives <I u> = Gamma^2 I0^2 / (4 (Gamma^2 + Delta^2)) and <I v> = Gamma (w - w_r) I0^2 / (4 (...)),
    Delta = w - w_r. Matching <I R> to P_in K_SD [...] with P_in = I0^2 Z0 / 2 yields
    beta_s = 2 K_SD a_sym Z0 and beta_a = 4 K_SD a_asym Z0.
    """
    return 2.0 * prm.K_SD * prm.a_sym * prm.Z0, 4.0 * prm.K_SD * prm.a_asym * prm.Z0


def drive_amplitude(power: float, prm: ResonatorParams) -> float:
    """Peak RF current (A) that carries ``power`` (W) in the reference impedance Z0."""
    return math.sqrt(2.0 * power / prm.Z0)


def orientation(k: int) -> int:
    """+1 / -1 mounting of the k-th resonator of a chain: alternately head-to-tail, as
    :func:`chain_signs`."""
    return 1 if k % 2 == 0 else -1


# ---------------------------------------------------------------- carrier-level response (numpy)

def resonator_response(f: np.ndarray, f_r: float, prm: ResonatorParams) -> np.ndarray:
    """Complex phasor ratio dR / I (Ohm/A) of one ``mtj_prec`` resonator (orientation +1) driven by
    I0 cos(2 pi f t), without the rotating-wave approximation.

    m = A e^{iwt} + B e^{-iwt} with A = (Gamma I0 / 2) / (Gamma + i (w + w_r)) (counter-rotating)
    and B = (Gamma I0 / 2) / (Gamma + i (w_r - w)); so u = Re((A + B*) e^{iwt}),
    v = Re((-iA + iB*) e^{iwt}) and dR = beta_s u + beta_a v.
    """
    w = TWO_PI * np.asarray(f, dtype=np.float64)
    wr = TWO_PI * f_r
    gam = prm.alpha * wr
    a = 0.5 * gam / (gam + 1j * (w + wr))
    b = 0.5 * gam / (gam + 1j * (wr - w))
    beta_s, beta_a = mixing_coefficients(prm)
    return beta_s * (a + np.conj(b)) + beta_a * (-1j * a + 1j * np.conj(b))


def series_response(f: np.ndarray, f_r, orientations, prm: ResonatorParams) -> np.ndarray:
    """Complex dR / I (Ohm/A) of one chain: resonators ``f_r`` in series, mounted ``orientations``
    (+1 / -1 each), at the frequencies ``f``: sum_k o_k :func:`resonator_response`."""
    return sum(o * resonator_response(f, fr, prm) for fr, o in zip(f_r, orientations))


def dc_weight(response: np.ndarray, prm: ResonatorParams) -> np.ndarray:
    """Exact DC response (V/W) of a resistance that modulates as ``response`` = dR / I (complex,
    Ohm/A): <I dR> / P = Re(H) / Z0, with P = I0^2 Z0 / 2.

    For :func:`resonator_response` in the rotating-wave limit it is the Lorentzian; the
    counter-rotating term adds about -alpha x K_SD a_asym per resonator (x orientation), whatever
    the detuning.
    """
    return response.real / prm.Z0


def peak_weight(prm: ResonatorParams) -> float:
    """Largest |G| over detuning u (linewidths): K_SD |a_sym + 2 a_asym u| / (1 + u^2)."""
    u = np.linspace(-5, 5, 20001)
    return float(np.abs(prm.K_SD * (prm.a_sym + 2 * prm.a_asym * u) / (1 + u * u)).max())


def two_pole(f: np.ndarray | float, fc: float) -> np.ndarray | float:
    """|H| of the read-out low-pass (two equal real poles at fc, :func:`readout_lowpass_subckt`):
    1 / (1 + (f / fc)^2)."""
    return 1.0 / (1.0 + (np.asarray(f) / fc) ** 2)


# ---------------------------------------------------------------- SPICE models

def _readout_lp() -> Subckt:
    c_lp = f"{{1/({spice_number(TWO_PI)}*1000*fc)}}"
    return Subckt("readout_lp", ("in", "out"), {"fc": "1e7"}, "\n".join([
        "Ebuf l0 0 in 0 1",
        "Rl1 l0 l1 1000",
        f"Cl1 l1 0 {c_lp}",
        "Ebuf2 l2 0 l1 0 1",
        "Rl2 l2 l3 1000",
        f"Cl2 l3 0 {c_lp}",
        "Eout out 0 l3 0 1",
    ]))


class Resonator(Device):
    """The MTJ resonator family: graph nodes ``resonator``.

    envelope, ``mtj_env pw df a b``: the resonator is an ideal DC voltage V(a, b) = V_dc for an
    input of power V(pw) (1 V = 1 uW) at frequency fin + V(df) (1 V = 1 MHz); series instances add
    up to a chain.
    rf, ``mtj_rf a b out``: the RF current flows from a to b through R(t); ``out`` is V(a, b)
    through a buffered two-pole low-pass at lp_ratio f_r (``readout_lp in out``), i.e. the
    rectified voltage. It is built on ``mtj_rf_core a b`` (the junction alone), which chains use so
    that only the chain has a read-out, and that on ``mtj_prec i dr`` (the precession, driven by
    the junction current V(i) in uA, adding orient (beta_s u + beta_a v) into node dr).
    """
    kind = "resonator"
    description = "MTJ resonator (spin diode): rectifies the RF power at its resonance, the synapse of RF chains"
    Params = ResonatorParams
    per_device_fields = ("f_r",)  # trained per device
    spice_names = {"f_r": "fr", "alpha": "alpha", "K_SD": "ksd", "a_sym": "asym", "a_asym": "aasym",
                   "R0": "r0", "lp_ratio": "lpr"}

    def spice_values(self, params=None, fields=None) -> dict[str, float]:
        """As :meth:`Device.spice_values`; without ``fields`` also the rf mixing coefficients
        ``bs`` and ``ba`` (Ohm/A) that the parameters imply (:func:`mixing_coefficients`)."""
        values = super().spice_values(params, fields)
        if fields is None:
            values["bs"], values["ba"] = mixing_coefficients(self.params(params))
        return values

    def subckt(self, fidelity: str, prm: ResonatorParams | None = None) -> Subckt:
        prm = self.params(prm)
        common = {"fr": prm.f_r, "alpha": prm.alpha}
        if check_fidelity(fidelity) == "envelope":
            values = {"fin": prm.f_r, **common, "ksd": prm.K_SD, "asym": prm.a_sym, "aasym": prm.a_asym}
            delta = f"(fin + V(df)*{spice_number(FREQ_UNIT)} - fr)"
            return Subckt("mtj_env", ("pw", "df", "a", "b"), values, "\n".join([
                "* spin-diode Lorentzian; fin is the centre frequency of the source feeding pw/df",
                f"Bv a b V = V(pw)*{spice_number(POWER_UNIT)}*ksd*(asym*(alpha*fr)^2 + aasym*2*(alpha*fr)*{delta})"
                f"/((alpha*fr)^2 + {delta}^2)",
            ]))
        if prm.alpha > RWA_ALPHA_LIMIT:
            warnings.warn(f"ResonatorParams.alpha = {prm.alpha}: the rf model's mixing coefficients "
                          f"assume the rotating-wave limit and deviate from the Lorentzian by about "
                          f"alpha of its peak (measured 3.3 % at alpha = 0.03)", RuntimeWarning)
        beta_s, beta_a = mixing_coefficients(prm)
        core = {**common, "r0": prm.R0, "bs": beta_s, "ba": beta_a}
        gam = f"({spice_number(TWO_PI)}*alpha*fr)"
        wr = f"({spice_number(TWO_PI)}*fr)"
        iu = spice_number(STATE_CURRENT_UNIT)
        readout = _readout_lp()
        prec = Subckt("mtj_prec", ("i", "dr"), {**common, "bs": beta_s, "ba": beta_a, "orient": 1},
                      "\n".join([
            "* precession m = u + i v (1 V = 1 uA) driven by the junction current V(i) (1 V = 1 uA):",
            "* dm/dt = -(i w_r + Gamma) m + Gamma I; it adds orient (beta_s u + beta_a v) (ohm) as a current",
            "* into the resistance-summing node dr. All linear: ngspice loads these far faster than B-sources",
            "Cu u 0 1",
            "Cv v 0 1",
            f"Gwu 0 u v 0 {{{wr}}}",
            f"Gwv v 0 u 0 {{{wr}}}",
            f"Rgu u 0 {{1/{gam}}}",
            f"Rgv v 0 {{1/{gam}}}",
            f"Gdrive 0 u i 0 {{{gam}}}",
            f"Gdru 0 dr u 0 {{orient*bs*{iu}}}",
            f"Gdrv 0 dr v 0 {{orient*ba*{iu}}}",
        ]))
        passed = {k: f"{{{k}}}" for k in ("fr", "alpha", "r0", "bs", "ba")}  # a parent's own values
        core_sc = Subckt("mtj_rf_core", ("a", "b"), core, "\n".join([
            "* the junction: V = I_rf R(t), R(t) = R0 + beta_s u + beta_a v",
            "Vsense a n1 0",
            f"Hi i 0 Vsense {{1/{iu}}}",
            "Rdr dr 0 1",
            prec.instance("Xp", {"i": "i", "dr": "dr"}, {k: passed[k] for k in ("fr", "alpha", "bs", "ba")}),
            "Bjn n1 b V = i(Vsense)*(r0 + V(dr))",
        ]), requires=(prec,))
        return Subckt("mtj_rf", ("a", "b", "out"), {**core, "lpr": prm.lp_ratio}, "\n".join([
            "* one resonator with its own read-out: V(a, b) through the two-pole low-pass at lpr * fr",
            core_sc.instance("Xcore", {"a": "a", "b": "b"}, passed),
            "Eab ab 0 a b 1",
            readout.instance("Xlp", {"in": "ab", "out": "out"}, {"fc": "{lpr*fr}"}),
        ]), requires=(readout, core_sc))

    def verilog_a(self, prm: ResonatorParams | None = None) -> dict[str, str]:
        return {"mtj_resonator.va": verilog_a(self.params(prm))}


DEVICE = register_device(Resonator())


def spice_subckt(prm: ResonatorParams, fidelity: str) -> str:
    """Text of the subcircuits ``mtj_env`` (envelope) or ``mtj_rf`` and those it is built on (rf),
    with defaults from ``prm``; ports and parameters: :class:`Resonator`."""
    return DEVICE.library(fidelity, prm)


def readout_lowpass_subckt() -> str:
    """``readout_lp in out params: fc``: buffered two-pole RC low-pass (poles at fc), the DC
    read-out of rectified voltages at rf fidelity; high input impedance, ideal output."""
    return _readout_lp().text


def verilog_a(prm: ResonatorParams) -> str:
    beta_s, beta_a = mixing_coefficients(prm)
    return f"""// MTJ resonator (spin diode) models generated from ResonatorParams.
`include "disciplines.vams"
`include "constants.vams"

// envelope: V(a,b) = P K_SD [a_sym D^2 + a_asym 2 D (f - fr)] / [D^2 + (f - fr)^2];
// pw in 1 V = 1 uW and df in 1 V = 1 MHz, as the ngspice subcircuit mtj_env
module mtj_env(pw, df, a, b);
  input pw, df; inout a, b;
  electrical pw, df, a, b;
  parameter real fin = {spice_number(prm.f_r)};
  parameter real fr = {spice_number(prm.f_r)};
  parameter real alpha = {spice_number(prm.alpha)};
  parameter real ksd = {spice_number(prm.K_SD)};
  parameter real asym = {spice_number(prm.a_sym)};
  parameter real aasym = {spice_number(prm.a_asym)};
  real d, delta;
  analog begin
    d = alpha * fr;
    delta = fin + V(df) * {spice_number(FREQ_UNIT)} - fr;
    V(a, b) <+ V(pw) * {spice_number(POWER_UNIT)} * ksd * (asym * d * d + aasym * 2.0 * d * delta)
               / (d * d + delta * delta);
  end
endmodule

// rf: driven damped precession m = u + i v (A), R(t) = r0 + bs u + ba v, low-pass read-out
module mtj_rf(a, b, out);
  inout a, b; output out;
  electrical a, b, out, u, v, l1;
  parameter real fr = {spice_number(prm.f_r)};
  parameter real alpha = {spice_number(prm.alpha)};
  parameter real r0 = {spice_number(prm.R0)};
  parameter real bs = {spice_number(beta_s)};
  parameter real ba = {spice_number(beta_a)};
  parameter real lpr = {spice_number(prm.lp_ratio)};
  real irf, gam, wr, tlp;
  analog begin
    gam = `M_TWO_PI * alpha * fr;
    wr = `M_TWO_PI * fr;
    tlp = 1.0 / (`M_TWO_PI * lpr * fr);
    irf = I(a, b);
    V(a, b) <+ irf * (r0 + bs * V(u) + ba * V(v));
    I(u) <+ ddt(V(u)) - (wr * V(v) - gam * V(u) + gam * irf);
    I(v) <+ ddt(V(v)) - (-wr * V(u) - gam * V(v));
    I(l1) <+ tlp * ddt(V(l1)) + V(l1) - V(a, b);
    I(out) <+ tlp * ddt(V(out)) + V(out) - V(l1);
  end
endmodule
"""
