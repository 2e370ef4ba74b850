"""Figures of the device twins: surrogate and SPICE curves overlaid, one PNG per twin.

Each drawing function registers under its twin's name (:func:`twin_plot`), and :func:`plot_twin`
picks it by the name the TwinResult carries. The co-simulation figures are in
:mod:`spicegen.cosim_plots` (``plot_cosim`` is re-exported here for older callers).
"""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .cosim_plots import plot_cosim  # noqa: F401  (re-exported)
from .plotting import pyplot, save
from .twins import TWINS, TwinResult

plt = pyplot()


def save_figure(fig, path: str) -> str:
    """Write ``fig`` to ``path`` (creating its folder), close it, return the path."""
    return save(fig, path)


# twin name -> (draw(result, axes), number of panels, "vertical" or "horizontal")
TWIN_PLOTS: dict[str, tuple[Callable, int, str]] = {}


def twin_plot(name: str, panels: int, orientation: str) -> Callable:
    """Register the decorated ``draw(result, axes)`` as the figure of the twin ``name``: ``panels``
    axes stacked vertically (sharing the time axis) or side by side."""
    if name not in TWINS:
        raise ValueError(f"no twin {name!r} to plot; registered twins: {list(TWINS)}")
    if orientation not in ("vertical", "horizontal") or panels < 1:
        raise ValueError(f"twin plot {name!r}: need panels >= 1 and a vertical or horizontal "
                         f"orientation, got {panels}, {orientation!r}")

    def register(draw: Callable) -> Callable:
        TWIN_PLOTS[name] = (draw, panels, orientation)
        return draw
    return register


SURROGATE = dict(color="tab:blue", lw=2.5, alpha=0.6, label="torch surrogate")
SPICE = dict(color="k", lw=1.0, ls="--", label="ngspice")


def _footer(fig, result: TwinResult) -> None:
    worst = max(result.checks, key=lambda c: c.error / c.tolerance if c.tolerance else c.error)
    status = "all checks pass" if result.passed else "SOME CHECKS FAIL"
    fig.suptitle(f"{result.device}: {status} (worst: {worst.name} = {worst.error:.3g}, "
                 f"tol {worst.tolerance:.3g})", fontsize=9)


@twin_plot("stno_envelope", 2, "vertical")
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


@twin_plot("stno_rf", 2, "vertical")
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


@twin_plot("resonator_envelope", 1, "vertical")
def plot_resonator_envelope(r: TwinResult, ax_list) -> None:
    _plot_lorentzians(r, ax_list[0], None)
    ax_list[0].set_title("envelope: DC sweep", fontsize=9)


@twin_plot("resonator_rf", 2, "horizontal")
def plot_resonator_rf(r: TwinResult, ax_list) -> None:
    _plot_lorentzians(r, ax_list[0], "o")
    ax_list[0].set_title("rf: carrier-level resonators after settling", fontsize=9)
    c = r.curves
    ax_list[1].plot(c["t_example"] * 1e9, c["v_example"] * 1e3, color="k", lw=0.8)
    ax_list[1].set_xlabel("time (ns)")
    ax_list[1].set_ylabel("low-passed output (mV)")
    ax_list[1].set_title("read-out settling at the peak", fontsize=9)


@twin_plot("domain_wall", 2, "horizontal")
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


def plot_twin(result: TwinResult, out_dir: str) -> str:
    """Write ``<device>.png`` in out_dir and return its path."""
    if result.twin not in TWIN_PLOTS:
        raise ValueError(f"no plot registered for twin {result.twin!r} ({result.device}); "
                         f"plots exist for {sorted(TWIN_PLOTS)}")
    draw, n, orientation = TWIN_PLOTS[result.twin]
    shape = (n, 1) if orientation == "vertical" else (1, n)
    size = (8, 3 + 2.5 * (n - 1)) if orientation == "vertical" else (5 * n, 4)
    fig, axes = plt.subplots(*shape, figsize=size, sharex=orientation == "vertical", squeeze=False)
    draw(result, list(axes.ravel()))
    _footer(fig, result)
    fig.tight_layout()
    return save(fig, os.path.join(out_dir, result.device.replace(" ", "_") + ".png"))
