"""Figures: surrogate and SPICE curves overlaid, one PNG per device twin."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only; no display on CI or servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .twins import TwinResult  # noqa: E402

def save_figure(fig, path: str) -> str:
    """Write ``fig`` to ``path`` (creating its folder), close it, return the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


SURROGATE = dict(color="tab:blue", lw=2.5, alpha=0.6, label="torch surrogate")
SPICE = dict(color="k", lw=1.0, ls="--", label="ngspice")


def _footer(fig, result: TwinResult) -> None:
    worst = max(result.checks, key=lambda c: c.error / c.tolerance if c.tolerance else c.error)
    status = "all checks pass" if result.passed else "SOME CHECKS FAIL"
    fig.suptitle(f"{result.device}: {status} (worst: {worst.name} = {worst.error:.3g}, "
                 f"tol {worst.tolerance:.3g})", fontsize=9)


def plot_stno_envelope(r: TwinResult, ax_list) -> None:
    c = r.curves
    t = c["t"] * 1e9
    ax, ax2 = ax_list
    ax.plot(t, c["p_surrogate"], **SURROGATE)
    ax.plot(t, c["p_spice"], **SPICE)
    ax.set_ylabel("normalised power p")
    ax.legend()
    ax2.plot(t, c["current"] * 1e6, color="tab:red")
    ax2.set_ylabel("drive current (uA)")
    ax2.set_xlabel("time (ns)")


def plot_stno_rf(r: TwinResult, ax_list) -> None:
    c = r.curves
    t = c["t"] * 1e9
    ax, ax2 = ax_list
    ax.plot(t, c["v"] * 1e3, color="0.8", lw=0.3, label="carrier (ngspice)")
    ax.plot(t, c["amp_surrogate"] * 1e3, **SURROGATE)
    ax.plot(t, c["amp_spice"] * 1e3, **SPICE)
    ax.set_ylabel("amplitude (mV)")
    ax.legend(loc="lower right")
    keep = c["keep"].astype(bool)
    ax2.plot(t, c["f_surrogate"] / 1e6, **SURROGATE)
    ax2.plot(t[keep], c["f_spice"][keep] / 1e6, ".", ms=1.5, color="k", label="ngspice (Hilbert)")
    ax2.set_ylabel("frequency (MHz)")
    ax2.set_xlabel("time (ns)")
    ax2.legend()


def _plot_lorentzians(r: TwinResult, ax, marker: str | None) -> None:
    c = r.curves
    k = 0
    while f"v_spice_{k}" in c:
        ax.plot(c["u"], c[f"v_surrogate_{k}"] * 1e3, **{**SURROGATE, "label": None if k else
                                                         SURROGATE["label"]})
        style = dict(SPICE, label=None if k else SPICE["label"])
        if marker:
            style.update(ls="none", marker=marker)
        ax.plot(c["u"], c[f"v_spice_{k}"] * 1e3, **style)
        k += 1
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("(f - f_r) / linewidth")
    ax.set_ylabel("rectified voltage (mV)")
    ax.legend()


def plot_resonator_envelope(r: TwinResult, ax_list) -> None:
    _plot_lorentzians(r, ax_list[0], None)
    ax_list[0].set_title("envelope: DC sweep", fontsize=9)


def plot_resonator_rf(r: TwinResult, ax_list) -> None:
    _plot_lorentzians(r, ax_list[0], "o")
    ax_list[0].set_title("rf: carrier-level resonators after settling", fontsize=9)
    c = r.curves
    ax_list[1].plot(c["t_example"] * 1e9, c["v_example"] * 1e3, color="k", lw=0.8)
    ax_list[1].set_xlabel("time (ns)")
    ax_list[1].set_ylabel("low-passed output (mV)")
    ax_list[1].set_title("read-out settling at the peak", fontsize=9)


def plot_domain_wall(r: TwinResult, ax_list) -> None:
    c = r.curves
    ax, ax2 = ax_list
    ax.plot(c["w_curve"], c["p_curve"], **SURROGATE)
    err = np.vstack([c["freq"] - c["lo"], c["hi"] - c["freq"]])
    ax.errorbar(c["w"], c["freq"], yerr=np.abs(err), fmt="o", color="k", capsize=3,
                label="ngspice Monte Carlo (99 % binomial band)")
    ax.set_xlabel("drive w")
    ax.set_ylabel("switching probability")
    ax.legend(loc="upper left", fontsize=8)
    ax2.plot(c["pos"], c["g_surrogate"] * 1e6, **SURROGATE)
    ax2.plot(c["pos"], c["g_spice"] * 1e6, **SPICE)
    ax2.set_xlabel("wall position (fraction)")
    ax2.set_ylabel("DW-MTJ conductance (uS)")
    ax2.legend()


_LAYOUT = {
    "STNO envelope": (plot_stno_envelope, 2, "vertical"),
    "STNO rf": (plot_stno_rf, 2, "vertical"),
    "resonator envelope": (plot_resonator_envelope, 1, "vertical"),
    "resonator rf": (plot_resonator_rf, 2, "horizontal"),
    "domain wall": (plot_domain_wall, 2, "horizontal"),
}


def plot_twin(result: TwinResult, out_dir: str) -> str:
    """Write ``<device>.png`` in out_dir and return its path."""
    draw, n, orientation = _LAYOUT[result.device]
    shape = (n, 1) if orientation == "vertical" else (1, n)
    size = (8, 3 + 2.5 * (n - 1)) if orientation == "vertical" else (5 * n, 4)
    fig, axes = plt.subplots(*shape, figsize=size, sharex=orientation == "vertical", squeeze=False)
    draw(result, list(axes.ravel()))
    _footer(fig, result)
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, result.device.replace(" ", "_") + ".png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _confusion(y: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=int)
    np.add.at(m, (y, pred), 1)
    return m


def plot_cosim(result, out_dir: str) -> list[str]:
    """Circuit vs surrogate scores, both confusion matrices, and the first output waveforms."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    rep = result.report()
    # RF networks score with chain voltages (shown in mV), dynamical ones with STNO powers
    scale, what = (1e3, "output chain voltage (mV)") if result.unit == "V" else \
        (1.0, "output STNO power p")
    s, c = result.surrogate[-1] * scale, result.circuit[-1] * scale
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(s.ravel(), c.ravel(), ".", ms=2, color="k", alpha=0.4)
    lo, hi = min(s.min(), c.min()), max(s.max(), c.max())
    ax.plot([lo, hi], [lo, hi], color="tab:blue", lw=1, label="circuit = surrogate")
    ax.set_xlabel(f"surrogate {what}")
    ax.set_ylabel(f"ngspice {what}")
    ax.set_title(f"argmax agreement {100 * rep['argmax_agreement']:.2f} %", fontsize=9)
    ax.legend()
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "scores.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    n = s.shape[1]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, pred, name, acc in ((axes[0], result.surrogate_pred, "surrogate", rep["surrogate_accuracy"]),
                                (axes[1], result.circuit_pred, "circuit (ngspice)", rep["circuit_accuracy"])):
        m = _confusion(result.y, pred, n)
        ax.imshow(m, cmap="Blues")
        for (i, j), v in np.ndenumerate(m):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                        color="w" if v > m.max() / 2 else "k")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}: {100 * acc:.2f} %", fontsize=9)
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "confusion.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    w = result.waveforms
    if w and "outputs" in w:
        fig, ax = plt.subplots(figsize=(9, 4))
        for k, v in enumerate(w["outputs"]):
            ax.plot(w["t"] * 1e9, v * scale, lw=1, label=f"class {k}")
        for t in w["read_times"]:
            ax.axvline(t * 1e9, color="0.6", ls=":", lw=1)
        ax.set_xlabel("time (ns); dotted: read-out instants")
        ax.set_ylabel(what)
        ax.legend(fontsize=7, ncol=5)
        fig.tight_layout()
        paths.append(os.path.join(out_dir, "waveforms.png"))
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
