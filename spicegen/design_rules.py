"""Per-layer design rules: where the envelope co-simulation is blind to what the circuit does.

The envelope netlist (and the surrogate) treats every resonator as an instantaneous Lorentzian
rectifier of the powers on its line: the chain voltage is a DC level. In the circuit every pair of
carriers on one line also beats at |f_i - f_j| (the rectifier is bilinear in the line current, see
``spicegen.crosstalk``), and the read-out low-pass (two poles at lp_ratio x the lowest carrier on
the line, as ``compiler.compile_rf`` builds it) attenuates a beat by 1 / (1 + (f_b / f_c)^2) only.
With channels about a linewidth apart at alpha = lp_ratio, the closest beat sits at the corner and
passes nearly whole; an envelope co-simulation then agrees with the surrogate perfectly while the
rf circuit's chains ripple by as much as their signal.

Per resonator layer of a graph (every ``rf_line`` node: one per layer for rf, sparse and dynamical
chain-synapse graphs, one per patch for rfcnn's reuse arrangement), :func:`check` reports the
channel spacing in linewidths, the closest beat against the read-out corner, the predicted beat
ripple, the rotating-wave linewidth, and whether the envelope model's assumptions hold; every layer
that does not gets a message naming it and the ``spicegen crosstalk`` command that measures it.
Graphs without resonator lines (dw, ideal-synapse stno) give no rows.

From Python: ``rules = spicegen.design_rules.check(graph_or_path)``; ``rules.text()`` (one line
per layer), ``rules.warnings`` (failing layers), ``rules.notes`` (marginal ones), ``rules.rows``
(figures), ``rules.to_dict()`` (what report.json records). ``spicegen train``, ``export`` and
``cosim`` run it on the kind's lines (``NetworkKind.design_rules``).
"""
from __future__ import annotations

import dataclasses
import math

import networkx as nx
import numpy as np
import torch

from spintronic.graph import schema
from spintronic.models import resonator, stno
from spintronic.models.resonator import RWA_ALPHA_LIMIT, ResonatorParams, two_pole

from .compiler import source_frequency, source_power

HOLDS, MARGINAL, FAILS = "holds", "marginal", "fails"
_SEVERITY = {HOLDS: 0, MARGINAL: 1, FAILS: 2}

# The envelope model assumes the read-out passes DC only. Its limit is set on the read-out's
# two-pole |H| = 1 / (1 + (f_b / f_c)^2) at the closest beat, from rf-fidelity measurements at
# alpha = lp_ratio = 0.01 and 1 GHz, where |H| = 1 / (1 + s^2) for channels s linewidths apart:
#   4-3-2 network, cosim_rf (2 samples, ~1 s each), layer-1 chain error / largest chain voltage:
#     s (lw) 1.0 / 2.0 / 3.0 / 4.4 / 6.3 / 10 -> |H| 0.50 / 0.20 / 0.10 / 0.049 / 0.025 / 0.010
#     -> error 115 / 69 / 25 / 5.4 / 1.4 / 0.5 %
#   4-channel layer, one resonator per channel, measure_crosstalk (~1 s each), peak superposition
#   error / largest chain signal (|H| at the simulated beat, a few % below):
#     s (lw) 0.7 / 1.0 / 1.5 / 2.0 / 3.0 / 4.4 / 6.0 / 10 -> |H| 0.71 / 0.55 / 0.35 / 0.23 /
#     0.12 / 0.057 / 0.031 / 0.011 -> error 170 / 115 / 45 / 27 / 12 / 4.9 / 5.5 / 2.2 %
# and on trained layers (`spicegen crosstalk --graph G --layer 1`, its 4 lowest channels): 196
# inputs on 0.02-0.12 GHz (0.92 lw), |H| 0.58: 126 %; 64 inputs (2.9 lw), |H| 0.12: 9.3 %. The
# README's rf co-simulation of the 64-32-10 digits network: at lp_ratio 0.01 (|H| 0.11) the beats
# modulate the hidden STNOs' drive by ~40 % and the outputs end mV off; at 0.002 (|H| 0.005) it
# agrees. At the network level |H| = 0.1 already costs a quarter of the signal, so past it a layer
# fails (the crosstalk diagnosis, CrosstalkResult.diagnosis, grades with the same thresholds).
BEAT_HOLDS = resonator.BEAT_H_HOLDS  # <= ~5 % chain error: the spacing guideline's 5 % bound
BEAT_FAILS = resonator.BEAT_H_FAILS  # > 0.1: 12-25 % measured and more, growing as 1 / (1 + s^2)
# The surrogate is the rotating-wave limit of the resonator: the counter-rotating drive shifts
# every weight by ~ -alpha x peak (README: 1.27 % of the largest entry at alpha 0.01, 4.6 % at
# 0.03, 8.2 % at 0.05); RWA_ALPHA_LIMIT (0.02) keeps it within 2 % of the peak.
ALPHA_HOLDS = RWA_ALPHA_LIMIT
ALPHA_FAILS = 0.05
# the ripple prediction evaluates every resonator of a chain at every channel: past this many
# evaluations per line (a 784-input layer of 128 chains holds 79 million) it takes evenly spread
# chains only, about 1 s of numpy, and says how many
MAX_EVALUATIONS = 10_000_000
_RES_FIELDS = tuple(f.name for f in dataclasses.fields(ResonatorParams) if f.name != "f_r")


@dataclasses.dataclass(frozen=True)
class Line:
    """One resonator line: its layer, its node, the sources on it, and its chains (resonator node
    lists, by chain index)."""
    layer: int
    node: str
    sources: tuple
    chains: tuple


def resonator_lines(g: nx.DiGraph) -> list[Line]:
    """Every ``rf_line`` node of a graph with the sources feeding it and the chains it heads, by
    layer and name. This is what every kind's graph has in common (rf and sparse: one line per
    layer; rfcnn: one per patch; stno with chain synapses: one per layer); kinds whose sources
    share lines differently override ``NetworkKind.resonator_lines``."""
    out = []
    for node, a in g.nodes(data=True):
        if a.get("kind") != "rf_line":
            continue
        chains = schema.line_chains(g, [node])
        out.append(Line(int(a["layer"]), node, tuple(g.predecessors(node)),
                        tuple(tuple(path) for _, path, _ in chains)))
    return sorted(out, key=lambda ln: (ln.layer, str(ln.node)))


def line_crosstalk(g: nx.DiGraph, line, inputs=None, chains=None) -> dict:
    """What ``spicegen crosstalk --graph`` simulates of one line: picked sources (indices among
    the line's sources by index; default the first 4) at full scale and picked chains (default
    the first 4). Returns freqs, powers, chains (f_r lists), orientations and prm, the fields of a
    ``crosstalk.CrosstalkSetup``."""
    srcs = sorted(g.predecessors(line), key=lambda n: g.nodes[n]["index"])
    paths = [path for _, path, _ in schema.line_chains(g, [line])]
    inputs = list(range(min(4, len(srcs)))) if inputs is None else list(inputs)
    picked = list(range(min(4, len(paths)))) if chains is None else list(chains)
    if not inputs or not picked or max(inputs) >= len(srcs) or max(picked) >= len(paths) \
            or min(inputs + picked) < 0:
        raise ValueError(f"{line} carries {len(srcs)} sources (inputs 0..{len(srcs) - 1}) and "
                         f"{len(paths)} chains (0..{len(paths) - 1}); got inputs {inputs}, "
                         f"chains {picked}")
    res = [[g.nodes[r] for r in paths[j]] for j in picked]
    return {"freqs": [source_frequency(g, srcs[i]) for i in inputs],
            "powers": [source_power(g, srcs[i]) for i in inputs],
            "chains": [[a["f_r"] for a in c] for c in res],
            "orientations": [[a["orientation"] for a in c] for c in res],
            "prm": schema.resonator_params(res[0][0])}


def _chain_response(g: nx.DiGraph, path, f: np.ndarray) -> tuple[np.ndarray, ResonatorParams]:
    """Complex dR / I (Ohm/A) of one chain at the frequencies f, resonators grouped by their
    parameters (all but f_r) so each group is one vectorised call."""
    groups: dict = {}
    for r in path:
        a = g.nodes[r]
        groups.setdefault(tuple(a[k] for k in _RES_FIELDS), []).append(a)
    H = np.zeros(len(f), dtype=np.complex128)
    prm = None
    for key, attrs in groups.items():
        prm = schema.resonator_params({**dict(zip(_RES_FIELDS, key)), "f_r": 1.0})
        f_r = np.array([a["f_r"] for a in attrs])[:, None]
        o = np.array([a["orientation"] for a in attrs], dtype=np.float64)[:, None]
        H += (o * resonator.resonator_response(f[None, :], f_r, prm)).sum(axis=0)
    return H, prm


@dataclasses.dataclass
class LineFigures:
    layer: int
    line: str
    channels: int
    spacing: float          # smallest adjacent spacing, linewidths (alpha x the lower channel)
    closest_beat: float     # Hz, smallest |f_i - f_j| of distinct carriers (nan: one carrier)
    corner: float           # Hz, lp_ratio x the lowest carrier
    attenuation: float      # two-pole |H| at the closest beat
    ripple: float           # predicted beat ripple / largest chain signal
    alpha: float
    lp_ratio: float
    coincident: int         # pairs of sources at the same frequency
    chains: int             # chains on the line
    chains_checked: int     # chains the ripple was predicted on (MAX_EVALUATIONS)

    @property
    def status(self) -> str:
        return max(self.statuses().values(), key=_SEVERITY.get)

    def statuses(self) -> dict:
        """Each assumption of the envelope model: holds, marginal or fails. The predicted ripple
        is reported beside them, not graded: an upper bound (every pair in phase, every channel at
        full scale) that is 2-5x the measured error where |H| holds."""
        def grade(x, holds, fails):
            return HOLDS if not x > holds else FAILS if x > fails else MARGINAL
        return {"beat notes": FAILS if self.coincident else
                grade(self.attenuation, BEAT_HOLDS, BEAT_FAILS),
                "rotating wave": grade(self.alpha, ALPHA_HOLDS, ALPHA_FAILS)}

    @property
    def lp_ratio_that_holds(self) -> float:
        """The largest lp_ratio whose corner passes the closest beat at |H| <= BEAT_HOLDS."""
        if not math.isfinite(self.closest_beat):
            return math.inf
        f_low = self.corner / self.lp_ratio
        return self.closest_beat / math.sqrt(1.0 / BEAT_HOLDS - 1.0) / f_low


def line_figures(g: nx.DiGraph, line: Line, lp_ratio: float | None = None) -> LineFigures:
    """The design-rule figures of one line (every source at full scale)."""
    srcs = list(line.sources)
    f = np.array([source_frequency(g, s) for s in srcs], dtype=np.float64)
    P = np.array([source_power(g, s) for s in srcs], dtype=np.float64)
    order = np.argsort(f, kind="stable")
    f, P = f[order], P[order]
    first = schema.resonator_params(g.nodes[line.chains[0][0]]) if line.chains else \
        ResonatorParams()
    lp = first.lp_ratio if lp_ratio is None else float(lp_ratio)
    alpha = first.alpha
    corner = lp * float(f.min()) if len(f) else math.nan
    gaps = np.diff(f)
    distinct = gaps[gaps > 0]
    spacing = float((gaps / (alpha * f[:-1])).min()) if len(gaps) else math.inf
    beat = float(distinct.min()) if len(distinct) else math.nan
    att = float(two_pole(beat, corner)) if len(distinct) else 0.0
    ripple = 0.0
    if len(f) > 1 and line.chains:
        amp = np.sqrt(2.0 * P / first.Z0)                 # carrier current amplitudes
        lp_gain = two_pole(np.abs(f[:, None] - f[None, :]), corner)
        upper = np.triu(np.ones((len(f), len(f)), dtype=bool), 1) & (f[:, None] != f[None, :])
        bound = signal = 0.0
        paths = _spread(line.chains, MAX_EVALUATIONS // max(1, len(f) * len(line.chains[0])))
        for path in paths:
            H, prm = _chain_response(g, path, f)
            signal = max(signal, float(np.abs(resonator.dc_weight(H, prm) * P).sum()))
            # beat of pair (i, k) on this chain: (I_i I_k / 2) |H(f_i) + conj H(f_k)|
            # (crosstalk.predict.beat_amplitudes), through the read-out's |H| at |f_i - f_k|
            pair = 0.5 * amp[:, None] * amp[None, :] * np.abs(H[:, None] + np.conj(H[None, :]))
            bound = max(bound, float((pair * lp_gain)[upper].sum()))
        ripple = bound / signal if signal > 0 else math.inf
    return LineFigures(line.layer, str(line.node), len(f), spacing, beat, corner, att, ripple,
                       alpha, lp, int((gaps == 0).sum()), len(line.chains),
                       len(paths) if len(f) > 1 and line.chains else 0)


def _spread(items, n: int) -> list:
    """At most max(n, 1) of items, evenly spread (all of them when they fit)."""
    n = max(1, int(n))
    if len(items) <= n:
        return list(items)
    return [items[k] for k in np.linspace(0, len(items) - 1, n).round().astype(int)]


@dataclasses.dataclass
class LayerRule:
    """One resonator layer's design-rule row (figures of its worst line)."""
    layer: int
    lines: int
    worst: LineFigures

    @property
    def status(self) -> str:
        return self.worst.status

    def to_dict(self) -> dict:
        w = self.worst

        def finite(x):
            return float(x) if math.isfinite(x) else None
        return {"layer": self.layer, "lines": self.lines, "line": w.line,
                "channels": w.channels, "spacing_linewidths": finite(w.spacing),
                "closest_beat_hz": finite(w.closest_beat), "corner_hz": finite(w.corner),
                "beat_attenuation": w.attenuation, "beat_ripple": finite(w.ripple),
                "alpha": w.alpha, "lp_ratio": w.lp_ratio, "coincident_pairs": w.coincident,
                "chains": w.chains, "chains_checked": w.chains_checked,
                "status": self.status, "checks": w.statuses()}

    def summary(self) -> str:
        w = self.worst
        where = f"{self.lines} lines, worst {w.line}" if self.lines > 1 else w.line
        if w.channels < 2:
            return f"layer {self.layer} ({where}): one carrier, no beat notes: {self.status}"
        sampled = (f" (over {w.chains_checked} of {w.chains} chains)"
                   if w.chains_checked < w.chains else "")
        return (f"layer {self.layer} ({where}): {w.channels} channels {w.spacing:.3g} linewidths "
                f"apart, closest beat {w.closest_beat / 1e6:.4g} MHz vs read-out corner "
                f"{w.corner / 1e6:.4g} MHz (|H| = {w.attenuation:.3g}), predicted beat ripple "
                f"{100 * w.ripple:.3g} % of the largest chain signal{sampled}, alpha "
                f"{w.alpha:g}: {self.status}")

    def message(self, graph_path: str | None = None) -> str:
        w = self.worst
        checks = w.statuses()
        why = []
        if checks["beat notes"] != HOLDS:
            if w.coincident:
                why.append(f"{w.coincident} pair(s) of sources share a frequency: their cross "
                           f"term is a DC level set by their phases, which the envelope ignores")
            if math.isfinite(w.closest_beat):
                lp = w.lp_ratio_that_holds
                why.append(f"the closest beat ({w.closest_beat / 1e6:.4g} MHz, channels "
                           f"{w.spacing:.3g} linewidths apart) passes the {w.corner / 1e6:.4g} MHz "
                           f"read-out at |H| = {w.attenuation:.3g} (holds <= {BEAT_HOLDS:g}; "
                           f"predicted ripple up to {100 * w.ripple:.3g} % of the largest chain "
                           f"signal), which the envelope co-simulation does not see; it holds "
                           f"with wider spacing or a read-out corner of lp_ratio <= {lp:.2g}")
        if checks["rotating wave"] != HOLDS:
            why.append(f"alpha = {w.alpha:g}: the counter-rotating drive shifts every weight by "
                       f"~ -alpha x peak (holds <= {ALPHA_HOLDS:g})")
        graph = graph_path or "GRAPH"
        # crosstalk --graph picks the layer's first chains; on a layer of several lines the
        # worst may be another one
        pick = (f" --chain-index <chains on {w.line}>" if self.lines > 1 else "")
        return (f"layer {self.layer} ({w.line}, {w.channels} channels) {self.status.upper()} "
                f"the envelope model's assumptions: " + "; ".join(why) +
                f". Measure it at rf fidelity: spicegen crosstalk --graph {graph} "
                f"--layer {self.layer}{pick}")


@dataclasses.dataclass
class DesignRules:
    """Rows per resonator layer; ``warnings`` for layers that fail, ``notes`` for marginal ones."""
    rows: list
    graph_path: str | None = None

    @property
    def warnings(self) -> list[str]:
        return [r.message(self.graph_path) for r in self.rows if r.status == FAILS]

    @property
    def notes(self) -> list[str]:
        return [r.message(self.graph_path) for r in self.rows if r.status == MARGINAL]

    @property
    def ok(self) -> bool:
        return all(r.status == HOLDS for r in self.rows)

    def text(self) -> str:
        return "\n".join("design rules, " + r.summary() for r in self.rows)

    def messages(self) -> list[str]:
        """Warnings then notes, each prefixed, as the command line prints them."""
        return ([f"warning: {m}" for m in self.warnings] + [f"note: {m}" for m in self.notes])

    def to_dict(self) -> dict:
        return {"rows": [r.to_dict() for r in self.rows], "warnings": self.warnings,
                "notes": self.notes,
                "thresholds": {"beat_attenuation": [BEAT_HOLDS, BEAT_FAILS],
                               "alpha": [ALPHA_HOLDS, ALPHA_FAILS]}}


def check(g: nx.DiGraph | str, lines: list[Line] | None = None, lp_ratio: float | None = None,
          graph_path: str | None = None) -> DesignRules:
    """The design rules of every resonator layer of ``g`` (a graph, or a graph file's path).

    ``lines``: the graph's resonator lines (default :func:`resonator_lines`; the command line
    passes its kind's ``resonator_lines``); ``lp_ratio``: read-out corner over the lowest carrier
    (default: the resonators' own, as ``compile_rf``); ``graph_path`` names the graph in the
    suggested ``spicegen crosstalk`` command."""
    if isinstance(g, str):
        graph_path = graph_path or g
        g = schema.load(g)
    if lp_ratio is not None and not (isinstance(lp_ratio, (int, float)) and 0 < lp_ratio < 1):
        raise ValueError(f"lp_ratio (read-out corner / lowest carrier) must be in (0, 1), "
                         f"got {lp_ratio!r}")
    by_layer: dict = {}
    for line in resonator_lines(g) if lines is None else lines:
        if line.sources:
            by_layer.setdefault(line.layer, []).append(line_figures(g, line, lp_ratio))

    def severity(fig: LineFigures):
        return (_SEVERITY[fig.status], fig.attenuation, fig.ripple)
    rows = [LayerRule(layer, len(figs), max(figs, key=severity))
            for layer, figs in sorted(by_layer.items())]
    return DesignRules(rows, graph_path)
