"""Crossbar configuration and the mapping of weights and inputs onto it.

:class:`CrossbarConfig` describes the circuit (device range, wires, sensing, access transistors,
physical size); :func:`weights_to_conductances` writes a weight matrix into device conductances
(:class:`ConductanceMap`); ``_row_voltages`` scales an input vector onto the row drivers. The
validation helpers here are shared by the rest of the package.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from spintronic.models.domain_wall import DomainWallParams
from spintronic.models.params import Params, param

_DW = DomainWallParams()
SENSING = ("tia", "resistor")


# ---------------------------------------------------------------- configuration

@dataclasses.dataclass(frozen=True)
class CrossbarConfig(Params):
    """Electrical description of one crossbar. SI units (S, Ohm, V)."""

    g_p: float = param(_DW.G_P, "positive", "conductance of a device in the parallel state (S)")
    on_off: float = param(_DW.on_off_ratio, "positive", "ON/OFF ratio G_P / G_AP, must be > 1")
    r_wire: float = param(0.0, "nonneg",
                          "wire resistance of one cell segment, row and column (Ohm)")
    v_read: float = param(0.1, "positive", "row voltage for the largest input magnitude (V)")
    r_sense: float = param(100.0, "positive", "sense resistor to ground per column (Ohm), "
                                              "used when sensing='resistor'")
    r_on: float = param(1e3, "positive", "access transistor on-resistance, selected row (Ohm)")
    r_off: float = param(1e9, "positive", "access transistor off-resistance, unselected row (Ohm)")
    sensing: str = dataclasses.field(default="tia", metadata={
        "doc": "'tia': columns at virtual ground; 'resistor': columns to ground through r_sense"})
    differential: bool = dataclasses.field(default=True, metadata={
        "doc": "signed weights as G+/G- device pairs (True) or shifted weights with a reference "
               "column (False)"})
    access: bool = dataclasses.field(default=False, metadata={
        "doc": "an access transistor in series with every cell"})
    rows: int | None = dataclasses.field(default=None, metadata={
        "doc": "physical number of rows (None: as many as W has inputs)"})
    cols: int | None = dataclasses.field(default=None, metadata={
        "doc": "physical number of device columns (None: as many as the mapping needs)"})

    def validate(self) -> None:
        name = type(self).__name__
        if not self.on_off > 1:
            raise ValueError(f"{name}.on_off (the ON/OFF ratio G_P/G_AP) must be > 1, "
                             f"got {self.on_off!r}")
        if not (isinstance(self.sensing, str) and self.sensing in SENSING):
            raise ValueError(f"{name}.sensing must be one of {SENSING}, got {self.sensing!r}")
        for field in ("differential", "access"):
            if not isinstance(getattr(self, field), (bool, np.bool_)):
                raise ValueError(f"{name}.{field} must be True or False, "
                                 f"got {getattr(self, field)!r}")
        for field in ("rows", "cols"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)) or value < 1):
                raise ValueError(f"{name}.{field} must be None or an integer >= 1, got {value!r}")
        if self.access and self.r_off <= self.r_on:
            raise ValueError(f"{name}.r_off ({self.r_off!r}) must exceed r_on ({self.r_on!r})")

    @property
    def g_ap(self) -> float:
        """Conductance of a device in the antiparallel state (S)."""
        return self.g_p / self.on_off


# ---------------------------------------------------------------- weight mapping

@dataclasses.dataclass(frozen=True, eq=False)
class ConductanceMap:
    """Device conductances of a crossbar and how its column currents combine into outputs.

    ``G`` is (rows, device columns): row = input, column = device column. Output currents are
    ``combine @ column_current`` and outputs in weight units are
    ``output_current * w_per_siemens * x_scale / v_read`` with x_scale = max|x| of the input.
    """

    G: np.ndarray
    combine: np.ndarray
    w_per_siemens: float
    n_in: int
    n_out: int
    cfg: CrossbarConfig

    @property
    def shape(self) -> tuple[int, int]:
        return self.G.shape

    @property
    def positions(self) -> np.ndarray:
        """Domain-wall positions in [0, 1] that give ``G`` (``models.domain_wall.conductance``)."""
        return (self.G - self.cfg.g_ap) / (self.cfg.g_p - self.cfg.g_ap)

    @classmethod
    def from_conductances(cls, G, cfg: CrossbarConfig | None = None) -> "ConductanceMap":
        """A crossbar of given conductances (rows x columns), each column its own output.

        Outputs are then ``G.T @ x`` in S (times the unit of x); no range check against
        [G_AP, G_P] is made, only that every conductance is finite and > 0.
        """
        cfg = cfg or CrossbarConfig()
        G = _finite_matrix(G, "G")
        if np.any(G <= 0):
            raise ValueError(f"every conductance must be > 0, got min {G.min()!r}")
        _check_fits(G.shape, cfg, "G")
        rows, cols = G.shape
        return cls(G, np.eye(cols), 1.0, rows, cols, cfg)


def _finite_matrix(A, what: str) -> np.ndarray:
    arr = np.asarray(A)
    if np.iscomplexobj(arr):
        raise ValueError(f"{what} must be real, got a complex array")
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a numeric matrix, got {A!r:.80}") from None
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{what} must be a non-empty 2-D matrix, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{what} holds {int(bad.sum())} non-finite value(s) (NaN or inf), "
                         f"first at {where}: {arr[where]!r}")
    return arr


def _check_fits(needed: tuple[int, int], cfg: CrossbarConfig, what: str) -> None:
    rows = cfg.rows if cfg.rows is not None else needed[0]
    cols = cfg.cols if cfg.cols is not None else needed[1]
    if needed[0] > rows or needed[1] > cols:
        raise ValueError(f"{what} needs an array of {needed[0]} rows x {needed[1]} device columns, "
                         f"which does not fit the {rows} x {cols} array of the configuration")


def weights_to_conductances(W, cfg: CrossbarConfig | None = None) -> ConductanceMap:
    """Map W (n_out x n_in, signed) onto device conductances in [G_AP, G_P].

    Differential: G+ = G_AP + max(w, 0) / wmax (G_P - G_AP) on device column 2j and
    G- = G_AP + max(-w, 0) / wmax (G_P - G_AP) on column 2j + 1, wmax = max|W|; so
    (G+ - G-) = w (G_P - G_AP) / wmax.
    Single-ended: G = G_AP + (w - wmin) / (wmax - wmin) (G_P - G_AP) with wmin = min(W, 0),
    wmax = max(W, 0), and a reference column (the last mapped one) at the conductance of w = 0,
    which every output subtracts.
    With zero wire resistance and ideal virtual grounds the outputs map back to W @ x exactly.
    If cfg.rows / cfg.cols give a larger array, the extra cells are at G_AP (their rows at 0 V
    and their columns sensed but unused); a W that does not fit raises ValueError.
    """
    cfg = cfg or CrossbarConfig()
    W = _finite_matrix(W, "W")
    n_out, n_in = W.shape
    g_ap, dg = cfg.g_ap, cfg.g_p - cfg.g_ap
    mapped_cols = 2 * n_out if cfg.differential else n_out + 1
    _check_fits((n_in, mapped_cols), cfg, f"W of shape {W.shape}"
                + (" (differential pairs)" if cfg.differential else " (plus a reference column)"))
    rows = cfg.rows if cfg.rows is not None else n_in
    cols = cfg.cols if cfg.cols is not None else mapped_cols
    G = np.full((rows, cols), g_ap)
    combine = np.zeros((n_out, cols))
    if cfg.differential:
        wmax = float(np.abs(W).max()) or 1.0
        G[:n_in, 0:2 * n_out:2] = g_ap + np.maximum(W, 0).T / wmax * dg
        G[:n_in, 1:2 * n_out:2] = g_ap + np.maximum(-W, 0).T / wmax * dg
        combine[np.arange(n_out), 2 * np.arange(n_out)] = 1.0
        combine[np.arange(n_out), 2 * np.arange(n_out) + 1] = -1.0
        w_per_siemens = wmax / dg
    else:
        wmin, wmax = min(float(W.min()), 0.0), max(float(W.max()), 0.0)
        span = (wmax - wmin) or 1.0
        G[:n_in, :n_out] = g_ap + (W.T - wmin) / span * dg
        G[:n_in, n_out] = g_ap - wmin / span * dg
        combine[np.arange(n_out), np.arange(n_out)] = 1.0
        combine[:, n_out] = -1.0
        w_per_siemens = span / dg
    return ConductanceMap(G, combine, w_per_siemens, n_in, n_out, cfg)


def _as_map(W_or_map, cfg: CrossbarConfig | None) -> tuple[ConductanceMap, CrossbarConfig]:
    """A ConductanceMap keeps its conductances; cfg (if given) sets the circuit around them."""
    if isinstance(W_or_map, ConductanceMap):
        return W_or_map, cfg or W_or_map.cfg
    cfg = cfg or CrossbarConfig()
    return weights_to_conductances(W_or_map, cfg), cfg


# ---------------------------------------------------------------- input mapping

def _row_voltages(x, cmap: ConductanceMap, cfg: CrossbarConfig) -> tuple[np.ndarray, np.ndarray,
                                                                           float]:
    """Input vector x (n_in,) -> (x, row voltages (rows,), x_scale): the largest |x| drives its
    row at v_read; rows beyond n_in stay at 0 V."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.shape[0] != cmap.n_in:
        raise ValueError(f"x must be a vector of {cmap.n_in} inputs, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x holds non-finite values: {x[~np.isfinite(x)][:5]!r}")
    x_scale = float(np.abs(x).max()) or 1.0
    v = np.zeros(cmap.G.shape[0])
    v[:cmap.n_in] = (x / x_scale) * cfg.v_read
    return x, v, x_scale


__all__ = ["SENSING", "CrossbarConfig", "ConductanceMap", "weights_to_conductances"]
