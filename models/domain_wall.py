"""Domain-wall (DW) devices: the stochastic binary synapse and the DW-MTJ resistive synapse.

1. Stochastic synapse (Ellis, Welbourne et al. 2023): a drive of amplitude w pushes the wall past a
   pinning site with probability p(w) = (1 - a) + a sigmoid(dx (w - x0)). Read N times, a synapse
   with binary input x gives J ~ Binomial(N, x p) / N.
2. DW-MTJ: the wall position x in [0, 1] (fraction of the free layer parallel to the reference)
   sets the conductance, G = G_AP + (G_P - G_AP) x: the two parts conduct in parallel.

Neither has a carrier, so the SPICE models are the same at envelope and rf fidelity.
"""
from __future__ import annotations

import dataclasses

import torch

from .device import Device, Subckt, register_device
from .params import Params, param, spice_number
from .units import check_fidelity


@dataclasses.dataclass(frozen=True)
class DomainWallParams(Params):
    x0: float = param(4.63168, "finite", "drive at the sigmoid's centre (fit to nanowire data)")
    dx: float = param(2.72741, "positive", "sigmoid steepness (1 / drive unit)")
    a: float = param(0.97813, "unit", "sigmoid amplitude; 1 - a is the floor probability")
    G_P: float = param(1 / 5e3, "positive", "conductance with the wall fully parallel (S)")
    G_AP: float = param(1 / 12.5e3, "positive", "conductance with the wall fully antiparallel (S)")
    t_read: float = param(1e-9, "positive", "duration of one read in the SPICE model (s)")

    def validate(self) -> None:
        if self.G_P <= self.G_AP:
            raise ValueError(f"DomainWallParams: G_P ({self.G_P}) must exceed G_AP ({self.G_AP}); "
                             f"the ON/OFF ratio G_P/G_AP must be > 1")

    @property
    def on_off_ratio(self) -> float:
        return self.G_P / self.G_AP


# ---------------------------------------------------------------- torch surrogate

def switch_probability(w: torch.Tensor, prm: DomainWallParams) -> torch.Tensor:
    """Probability that a drive of amplitude w moves the wall past the pinning site."""
    return (1.0 - prm.a) + prm.a * torch.sigmoid(prm.dx * (w - prm.x0))


def sample_reads(x: torch.Tensor, w: torch.Tensor, n_reads: int, prm: DomainWallParams,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean of n_reads binary reads of synapses w driven by binary inputs x (broadcast together)."""
    if n_reads < 1:
        raise ValueError(f"n_reads must be >= 1, got {n_reads}")
    prob = (x * switch_probability(w, prm)).clamp(0.0, 1.0)
    if n_reads == 1:    # one Bernoulli draw: the same law, ten times faster than torch.binomial
        return (torch.rand(prob.shape, generator=generator, dtype=prob.dtype)
                < prob.detach()).to(prob.dtype)
    count = torch.full_like(prob, float(n_reads))
    return torch.binomial(count, prob.detach(), generator=generator) / n_reads


def stochastic_preactivation(x: torch.Tensor, w: torch.Tensor, n_reads: int,
                             prm: DomainWallParams,
                             generator: torch.Generator | None = None,
                             var_floor: float = 0.0) -> torch.Tensor:
    """Input of neurons fed by DW synapses: sampled forward, trained through mean and spread.

    x: (batch, n_in) binary, w: (n_out, n_in). Forward value is the sampled sum Y of per-synapse
    read means; backward follows mu + eps sigma with eps = (Y - mu) / sigma held fixed, where
    mu = sum x p and sigma = sqrt(sum x p (1 - p) / N + var_floor) (Ellis, Welbourne et al. add
    1e-4, which keeps the gradient through sigma finite when every p is 0 or 1).
    """
    prob = switch_probability(w, prm)                       # (n_out, n_in)
    mu = x @ prob.T                                          # (batch, n_out)
    var = (x @ (prob * (1.0 - prob)).T) / n_reads
    sigma = torch.sqrt(var + var_floor) if var_floor > 0 else torch.sqrt(var.clamp(min=1e-12))
    with torch.no_grad():
        y = sample_reads(x[:, None, :], w[None], n_reads, prm, generator).sum(-1)
        eps = (y - mu) / sigma
    return mu + eps * sigma


def conductance(position: torch.Tensor, prm: DomainWallParams) -> torch.Tensor:
    """DW-MTJ conductance (S) at wall position in [0, 1] (clamped)."""
    return prm.G_AP + (prm.G_P - prm.G_AP) * position.clamp(0.0, 1.0)


# ---------------------------------------------------------------- SPICE models

class DWSynapse(Device):
    """The stochastic DW synapse, ``dw_stoch drive state`` (same at both fidelities): every t_read
    a fresh uniform number r (ngspice trrandom; seed it with ``.options seed=N``) is compared with
    p(V(drive)); ``state`` is 1 V when the wall passed."""
    kind = "dw_synapse"
    description = "binary stochastic domain-wall synapse, switched with probability p(drive) at each read"
    Params = DomainWallParams
    graph_fields = ("x0", "dx", "a", "t_read")
    spice_names = {"x0": "x0", "dx": "dx", "a": "amp", "t_read": "tread"}

    def subckt(self, fidelity: str, prm: DomainWallParams | None = None) -> Subckt:
        check_fidelity(fidelity)
        return Subckt("dw_stoch", ("drive", "state"), self.spice_values(prm), "\n".join([
            "* one uniform draw in [0, 1) per read, held for the read",
            "Vrnd r 0 dc 0 trrandom(1 {tread} 0 0.5 0.5)",
            "Bprob prob 0 V = (1 - amp) + amp/(1 + exp(-dx*(V(drive) - x0)))",
            "Bstate state 0 V = V(r) < V(prob) ? 1 : 0",
        ]))

    def verilog_a(self, prm: DomainWallParams | None = None) -> dict[str, str]:
        return {"domain_wall.va": verilog_a(self.params(prm))}


class DWMTJ(Device):
    """The DW-MTJ resistive synapse, ``dw_mtj t1 t2 pos`` (same at both fidelities): conductance
    G(V(pos)) between t1 and t2, pos clamped to [0, 1]."""
    kind = "dw_mtj"
    description = "DW-MTJ resistive synapse: conductance between G_AP and G_P set by the wall position"
    Params = DomainWallParams
    graph_fields = ("G_P", "G_AP")
    spice_names = {"G_P": "gp", "G_AP": "gap"}

    def subckt(self, fidelity: str, prm: DomainWallParams | None = None) -> Subckt:
        check_fidelity(fidelity)
        return Subckt("dw_mtj", ("t1", "t2", "pos"), self.spice_values(prm), "\n".join([
            "* parallel conduction of the P and AP parts of the free layer",
            "Bg t1 t2 I = (gap + (gp - gap)*min(max(V(pos), 0), 1))*V(t1, t2)",
        ]))

    def verilog_a(self, prm: DomainWallParams | None = None) -> dict[str, str]:
        return {"domain_wall.va": verilog_a(self.params(prm))}


SYNAPSE = register_device(DWSynapse())
MTJ = register_device(DWMTJ())
_VARIANTS = {"stochastic": SYNAPSE, "mtj": MTJ}


def spice_subckt(prm: DomainWallParams, kind: str, fidelity: str = "envelope") -> str:
    """``dw_stoch`` (kind 'stochastic', :class:`DWSynapse`) or ``dw_mtj`` (kind 'mtj',
    :class:`DWMTJ`); same at both fidelities."""
    check_fidelity(fidelity)
    if kind not in _VARIANTS:
        raise ValueError(f"DW device kind must be 'stochastic' or 'mtj', got {kind!r}")
    return _VARIANTS[kind].library(fidelity, prm)


def verilog_a(prm: DomainWallParams) -> str:
    return f"""// Domain-wall device models generated from DomainWallParams.
`include "disciplines.vams"

// stochastic synapse: a new uniform draw every tread, compared with p(drive)
module dw_stoch(drive, state);
  input drive; output state;
  electrical drive, state;
  parameter real x0 = {spice_number(prm.x0)};
  parameter real dx = {spice_number(prm.dx)};
  parameter real amp = {spice_number(prm.a)};
  parameter real tread = {spice_number(prm.t_read)};
  parameter integer seed = 1;
  integer s;
  real r, prob, st;
  analog begin
    @(initial_step) s = seed;
    @(timer(0, tread)) begin
      r = $rdist_uniform(s, 0.0, 1.0);
      prob = (1.0 - amp) + amp / (1.0 + exp(-dx * (V(drive) - x0)));
      st = (r < prob) ? 1.0 : 0.0;
    end
    V(state) <+ st;
  end
endmodule

// DW-MTJ: conductance set by the wall position pos in [0, 1]
module dw_mtj(t1, t2, pos);
  inout t1, t2; input pos;
  electrical t1, t2, pos;
  parameter real gp = {spice_number(prm.G_P)};
  parameter real gap = {spice_number(prm.G_AP)};
  analog I(t1, t2) <+ (gap + (gp - gap) * min(max(V(pos), 0.0), 1.0)) * V(t1, t2);
endmodule
"""
