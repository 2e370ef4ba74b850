"""Contract of a device family: what every registered device must satisfy.

One parametrised test per promise, over every family in the registry (a new family registers and
is held to them with no test of its own): its Params validate, its subcircuits parse and run in
ngspice at every fidelity, its instances are built by port name and checked, the graph schema
requires its fields, and its twins pass within their tolerances and have a plot.
"""
import dataclasses
import math

import pytest

from spintronic.models import DEVICES, FIDELITIES, model_library
from spintronic.models.device import Device, Subckt, get_device, register_device

from .conftest import requires_ngspice

FAMILIES = list(DEVICES.values())
BY_KIND = pytest.mark.parametrize("device", FAMILIES, ids=[d.kind for d in FAMILIES])


def _fields(device: Device) -> list[str]:
    return [f.name for f in dataclasses.fields(device.Params)]


# ------------------------------------------------------------------ parameters

@BY_KIND
def test_params_validate_and_round_trip(device):
    prm = device.params()
    assert isinstance(prm, device.Params)
    for name in device.graph_fields:
        for bad in (float("nan"), float("inf"), "1e9", None, True):
            with pytest.raises(ValueError, match=name):
                device.Params(**{name: bad})
    # a graph node's attributes (with unrelated ones) give the same parameters back
    attrs = {**prm.as_dict(), "layer": 1, "kind": device.kind}
    assert device.params(attrs) == prm
    assert device.params(prm) is prm
    with pytest.raises(ValueError, match="missing"):
        device.params({k: v for k, v in attrs.items() if k != device.graph_fields[0]})


@BY_KIND
def test_declarations_are_consistent(device):
    fields = _fields(device)
    assert device.kind in DEVICES and get_device(device.kind) is device
    assert device.graph_fields and set(device.graph_fields) <= set(fields)
    assert set(device.per_device_fields) <= set(device.graph_fields)
    assert set(device.spice_names) <= set(fields)
    assert len(set(device.spice_names.values())) == len(device.spice_names)
    assert set(device.fidelities) <= set(FIDELITIES)
    values = device.spice_values()
    assert all(isinstance(v, float) and math.isfinite(v) for v in values.values())
    # every SPICE name the family maps is a parameter of one of its subcircuits, with the
    # Params' value as its default
    for fidelity in device.fidelities:
        declared = {k: v for sc in device.subckts(fidelity) for k, v in sc.params.items()}
        for name in device.spice_values():
            if name in declared:
                assert declared[name] == values[name], (fidelity, name)
    used = {k for f in device.fidelities for sc in device.subckts(f) for k in sc.params}
    assert set(device.spice_names.values()) <= used


@BY_KIND
def test_graph_schema_requires_the_family_fields(device):
    from spintronic.graph import schema
    kinds = [k for k in schema.REQUIRED if schema.device_of(k) is device]
    assert device.kind in kinds
    for kind in kinds:
        assert schema.REQUIRED[kind][-len(device.graph_fields):] == device.graph_fields
        assert schema.device_params(kind, device.params().as_dict()) == device.params()


# ------------------------------------------------------------------ subcircuits

@BY_KIND
def test_subckt_text_and_ports_are_data(device):
    for fidelity in device.fidelities:
        main = device.subckt(fidelity)
        subckts = device.subckts(fidelity)
        assert main.name in [s.name for s in subckts]
        assert len({s.name for s in subckts}) == len(subckts)
        for sc in subckts:
            assert sc.text.startswith(f".subckt {sc.name} {' '.join(sc.ports)}")
            assert sc.text.endswith(f".ends {sc.name}")
            for dep in sc.requires:  # dependencies come first in the family's library
                assert [s.name for s in subckts].index(dep.name) < \
                    [s.name for s in subckts].index(sc.name)
        assert device.library(fidelity) == "\n\n".join(s.text for s in subckts)
        assert device.library(fidelity) in model_library(fidelity)


def _test_deck(device: Device, fidelity: str) -> tuple[str, dict[str, str]]:
    """Every subcircuit of the family instanced once, each port on a net of its own with a
    resistor to ground, run for a short transient."""
    lines = [f"* contract test: {device.kind} at {fidelity} fidelity", device.library(fidelity)]
    nets = {}
    for k, sc in enumerate(device.subckts(fidelity)):
        nodes = {p: f"n{k}_{p}" for p in sc.ports}
        lines.append(device.instance(f"X{k}", nodes, params=device.params(), fidelity=fidelity,
                                     subckt=sc.name))
        lines += [f"R{k}_{p} {n} 0 1k" for p, n in nodes.items()]
        nets.update({f"{sc.name}.{p}": n for p, n in nodes.items()})
    lines += [".tran 0.1n 5n", ".end"]
    return "\n".join(lines) + "\n", nets


@requires_ngspice
@BY_KIND
@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_subckts_parse_and_run_in_ngspice(device, fidelity):
    from spicegen.runner import run_netlist
    if fidelity not in device.fidelities:
        pytest.skip(f"{device.kind} has no {fidelity} model")
    deck, nets = _test_deck(device, fidelity)
    res = run_netlist(deck)
    for port, net in nets.items():
        assert math.isfinite(float(res[net][-1])), port


@BY_KIND
def test_instance_is_built_by_port_name_and_checked(device):
    for fidelity in device.fidelities:
        sc = device.subckt(fidelity)
        nodes = {p: f"net_{p}" for p in reversed(sc.ports)}  # order of the mapping is irrelevant
        card = device.instance("Xa", nodes, fidelity=fidelity)
        assert card == f"Xa {' '.join(f'net_{p}' for p in sc.ports)} {sc.name}"
        with pytest.raises(ValueError, match=r"unknown port.*'bogus'.*ports of") as err:
            device.instance("Xa", {**nodes, "bogus": "n1"}, fidelity=fidelity)
        assert str(sc.ports) in str(err.value)
        missing = sc.ports[-1]
        with pytest.raises(ValueError, match=rf"missing port.*'{missing}'"):
            device.instance("Xa", {p: n for p, n in nodes.items() if p != missing},
                            fidelity=fidelity)
        # ngspice 39 runs an instance whose parameter its subcircuit lacks, silently keeping the
        # default: this check is the only guard against a misspelt name
        with pytest.raises(ValueError, match="unknown parameter.*'nosuch'"):
            device.instance("Xa", nodes, fidelity=fidelity, spice={"nosuch": 1.0})
        for bad_name, bad_net in (("Ra", "n"), ("X a", "n"), ("Xa", "n 0"), ("Xa", "n\n.end")):
            with pytest.raises(ValueError):
                device.instance(bad_name, {**nodes, sc.ports[0]: bad_net}, fidelity=fidelity)
        with pytest.raises(ValueError, match="no subcircuit"):
            device.instance("Xa", nodes, fidelity=fidelity, subckt="nosuch")
        # graph attributes write every mapped parameter the subcircuit takes, in spice_names order
        prm = device.params()
        card = device.instance("Xa", nodes, params=prm.as_dict(), fidelity=fidelity)
        written = [kv.split("=")[0] for kv in card.partition(" params: ")[2].split()]
        assert written == [k for k in device.spice_values(prm) if k in sc.params]


# ------------------------------------------------------------------ twins

@requires_ngspice
@BY_KIND
def test_twins_pass_and_have_a_plot(device):
    from spicegen import plots, twins
    names = list(twins.twins_of(device.kind))
    assert names, f"device family {device.kind!r} has no twin (spicegen.twins, @twin)"
    assert set(names) <= set(twins.TWINS)
    assert set(names) <= set(plots.TWIN_PLOTS), "every twin has a plot (spicegen.plots, @twin_plot)"
    for result in twins.run_twins(names):
        failed = [c for c in result.checks if not c.passed]
        assert not failed, twins.format_table([result])
        assert len(result.checks) >= 3
        assert result.twin in names


# ------------------------------------------------------------------ the registry itself

def test_unknown_kind_names_the_registered_ones():
    with pytest.raises(ValueError, match="unknown device kind 'sot'") as err:
        get_device("sot")
    for kind in DEVICES:
        assert kind in str(err.value)


def test_a_registered_family_reaches_the_model_library():
    from spintronic.models.params import Params, param

    @dataclasses.dataclass(frozen=True)
    class ToyParams(Params):
        g: float = param(1e-3, "positive", "conductance (S)")

    class Toy(Device):
        kind = "toy_conductor"
        Params = ToyParams
        spice_names = {"g": "gt"}

        def subckt(self, fidelity, prm=None):
            return Subckt("toy_g", ("a", "b"), self.spice_values(prm), "Gt a b a b {gt}")

    with pytest.raises(ValueError, match="not fields"):
        register_device(type("Bad", (Toy,), {"spice_names": {"nosuch": "x"}})())
    try:
        toy = register_device(Toy())
        with pytest.raises(ValueError, match="already registered"):
            register_device(type("Other", (Toy,), {})())
        assert ".subckt toy_g a b params: gt=0.001\nGt a b a b {gt}\n.ends toy_g" in \
            model_library("envelope")
        assert toy.instance("X1", {"b": "0", "a": "n1"}, params={"g": 2e-3}) == \
            "X1 n1 0 toy_g params: gt=0.002"
    finally:
        DEVICES.pop("toy_conductor", None)
