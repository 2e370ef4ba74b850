"""Device families as registered plug-ins, and subcircuits as typed objects.

A device family is one subclass of :class:`Device` in its own module, registered once with
:func:`register_device`. It declares what the rest of the toolkit needs to know about it:

    kind            the graph node kind that carries the device ("stno", "resonator", ...)
    Params          its validated parameter class (models.params.Params)
    graph_fields    the node attributes the graph schema requires for it (default: every Params field)
    per_device_fields  those of them that differ from device to device in one network (trained
                    or assigned, like a resonance frequency); the rest are usually shared
    spice_names     Params field -> SPICE parameter name of its subcircuits: the one copy of that map
    subckt()        its main subcircuit at a fidelity, a :class:`Subckt` whose ports are data
    subckts()       every subcircuit the family defines at a fidelity (what a netlist includes)
    instance()      an ``X`` card of one of them, built from port names and checked
    verilog_a()     its Verilog-A files

Code that needs "every device" iterates :data:`DEVICES` (the model library, the graph schema, the
twins and their plots, the contract test in tests/test_devices.py); nothing else lists them. The
twins live with the simulator code (spicegen.twins) and register there under a device kind.
"""
from __future__ import annotations

import abc
import dataclasses
import re
from collections.abc import Mapping
from typing import ClassVar, Union

from .params import Params, spice_number
from .units import FIDELITIES, check_fidelity

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NET = re.compile(r"[A-Za-z0-9_]+\Z")
_VALUE = re.compile(r"[^\s]+\Z")

# a subcircuit parameter: a number (written with full precision) or SPICE text written verbatim,
# such as "4e9" or "{lpr*fr}"
SpiceValue = Union[float, int, str]


def _spice_value(value: SpiceValue, what: str) -> str:
    if isinstance(value, str):
        if not _VALUE.match(value):
            raise ValueError(f"{what}: a SPICE value must be one token without spaces, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what}: expected a number or a SPICE token, got {value!r}")
    return spice_number(value)


def render_params(values: Mapping[str, SpiceValue], what: str = "params") -> str:
    """``name=value`` pairs in the mapping's order; numbers keep every bit (spice_number)."""
    return " ".join(f"{k}={_spice_value(v, f'{what}: {k}')}" for k, v in values.items())


@dataclasses.dataclass(frozen=True, eq=False)
class Subckt:
    """One ``.subckt ... .ends`` definition.

    ``ports`` are the external nodes in their positional order, ``params`` the parameters with
    their defaults (SPICE name -> value, in the order written), ``body`` the cards between the
    header and ``.ends``, ``requires`` the subcircuits the body instantiates (written before it).
    """
    name: str
    ports: tuple[str, ...]
    params: Mapping[str, SpiceValue]
    body: str
    requires: tuple["Subckt", ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ports", tuple(self.ports))
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "requires", tuple(self.requires))
        for what, names in (("name", [self.name]), ("port", self.ports), ("parameter", self.params)):
            bad = [n for n in names if not isinstance(n, str) or not _NAME.match(n)]
            if bad:
                raise ValueError(f"subckt {self.name!r}: invalid {what} name(s) {bad}")
        if not self.ports:
            raise ValueError(f"subckt {self.name!r}: needs at least one port")
        dup = sorted({p for p in self.ports if self.ports.count(p) > 1})
        if dup:
            raise ValueError(f"subckt {self.name!r}: duplicate port(s) {dup}")
        render_params(self.params, f"subckt {self.name}")

    @property
    def header(self) -> str:
        head = f".subckt {self.name} {' '.join(self.ports)}"
        return f"{head} params: {render_params(self.params)}" if self.params else head

    @property
    def text(self) -> str:
        """The card text, ``.subckt`` line to ``.ends`` line (without what it requires)."""
        return "\n".join([self.header] + ([self.body] if self.body else []) + [f".ends {self.name}"])

    def closure(self) -> tuple["Subckt", ...]:
        """This subcircuit and everything it requires, each once, dependencies first."""
        out: dict[str, Subckt] = {}

        def visit(s: Subckt) -> None:
            for r in s.requires:
                visit(r)
            if s.name in out and out[s.name].text != s.text:
                raise ValueError(f"two different subcircuits are called {s.name!r}")
            out.setdefault(s.name, s)

        visit(self)
        return tuple(out.values())

    @property
    def definition(self) -> str:
        """Text that defines this subcircuit in a deck: what it requires, then itself."""
        return "\n\n".join(s.text for s in self.closure())

    def instance(self, name: str, nodes: Mapping[str, str],
                 params: Mapping[str, SpiceValue] | None = None) -> str:
        """The card ``name <nets in port order> <subckt> [params: ...]``.

        ``nodes`` maps every port to a net; a missing or unknown port, an unknown parameter, or a
        name that could break the card is an error naming it and what this subcircuit has.
        (ngspice 39 itself runs an instance whose parameter the subcircuit lacks, silently keeping
        the default: this check is the only guard against a misspelt name.)
        """
        if not isinstance(name, str) or not _NAME.match(name) or name[0] not in "Xx":
            raise ValueError(f"subckt {self.name}: instance name must start with X and hold only "
                             f"letters, digits and _, got {name!r}")
        missing = [p for p in self.ports if p not in nodes]
        unknown = [p for p in nodes if p not in self.ports]
        if missing or unknown:
            parts = ([f"unknown port(s) {unknown}"] if unknown else []) + \
                ([f"missing port(s) {missing}"] if missing else [])
            raise ValueError(f"{name} ({self.name}): {', '.join(parts)}; "
                             f"the ports of {self.name} are {self.ports}")
        bad = {p: n for p, n in nodes.items() if not isinstance(n, str) or not _NET.match(n)}
        if bad:
            raise ValueError(f"{name} ({self.name}): invalid net name(s) {bad}; a net holds only "
                             f"letters, digits and _")
        params = dict(params or {})
        unknown = [k for k in params if k not in self.params]
        if unknown:
            raise ValueError(f"{name} ({self.name}): unknown parameter(s) {unknown}; the parameters "
                             f"of {self.name} are {tuple(self.params)}")
        card = f"{name} {' '.join(nodes[p] for p in self.ports)} {self.name}"
        return f"{card} params: {render_params(params, name)}" if params else card


class Device(abc.ABC):
    """A device family. Subclasses set the class attributes and implement :meth:`subckt`."""

    kind: ClassVar[str]
    description: ClassVar[str] = ""     # one line for `spicegen kinds`
    Params: ClassVar[type[Params]]
    spice_names: ClassVar[dict[str, str]]
    per_device_fields: ClassVar[tuple[str, ...]] = ()
    fidelities: ClassVar[tuple[str, ...]] = FIDELITIES

    # ------------------------------------------------------------ parameters

    @property
    def graph_fields(self) -> tuple[str, ...]:
        """Node attributes the graph schema requires of a node carrying this device."""
        return tuple(f.name for f in dataclasses.fields(self.Params))

    def params(self, attrs: Params | Mapping | None = None) -> Params:
        """The validated Params of a node from its attributes (other attributes are ignored;
        Params fields that are not graph fields take their defaults). ``None``: the defaults."""
        if attrs is None:
            return self.Params()
        if isinstance(attrs, self.Params):
            return attrs
        if isinstance(attrs, Params):
            raise TypeError(f"{self.kind}: expected {self.Params.__name__}, got "
                            f"{type(attrs).__name__}")
        missing = [f for f in self.graph_fields if f not in attrs]
        if missing:
            raise ValueError(f"{self.kind}: missing parameter(s) {missing}")
        return self.Params(**{f: attrs[f] for f in self.graph_fields})

    def spice_values(self, params: Params | Mapping | None = None,
                     fields: tuple[str, ...] | None = None) -> dict[str, float]:
        """SPICE name -> value of ``fields`` (default: every field of :attr:`spice_names`, in
        its order) of the device's Params, through :attr:`spice_names`."""
        prm = self.params(params)
        fields = tuple(self.spice_names) if fields is None else tuple(fields)
        unknown = [f for f in fields if f not in self.spice_names]
        if unknown:
            raise ValueError(f"{self.kind}: no SPICE name for field(s) {unknown}; mapped fields: "
                             f"{tuple(self.spice_names)}")
        return {self.spice_names[f]: getattr(prm, f) for f in fields}

    # ------------------------------------------------------------ subcircuits

    @abc.abstractmethod
    def subckt(self, fidelity: str, prm: Params | None = None) -> Subckt:
        """The family's main subcircuit at ``fidelity`` (what a network instantiates), with
        parameter defaults from ``prm`` (default: the published defaults)."""

    def subckts(self, fidelity: str, prm: Params | None = None) -> tuple[Subckt, ...]:
        """Every subcircuit the family defines at ``fidelity``, dependencies first: what a model
        library holds. Default: the main one and what it requires."""
        return self.subckt(fidelity, prm).closure()

    def find(self, fidelity: str, name: str | None = None, prm: Params | None = None) -> Subckt:
        """The subcircuit called ``name`` at ``fidelity`` (None: the main one)."""
        if name is None:
            return self.subckt(fidelity, prm)
        found = {s.name: s for s in self.subckts(fidelity, prm)}
        if name not in found:
            raise ValueError(f"{self.kind}: no subcircuit {name!r} at {fidelity} fidelity; it has "
                             f"{sorted(found)}")
        return found[name]

    def library(self, fidelity: str, prm: Params | None = None) -> str:
        """The text of :meth:`subckts`, as a netlist or the model library includes it."""
        return "\n\n".join(s.text for s in self.subckts(check_fidelity(fidelity), prm))

    def instance(self, name: str, nodes: Mapping[str, str], params: Params | Mapping | None = None,
                 *, fidelity: str = "envelope", subckt: str | None = None,
                 spice: Mapping[str, SpiceValue] | None = None) -> str:
        """An instance card of the main subcircuit at ``fidelity`` (or of the one named
        ``subckt``), connected by port name.

        ``params``: the device's Params, or a graph node's attributes: every mapped field that the
        subcircuit takes is written, through :attr:`spice_names`. ``spice``: further parameters by
        their SPICE names (written after those, or replacing them).
        """
        sc = self.find(check_fidelity(fidelity), subckt)
        values: dict[str, SpiceValue] = {}
        if params is not None:
            values = {k: v for k, v in self.spice_values(params).items() if k in sc.params}
        values.update(spice or {})
        return sc.instance(name, nodes, values)

    def verilog_a(self, prm: Params | None = None) -> dict[str, str]:
        """File name -> Verilog-A source of the family (families may share a file)."""
        return {}

    def __repr__(self) -> str:
        return f"<device {self.kind!r} ({type(self).__name__})>"


DEVICES: dict[str, Device] = {}


def register_device(device: Device) -> Device:
    """Add a device family to :data:`DEVICES` (its kind must be new); returns it."""
    if not isinstance(device, Device):
        raise TypeError(f"register_device takes a Device instance, got {device!r}")
    kind = device.kind
    if not isinstance(kind, str) or not _NAME.match(kind):
        raise ValueError(f"device kind must be an identifier, got {kind!r}")
    old = DEVICES.get(kind)
    if old is not None and (type(old).__module__, type(old).__qualname__) != \
            (type(device).__module__, type(device).__qualname__):  # same class: a module reload
        raise ValueError(f"device kind {kind!r} is already registered ({DEVICES[kind]!r})")
    fields = {f.name for f in dataclasses.fields(device.Params)}
    for what, names in (("graph_fields", device.graph_fields),
                        ("per_device_fields", device.per_device_fields),
                        ("spice_names", tuple(device.spice_names))):
        unknown = [n for n in names if n not in fields]
        if unknown:
            raise ValueError(f"device {kind!r}: {what} {unknown} are not fields of "
                             f"{device.Params.__name__}")
    untracked = [f for f in device.per_device_fields if f not in device.graph_fields]
    if untracked:
        raise ValueError(f"device {kind!r}: per_device_fields {untracked} are not graph_fields")
    names = list(device.spice_names.values())
    if len(set(names)) != len(names):
        raise ValueError(f"device {kind!r}: spice_names maps two fields to one name: {names}")
    DEVICES[kind] = device
    return device


def get_device(kind: str) -> Device:
    """The registered family of graph node kind ``kind``."""
    try:
        return DEVICES[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown device kind {kind!r}; registered: {sorted(DEVICES)}") from None


__all__ = ["Device", "DEVICES", "Subckt", "SpiceValue", "get_device", "register_device",
           "render_params"]
