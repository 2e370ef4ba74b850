"""Topology of a trained RF layer: which input each resonator serves, read from the device graph.

A resonator serves the input whose carrier lies within one linewidth (alpha f_r) of its resonance,
the nearest one if several do; otherwise it serves none (it sits between channels, or beyond the
band, and weights its neighbours only through its Lorentzian's tails). A resonator that carries an
``initial_channel`` attribute (sparse networks record where training started it) migrated when its
nearest channel is no longer that one. Works on any RF graph; the plot shows each chain's effective
weights (crosstalk included, as the compiler computes them) on the input image grid.
"""
from __future__ import annotations

import dataclasses
import math

import networkx as nx
import numpy as np

from spintronic.graph import schema

from .compiler import layer_weights, source_frequency


@dataclasses.dataclass
class Topology:
    layer: int
    n_inputs: int
    chain: np.ndarray        # per resonator: its chain
    position: np.ndarray     # its position along the chain
    nearest: np.ndarray      # the nearest input channel
    detuning: np.ndarray     # (f_r - f_nearest) / (alpha f_r): in linewidths
    initial: np.ndarray | None   # the channel training started it on (None: not recorded)
    # per input: how many of the layer's resonators have it within a linewidth (trained input
    # frequencies gather inputs under resonators: the count says how far they did)
    reach: np.ndarray | None = None

    @property
    def serves(self) -> np.ndarray:
        """The input each resonator serves, -1 for none."""
        return np.where(np.abs(self.detuning) <= 1.0, self.nearest, -1)

    def counts(self) -> dict:
        serves = self.serves
        on = serves >= 0
        pairs = {(c, s) for c, s in zip(self.chain[on], serves[on])}
        return {
            "layer": self.layer,
            "resonators": int(len(serves)),
            "serving": int(on.sum()),
            "between_channels": int((~on).sum()),
            "inputs_served": int(len(set(serves[on].tolist()))),
            "inputs": self.n_inputs,
            # resonators of one chain on an input another resonator of that chain already serves
            "doubled": int(on.sum()) - len(pairs),
            "migrated": None if self.initial is None else int((self.nearest != self.initial).sum()),
            # how far, in channels: the median over every resonator
            "median_shift": None if self.initial is None else
            float(np.median(np.abs(self.nearest - self.initial))),
            "inputs_reached": None if self.reach is None else int((self.reach > 0).sum()),
            "median_reach": None if self.reach is None else float(np.median(self.reach)),
        }

    def summary(self) -> str:
        c = self.counts()
        text = (f"layer {c['layer']} topology: {c['serving']} of {c['resonators']} resonators serve "
                f"an input within a linewidth ({c['inputs_served']} of {c['inputs']} inputs "
                f"served, {c['doubled']} doubled within a chain), {c['between_channels']} sit "
                f"between channels")
        if c["migrated"] is not None:
            text += (f"; {c['migrated']} migrated from their initial channel (median shift "
                     f"{c['median_shift']:g} channels)")
        if c["inputs_reached"] is not None:
            text += (f"; {c['inputs_reached']} of {c['inputs']} inputs lie within a linewidth of "
                     f"a resonator (median {c['median_reach']:g} resonators each)")
        return text


def topology(g: nx.DiGraph, layer: int = 1) -> Topology:
    """Where the resonators of ``layer`` sit relative to the carriers on its line."""
    sizes = schema.layer_sizes(g)
    if not 1 <= layer < len(sizes):
        raise ValueError(f"layer {layer} is outside the network's layers 1..{len(sizes) - 1}")
    f_in = np.array([source_frequency(g, s) for s in schema.sources(g, layer)])
    chain, position, nearest, detuning, initial = [], [], [], [], []
    reach = np.zeros(len(f_in), dtype=int)
    for j, (_, path, _) in enumerate(schema.chains(g, layer)):
        for k, r in enumerate(path):
            a = g.nodes[r]
            i = int(np.argmin(np.abs(f_in - a["f_r"])))
            reach += np.abs(f_in - a["f_r"]) <= a["alpha"] * a["f_r"]
            chain.append(j)
            position.append(k)
            nearest.append(i)
            detuning.append((a["f_r"] - f_in[i]) / (a["alpha"] * a["f_r"]))
            initial.append(a.get("initial_channel"))
    recorded = len(initial) > 0 and all(isinstance(c, int) for c in initial)
    return Topology(layer, len(f_in), np.array(chain, dtype=int), np.array(position, dtype=int),
                    np.array(nearest, dtype=int), np.array(detuning, dtype=float),
                    np.array(initial, dtype=int) if recorded else None, reach)


def _image_shape(n: int) -> tuple[int, int]:
    side = math.isqrt(n)
    return (side, side) if side * side == n else (math.ceil(n / math.ceil(math.sqrt(n))),
                                                  math.ceil(math.sqrt(n)))


def plot_topology(g: nx.DiGraph, path: str, layer: int = 1, max_panels: int = 32) -> str:
    """One panel per chain of ``layer`` (per class in a perceptron): the chain's effective weight
    on each input, drawn on the input image grid, with a dot on every input a resonator serves."""
    from .plotting import pyplot, save

    plt = pyplot()
    top = topology(g, layer)
    W, _ = layer_weights(g, layer)
    W = W[:max_panels]
    rows, cols = _image_shape(top.n_inputs)
    n = len(W)
    ncol = min(n, 5)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.0 * ncol, 2.1 * nrow + 0.4), squeeze=False)
    scale = float(np.abs(W).max()) or 1.0
    last = layer == len(schema.layer_sizes(g)) - 1
    serves = top.serves
    for j, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= n:
            ax.axis("off")
            continue
        img = np.full(rows * cols, np.nan)
        img[:top.n_inputs] = W[j]
        ax.imshow(img.reshape(rows, cols), cmap="coolwarm", vmin=-scale, vmax=scale)
        on = serves[(top.chain == j) & (serves >= 0)]
        ax.plot(on % cols, on // cols, "k.", ms=5)
        ax.set_title(f"{'class' if last else 'chain'} {j}: {len(on)} served", fontsize=8)
    c = top.counts()
    moved = "" if c["migrated"] is None else f", {c['migrated']} migrated"
    fig.suptitle(f"layer {layer}: effective weights (crosstalk included), dots: inputs served "
                 f"within a linewidth ({c['serving']}/{c['resonators']} resonators{moved})",
                 fontsize=8)
    fig.tight_layout()
    return save(fig, path)


__all__ = ["Topology", "plot_topology", "topology"]
