"""Device twins: each device's torch surrogate and its ngspice model driven by the same stimulus.

Every testbench returns a :class:`TwinResult`: the checks (measured error against tolerance) and
the curves to plot. They are the device-level proof that surrogate and circuit agree; the tests run
them, and ``spicegen twins`` prints their table and writes one PNG per device.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import torch
from scipy import signal, stats

from spintronic.models import domain_wall, resonator, stno
from spintronic.models.device import DEVICES, get_device
from spintronic.models.domain_wall import DomainWallParams
from spintronic.models.params import spice_number as num
from spintronic.models.resonator import ResonatorParams
from spintronic.models.stno import STNOParams

from . import rfstep
from .deck import DC, Options, Tran
from .runner import run_many, run_netlist


@dataclasses.dataclass
class Check:
    device: str
    name: str
    error: float
    tolerance: float
    unit: str = ""

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)


@dataclasses.dataclass
class TwinResult:
    device: str
    checks: list[Check]
    curves: dict[str, np.ndarray]
    twin: str = ""  # the name of the registered twin that made it (set by @twin)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


# ------------------------------------------------------------------------------ registry

_TWINS_OF: dict[str, dict[str, Callable[..., TwinResult]]] = {}


def twin(*kinds: str) -> Callable:
    """Register the decorated testbench as a twin of the device families ``kinds`` (one twin may
    check several: the DW twin checks both DW devices). Its name is the function's without
    ``_twin``; the TwinResult it returns carries that name in ``twin``, which picks its plot."""
    if not kinds:
        raise ValueError("a twin checks at least one device family")
    for kind in kinds:
        get_device(kind)  # an unknown kind names the registered ones

    def register(fn: Callable[..., TwinResult]) -> Callable[..., TwinResult]:
        name = fn.__name__.removesuffix("_twin")

        @functools.wraps(fn)
        def run(*args, **kwargs) -> TwinResult:
            result = fn(*args, **kwargs)
            result.twin = result.twin or name
            return result

        for kind in kinds:
            _TWINS_OF.setdefault(kind, {})[name] = run
        return run
    return register


def twins_of(kind: str) -> dict[str, Callable[..., TwinResult]]:
    """Name -> testbench of every twin registered for the device family ``kind``."""
    return dict(_TWINS_OF.get(get_device(kind).kind, {}))


class _Twins(Mapping):
    """Name -> testbench of every registered twin, by device family in registration order: a
    live view, so that a family or twin registered later is in it."""

    def _all(self) -> dict[str, Callable[..., TwinResult]]:
        return {name: fn for kind in DEVICES for name, fn in _TWINS_OF.get(kind, {}).items()}

    def __getitem__(self, name: str) -> Callable[..., TwinResult]:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"TWINS({list(self)})"


def _deck(title: str, *blocks: str) -> str:
    return "\n".join([f"* {title}", *blocks, ".end"]) + "\n"


def _pwl(times: list[float], values: list[float]) -> str:
    return "PWL(" + " ".join(f"{num(t)} {num(v)}" for t, v in zip(times, values)) + ")"


def _step_pwl(levels: list[float], t_seg: float, rise: float) -> str:
    """Piecewise-constant levels, each held t_seg, switched in ``rise`` seconds."""
    times, values = [0.0], [levels[0]]
    for k in range(1, len(levels)):
        times += [k * t_seg - rise, k * t_seg]
        values += [levels[k - 1], levels[k]]
    return _pwl(times, values)


# ------------------------------------------------------------------------------ STNO, envelope

STNO_ENV_LEVELS = (2.0, 3.0, 1.5, 0.5, 2.5)  # drive in units of I_th: above and below threshold


@twin("stno")
def stno_envelope_twin(prm: STNOParams | None = None, backend: str = "subprocess",
                       t_seg: float = 100e-9, dt: float = 0.05e-9) -> TwinResult:
    """p(t) after current steps above and below threshold; steady states; relaxation times."""
    prm = prm or STNOParams()
    levels = [z * prm.I_th for z in STNO_ENV_LEVELS]
    p_init = float(stno.steady_power(torch.tensor(levels[0]), prm))
    t_stop = t_seg * len(levels)
    netlist = _deck(
        "STNO envelope twin",
        stno.spice_subckt(prm, "envelope"),
        f"Iin 0 in {_step_pwl(levels, t_seg, 1e-12)}",
        "X1 in p pw df stno_env",
        stno.initial_condition("x1", p_init, "envelope"),
        Options(reltol=1e-6, abstol=1e-15, vntol=1e-12).render(),
        Tran(dt, t_stop, 0, dt).render(),
    )
    res = run_netlist(netlist, backend)
    t_sp, p_sp = res.scale, res["p"]

    n_seg = int(round(t_seg / dt))
    currents = torch.tensor(np.repeat(levels, n_seg), dtype=torch.float64)
    p_sur = stno.simulate_power(torch.tensor(p_init, dtype=torch.float64), currents, dt, prm).numpy()
    t_sur = np.arange(len(p_sur)) * dt
    p_sp_on_grid = np.interp(t_sur, t_sp, p_sp)
    p0 = stno.steady_power(torch.tensor(levels, dtype=torch.float64), prm).numpy()
    # each step against its own p0 (below threshold, where p0 = 0, against the level it left)
    worst = 0.0
    for k in range(len(levels)):
        seg = slice(k * n_seg, (k + 1) * n_seg + 1)
        ref = p0[k] if p0[k] > 0 else p0[k - 1]
        worst = max(worst, float(np.abs(p_sp_on_grid[seg] - p_sur[seg]).max() / ref))
    checks = [Check("STNO envelope", "max |dp| / p0 of each step", worst, 0.01)]
    for k, (z, target) in enumerate(zip(STNO_ENV_LEVELS, p0)):
        if target == 0:
            continue
        end = np.interp((k + 1) * t_seg - dt, t_sp, p_sp)
        checks.append(Check("STNO envelope", f"steady state at z={z:g} vs (z-1)/(z+Q)",
                            float(abs(end - target) / target), 0.01))
    for k, z in enumerate(STNO_ENV_LEVELS):
        if k == 0:
            continue
        tau_pred = float(stno.relaxation_time(torch.tensor(levels[k]), prm))
        tau_meas = _relaxation_time(t_sp, p_sp, k * t_seg, t_seg, p0[k])
        checks.append(Check("STNO envelope", f"relaxation time at z={z:g} vs 1/(2Gg|z-1|)",
                            abs(tau_meas - tau_pred) / tau_pred, 0.02))
    curves = {"t": t_sur, "p_surrogate": p_sur, "p_spice": p_sp_on_grid,
              "current": np.append(currents.numpy(), levels[-1])}
    return TwinResult("STNO envelope", checks, curves)


def _relaxation_time(t: np.ndarray, p: np.ndarray, t_start: float, t_seg: float,
                     p_final: float) -> float:
    """Fit exp decay of |p - p_final| in the segment's late part (the linear regime)."""
    dist = np.abs(p - p_final)
    sel = (t > t_start) & (t < t_start + t_seg)
    tt, dd = t[sel], dist[sel]
    ref = dd.max()
    # linear regime: between 3 % and 0.01 % of the initial distance, away from numerical floor
    window = (dd < 0.03 * ref) & (dd > max(1e-4 * ref, 1e-9))
    if window.sum() < 5:
        return float("nan")
    slope = np.polyfit(tt[window], np.log(dd[window]), 1)[0]
    return -1.0 / slope


# ------------------------------------------------------------------------------ STNO, rf

# This twin checks the oscillator's own frequency, so it runs with a variable step small enough
# that ngspice's trapezoidal warp (a carrier at f behaves as one at f (1 + (2 pi f h)^2 / 12)) stays
# below 1e-4 f. Network decks instead hold the step fixed, where the warp is one known map that the
# resonators undo (spicegen/rfstep.py); the resonator rf twin below uses that scheme.
RF_POINTS_PER_PERIOD = 200

@twin("stno")
def stno_rf_twin(prm: STNOParams | None = None, backend: str = "subprocess",
                 t_seg: float = 60e-9, points_per_period: int = RF_POINTS_PER_PERIOD) -> TwinResult:
    """Carrier waveform: its amplitude envelope and instantaneous frequency against the envelope
    surrogate and f0 + N p / 2 pi."""
    prm = prm or STNOParams(N=stno.TWO_PI * 50e6)
    z_levels = (2.0, 3.0, 1.5)
    levels = [z * prm.I_th for z in z_levels]
    p_init = float(stno.steady_power(torch.tensor(levels[0]), prm))
    t_stop = t_seg * len(levels)
    f_max = prm.f0 + max(prm.N, 0) / stno.TWO_PI
    dt = 1.0 / (f_max * points_per_period)
    netlist = _deck(
        "STNO rf twin",
        stno.spice_subckt(prm, "rf"),
        f"Iin 0 in {_step_pwl(levels, t_seg, 1e-12)}",
        "X1 in out p stno_rf",
        # starting at the carrier's peak: the Hilbert estimate of the instantaneous frequency
        # below is 4x noisier on a record that starts at zero (measured 4.2 % vs 1.1 % of the
        # shift); the estimator, not the model, is what changes
        stno.initial_condition("x1", p_init, "rf", carrier_at_zero=False),
        Options(reltol=1e-6, abstol=1e-15, vntol=1e-9).render(),
        Tran(dt, t_stop, 0, dt).render(),
    )
    res = run_netlist(netlist, backend)
    t = np.arange(0.0, t_stop, dt)
    v = np.interp(t, res.scale, res["out"])
    analytic = signal.hilbert(v)
    amplitude = np.abs(analytic)
    phase = np.unwrap(np.angle(analytic))
    f_inst = np.gradient(phase, dt) / stno.TWO_PI
    # smooth the instantaneous frequency over 5 periods: the Hilbert phase of a discretely
    # sampled carrier wobbles at 2 f0
    n_avg = int(5 * points_per_period)
    f_inst = np.convolve(f_inst, np.ones(n_avg) / n_avg, mode="same")

    n_seg = int(round(t_seg / dt))
    currents = torch.tensor(np.repeat(levels, n_seg)[: len(t)], dtype=torch.float64)
    p_env = stno.simulate_power(torch.tensor(p_init, dtype=torch.float64), currents, dt,
                                prm).numpy()[: len(t)]
    amp_env = np.sqrt(2.0 * prm.Z0 * stno.emitted_power(
        torch.tensor(p_env), currents[: len(t)], prm).numpy())
    f_env = stno.frequency(torch.tensor(p_env), prm).numpy()

    # away from the record's ends and the current steps, where the Hilbert transform rings and
    # the smoothing window straddles the jump
    margin = 3e-9 + n_avg * dt
    keep = np.ones_like(t, dtype=bool)
    for edge in [0.0, t_stop] + [k * t_seg for k in range(1, len(levels))]:
        keep &= np.abs(t - edge) > margin
    amp_err = np.abs(amplitude - amp_env)[keep].max() / amp_env.max()
    shift = abs(prm.N) * stno.steady_power(torch.tensor(levels), prm).numpy().max() / stno.TWO_PI
    checks = [Check("STNO rf", "amplitude envelope vs envelope model (of max)", float(amp_err), 0.03)]
    f_err = np.abs(f_inst - f_env)[keep].max()
    if shift > 0:
        checks.append(Check("STNO rf", "inst. frequency vs f0 + N p/2pi (of the shift N p0/2pi)",
                            float(f_err / shift), 0.03))
    # also with N = 0: the carrier itself must sit at f0 to a tenth of a resonator linewidth
    checks.append(Check("STNO rf", "inst. frequency vs f0 + N p/2pi (relative to f)",
                        float(f_err / f_env.min()), 1e-3))
    step = max(1, len(t) // 4000)
    curves = {"t": t[::step], "v": v[::step], "amp_spice": amplitude[::step],
              "amp_surrogate": amp_env[::step], "f_spice": f_inst[::step],
              "f_surrogate": f_env[::step], "keep": keep[::step]}
    return TwinResult("STNO rf", checks, curves)


# ------------------------------------------------------------------------------ resonator

RESONANCES = (0.8e9, 1.0e9, 1.25e9)


@twin("resonator")
def resonator_envelope_twin(prm: ResonatorParams | None = None, backend: str = "subprocess",
                            f_rs: tuple[float, ...] = RESONANCES, power: float = 1e-6,
                            span: float = 5.0) -> TwinResult:
    """DC sweep of the input frequency over +-span linewidths at several f_r."""
    prm = prm or ResonatorParams()
    lines = [resonator.spice_subckt(prm, "envelope"),
             f"Vpw pw 0 {num(power / 1e-6)}", "Vu u 0 0"]
    for k, f_r in enumerate(f_rs):
        lines += [f"Edf{k} df{k} 0 u 0 {num(prm.linewidth(f_r) / 1e6)}",
                  f"X{k} pw df{k} o{k} 0 mtj_env params: fin={num(f_r)} fr={num(f_r)}"]
    lines += [Options(reltol=1e-6, vntol=1e-12).render(), DC("Vu", -span, span, 0.02).render()]
    res = run_netlist(_deck("resonator envelope twin", *lines), backend)
    u = res.scale
    checks, curves = [], {"u": u}
    for k, f_r in enumerate(f_rs):
        f = f_r + u * prm.linewidth(f_r)
        v_sur = resonator.rectified_voltage(torch.tensor(power), torch.tensor(f, dtype=torch.float64),
                                            torch.tensor(f_r, dtype=torch.float64), prm).numpy()
        v_sp = res[f"o{k}"]
        peak = np.abs(v_sur).max()
        checks.append(Check("resonator envelope", f"f_r={f_r / 1e9:g} GHz, |dV| / peak",
                            float(np.abs(v_sp - v_sur).max() / peak), 0.01))
        curves[f"v_surrogate_{k}"] = v_sur
        curves[f"v_spice_{k}"] = v_sp
    checks.append(_sign_flip_check("resonator envelope", u, [curves[f"v_spice_{k}"]
                                                             for k in range(len(f_rs))], prm))
    return TwinResult("resonator envelope", checks, curves)


def _sign_flip_check(device: str, u: np.ndarray, voltages: list[np.ndarray],
                     prm: ResonatorParams) -> Check:
    """Fraction of points whose sign is not that of the antisymmetric term's side of f_r."""
    wrong = 0
    total = 0
    side = np.sign(u) * np.sign(prm.a_asym)
    for v in voltages:
        away = np.abs(u) > 0.5  # the symmetric term may dominate right at resonance
        wrong += int(np.sum(np.sign(v[away]) != side[away]))
        total += int(away.sum())
    return Check(device, "sign flips across f_r (fraction of wrong signs)", wrong / max(total, 1), 0.0)


def _resonator_rf_deck(prm: ResonatorParams, f_r: float, u: np.ndarray, power: float,
                       points_per_period: int, settle_periods: float) -> tuple[str, float]:
    """The scheme the rf compiler uses: fixed trapezoidal step, carriers pre-warped for it."""
    i0 = resonator.drive_amplitude(power, prm)
    f_max = f_r + u.max() * prm.linewidth(f_r)
    h = rfstep.step_for(f_max, points_per_period)
    lines = [resonator.spice_subckt(prm, "rf")]
    for k, uk in enumerate(u):
        f = rfstep.prewarp(f_r + uk * prm.linewidth(f_r), h)
        lines += [f"B{k} 0 a{k} I = {num(i0)}*sin({num(stno.TWO_PI * f)}*time)",
                  f"X{k} a{k} 0 o{k} mtj_rf params: fr={num(f_r)}"]
    t_stop = settle_periods / f_r
    lines += [Options(reltol=1e-5, abstol=1e-15, vntol=1e-9).render()] + rfstep.cards(h, t_stop)
    return _deck(f"resonator rf twin f_r={f_r:g}", *lines), t_stop


@twin("resonator")
def resonator_rf_twin(prm: ResonatorParams | None = None, backend: str = "subprocess",
                      f_rs: tuple[float, ...] = RESONANCES, power: float = 1e-6,
                      n_points: int = 11, span: float = 5.0,
                      points_per_period: int = rfstep.POINTS_PER_PERIOD,
                      settle_periods: float = 200.0) -> TwinResult:
    """Carrier-level resonators driven at +-span linewidths; the low-passed rectified voltage after
    settling against the Lorentzian. Weak drive: P_in = 1 uW."""
    prm = prm or ResonatorParams()
    u = np.linspace(-span, span, n_points)
    decks = [_resonator_rf_deck(prm, f_r, u, power, points_per_period, settle_periods)
             for f_r in f_rs]
    # one ngspice process per resonance: independent decks, run on both cores (one after another
    # with a back end that is not parallel-safe)
    results = run_many([d for d, _ in decks], backend, "threads", workers=2, timeout=300)
    checks, curves = [], {"u": u}
    for k, (f_r, res, (_, t_stop)) in enumerate(zip(f_rs, results, decks)):
        t = res.scale
        last = t > t_stop - 20.0 / f_r  # average the residual carrier ripple over 20 periods
        v_sp = np.array([np.trapezoid(res[f"o{j}"][last], t[last]) / np.ptp(t[last])
                         for j in range(len(u))])
        f = f_r + u * prm.linewidth(f_r)
        v_sur = resonator.rectified_voltage(torch.tensor(power), torch.tensor(f, dtype=torch.float64),
                                            torch.tensor(f_r, dtype=torch.float64), prm).numpy()
        peak = np.abs(v_sur).max()
        checks.append(Check("resonator rf", f"f_r={f_r / 1e9:g} GHz, |dV| / peak",
                            float(np.abs(v_sp - v_sur).max() / peak), 0.03))
        curves[f"v_surrogate_{k}"] = v_sur
        curves[f"v_spice_{k}"] = v_sp
        if k == len(f_rs) // 2:
            j = int(np.argmax(v_sur))
            curves["t_example"] = t
            curves["v_example"] = res[f"o{j}"]
    checks.append(_sign_flip_check("resonator rf", u, [curves[f"v_spice_{k}"]
                                                       for k in range(len(f_rs))], prm))
    return TwinResult("resonator rf", checks, curves)


# ------------------------------------------------------------------------------ domain wall

DRIVES = (2.0, 3.5, 4.63168, 5.5, 7.0)


@twin("dw_synapse", "dw_mtj")
def domain_wall_twin(prm: DomainWallParams | None = None, backend: str = "subprocess",
                     drives: tuple[float, ...] = DRIVES, n_reads: int = 2000,
                     seed: int = 1) -> TwinResult:
    """Monte-Carlo switching frequency of dw_stoch against p(w), and DW-MTJ conductance."""
    prm = prm or DomainWallParams()
    lines = [domain_wall.spice_subckt(prm, "stochastic")]
    for k, w in enumerate(drives):
        lines += [f"Vd{k} d{k} 0 {num(w)}", f"X{k} d{k} s{k} dw_stoch"]
    # the first read holds the operating-point value, so it is skipped
    lines += [Options(seed=int(seed)).render(),
              Tran(prm.t_read / 4, (n_reads + 1) * prm.t_read, 0, prm.t_read / 4).render()]
    res = run_netlist(_deck("DW stochastic twin", *lines), backend)
    t_mid = (np.arange(1, n_reads + 1) + 0.5) * prm.t_read
    p_sur = domain_wall.switch_probability(torch.tensor(drives, dtype=torch.float64), prm).numpy()
    checks, freq, lo, hi = [], [], [], []
    for k, w in enumerate(drives):
        states = np.interp(t_mid, res.scale, res[f"s{k}"]) > 0.5
        count = int(states.sum())
        low, high = stats.binom.interval(0.99, n_reads, p_sur[k])
        # distance outside the 99 % binomial interval, in reads (0 when inside)
        outside = max(low - count, count - high, 0)
        checks.append(Check("domain wall", f"w={w:g}: {count}/{n_reads} switched, p(w)={p_sur[k]:.4f}"
                            f", reads outside 99% bounds", float(outside), 0.0))
        freq.append(count / n_reads)
        lo.append(low / n_reads)
        hi.append(high / n_reads)

    g_lines = [domain_wall.spice_subckt(prm, "mtj"), "Vt t1 0 0.1", "Vpos pos 0 0",
               "X1 t1 0 pos dw_mtj", DC("Vpos", -0.2, 1.2, 0.01).render()]
    gres = run_netlist(_deck("DW-MTJ conductance twin", *g_lines), backend)
    pos = gres.scale
    g_sp = -gres["i(vt)"] / 0.1
    g_sur = domain_wall.conductance(torch.tensor(pos, dtype=torch.float64), prm).numpy()
    checks.append(Check("domain wall", "DW-MTJ conductance vs position (relative)",
                        float(np.abs(g_sp - g_sur).max() / g_sur.max()), 1e-6))
    w_curve = np.linspace(min(drives) - 1, max(drives) + 1, 200)
    curves = {"w": np.array(drives), "freq": np.array(freq), "lo": np.array(lo),
              "hi": np.array(hi), "w_curve": w_curve,
              "p_curve": domain_wall.switch_probability(torch.tensor(w_curve), prm).numpy(),
              "pos": pos, "g_spice": g_sp, "g_surrogate": g_sur}
    return TwinResult("domain wall", checks, curves)


TWINS: Mapping[str, Callable[..., TwinResult]] = _Twins()


def run_twins(names: list[str] | None = None, backend: str = "subprocess",
              progress=None) -> list[TwinResult]:
    names = names or list(TWINS)
    unknown = [n for n in names if n not in TWINS]
    if unknown:
        raise ValueError(f"unknown twin(s) {unknown}; choose from {list(TWINS)}")
    results = []
    for name in names:
        results.append(TWINS[name](backend=backend))
        if progress is not None:
            progress(name)
    return results


def format_table(results: list[TwinResult]) -> str:
    rows = [(c.device, c.name, f"{c.error:.3g}", f"{c.tolerance:.3g}", "ok" if c.passed else "FAIL")
            for r in results for c in r.checks]
    header = ("device", "check", "error", "tolerance", "")
    widths = [max(len(str(x[i])) for x in rows + [header]) for i in range(5)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*row) for row in rows]
    return "\n".join(out)
