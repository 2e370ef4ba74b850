"""Figures of a network co-simulation: circuit against surrogate scores, both confusion
matrices and the first output waveforms (``spicegen cosim`` writes them)."""
from __future__ import annotations

import os

import numpy as np

from .plotting import pyplot

plt = pyplot()


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
    scale, what = {"V": (1e3, "output chain voltage (mV)"), "p": (1.0, "output STNO power p")
                   }.get(result.unit, (1.0, f"output {result.unit}"))
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
        im = ax.imshow(m, cmap="Blues", vmin=0)
        fig.colorbar(im, ax=ax, shrink=0.85, label="test samples")
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
    extra = getattr(result, "extra_plots", None)   # a kind's own figures (dw: distributions)
    if extra is not None:
        paths += extra(out_dir)
    return paths
