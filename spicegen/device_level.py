"""Device-level envelope netlists: the graph's devices by name, with the trained values editable.

Every resonator is a ``.param fr_<graph id> = f_r`` (Hz, full precision); every source frequency a
``.param f_<graph id>``; every chain gain G<l>_<j>_<i> (chain j of layer l, source i) an expression

    1e-06 * attenuation_i * (ksd * R_ji + sum_k o_k lor(f_i, fr_k))

evaluated once when ngspice reads the deck, so the run is as fast as with numeric gains. ``lor`` is
a ``.func`` of the spin-diode Lorentzian (models.resonator.lorentzian) over ``.param``s holding the
layer's ResonatorParams (alpha, K_SD, a_sym, a_asym), o_k = +-1 the resonator's mounting.

Why not every term explicit: the dense sum has chains x resonators x inputs terms (141 312 for the
64-32-10 digits network, 78 million for 784-128). The resonators within W linewidths of a source
(and the nearest source of each resonator) are explicit terms; W is the widest window of ``WINDOWS``
whose terms fit the term budget. The far tails of the others are summed at export into R_ji, a
number (written as ksd times a number, so K_SD stays exact). The header of the deck says what stays
exact when a user edits a value.

Every name derived from a graph id holds only letters, digits and _ (a graph read from a file cannot
inject cards), is at most ``NAME_MAX`` characters, and is unique without regard to case (ngspice
folds case); a clash is resolved by a suffix the header lists.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import re

import networkx as nx
import numpy as np
import torch

from spintronic.graph import schema
from spintronic.models import resonator
from spintronic.models.params import spice_number as num

# resonator parameters other than f_r: usually the same for a whole layer
SHARED = tuple(f for f in schema.REQUIRED["resonator"] if f not in
               ("layer", "chain", "position", "orientation", "f_r"))
# explicit (chain, resonator, source) terms a deck may hold: about 60 us each for ngspice to read.
# On the 64-32-10 digits example it buys a window of 10 linewidths (14 990 terms), where a frozen
# tail drifts by under 2 % of the peak weight per linewidth of retuning; the 10-sample deck then
# runs in 1.6 s against 0.45 s with numeric gains (benchmarks/device_level.py)
DEFAULT_TERM_BUDGET = 20_000
# candidate windows, linewidths either side of a source, widest first (inf: every term explicit)
WINDOWS = (math.inf, 1000.0, 300.0, 100.0, 50.0, 30.0, 20.0, 10.0, 5.0, 3.0, 2.0, 1.0, 0.5, 0.0)
NAME_MAX = 48
# resonators per subcircuit scope (see DeviceLevel.chain_cards)
BLOCK = 128


def _comment(text: str) -> str:
    """As compiler._comment: one printable line that cannot smuggle a card."""
    return "* " + re.sub(r"[^A-Za-z0-9_.,:=+\- ()/]", "_", str(text))[:200]


class Names:
    """Netlist names derived from graph ids: ``prefix`` + the id with every character outside
    [A-Za-z0-9_] replaced by _, cut to NAME_MAX with a hash of the id, made unique (case folded)
    by a suffix _2, _3, ...; ``renamed`` lists the ids whose name does not follow that rule."""

    def __init__(self, reserved=()):
        self._taken = {r.lower() for r in reserved}
        self.renamed: list[tuple[str, str]] = []

    def add(self, prefix: str, node) -> str:
        text = str(node)
        base = prefix + re.sub(r"[^A-Za-z0-9_]", "_", text)
        if len(base) > NAME_MAX:
            digest = hashlib.sha1(text.encode("utf-8", "backslashreplace")).hexdigest()[:8]
            base = f"{base[:NAME_MAX - 9]}_{digest}"
        name, k = base, 1
        while name.lower() in self._taken:
            k += 1
            name = f"{base}_{k}"
        self._taken.add(name.lower())
        if k > 1:
            self.renamed.append((text, name))
        return name


@dataclasses.dataclass
class _Layer:
    """One layer's geometry: sources, and every resonator chain by chain."""
    layer: int
    sources: list
    f: np.ndarray                 # (n_in,) source frequencies, Hz
    chains: list                  # (line, path, end) as schema.chains
    res: list                     # resonator ids, chain after chain
    chain: np.ndarray             # (R,) chain index of each resonator
    f_r: np.ndarray
    alpha: np.ndarray
    sign: np.ndarray
    group: np.ndarray             # (R,) index into the deck's resonator parameter groups


def _geometry(g: nx.DiGraph, l: int, freqs: list[float], groups: dict) -> _Layer:
    chains = schema.chains(g, l)
    res, chain, f_r, alpha, sign, group = [], [], [], [], [], []
    for j, (_, path, _) in enumerate(chains):
        for r in path:
            a = g.nodes[r]
            key = tuple(a[name] for name in SHARED)
            res.append(r)
            chain.append(j)
            f_r.append(a["f_r"])
            alpha.append(a["alpha"])
            sign.append(a["orientation"])
            group.append(groups.setdefault(key, len(groups)))
    return _Layer(l, schema.sources(g, l), np.asarray(freqs, dtype=np.float64), chains, res,
                  np.asarray(chain, dtype=np.int64), np.asarray(f_r, dtype=np.float64),
                  np.asarray(alpha, dtype=np.float64), np.asarray(sign, dtype=np.float64),
                  np.asarray(group, dtype=np.int64))


def _ranges(L: _Layer, window: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, lo, hi): the sources sorted by frequency, and for each resonator the slice
    order[lo:hi] of those within ``window`` of its linewidths, or its nearest one alone."""
    order = np.argsort(L.f, kind="stable")
    fs = L.f[order]
    n = len(fs)
    if math.isinf(window):
        lo, hi = np.zeros(len(L.f_r), np.int64), np.full(len(L.f_r), n, np.int64)
    else:
        lo = np.searchsorted(fs, L.f_r * (1 - L.alpha * window), "left")
        hi = np.searchsorted(fs, L.f_r * (1 + L.alpha * window), "right")
    p = np.searchsorted(fs, L.f_r)
    left, right = np.clip(p - 1, 0, n - 1), np.clip(p, 0, n - 1)
    nearest = np.where(np.abs(fs[left] - L.f_r) <= np.abs(fs[right] - L.f_r), left, right)
    empty = hi <= lo
    return order, np.where(empty, nearest, lo), np.where(empty, nearest + 1, hi)


def choose_window(layers: list[_Layer], budget: int) -> tuple[float, int]:
    """The widest window of WINDOWS whose explicit terms fit ``budget`` (0: each resonator's
    nearest source only, whatever the budget), and its number of terms."""
    for window in WINDOWS:
        terms = sum(int((hi - lo).sum()) for _, lo, hi in (_ranges(L, window) for L in layers))
        if terms <= budget or window == 0.0:
            return window, terms
    raise AssertionError("unreachable")


def tail_slope(prm: resonator.ResonatorParams, window: float) -> float:
    """Largest |dG/du| (V/W per linewidth of detuning u) of the Lorentzian beyond ``window``
    linewidths: how fast a frozen tail term drifts when its resonator is retuned."""
    if math.isinf(window):
        return 0.0
    u = window + np.concatenate([[0.0], np.geomspace(1e-3, 1e5, 4000)])
    u = np.concatenate([u, -u])
    s, a = prm.a_sym, prm.a_asym
    slope = prm.K_SD * (2 * a - 2 * s * u - 2 * a * u * u) / (1 + u * u) ** 2
    return float(np.abs(slope).max())


class DeviceLevel:
    """The parameter block, naming header and chain-gain expressions of one envelope deck."""

    def __init__(self, g: nx.DiGraph, sizes: list[int], source_freqs: list[list[float]],
                 budget: int = DEFAULT_TERM_BUDGET):
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 0:
            raise ValueError(f"term budget must be an integer >= 0, got {budget!r}")
        self.g, self.sizes = g, sizes
        self.groups: dict = {}
        self.layers = [_geometry(g, l, source_freqs[l - 1], self.groups)
                       for l in range(1, len(sizes))]
        self.window, self.terms = choose_window(self.layers, int(budget))
        self.dense = sum(len(L.f_r) * len(L.f) for L in self.layers)
        self.prm = [schema.resonator_params({**dict(zip(SHARED, key)), "f_r": 1.0})
                    for key in self.groups]
        self.names = Names(reserved=[f"res{k}_{p}" for k in range(len(self.groups))
                                     for p in ("alpha", "ksd", "asym", "aasym", "lor")])
        self.f_name: dict = {}
        for L in self.layers:
            for s in L.sources:
                if s not in self.f_name:
                    self.f_name[s] = self.names.add("f_", s)
        self.fr_name = {r: self.names.add("fr_", r) for L in self.layers for r in L.res}

    # ------------------------------------------------------------------ text
    def header(self) -> list[str]:
        w = "any distance" if math.isinf(self.window) else f"W = {self.window:g} linewidths"
        lines = [
            "* DEVICE-LEVEL ENVELOPE NETLIST. Each chain j of layer l is a subcircuit chain<l>_<j>",
            "* holding one .param fr_<graph id> per resonator (its trained f_r in Hz) and one gain",
            "* G<i> per source i (volts per volt of the source's power node), an expression that",
            "* ngspice evaluates once, when it reads the deck:",
            "*   G<i> = 1e-06 * attenuation_i * (resK_ksd * R_ji + sum_k o_k resK_lor(f_i, fr_k))",
            "* resK_lor: the spin-diode Lorentzian (models/resonator.py lorentzian) over the .params",
            "* resK_alpha, resK_ksd, resK_asym, resK_aasym; f_i: the .param f_<source id>;",
            "* o_k = +1 or -1: the resonator's mounting along the chain.",
            _comment(f"Explicit terms: every resonator within {w} of a source frequency, and the "
                     f"nearest source of each resonator: {self.terms} of the {self.dense} terms "
                     f"(term budget)."),
            "* R_ji: the exported sum of the other, far Lorentzian tails, a frozen number.",
            "* WHAT STAYS EXACT when you edit a value and rerun:",
            "* - fr_X (retune resonator X) or f_X (move a source): exact for the explicit terms; X's",
            "*   tail terms for sources outside the window keep their exported values in R_ji",
        ]
        for k, prm in enumerate(self.prm):
            slope = tail_slope(prm, self.window)
            lines.append(_comment(
                f"  (res{k}: each frozen tail drifts by at most {slope:.3g} V/W per linewidth of "
                f"retuning, {100 * slope / resonator.peak_weight(prm):.2g} percent of the peak "
                f"weight; the chain's error sums the frozen sources' powers times that)"))
        lines += [
            "* - resK_ksd: exact everywhere (R_ji is written as resK_ksd times a number)",
            "* - resK_alpha, resK_asym, resK_aasym: explicit terms only (R_ji was computed with them)",
            "* - chain biases (Ib cards), amplifier and STNO values: exact, they are plain numbers",
            "* Re-export (spicegen export --netlist) to move a resonator farther than the window,",
            "* to change alpha or the Lorentzian's symmetry, or to change the graph.",
            "* NAMING (graph id: netlist names)",
        ]
        for L in self.layers:
            l = L.layer
            for i, s in enumerate(L.sources):
                what = "input" if l == 1 else "STNO output"
                lines.append(_comment(f"  {s}: {what}, power node pw{l - 1}_{i}, frequency "
                                      f"{self.f_name[s]}" + (f", source Vin{i}" if l == 1 else "")))
            for j, (line, path, end) in enumerate(L.chains):
                first, last = (self.fr_name[path[0]], self.fr_name[path[-1]]) if path else ("", "")
                lines.append(_comment(
                    f"  chain {j} of {line} ending at {end}: node c{l}_{j}, bias Ib{l}_{j}, "
                    f"subckt chain{l}_{j} (instance Xc{l}_{j}), {len(path)} resonators {first} .. "
                    f"{last}"))
                if self.g.nodes[end]["kind"] != "readout":
                    (osc,) = list(self.g.successors(end))
                    lines.append(_comment(f"  {end}: amplifier Ba{l}_{j} into node in{l}_{j}; "
                                          f"{osc}: STNO Xs{l}_{j}, power pw{l}_{j}"))
        lines += [_comment(f"  renamed (case-folded clash): {node} is {name}")
                  for node, name in self.names.renamed]
        return lines

    def params(self) -> list[str]:
        lines = ["* ---- device parameters: edit here (see the header) ----"]
        for k, prm in enumerate(self.prm):
            a, ksd = f"res{k}_alpha", f"res{k}_ksd"
            s, aa = f"res{k}_asym", f"res{k}_aasym"
            d = f"({a}*fr)"
            lines += [f".param {a}={num(prm.alpha)} {ksd}={num(prm.K_SD)} {s}={num(prm.a_sym)} "
                      f"{aa}={num(prm.a_asym)}",
                      f".func res{k}_lor(f, fr) {{{ksd}*({s}*{d}*{d} + {aa}*2*{d}*(f - fr))"
                      f"/({d}*{d} + (f - fr)*(f - fr))}}"]
        for L in self.layers:
            lines.append(f"* layer {L.layer} source frequencies (Hz)")
            lines += [f".param {self.f_name[s]}={num(f)}" for s, f in zip(L.sources, L.f)]
        return lines

    def chain_cards(self, index: int, W: np.ndarray, scale: np.ndarray) -> list[list[str]]:
        """The cards of every chain of layer ``index + 1``: [chain] -> lines. W (chains, n_in) in
        V/W, every tail included (compiler.layer_weights); scale (n_in,) volts of power node per
        watt on the line.

        Chain j's resonators, BLOCK at a time, are subcircuits ``chain<l>_<j>[_b<k>]`` that hold
        their ``.param``s and the gains G<i> of the sources they have explicit terms for (the
        frozen tail R_ji rides on the first); a source with no explicit term on the chain gets a
        top-level G<l>_<j>_<i> holding its tail alone. Why subcircuits: ngspice orders the
        ``.param``s of one scope by their dependencies in quadratic time, and resolves names in
        a subcircuit's scope in time growing with its size (1e5 params: one scope does not
        finish in minutes; 784 per scope 52 s, 64 to 256 per scope 16 to 20 s).
        """
        L = self.layers[index]
        l, n_in, n_chains = L.layer, len(L.f), len(L.chains)
        order, lo, hi = _ranges(L, self.window)
        counts = hi - lo
        res = np.repeat(np.arange(len(L.f_r)), counts)
        start = np.repeat(lo - np.cumsum(counts) + counts, counts)
        src = order[start + np.arange(len(res))]
        keep = np.lexsort((res, src, L.chain[res]))
        res, src = res[keep], src[keep]
        chain = L.chain[res]
        explicit = np.zeros_like(W)
        value = np.empty(len(res))
        for k, prm in enumerate(self.prm):
            m = L.group[res] == k
            if m.any():
                value[m] = resonator.lorentzian(torch.from_numpy(L.f[src[m]]),
                                                torch.from_numpy(L.f_r[res[m]]), prm).numpy()
        np.add.at(explicit, (chain, src), L.sign[res] * value)
        rest = W - explicit
        frozen = not math.isinf(self.window)
        single = len(set(L.group.tolist())) == 1
        ksd_name, ksd = (f"res{L.group[0]}_ksd", self.prm[L.group[0]].K_SD) if single else ("", 1.0)
        first = np.searchsorted(L.chain, np.arange(n_chains))      # each chain's first resonator
        block = ((res - first[chain]) // BLOCK).tolist()
        terms = [f"{'+' if L.sign[r] > 0 else '-'} res{L.group[r]}_lor({self.f_name[L.sources[i]]}, "
                 f"{self.fr_name[L.res[r]]})" for r, i in zip(res.tolist(), src.tolist())]
        bounds = np.searchsorted(chain * n_in + src, np.arange(n_chains * n_in + 1)).tolist()

        def gain(i: int, body: list[str], r: float | None) -> str:
            text = " ".join(body)
            if r is not None and r != 0.0:
                tail = f"{ksd_name}*{num(abs(r) / ksd)}" if single else num(abs(r))
                text = f"{'-' if r < 0 else ''}{tail} {text}".rstrip()
            elif text.startswith("+ "):
                text = text[2:]
            return f"{{{num(scale[i])}*({text or 0})}}"

        out = []
        for j in range(n_chains):
            blocks: dict[int, list[tuple[int, str]]] = {}
            top = []
            for i in range(n_in):
                a, b = bounds[j * n_in + i], bounds[j * n_in + i + 1]
                r = float(rest[j, i]) if frozen else None
                if a == b:
                    top.append(f"G{l}_{j}_{i} 0 c{l}_{j} pw{l - 1}_{i} 0 {gain(i, [], r)}")
                    continue
                for k in range(a, b):                   # one G per block the terms fall in
                    if k == a or block[k] != block[k - 1]:
                        blocks.setdefault(block[k], []).append((i, gain(i, [terms[k]] + [
                            terms[m] for m in range(k + 1, b) if block[m] == block[k]],
                            r if k == a else None)))
            out.append(self._chain_lines(L, j, blocks) + top)
        return out

    def _chain_lines(self, L: _Layer, j: int, blocks: dict) -> list[str]:
        l, path = L.layer, L.chains[j][1]
        lines = [_comment(f"its resonators in subcircuits of {BLOCK}, mounting "
                          + "".join("+" if self.g.nodes[r]["orientation"] > 0 else "-"
                                    for r in path[:64]) + (" ..." if len(path) > 64 else ""))]
        n_blocks = -(-len(path) // BLOCK)
        for b in range(n_blocks):
            name = f"chain{l}_{j}" + (f"_b{b}" if n_blocks > 1 else "")
            gains = blocks.get(b, [])
            used = sorted({i for i, _ in gains})
            ports = ["c"] + [f"p{i}" for i in used]
            lines.append(f".subckt {name} " + " ".join(ports[:16]))
            lines += ["+ " + " ".join(ports[k:k + 16]) for k in range(16, len(ports), 16)]
            lines += [f".param {self.fr_name[r]}={num(self.g.nodes[r]['f_r'])}"
                      for r in path[b * BLOCK:(b + 1) * BLOCK]]
            lines += [f"G{i} 0 c p{i} 0 {expr}" for i, expr in gains]
            lines.append(f".ends {name}")
            nodes = [f"c{l}_{j}"] + [f"pw{l - 1}_{i}" for i in used] + [name]
            lines.append(f"Xc{name[len('chain'):]} " + " ".join(nodes[:16]))
            lines += ["+ " + " ".join(nodes[k:k + 16]) for k in range(16, len(nodes), 16)]
        return lines
