"""One exception for every way a simulation can fail, carrying what ngspice said and where."""
from __future__ import annotations

import re


class SpiceError(RuntimeError):
    """A simulation failed. Never accompanied by a partial result.

    Attributes: ``reason`` (short), ``ngspice_message`` (ngspice's own lines), ``line_number`` and
    ``netlist_line`` (the offending card in the netlist as given, when it can be found) and
    ``device`` (the instance name, when known).
    """

    def __init__(self, reason: str, ngspice_message: str = "", netlist: str | None = None,
                 device: str | None = None, line_number: int | None = None):
        self.reason = reason
        self.ngspice_message = ngspice_message.strip()
        self.device = device
        self.line_number = line_number
        self.netlist_line = None
        if netlist is not None and line_number is None:
            self.line_number = locate_line(netlist, ngspice_message, device)
        if netlist is not None and self.line_number is not None and self.line_number <= len(
                netlist.splitlines()):
            self.netlist_line = netlist.splitlines()[self.line_number - 1]
            if self.device is None:
                tokens = self.netlist_line.split()
                self.device = tokens[0] if tokens and not tokens[0].startswith(".") else None
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [self.reason]
        if self.device:
            parts.append(f"device: {self.device}")
        if self.netlist_line is not None:
            parts.append(f"netlist line {self.line_number}: {self.netlist_line.strip()}")
        if self.ngspice_message:
            parts.append("ngspice said:\n  " + self.ngspice_message.replace("\n", "\n  "))
        return "\n".join(parts)


def _element_lines(netlist: str) -> list[tuple[int, list[str]]]:
    out = []
    for number, line in enumerate(netlist.splitlines(), start=1):
        tokens = line.split()
        if tokens and not tokens[0].startswith(("*", ".", "+")):
            out.append((number, [t.lower() for t in tokens]))
    return out


def locate_line(netlist: str, message: str, device: str | None = None) -> int | None:
    """1-based line of the card that ngspice's message points at, or None."""
    lines = netlist.splitlines()
    msg = message.lower()
    # "Error on line 3 or its substitute:\n  r1 1 0 abc": match the echoed card, not the number,
    # because ngspice counts lines after its own preprocessing
    match = re.search(r"error on line\s*\d*[^\n]*\n\s*(\S[^\n]*)", msg)
    if match:
        card = " ".join(match.group(1).split())
        for number, line in enumerate(lines, start=1):
            if " ".join(line.lower().split()) == card:
                return number
        device = device or card.split()[0]
    names = []
    if device:
        names.append(device.lower())
    # node or device names that ngspice quotes: check node x1.p / trouble with node "p" / (b.x1.bp)
    for found in re.findall(r'(?:node|device|instance:?|subckt:?|model)\s+"?([\w.#+-]+)"?', msg):
        names.append(found)
        if found.startswith("xx"):  # ngspice doubles the x of subcircuit instances in messages
            names.append(found[1:])
    names += re.findall(r"undefined parameter \[(\w+)\]", msg)
    elements = _element_lines(netlist)
    for name in names:
        name = name.split("#")[0]
        head = name.split(".")
        # an internal node or device of an instance x1 (x1.p, b.x1.bp) points at x1's card
        for candidate in [name] + [h for h in head if h]:
            for number, tokens in elements:
                if tokens[0] == candidate:
                    return number
        # a node: prefer the behavioural or subcircuit cards on it, which are the usual culprits
        on_node = [(number, tokens) for number, tokens in elements if name in tokens[1:]]
        for number, tokens in sorted(on_node, key=lambda nt: nt[1][0][0] not in "bxeg"):
            return number
    for name in names:  # a parameter or name used inside an expression
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])")
        for number, line in enumerate(lines, start=1):
            if not line.lstrip().startswith("*") and pattern.search(line.lower()):
                return number
    return None
