"""Graph -> ngspice netlist, at envelope fidelity.

Envelope: signals are powers (1 V = 1 uW), DC chain voltages and STNO powers. Source frequencies are
fixed (N = 0), so each resonator rectifies input i with a constant factor G(f_i, f_r): a chain's
voltage is linear in the powers on its line. The compiler writes one linear VCCS per (chain, input)
pair into the chain's summing node, whose gain sums the chain's resonators (models.resonator, the
same Lorentzian the surrogate uses) with their orientations. Device level (the default,
spicegen.device_level): each resonator is a ``.param`` named after its graph id and the gains are
expressions of those params that ngspice evaluates once, when it reads the deck; otherwise the gains
are numbers. Either way a 784 -> 128 layer (1e5 resonators) is 1e5 VCCS lines, and ngspice spends
its time on what the surrogate does not model: the STNOs' transient power dynamics, the amplifiers'
clamps, the read-out timing.

The netlist is a deterministic function of the graph and the stimulus. Element and node names are
generated from numbers (layer, index); names derived from graph ids are sanitised
(device_level.Names) and graph ids appear otherwise only in sanitised comments.
"""
from __future__ import annotations

import dataclasses
import math
import re

import networkx as nx
import numpy as np
import torch

from spintronic.models import get_device, resonator, stno
from spintronic.models.params import spice_number as num
from spintronic.models.units import POWER_UNIT, STATE_CURRENT_UNIT

from spintronic.graph import schema
from . import rfstep
from .deck import Options, Tran


from .device_level import DEFAULT_TERM_BUDGET, SHARED as _SHARED, DeviceLevel


class CompileError(ValueError):
    """The graph cannot be compiled at the fidelity asked for."""


def _finite(values, node, what: str) -> None:
    """A CompileError naming ``node`` when a value computed from its parameters overflowed: each
    parameter is finite (the schema checks that), but absurd ones can multiply past 1e308."""
    if not np.isfinite(np.asarray(values, dtype=np.float64)).all():
        raise CompileError(f"node {node!r}: {what} overflows (is not finite); its parameters are "
                           f"beyond any physical range")


@dataclasses.dataclass
class Netlist:
    text: str
    read_times: np.ndarray          # when to sample the outputs, one per sample
    outputs: list[str]              # vector names of the output chain voltages, by class
    hidden: list[list[str]]         # vector names of hidden chain voltages, per hidden layer
    n_samples: int
    style: str = "envelope"         # what the deck simulates: envelope, rf or transient

    def user_deck(self, stem: str = "deck") -> str:
        """The deck a user runs with plain ``ngspice -b``: ``text`` plus a ``.control`` block that
        runs it, prints the outputs at the read times and writes them beside the deck as
        ``<stem>.outputs.txt`` (spicegen.user_deck). ``text`` itself is what the back ends run."""
        from .user_deck import user_deck
        return user_deck(self, stem)

    def write(self, path: str) -> None:
        """Write :meth:`user_deck` to ``path`` (its output files are named after it)."""
        import os

        from spintronic.graph.files import atomic_write_text
        atomic_write_text(path, self.user_deck(os.path.splitext(os.path.basename(path))[0]))


def _comment(text: str) -> str:
    """A comment that cannot smuggle a card into the netlist: one line, printable ASCII only."""
    return "* " + re.sub(r"[^A-Za-z0-9_.,:=+\- ()/]", "_", str(text))[:200]


def _check_rf(g: nx.DiGraph) -> None:
    """The schema and the RF network's structure: what the compilers below rely on."""
    from spintronic.graph.structure import check_rf

    schema.validate(g)
    if g.graph.get("network") != "rf":
        raise CompileError(f"this is a {g.graph.get('network')!r} graph, not an RF network")
    check_rf(g)


def layer_weights(g: nx.DiGraph, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """(W, bias): W[j, i] in V/W is what chain j of ``layer`` rectifies per watt of its line's
    source i, crosstalk and orientations included; bias[j] in V."""
    srcs = schema.sources(g, layer)
    freqs = []
    for s in srcs:
        a = g.nodes[s]
        if a.get("N", 0) != 0:
            raise CompileError(f"{s}: envelope fidelity assumes fixed source frequencies, but "
                               f"this STNO pulls its frequency (N = {a['N']}); use rf fidelity")
        freqs.append(source_frequency(g, s))
    f = torch.tensor(freqs, dtype=torch.float64)
    chain_list = schema.chains(g, layer)
    W = np.zeros((len(chain_list), len(srcs)))
    params_cache: dict = {}
    bias = np.zeros(len(chain_list))
    for j, (_, path, end) in enumerate(chain_list):
        attrs = [g.nodes[r] for r in path]
        f_r = torch.tensor([a["f_r"] for a in attrs], dtype=torch.float64)
        sign = torch.tensor([a["orientation"] for a in attrs], dtype=torch.float64)
        # resonators of one chain may differ in more than f_r: group by their parameters
        groups: dict = {}
        for k, a in enumerate(attrs):
            groups.setdefault(tuple(a[name] for name in _SHARED), []).append(k)
        total = torch.zeros(len(srcs), dtype=torch.float64)
        for key, ks in groups.items():
            prm = params_cache.get(key) or params_cache.setdefault(
                key, schema.resonator_params({**dict(zip(_SHARED, key)), "f_r": 1.0}))
            idx = torch.tensor(ks)
            g_ki = resonator.lorentzian(f[None, :], f_r[idx, None], prm)
            bad = (~torch.isfinite(g_ki)).any(1).nonzero()
            if len(bad):
                _finite([math.inf], path[ks[int(bad[0])]], "its rectification (V/W)")
            total += (sign[idx, None] * g_ki).sum(0)
        _finite(total.numpy(), end, f"the sum of the chain of layer {layer} that ends here")
        W[j] = total.numpy()
        bias[j] = g.nodes[end].get("chain_bias", 0.0)  # dynamical neurons hold their own bias
    return W, bias


def source_power_scale(g: nx.DiGraph, layer: int) -> np.ndarray:
    """Per source of ``layer``: watts on the line per watt emitted (inputs: 1)."""
    return np.array([g.nodes[s].get("attenuation", 1.0) for s in schema.sources(g, layer)])


def source_power(g: nx.DiGraph, node) -> float:
    """Watts a source puts on its line at full scale: an input's (or signal's) p_max, or an
    oscillator's largest emitted power (at its upper current clamp), times its attenuation."""
    a = g.nodes[node]
    if "p_max" in a:
        p = float(a["p_max"])
    else:
        prm = schema.stno_params(a)
        i_max = torch.tensor(prm.I_max_ratio * prm.I_th, dtype=torch.float64)
        p = float(stno.emitted_power(stno.steady_power(i_max, prm), i_max, prm))
    return p * float(a.get("attenuation", 1.0))


def _pwl(times: np.ndarray, values: np.ndarray) -> str:
    pairs = " ".join(f"{num(t)} {num(v)}" for t, v in zip(times, values))
    return f"PWL({pairs})"


def check_stimulus(X: np.ndarray, n_in: int, window: float, rise: float) -> np.ndarray:
    """X as float64 (n_samples, n_in) in [0, inf), refused before anything is built when its
    shape, values or window are wrong, or when the windowed netlist would exceed the limits
    (.tran steps of window / 50, one PWL point pair per value)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise CompileError(f"stimulus must have shape (n_samples, {n_in}), got {X.shape}")
    if not np.isfinite(X).all() or X.min() < 0:
        raise CompileError("stimulus values must be finite and >= 0")
    if not (window > 0 and 0 < rise < window):
        raise CompileError(f"need window > rise > 0, got window={window}, rise={rise}")
    n = len(X)
    if 50 * n > schema.MAX_TIME_POINTS or n * n_in > schema.MAX_INPUT_LEVELS:
        raise CompileError(f"{n} samples of {n_in} inputs make {50 * n:,} time points and "
                           f"{n * n_in:,} input levels in one netlist; the limits are "
                           f"{schema.MAX_TIME_POINTS:,} and {schema.MAX_INPUT_LEVELS:,}: compile "
                           f"fewer samples at a time")
    return X


def compile_envelope(g: nx.DiGraph, X: np.ndarray, window: float = 200e-9, rise: float = 1e-9,
                     p_init: float = 1e-3, title: str = "", checked: bool = False,
                     device_level: bool = True, term_budget: int = DEFAULT_TERM_BUDGET) -> Netlist:
    """Netlist that plays the samples X (n, n_in) in [0, 1] one after another, each for ``window``
    seconds, and reads the output chains at the end of each window.

    p_init: initial STNO power, a thermal-level seed (p = 0 is a fixed point of the power equation).
    checked: the caller has already run the schema and structure checks on this very graph (a
    co-simulation does, once for all its chunks).
    device_level: every resonator a ``.param`` and the chain gains expressions of them, with at
    most ``term_budget`` explicit Lorentzian terms (spicegen.device_level); False: numeric gains.
    """
    if not checked:
        _check_rf(g)
    sizes = schema.layer_sizes(g)
    X = check_stimulus(X, sizes[0], window, rise)
    n = len(X)
    lines = [f"* spicegen envelope netlist {title}".rstrip(),
             _comment(f"network sizes {','.join(map(str, sizes))}, {n} samples, window {window:g} s")]
    layers = [layer_weights(g, l) for l in range(1, len(sizes))]
    dev = None
    if device_level:
        dev = DeviceLevel(g, sizes, [[source_frequency(g, s) for s in schema.sources(g, l)]
                                     for l in range(1, len(sizes))], term_budget)
        lines += dev.header() + dev.params()
    lines.append(Options(reltol=1e-5, vntol=1e-12, abstol=1e-15).render())
    stno_nodes = sorted((nd for nd, a in g.nodes(data=True) if a["kind"] == "stno"),
                        key=lambda nd: (g.nodes[nd]["layer"], g.nodes[nd]["index"]))
    if stno_nodes:
        lines.append(stno.spice_subckt(schema.stno_params(g.nodes[stno_nodes[0]]), "envelope"))

    # inputs: each sample's powers held for a window, switched in `rise`
    t_edges = np.arange(n) * window
    times = np.empty(2 * n)
    times[0::2] = t_edges
    times[1::2] = t_edges + rise
    times[0] = 0.0
    lines.append("* input sources, 1 V = 1 uW")
    for i, src in enumerate(schema.sources(g, 1)):
        a = g.nodes[src]
        lines.append(_comment(f"{src} at {a['frequency']!r} Hz"))
        values = np.repeat(X[:, i] * a["p_max"] / POWER_UNIT, 2)
        _finite(values, src, "its input power (p_max times the stimulus)")
        values[0::2] = np.concatenate([[values[0]], values[1:-1:2]])  # hold previous until ramp
        lines.append(f"Vin{i} pw0_{i} 0 {_pwl(times, values)}")

    outputs, hidden, ics = [], [], []
    for l, (W_vw, bias) in enumerate(layers, start=1):
        scale = source_power_scale(g, l) * POWER_UNIT       # volts of power node per watt
        W = W_vw * scale[None, :]                           # volts per volt of power node
        for j, (_, path, end) in enumerate(schema.chains(g, l)):
            _finite(W[j], end, f"the weights of the chain of layer {l} that ends here")
        chain_lines = dev.chain_cards(l - 1, W_vw, scale) if dev else None
        lines.append(f"* layer {l}: {W.shape[0]} chains on {W.shape[1]} sources")
        for j, (_, path, end) in enumerate(schema.chains(g, l)):
            node = f"c{l}_{j}"
            lines.append(_comment(f"chain {j} ending at {end}: {len(path)} resonators"))
            lines.append(f"Rc{l}_{j} {node} 0 1")
            lines.append(f"Ib{l}_{j} 0 {node} DC {num(bias[j])}")
            lines += chain_lines[j] if dev else [f"G{l}_{j}_{i} 0 {node} pw{l - 1}_{i} 0 {num(w)}"
                                                 for i, w in enumerate(W[j])]
            if g.nodes[end]["kind"] == "readout":
                outputs.append(f"v({node})")
                continue
            cards, ic = _neuron_cards(g, end, l, j, node, "envelope", p_init)
            lines += cards
            ics.append(ic)
        if l < len(sizes) - 1:
            hidden.append([f"v(c{l}_{j})" for j in range(W.shape[0])])
    lines += ics
    saved = outputs + [v for layer in hidden for v in layer]
    lines.append(".save " + " ".join(saved))
    t_stop = n * window
    lines.append(Tran(window / 50, t_stop, 0, window / 10).render())
    lines.append(".end")
    read_times = (np.arange(n) + 1) * window
    return Netlist("\n".join(lines) + "\n", read_times, outputs, hidden, n)


def _neuron_cards(g: nx.DiGraph, amp_node, l: int, j: int, chain_node: str,
                  fidelity: str, p_init: float) -> tuple[list[str], str]:
    """Amplifier (clamped transconductance) and the STNO it drives, for chain j of layer l, and
    the ``.ic`` card that seeds the STNO's power."""
    (osc,) = list(g.successors(amp_node))
    amp, s = g.nodes[amp_node], g.nodes[osc]
    i_min, i_max = s["I_min_ratio"] * s["I_th"], s["I_max_ratio"] * s["I_th"]
    _finite([i_min, i_max], osc, "its current clamps (I_min_ratio, I_max_ratio times I_th)")
    nodes = ({"in": f"in{l}_{j}", "p": f"p{l}_{j}", "pw": f"pw{l}_{j}", "df": f"df{l}_{j}"}
             if fidelity == "envelope" else {"in": f"in{l}_{j}", "out": f"rf{l}_{j}", "p": f"p{l}_{j}"})
    instance = get_device("stno").instance(f"Xs{l}_{j}", nodes, params=s, fidelity=fidelity)
    return [f"Ba{l}_{j} 0 in{l}_{j} I = min(max({num(amp['g_m'])}*(V({chain_node}) + "
            f"{num(amp['v_bias'])}), {num(i_min)}), {num(i_max)})", instance], \
        stno.initial_condition(f"xs{l}_{j}", p_init, fidelity)


def source_frequency(g: nx.DiGraph, node) -> float:
    """Carrier frequency of a layer's source: an input's (or a dynamical signal's), or an STNO's f0."""
    a = g.nodes[node]
    return a["frequency"] if a["kind"] in ("input", "signal") else a["f0"]


def chain_cards(f_rs, orientations, r0_total: float, tag: str, head: str) -> list[str]:
    """A chain of resonators (resonance frequencies f_rs, orientations +-1) from ``head`` to
    ground, as ngspice runs it fastest.

    The resonators are in series, so one current I flows through all of them and their junction
    voltages add up to I (sum R0 + sum_k o_k dR_k), where a resonator mounted tail-to-head
    (o_k = -1) sees -I and so contributes -dR_k. Each resonator keeps its own precession
    (``mtj_prec``, linear, driven by I); the product is one B-source per chain instead of one per
    resonator, which is what ngspice spends its time evaluating. Same waveforms as a string of
    ``mtj_rf_core`` two-terminals (tests/test_compiler_cosim.py holds them together).
    """
    iu = num(1 / STATE_CURRENT_UNIT)
    lines = [f"Vs{tag} {head} n{tag} 0",
             f"Hi{tag} i{tag} 0 Vs{tag} {iu}",
             f"Rdr{tag} dr{tag} 0 1"]
    res = get_device("resonator")
    lines += [res.instance(f"Xr{tag}_{k}", {"i": f"i{tag}", "dr": f"dr{tag}"}, fidelity="rf",
                           subckt="mtj_prec", spice={"fr": f, "orient": int(o)})
              for k, (f, o) in enumerate(zip(f_rs, orientations))]
    lines.append(f"Bjn{tag} n{tag} 0 V = i(Vs{tag})*({num(r0_total)} + V(dr{tag}))")
    return lines


def compile_rf(g: nx.DiGraph, x: np.ndarray, settle_tau: float = 12.0,
               points_per_period: int = rfstep.POINTS_PER_PERIOD, lp_ratio: float | None = None,
               p_init: float = 0.05, title: str = "", checked: bool = False) -> Netlist:
    """Carrier-level netlist of one sample x (n_in,) in [0, 1].

    Inputs are ideal carriers of amplitude sqrt(2 Z0 P_i) at their frequency; every chain is a
    series string of resonators (head-to-tail by orientation, see ``chain_cards``) driven by the sum of the
    line currents; its voltage reaches the amplifier through a two-pole read-out low-pass at
    lp_ratio (the resonators' own unless given) times the lowest carrier on its line; hidden STNOs
    are ``stno_rf`` auto-oscillators. What the envelope netlist assumes (mixing, crosstalk as
    Lorentzian tails, ideal read-out) is here computed from the waveforms. Each layer gets
    settle_tau of its slowest time constant (read-out pole or resonator decay) to settle; the
    outputs are then averaged over 20 periods of the slowest carrier (``read_times`` holds the
    window's start).
    The step is fixed (``points_per_period`` of the fastest carrier) and the input carriers are
    pre-warped for it, see spicegen.rfstep. ``checked``: as for :func:`compile_envelope`.
    """
    if not checked:
        _check_rf(g)
    sizes = schema.layer_sizes(g)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.shape != (sizes[0],) or not np.isfinite(x).all() or x.min() < 0:
        raise CompileError(f"an rf sample must be {sizes[0]} finite values >= 0, got shape {x.shape}")
    res_nodes = [a for _, a in g.nodes(data=True) if a["kind"] == "resonator"]
    res_prm = schema.resonator_params(res_nodes[0])
    # one mtj_prec subcircuit holds every resonator's parameters but f_r: a resonator that
    # differed would silently be simulated with the first one's
    first = tuple(res_nodes[0][f] for f in _SHARED)
    for node, a in g.nodes(data=True):
        if a["kind"] == "resonator" and tuple(a[f] for f in _SHARED) != first:
            raise CompileError(f"node {node!r} (resonator): rf fidelity takes one set of resonator "
                               f"parameters (all but f_r) per network, and this one's differ")
    stno_nodes = [a for _, a in g.nodes(data=True) if a["kind"] == "stno"]
    freqs = [g.nodes[s]["frequency"] for s in schema.sources(g, 1)]
    freqs += [a["f0"] + max(a["N"], 0) / stno.TWO_PI for a in stno_nodes]
    f_min, f_max = min(freqs), max(freqs)
    dt = rfstep.step_for(f_max, points_per_period)
    lp = res_prm.lp_ratio if lp_ratio is None else float(lp_ratio)
    if not 0 < lp < 1:
        raise CompileError(f"the read-out corner must be a fraction of the carrier in (0, 1), got {lp!r}")
    taus = []
    for l in range(1, len(sizes)):
        line_f = min(source_frequency(g, s) for s in schema.sources(g, l))
        f_r = min(g.nodes[r]["f_r"] for _, path, _ in schema.chains(g, l) for r in path)
        taus.append(max(1 / (lp * line_f), 1 / (res_prm.alpha * f_r)) / stno.TWO_PI)
    t_stop = settle_tau * sum(taus) + 20.0 / f_min
    if not t_stop / dt <= schema.MAX_TIME_POINTS:    # also refuses an overflow to inf or nan
        raise CompileError(f"the carrier-level run would take {t_stop / dt:.3g} time points (settling "
                           f"{t_stop:.3g} s at a step of {dt:.3g} s); the limit is "
                           f"{schema.MAX_TIME_POINTS:,}: the graph's slowest resonator or read-out "
                           f"is too slow for its fastest carrier")
    lines = [f"* spicegen rf netlist {title}".rstrip(),
             _comment(f"network sizes {','.join(map(str, sizes))}, one sample, {t_stop:g} s"),
             Options(reltol=1e-5, abstol=1e-15, vntol=1e-9).render(),
             resonator.spice_subckt(res_prm, "rf")]
    if stno_nodes:
        lines.append(stno.spice_subckt(schema.stno_params(stno_nodes[0]), "rf"))
    lines.append("* input carriers: amplitude sqrt(2 Z0 P) into the line impedance Z0, emitted at the "
                 "frequency the fixed-step integrator maps onto f")
    for i, src in enumerate(schema.sources(g, 1)):
        a = g.nodes[src]
        amp = np.sqrt(2.0 * res_prm.Z0 * x[i] * a["p_max"])
        f_emit = rfstep.prewarp(a["frequency"], dt)
        # sin: zero at t = 0, so the operating point does not charge the read-out low-passes
        lines.append(f"Bsrc0_{i} rf0_{i} 0 V = {num(amp)}*sin({num(stno.TWO_PI * f_emit)}*time)")
    outputs, hidden, ics = [], [], []
    for l in range(1, len(sizes)):
        srcs = schema.sources(g, l)
        att = source_power_scale(g, l)
        line_f_min = min(source_frequency(g, s) for s in srcs)
        # line current = sum of sqrt(attenuation) V_src / Z0; one linear VCCS per source, which
        # ngspice loads far faster than one B-source summing them
        gains = [num(np.sqrt(att[i]) / res_prm.Z0) for i in range(len(srcs))]
        lines.append(f"* layer {l}")
        layer_chains = schema.chains(g, l)
        for j, (_, path, end) in enumerate(layer_chains):
            head = f"h{l}_{j}"
            lines += [f"Gline{l}_{j}_{i} 0 {head} rf{l - 1}_{i} 0 {gm}" for i, gm in enumerate(gains)]
            res = [g.nodes[r] for r in path]
            lines += chain_cards([a["f_r"] for a in res], [a["orientation"] for a in res],
                                 sum(a["R0"] for a in res), f"{l}_{j}", head)
            lines.append(get_device("resonator").instance(
                f"Xlp{l}_{j}", {"in": head, "out": f"lp{l}_{j}"}, fidelity="rf",
                subckt="readout_lp", spice={"fc": lp * line_f_min}))
            node = f"c{l}_{j}"
            lines.append(f"Bc{l}_{j} {node} 0 V = V(lp{l}_{j}) + {num(g.nodes[end]['chain_bias'])}")
            if g.nodes[end]["kind"] == "readout":
                outputs.append(f"v({node})")
                continue
            cards, ic = _neuron_cards(g, end, l, j, node, "rf", p_init)
            lines += cards
            ics.append(ic)
        if l < len(sizes) - 1:
            hidden.append([f"v(c{l}_{j})" for j in range(len(layer_chains))])
    lines += ics
    lines.append(".save " + " ".join(outputs + [v for layer in hidden for v in layer]))
    lines += rfstep.cards(dt, t_stop)
    lines.append(".end")
    read_start = np.array([t_stop - 20.0 / f_min])
    return Netlist("\n".join(lines) + "\n", read_start, outputs, hidden, 1, "rf")
