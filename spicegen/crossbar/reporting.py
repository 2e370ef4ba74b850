"""Reading a solved crossbar: the text report and the figures (current map, MAC error sweep)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..plotting import pyplot, save

if TYPE_CHECKING:  # results imports this module for CrossbarResult.report / .plot_current_map
    from .results import CrossbarResult

def _mode_text(result: CrossbarResult) -> str:
    if result.mode == "mac":
        return "MAC (all rows driven)"
    _, i, j = result.mode.split()
    return f"read of cell ({i}, {j})"


def report(result: CrossbarResult) -> str:
    """Text table: per output the ideal and measured current and value, and the error."""
    out = [f"crossbar {result.cmap.G.shape[0]} x {result.cmap.G.shape[1]} devices, "
           f"{_mode_text(result)}, solver "
           f"{result.solver}, sensing {result.cfg.sensing}, r_wire {result.cfg.r_wire:g} Ohm, "
           f"ON/OFF {result.cfg.on_off:g}, access {'yes' if result.cfg.access else 'no'}",
           f"{'out':>4} {'ideal uA':>11} {'measured uA':>12} {'ideal W@x':>11} {'measured':>11} "
           f"{'error %FS':>10}"]
    for j, (ii, im, yi, ym, e) in enumerate(zip(result.ideal_output_current, result.output_current,
                                               result.ideal_output, result.output,
                                               result.mac_error)):
        out.append(f"{j:>4} {1e6 * ii:11.4f} {1e6 * im:12.4f} {yi:11.5g} {ym:11.5g} "
                   f"{100 * e:10.4f}")
    worst = float(np.abs(result.mac_error).max()) if result.mac_error.size else 0.0
    out.append(f"sneak current {1e6 * result.sneak_current:.4f} uA (sum |I_cell - I_ideal|), "
               f"reverse current {1e6 * result.reverse_current:.4f} uA, worst MAC error "
               f"{100 * worst:.4f} % of full scale")
    return "\n".join(out)


def plot_current_map(result: CrossbarResult, path: str) -> str:
    """Heatmaps (uA), rows x device columns: the device currents (negative = column to row) and
    their deviation from the ideal crossbar, I_cell - G V_row, whose absolute sum is the sneak
    current."""
    plt = pyplot()
    R, C = result.cell_current.shape
    fig, axes = plt.subplots(1, 2, figsize=(min(5 + 0.2 * C, 16), min(3 + 0.1 * R, 9)),
                             squeeze=False)
    panels = [(result.cell_current, "cell current (uA)"),
              (result.cell_current - result.ideal_cell_current, "I_cell - I_ideal (uA)")]
    for ax, (current, label) in zip(axes[0], panels):
        current = 1e6 * current
        lim = float(np.abs(current).max()) or 1.0
        im = ax.imshow(current, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto",
                       interpolation="nearest")
        fig.colorbar(im, ax=ax, label=label)
        ax.set_xlabel("device column" + (" (G+ even, G- odd)" if result.cfg.differential
                                         else " (last: reference)"))
        ax.set_ylabel("row (input)")
    what = (f"worst MAC error {100 * np.abs(result.mac_error).max():.3g} %"
            if result.mode == "mac" else _mode_text(result))
    fig.suptitle(f"{result.solver}: {R} x {C} devices, r_wire {result.cfg.r_wire:g} Ohm, "
                 f"sensing {result.cfg.sensing}; sneak {1e6 * result.sneak_current:.4g} uA, "
                 f"{what}", fontsize=9)
    fig.tight_layout()
    return save(fig, path)


#: % of full scale below which a sweep point is float rounding: drawn at the axis' foot, marked
EXACT = 1e-6


def plot_mac_error_sweep(sizes, errors, xlabel: str, path: str,
                         ylabel: str = "MAC error (% of full scale)", title: str | None = None,
                         mark: float | None = None) -> str:
    """MAC error (% of full scale) against a swept quantity (array size, ON/OFF ratio, ...).

    ``errors`` is one sequence of relative errors, or a dict label -> sequence for several curves.
    Either axis is logarithmic when its values are positive and span a decade or more (errors
    below ``EXACT`` % are exact to rounding: they do not count, and sit marked at the foot of a
    logarithmic axis); ``mark`` draws a dotted line at the configuration's own value.
    """
    plt = pyplot()
    series = errors if isinstance(errors, dict) else {"MAC error": errors}
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    curves = []
    for label, values in series.items():
        values = 100 * np.asarray(values, dtype=float)
        if len(values) != len(sizes):
            raise ValueError(f"{len(values)} errors for {len(sizes)} sweep points ({label})")
        curves.append((values, ax.plot(sizes, values, "o-", label=label)[0]))
    span = np.concatenate([v for v, _ in curves])
    real = span[span >= EXACT]
    if np.all(span >= 0) and len(real) and real.max() >= 10 * real.min():
        ax.set_yscale("log")
        if len(real) < len(span):   # an exact point (no wire, say) would stretch the axis to 1e-12
            bottom = real.min() / 10
            ax.set_ylim(bottom=bottom)
            label = f"exact to rounding (< {EXACT:g} % FS)"
            for values, line in curves:
                tiny = values < EXACT
                if tiny.any():
                    line.set_ydata(np.where(tiny, np.nan, values))
                    ax.plot(np.asarray(sizes)[tiny], np.full(int(tiny.sum()), bottom), "v",
                            color=line.get_color(), clip_on=False, label=label)
                    label = None
    x = np.asarray(sizes, dtype=float)
    if np.all(x > 0) and x.max() >= 10 * x.min():
        ax.set_xscale("log")
    elif x.min() == 0 and x.max() > 0 and x[x > 0].max() >= 10 * x[x > 0].min():
        ax.set_xscale("symlog", linthresh=float(x[x > 0].min()))   # 0 and decades above it
        ax.set_xlim(left=0)
    if mark is not None:
        ax.axvline(mark, color="grey", ls=":", lw=1, label=f"these settings ({mark:g})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    if len(ax.get_legend_handles_labels()[0]) > 1 or mark is not None:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


__all__ = ["report", "plot_current_map", "plot_mac_error_sweep"]
