"""Device physics: one module per device family, each the single source of truth for its parameters,
its torch surrogate and its SPICE behavioural model. Imports neither training nor spicegen."""
from . import domain_wall, resonator, stno
from .domain_wall import DomainWallParams
from .resonator import ResonatorParams
from .stno import STNOParams
from .units import FIDELITIES


def model_library(fidelity: str, stno_params: STNOParams | None = None,
                  resonator_params: ResonatorParams | None = None,
                  dw_params: DomainWallParams | None = None) -> str:
    """Every device subcircuit at one fidelity, emitted once per netlist."""
    stno_params = stno_params or STNOParams()
    resonator_params = resonator_params or ResonatorParams()
    dw_params = dw_params or DomainWallParams()
    parts = [
        stno.spice_subckt(stno_params, fidelity),
        resonator.spice_subckt(resonator_params, fidelity),
        domain_wall.spice_subckt(dw_params, "stochastic", fidelity),
        domain_wall.spice_subckt(dw_params, "mtj", fidelity),
    ]
    return "\n\n".join(parts) + "\n"


def verilog_a_library() -> dict[str, str]:
    """File name -> Verilog-A source of each device family, with the published defaults."""
    return {
        "stno.va": stno.verilog_a(STNOParams()),
        "mtj_resonator.va": resonator.verilog_a(ResonatorParams()),
        "domain_wall.va": domain_wall.verilog_a(DomainWallParams()),
    }


__all__ = ["STNOParams", "ResonatorParams", "DomainWallParams", "FIDELITIES", "model_library",
           "verilog_a_library", "stno", "resonator", "domain_wall"]
