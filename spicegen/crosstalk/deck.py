"""The rf deck of one run of a :class:`CrosstalkSetup`: the same cards as ``compile_rf``."""
from __future__ import annotations

import math
from typing import Sequence

from spintronic.models import resonator
from spintronic.models.params import spice_number as num

from .. import rfstep
# private helper of the compiler: the one place that knows how a chain is emitted at rf fidelity
from ..compiler import chain_cards
from .setup import TWO_PI, CrosstalkSetup


def _deck(setup: CrosstalkSetup, drive: Sequence[int], powers: Sequence[float],
          save_heads: bool = False, title: str = "") -> str:
    """One run: inputs ``drive`` at ``powers`` on the line of every chain."""
    h = setup.step
    prm = setup.prm
    lines = [f"* spicegen crosstalk {title}".rstrip(),
             ".options reltol=1e-5 abstol=1e-15 vntol=1e-9",
             resonator.spice_subckt(prm, "rf"),
             "* input carriers: amplitude sqrt(2 Z0 P), emitted at the pre-warped frequency"
             + (", zero at t = 0" if setup.carrier == "sin" else "")]
    fe = setup.emitted
    for i in drive:
        amp = math.sqrt(2.0 * prm.Z0 * powers[i])
        lines.append(f"Bsrc{i} rf{i} 0 V = {num(amp)}*{setup.carrier}({num(TWO_PI * fe[i])}*time)")
    saves = []
    for j in range(setup.n_chains):
        head = f"h{j}"
        lines += [f"Gline{j}_{i} 0 {head} rf{i} 0 {num(1.0 / prm.Z0)}" for i in drive]
        lines += chain_cards(setup.chains[j], setup.orientations[j],
                             prm.R0 * len(setup.chains[j]), f"{j}", head)
        lines.append(f"Xlp{j} {head} lp{j} readout_lp params: fc={num(setup.corner)}")
        saves.append(f"v(lp{j})")
        if save_heads:
            saves.append(f"v({head})")
    lines.append(".save " + " ".join(saves))
    lines += rfstep.cards(h, setup.t_stop)
    lines.append(".end")
    return "\n".join(lines) + "\n"
