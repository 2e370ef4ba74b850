"""RF crosstalk at carrier (rf) fidelity: what the Lorentzian surrogate hides. Prints every figure.

    .venv/bin/python benchmarks/rf_crosstalk.py        # about 15 s on 2 cores

1. An 8-channel layer (1 GHz upwards, 8 linewidths apart on a geometric grid, alpha = 0.01, 1 uW
   per channel), one resonator per channel one linewidth above it: single-drive matrix against the
   Lorentzian, superposition error, and the same layer with one surrogate assumption broken at a
   time (rotating wave, read-out corner, settling, drive strength).
2. Beat-note ripple against the read-out corner, two channels 8 linewidths apart.
3. Frequency pulling of an STNO with a nonlinear shift N: surrogate table and an rf check.
4. Spacing guideline: crosstalk error vs spacing, rf confirmations, minimum spacing for 1/5/10 %.
Figures go to out/crosstalk/.
"""
from __future__ import annotations

import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spintronic.models import ResonatorParams  # noqa: E402
from spicegen import crosstalk as xt  # noqa: E402
from spicegen.crosstalk.tables import _table  # noqa: E402

OUT = os.path.join("out", "crosstalk")
TWO_PI = 2 * math.pi


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 90 - len(title)))


def main() -> None:
    start = time.perf_counter()
    os.makedirs(OUT, exist_ok=True)

    section("1. crosstalk matrix, 8 channels 8 linewidths apart")
    setup = xt.CrosstalkSetup.layer(8, 8.0, f_min=1e9, offset=1.0, power=1e-6)
    res = xt.measure_crosstalk(setup, workers=2)
    print(res.report())
    res.plot(os.path.join(OUT, "matrix.png"))
    print("\none assumption broken at a time (errors vs Lorentzian as % of the max entry; "
          "superposition as % of the largest chain signal):")
    rows = xt.assumption_sweep(setup, workers=2)
    print(xt.format_assumptions(rows))
    for name, r in rows:
        if name == "corner 1.5 x spacing":
            r.plot(os.path.join(OUT, "matrix_high_corner.png"))

    section("2. beat notes vs read-out corner")
    beats = xt.beat_note_sweep((0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0), spacing=8.0)
    print(beats.report())
    beats.plot(os.path.join(OUT, "beat_notes.png"))

    section("3. frequency pulling")
    Ns = [TWO_PI * m * 1e6 for m in (0, 1, 2, 5, 10, 20, 50)]
    pull = xt.pulling(Ns, offset=1.0)
    print(pull.report())
    pull.plot(os.path.join(OUT, "pulling.png"))
    print()
    print(xt.pulling_rf_check([TWO_PI * m * 1e6 for m in (0, 5, 12.5, 25)], z=3.0,
                              offset=0.0).report())

    section("4. spacing guideline")
    bounds = (0.01, 0.05, 0.1)
    guide = xt.spacing_guideline(0.05, n_channels=8, rf_spacings=(3, 8, 20))
    print(guide.report())
    for b in bounds:
        m = guide.min_spacing_for(b)
        print(f"  bound {100 * b:4g} %: " + (f"{m:.3g} linewidths" if m else
                                              f"unreachable (floor {100 * guide.floor:.1f} %)"))
    print(f"  (rf confirmations: {guide.rf_seconds:.1f} s)")
    guide.plot(os.path.join(OUT, "guideline.png"), bounds=bounds + (0.2, 0.5))
    print("\nminimum spacing (linewidths) by channel count and alpha, abs metric (Lorentzian):")
    header = ("channels", "alpha", "floor", *(f"{100 * b:g} %" for b in bounds))
    table = []
    for n in (2, 4, 8):
        for alpha in (0.01, 0.003, 0.001):
            g = xt.spacing_guideline(0.05, n_channels=n, prm=ResonatorParams(alpha=alpha))
            mins = [g.min_spacing_for(b) for b in bounds]
            table.append((str(n), f"{alpha:g}", f"{100 * g.floor:.2f} %",
                          *("-" if m is None else f"{m:.3g}" for m in mins)))
    print(_table(header, table))
    print(f"\nfigures in {OUT}/; total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
