"""Device physics: one module per device family, each the single source of truth for its parameters,
its torch surrogate and its SPICE behavioural model. Imports neither training nor spicegen.

Each family registers itself in :data:`DEVICES` (models.device) when its module is imported; the
model library below, the graph schema, the twins and the contract test iterate that registry.
"""
# the order of these imports is the registration order, which the model library follows
from . import stno, resonator, domain_wall  # noqa: I001
from .device import DEVICES, Device, Subckt, get_device, register_device
from .domain_wall import DomainWallParams
from .params import Params
from .resonator import ResonatorParams
from .stno import STNOParams
from .units import FIDELITIES


def _library_subckts(fidelity: str, params: dict[str, Params]) -> list[Subckt]:
    out: dict[str, Subckt] = {}
    for kind, device in DEVICES.items():
        if fidelity not in device.fidelities:
            continue
        for sc in device.subckts(fidelity, params.get(kind)):
            if sc.name in out and out[sc.name].text != sc.text:
                raise ValueError(f"device families define two different subcircuits {sc.name!r}")
            out.setdefault(sc.name, sc)
    return list(out.values())


def model_library(fidelity: str, stno_params: STNOParams | None = None,
                  resonator_params: ResonatorParams | None = None,
                  dw_params: DomainWallParams | None = None,
                  params: dict[str, Params] | None = None) -> str:
    """Every registered device's subcircuits at one fidelity, each once, emitted once per netlist.

    ``params``: device kind -> Params of that family (default: the published defaults); the
    keyword arguments before it are shorthands for the STNO, the resonator and both DW families.
    """
    given = {"stno": stno_params, "resonator": resonator_params, "dw_synapse": dw_params,
             "dw_mtj": dw_params}
    given = {k: v for k, v in given.items() if v is not None}
    given.update(params or {})
    unknown = sorted(set(given) - set(DEVICES))
    if unknown:
        raise ValueError(f"model_library: unknown device kind(s) {unknown}; registered: "
                         f"{sorted(DEVICES)}")
    return "\n\n".join(sc.text for sc in _library_subckts(fidelity, given)) + "\n"


def verilog_a_library() -> dict[str, str]:
    """File name -> Verilog-A source of each device family, with the published defaults."""
    files: dict[str, str] = {}
    for device in DEVICES.values():
        for name, text in device.verilog_a().items():
            if name in files and files[name] != text:
                raise ValueError(f"device families write two different Verilog-A files {name!r}")
            files.setdefault(name, text)
    return files


__all__ = ["STNOParams", "ResonatorParams", "DomainWallParams", "FIDELITIES", "model_library",
           "verilog_a_library", "stno", "resonator", "domain_wall", "DEVICES", "Device", "Subckt",
           "get_device", "register_device"]
