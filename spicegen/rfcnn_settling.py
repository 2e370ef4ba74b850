"""How far an RF convolutional network's envelope co-simulation is from the steady state the
surrogate assumes, predicted in seconds without ngspice.

In the envelope deck (``rfcnn_netlist.compile_rfcnn``) the chains are resistive: the conv chain
voltages follow the pixel powers at once and the read-outs follow the STNOs' emitted powers at
once. Only the STNOs' power equation dp/dt = 2 Gg [(z - 1) - (z + Q) p] p has dynamics, driven by
a current that holds still over each sample's window. Its exact solution over a step
(``models.stno.power_step``) gives what ngspice reads at the end of every window, sample after
sample, from the ``.ic`` power at the start of each run. An STNO whose drive sits at the lower
clamp (the threshold current) loses its power only as 1/t, so the read-out error halves each time
the window doubles: the window a network needs follows from the prediction, before an hour-long
run starts.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from spintronic.graph import schema
from spintronic.models import stno

from .compiler import check_stimulus
from .cosim import REPORT_SECTIONS, CosimResult
from .rfcnn_netlist import (CHUNK, P_INIT, RISE, conv_voltages, graph_forward, readout_matrix,
                            stno_drive)

TARGET = 0.99           # the co-simulation target: argmax agreement with the surrogate
LONGEST = 64            # windows tried up to this many times the one asked for


def checked_runs(g, X: np.ndarray, window: float, rise: float, chunk: int | None) -> np.ndarray:
    """X refused as the deck refuses it (``check_stimulus``), run by run of ``chunk`` samples:
    its size limits are those of one netlist, not of the whole test set."""
    n_in, step = schema.layer_sizes(g)[0], chunk or max(1, len(X))
    runs = [check_stimulus(X[i:i + step], n_in, window, rise) for i in range(0, len(X), step)]
    return np.concatenate(runs) if runs else check_stimulus(X, n_in, window, rise)


def windowed_forward(g, X: np.ndarray, window: float, rise: float = RISE, p_init: float = P_INIT,
                     chunk: int | None = CHUNK) -> list[np.ndarray]:
    """Both layers' chain voltages (V) the envelope deck reads at the end of each window: samples
    played one after another in runs of ``chunk`` (each run starting at power ``p_init``), each
    after a ``rise`` ramp from the previous one, taken as a step at the ramp's middle."""
    X = checked_runs(g, X, window, rise, chunk)
    chunk = chunk or len(X)
    v1 = conv_voltages(g, X)
    hidden = np.zeros_like(v1)
    for js, current, prm in stno_drive(g, v1):
        p = torch.zeros(len(js), dtype=torch.float64)
        for k in range(len(X)):
            if k % chunk == 0:
                p = stno.power_step(torch.full_like(p, p_init), current[k], window, prm)
            else:
                p = stno.power_step(p, current[k - 1], rise / 2, prm)
                p = stno.power_step(p, current[k], window - rise / 2, prm)
            hidden[k, js] = stno.emitted_power(p, current[k], prm).numpy()
    W2, b2 = readout_matrix(g)
    return [v1, hidden @ W2.T + b2]


def settling(g, X: np.ndarray, window: float, chunk: int | None = CHUNK,
             surrogate: list[np.ndarray] | None = None) -> dict:
    """The prediction at ``window`` against the steady state (``surrogate``: graph_forward(g, X),
    computed when not given): argmax agreement and read-out error."""
    steady = surrogate if surrogate is not None else graph_forward(g, X)
    settled = windowed_forward(g, X, window, chunk=chunk)
    err = np.abs(settled[-1] - steady[-1])
    return {"window_s": window, "settled": settled,
            "agreement": float((settled[-1].argmax(1) == steady[-1].argmax(1)).mean()),
            "mean_error_V": float(err.mean()), "max_error_V": float(err.max())}


def window_needed(g, X: np.ndarray, window: float, chunk: int | None = CHUNK,
                  surrogate: list[np.ndarray] | None = None, target: float = TARGET):
    """(window, predicted agreement) of the shortest of window x 2^k (k = 1 .. log2 LONGEST)
    whose predicted agreement reaches ``target``, or None when none does."""
    factor = 2
    while factor <= LONGEST:
        got = settling(g, X, window * factor, chunk, surrogate)["agreement"]
        if got >= target:
            return window * factor, got
        factor *= 2
    return None


def settling_notes(g, X: np.ndarray, window: float, chunk: int | None = CHUNK) -> list[str]:
    """A warning before the run when the window is too short for the target agreement."""
    if len(X) == 0:
        return []
    X = checked_runs(g, X, window, RISE, chunk)
    steady = graph_forward(g, X)
    now = settling(g, X, window, chunk, steady)
    if now["agreement"] >= TARGET:
        return []
    better = window_needed(g, X, window, chunk, steady)
    advice = (f"--window {better[0]:.3g} predicts {100 * better[1]:.2f} %" if better else
              f"no window up to {LONGEST}x this one reaches {100 * TARGET:.0f} %")
    return [f"warning: at {window * 1e9:.3g} ns a sample the STNOs do not settle (those driven "
            f"near threshold relax slowest): their power equation, solved over each window, "
            f"predicts argmax agreement {100 * now['agreement']:.2f} % with the steady-state "
            f"surrogate (read-out error mean {1e6 * now['mean_error_V']:.2f} uV); {advice}"]


@dataclasses.dataclass
class RFCNNCosimResult(CosimResult):
    """An rfcnn co-simulation, with what the power equation predicts ngspice reads (``settled``,
    ``windowed_forward``) at its ``window``."""
    settled: list | None = None
    window: float = 0.0

    def report(self) -> dict:
        rep = super().report()
        if self.settled is None:
            return rep
        gap = np.abs(self.circuit[-1] - self.settled[-1])
        rep["settling"] = {
            "window_s": self.window,
            "predicted_agreement": float((self.settled[-1].argmax(1)
                                          == self.surrogate[-1].argmax(1)).mean()),
            "circuit_vs_predicted_max_V": float(gap.max()),
            "circuit_vs_predicted_mean_V": float(gap.mean())}
        return rep


def _format_settling(sec: dict) -> list[str]:
    return [f"STNO settling in {sec['window_s'] * 1e9:.3g} ns windows (power equation solved "
            f"exactly): predicted argmax agreement {100 * sec['predicted_agreement']:.2f} %; "
            f"circuit within {1e6 * sec['circuit_vs_predicted_max_V']:.3f} uV of the prediction "
            f"(mean {1e6 * sec['circuit_vs_predicted_mean_V']:.3f} uV)"]


REPORT_SECTIONS["settling"] = _format_settling
