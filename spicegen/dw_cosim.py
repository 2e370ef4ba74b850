"""Monte-Carlo co-simulation of stochastic domain-wall synapse networks (kind ``dw``).

The test set runs R times through ngspice (circuit: :mod:`spicegen.dw_netlist`), each run with its
own recorded ``.options seed``, beside the surrogate's stochastic passes; the report gives both
accuracy distributions (mean, spread, 99 % interval), whether the circuit's mean lies within the
surrogate's, the spread of the logits against sum x p + b, a binomial test of each sampled
synapse's switching frequency in ngspice against p(w), and, with a crossbar arrangement, its loss
against ideal current summing on the same draws.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
from scipy import stats

from .cosim import REPORT_SECTIONS, CosimResult, run_chunks
from .crossbar import CrossbarConfig
from .dw_netlist import DWLayer, binarise, binarise_note, compile_dw, read_back

Z99 = stats.norm.ppf(0.995)


def _interval(acc: np.ndarray) -> dict:
    mean, sd = float(acc.mean()), float(acc.std(ddof=1)) if len(acc) > 1 else 0.0
    return {"mean": mean, "sd": sd, "interval99": [mean - Z99 * sd, mean + Z99 * sd],
            "min": float(acc.min()), "max": float(acc.max()), "values": acc.tolist()}


@dataclasses.dataclass
class DWCosimResult(CosimResult):
    """A dw co-simulation: ``surrogate`` / ``circuit`` hold pass 0 / repeat 0 (what the plots
    show); the distributions over every pass and repeat are in the report."""
    surrogate_all: np.ndarray = None     # (passes, n, n_out) logits
    circuit_all: np.ndarray = None       # (repeats, n, n_out)
    surrogate_seeds: list = None
    spice_seeds: list = None
    switching: dict = None
    residual: float = 0.0
    layer: DWLayer = None
    note: str = ""
    spread: dict = None                  # mean z^2 of the logits against sum x p + b
    crossbar: dict = None                # the crossbar arrangement's figures, if run

    def report(self) -> dict:
        rep = super().report()
        y = self.y
        s_acc = (self.surrogate_all.argmax(-1) == y).mean(1)
        c_acc = (self.circuit_all.argmax(-1) == y).mean(1)
        k = min(len(s_acc), len(c_acc))
        agree = (self.surrogate_all[:k].argmax(-1) == self.circuit_all[:k].argmax(-1)).mean()
        diff = float(c_acc.mean() - s_acc.mean())
        half = float(Z99 * math.sqrt(np.var(s_acc, ddof=1 if len(s_acc) > 1 else 0) / len(s_acc)
                                     + np.var(c_acc, ddof=1 if len(c_acc) > 1 else 0)
                                     / len(c_acc)))
        rep.update(surrogate_accuracy=float(s_acc.mean()), circuit_accuracy=float(c_acc.mean()),
                   argmax_agreement=float(agree))
        rep["dw"] = {
            "reads": self.layer.reads, "threshold": self.layer.threshold, "inputs": self.note,
            "circuit": _interval(c_acc), "surrogate": _interval(s_acc),
            "spice_seeds": list(self.spice_seeds), "surrogate_seeds": list(self.surrogate_seeds),
            "difference": diff, "difference_half_width99": half,
            "circuit_mean_in_surrogate_interval99": bool(
                _interval(s_acc)["interval99"][0] <= c_acc.mean() <= _interval(s_acc)["interval99"][1]),
            "readout_logits_per_ampere": self.layer.scale,
            "readout_gain": self.layer.gain.tolist(), "readout_residual_counts": self.residual,
            "switching": self.switching, "logit_z2": self.spread, "crossbar": self.crossbar}
        return rep


    def extra_plots(self, out_dir: str) -> list[str]:
        """dw_accuracy.png: circuit and surrogate accuracy distributions; dw_switching.png:
        ngspice switching frequency of the sampled synapses against p(w), and the trained p."""
        import os

        from .plotting import pyplot, save
        plt = pyplot()
        rep = self.report()["dw"]
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, color in (("surrogate", "tab:blue"), ("circuit", "k")):
            d = rep[name]
            ax.hist(100 * np.array(d["values"]), bins=12, alpha=0.5, color=color,
                    label=f"{name} ({len(d['values'])} runs)")
            ax.axvline(100 * d["mean"], color=color, lw=1.5)
            for edge in d["interval99"]:
                ax.axvline(100 * edge, color=color, lw=0.8, ls=":")
        ax.set_xlabel("test accuracy (%); dotted: 99 % intervals")
        ax.set_ylabel("runs")
        ax.legend(fontsize=8)
        paths = [save(fig, os.path.join(out_dir, "dw_accuracy.png"))]
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        rows = rep["switching"]["per_synapse"]
        if rows:
            q = np.array([r["p"] for r in rows])
            f = np.array([r["frequency"] for r in rows])
            err = np.abs(np.array([[r["frequency"] - r["low99"], r["high99"] - r["frequency"]]
                                   for r in rows]).T)
            ax.errorbar(q, f, yerr=err, fmt="o", ms=3, color="k", capsize=2,
                        label="ngspice (99 % binomial band around p)")
        ax.plot([0, 1], [0, 1], color="tab:blue", lw=1, label="p(w)")
        ax.set_xlabel("p(w) of the trained drive")
        ax.set_ylabel("switching frequency in ngspice")
        ax.legend(fontsize=8)
        ax2.hist(self.layer.probabilities().ravel(), bins=40, color="tab:blue")
        ax2.set_xlabel(f"trained p (every synapse), N = {self.layer.reads}")
        ax2.set_ylabel("synapses")
        paths.append(save(fig, os.path.join(out_dir, "dw_switching.png")))
        return paths


def _gains(gain) -> str:
    if not gain:
        return "1"
    return f"{gain[0]:g}" if len(set(gain)) == 1 else f"{min(gain):g} to {max(gain):g}"


def _format_dw(d: dict) -> list[str]:
    c, s, sw = d["circuit"], d["surrogate"], d["switching"]

    def dist(x):
        lo, hi = x["interval99"]
        return (f"mean {100 * x['mean']:.2f} %, sd {100 * x['sd']:.2f} pp, 99 % interval "
                f"[{100 * lo:.2f}, {100 * hi:.2f}] %")
    seeds = d["spice_seeds"]
    verdict = "consistent" if abs(d["difference"]) <= d["difference_half_width99"] else \
        "DIFFERENT at the 99 % level"
    lines = [f"dw: {d['reads']} reads per sample; {d['inputs']}",
             f"  circuit over {len(c['values'])} repeats   {dist(c)}",
             f"  surrogate over {len(s['values'])} passes  {dist(s)}",
             f"  circuit - surrogate mean  {100 * d['difference']:+.2f} pp (99 % half-width "
             f"{100 * d['difference_half_width99']:.2f} pp): {verdict}",
             f"  ngspice seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} runs), surrogate seeds "
             f"{d['surrogate_seeds'][0]}..{d['surrogate_seeds'][-1]}",
             f"  read-out: logit = (I_col - I_ref) x {d['readout_logits_per_ampere']:.6g} /A x "
             f"gain per read, averaged over the reads (gain {_gains(d.get('readout_gain'))}); "
             f"residual {d['readout_residual_counts']:.2g} counts"]
    z = d.get("logit_z2")
    if z:
        lines.append(f"  logits against sum x p + b: mean z^2 circuit {z['circuit']:.3f}, "
                     f"surrogate {z['surrogate']:.3f} (about 1 when mean and spread are right)")
    xb = d.get("crossbar")
    if xb:
        lines.append(f"  crossbar arrangement (r_wire {xb['r_wire']:g} Ohm, {xb['sensing']}, "
                     f"ON/OFF {xb['on_off']:.3g}, same draws): accuracy {dist(xb['accuracy'])}; "
                     f"argmax agreement with the ideal read-out "
                     f"{100 * xb['agreement_with_ideal']:.2f} %, logit error max "
                     f"{xb['max_error_logit']:.3g}, mean {xb['mean_error_logit']:.3g}")
    if sw and sw["synapses"]:
        lines.append(f"  switching: {sw['synapses']} synapses x {sw['reads']} reads, "
                     f"{sw['outside99']} outside their 99 % binomial interval of p(w) (expected "
                     f"{0.01 * sw['synapses']:.2f}); smallest two-sided p-value "
                     f"{sw['min_pvalue']:.3g} (Bonferroni x{sw['synapses']}: "
                     f"{'consistent' if sw['consistent'] else 'NOT consistent'})")
    return lines


REPORT_SECTIONS["dw"] = _format_dw


def switching_test(counts: np.ndarray, reads: int, p: np.ndarray,
                   where: list[tuple[int, int, int]]) -> dict:
    """Per-synapse binomial test of ngspice's switch counts against p(w); ``where``: (row,
    column, k) of each synapse (k = 1: the - one of a pair)."""
    rows = []
    for (i, j, m), k, q in zip(where, counts, p):
        lo, hi = stats.binom.interval(0.99, reads, q)
        rows.append({"row": int(i), "column": int(j), "pair": int(m), "p": float(q),
                     "switched": int(k),
                     "frequency": float(k / reads), "low99": float(lo / reads),
                     "high99": float(hi / reads),
                     "pvalue": float(stats.binomtest(int(k), reads, float(q)).pvalue)})
    pmin = min((r["pvalue"] for r in rows), default=1.0)
    return {"synapses": len(rows), "reads": int(reads), "per_synapse": rows,
            "outside99": sum(1 for r in rows if not r["low99"] <= r["frequency"] <= r["high99"]),
            "min_pvalue": pmin, "consistent": bool(pmin * max(1, len(rows)) >= 0.01)}


def sample_synapses(shape: tuple[int, int, int], count: int,
                    seed: int = 0) -> list[tuple[int, int, int]]:
    """``count`` synapses (row, column, k) of drives of shape (S, n_out, n_in), chosen with a
    seeded generator."""
    size = int(np.prod(shape))
    flat = np.sort(np.random.default_rng(seed).choice(size, size=min(int(count), size),
                                                      replace=False))
    return [(int(i), int(j), int(k)) for k, j, i in zip(*np.unravel_index(flat, shape))]


# CPU seconds per synapse per read, measured on the digits network (640 synapses, 6 to 7 time
# points per read: ngspice restarts small after every read's breakpoint); a crossbar read-out
# costs about 2.5 times more. The timeout allows 20 times that (loaded machines) plus a floor.
SECONDS_PER_SYNAPSE_READ = 4e-5
TIMEOUT_FLOOR = 60.0


def run_timeout(layer: DWLayer, samples: int, crossbar: bool = False) -> float:
    """Seconds one run of ``samples`` samples may take before it is stopped."""
    cost = SECONDS_PER_SYNAPSE_READ * layer.w.size * (samples * layer.reads + 1)
    return TIMEOUT_FLOOR + 20 * cost * (2.5 if crossbar else 1.0)


def cosim_dw(layer: DWLayer, X, y, surrogate: np.ndarray, surrogate_seeds: list[int],
             repeats: int = 1, seed: int = 1, synapses: int = 32, workers: int = 2,
             chunk: int | None = None, backend: str = "subprocess", progress: bool = False,
             executor: str = "threads", scheduler: str | None = None,
             timeout: float | None = None,
             crossbar: CrossbarConfig | None = None) -> DWCosimResult:
    """Run the test set ``repeats`` times through ngspice, each run of ``chunk`` samples with its
    own recorded seed (``seed``, ``seed + 1``, ...), beside the surrogate's passes (``surrogate``:
    (passes, n, n_out) logits, drawn by the caller with ``surrogate_seeds``). ``crossbar``: also
    read the same switch states through the crossbar arrangement and report its loss."""
    from .runner import run_netlist

    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    x, changed = binarise(X, layer.threshold)
    y = np.asarray(y)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)}")
    start = time.perf_counter()
    # about two runs per worker, pieces of equal size within each repeat
    chunk = min(chunk or math.ceil(n / max(1, math.ceil(2 * workers / repeats))), n)
    pieces = [slice(a, min(a + chunk, n)) for a in range(0, n, chunk)]
    jobs = [(r, sl) for r in range(repeats) for sl in pieces]
    seeds = [int(seed) + k for k in range(len(jobs))]
    where = sample_synapses(layer.w.shape, synapses, seed)

    def run_job(sl: slice):
        k = sl.start
        r, piece = jobs[k]
        net = compile_dw(layer, x[piece], seeds[k], f"dw co-simulation run {k}", tuple(where),
                         binary=True, crossbar=crossbar)
        res = run_netlist(net.text, backend, timeout=timeout or run_timeout(
            layer, piece.stop - piece.start, crossbar is not None))
        logits, residual, switched = read_back(res, net, layer, where)
        extra = [logits[1]] if crossbar is not None else []
        logits = logits[0] if crossbar is not None else logits
        waves = {}
        if k == 0:       # the first samples' per-read logits, for the waveform plot
            t, keep = res.scale, res.scale <= min(5, net.n_samples) * layer.reads * \
                layer.prm.t_read + layer.prm.t_read
            waves = {"t": t[keep], "outputs": np.stack([(res[o][keep] - res[f][keep]) * scale
                                                        for o, f, scale in zip(
                                                            net.outputs, net.refs,
                                                            layer.neuron_scale)]),
                     "read_times": (1 + np.arange(1, min(5, net.n_samples) + 1) * layer.reads)
                     * layer.prm.t_read}
        return [logits, np.array([residual]), switched[None, :]] + extra, waves

    parts, waveforms, runs = run_chunks(run_job, len(jobs), 1, workers, backend, progress,
                                        executor, scheduler)
    circuit_all = parts[0].reshape(repeats, n, -1)
    counts = parts[2].sum(0)
    p = layer.probabilities()
    switching = switching_test(counts, repeats * n * layer.reads,
                               [p[k, j, i] for i, j, k in where], where)
    surrogate = np.asarray(surrogate, dtype=np.float64)
    # the spread of the logits: z = (mean of R repeats - expected logit) / (sigma / sqrt R)
    mu, sd = layer.moments(x)
    live = sd > 1e-9

    def z2(logits: np.ndarray) -> float:
        # a logit without spread (a sample with no input at 1 reads its bias alone) is left out
        z = (logits.mean(0)[live] - mu[live]) / (sd[live] / math.sqrt(len(logits)))
        return float((z ** 2).mean()) if live.any() else 0.0
    spread = {"circuit": z2(circuit_all), "surrogate": z2(surrogate)}
    xbar = None
    if crossbar is not None:
        xb = parts[3].reshape(repeats, n, -1)
        err = np.abs(xb - circuit_all)
        xbar = {"accuracy": _interval((xb.argmax(-1) == y).mean(1)),
                "agreement_with_ideal": float((xb.argmax(-1) == circuit_all.argmax(-1)).mean()),
                "max_error_logit": float(err.max()), "mean_error_logit": float(err.mean()),
                "r_wire": crossbar.r_wire, "sensing": crossbar.sensing,
                "access": bool(crossbar.access), "on_off": layer.prm.on_off_ratio}
    return DWCosimResult(
        y, [surrogate[0]], [circuit_all[0]], time.perf_counter() - start, runs, waveforms,
        unit="logit", surrogate_all=surrogate, circuit_all=circuit_all,
        surrogate_seeds=list(surrogate_seeds), spice_seeds=seeds, switching=switching,
        residual=float(parts[1].max()), layer=layer,
        note=binarise_note(changed, x.size, layer.threshold), spread=spread, crossbar=xbar)


__all__ = ["DWCosimResult", "cosim_dw", "sample_synapses", "switching_test"]
