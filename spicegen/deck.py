"""Decks as data: analyses, options and initial conditions render their cards in a dialect chosen by
the back end (``Backend.dialect``; only ``"ngspice"`` today), so a simulator with another card
syntax needs a renderer here, not changes in every deck writer.

    Deck("RC step",
         elements=["V1 in 0 PWL(0 0 1n 1)", "R1 in out 1k", "C1 out 0 1p"],
         options=[Options(reltol=1e-6)],
         analysis=Tran(10e-12, 10e-9)).render()

Numbers in analysis and initial-condition cards are written with full double precision (as
``spintronic.models.params.spice_number``: ``1e-06``, ``5``); option values in their shortest exact
form (``reltol=1e-6``, ``trtol=1e9``).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

DIALECTS = ("ngspice",)


def number(x: float) -> str:
    """Full double precision, integers without a point (the rule of ``models.params.spice_number``,
    repeated here so that rendering a deck does not import torch)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot write non-finite value {x!r} to a netlist")
    return repr(x) if x != int(x) or abs(x) >= 1e15 else str(int(x))


def compact(x: float) -> str:
    """The shortest exact form: ``1e-6`` rather than ``1e-06``, ``1e9`` rather than ``1000000000``;
    the decimal form where it is as short (``0.02``)."""
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    decimal = number(x)
    x = float(x)
    for digits in range(17):
        mantissa, _, exponent = f"{x:.{digits}e}".partition("e")
        if float(f"{mantissa}e{exponent}") == x:
            if "." in mantissa:
                mantissa = mantissa.rstrip("0").rstrip(".")
            scientific = f"{mantissa}e{int(exponent)}"
            return scientific if len(scientific) < len(decimal) else decimal
    return decimal


def _check_dialect(dialect: str, what: object) -> None:
    if dialect not in DIALECTS:
        raise ValueError(f"{type(what).__name__} has no rendering for dialect {dialect!r}; "
                         f"known: {', '.join(DIALECTS)}")


class Card:
    """Something that renders as one or more lines of a deck."""

    def render(self, dialect: str = "ngspice") -> str:
        _check_dialect(dialect, self)
        return getattr(self, f"_{dialect}")()

    def __str__(self) -> str:
        return self.render()


class Options(Card):
    """``.options`` card: ``Options(reltol=1e-6, method="trap")`` -> ``.options reltol=1e-6
    method=trap``, in the order given. A value True writes the bare flag, False or None leaves it
    out; strings are written as they are, numbers in their shortest exact form."""

    def __init__(self, cards: Mapping[str, object] | None = None, /, **more: object):
        self.cards = {**(cards or {}), **more}

    def _ngspice(self) -> str:
        parts = []
        for key, value in self.cards.items():
            if value is True:
                parts.append(key)
            elif value is False or value is None:
                continue
            elif isinstance(value, str):
                parts.append(f"{key}={value}")
            else:
                parts.append(f"{key}={compact(value)}")
        return " ".join([".options", *parts])

    def __bool__(self) -> bool:
        return any(v is not False and v is not None for v in self.cards.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Options) and self.cards == other.cards

    def __repr__(self) -> str:
        return f"Options({', '.join(f'{k}={v!r}' for k, v in self.cards.items())})"


class Analysis(Card):
    """An analysis card."""


@dataclasses.dataclass(frozen=True)
class Tran(Analysis):
    """``.tran step stop [start [tmax]] [uic]``; ``start`` is written when it is non-zero or
    ``tmax`` is given (``Tran(h, T, 0, h)`` -> ``.tran h T 0 h``, a fixed step)."""

    step: float
    stop: float
    start: float = 0.0
    tmax: float | None = None
    uic: bool = False

    def __post_init__(self):
        if not self.step > 0 or not self.stop > self.start:
            raise ValueError(f".tran needs step > 0 and stop > start, got step={self.step!r}, "
                             f"stop={self.stop!r}, start={self.start!r}")

    def _ngspice(self) -> str:
        words = [".tran", number(self.step), number(self.stop)]
        if self.tmax is not None or self.start:
            words.append(number(self.start))
        if self.tmax is not None:
            words.append(number(self.tmax))
        if self.uic:
            words.append("uic")
        return " ".join(words)


@dataclasses.dataclass(frozen=True)
class Op(Analysis):
    """``.op``."""

    def _ngspice(self) -> str:
        return ".op"


@dataclasses.dataclass(frozen=True)
class DC(Analysis):
    """``.dc source start stop step [source2 start2 stop2 step2]``."""

    source: str
    start: float
    stop: float
    step: float
    inner: tuple[str, float, float, float] | None = None

    def _ngspice(self) -> str:
        sweeps = [(self.source, self.start, self.stop, self.step)]
        if self.inner is not None:
            sweeps.append(tuple(self.inner))
        return " ".join([".dc"] + [f"{s} {number(a)} {number(b)} {number(c)}"
                                   for s, a, b, c in sweeps])


@dataclasses.dataclass(frozen=True)
class AC(Analysis):
    """``.ac dec|oct|lin points fstart fstop``."""

    variation: str
    points: int
    fstart: float
    fstop: float

    def __post_init__(self):
        if self.variation not in ("dec", "oct", "lin"):
            raise ValueError(f".ac variation is dec, oct or lin, got {self.variation!r}")

    def _ngspice(self) -> str:
        return f".ac {self.variation} {int(self.points)} {number(self.fstart)} {number(self.fstop)}"


@dataclasses.dataclass(frozen=True)
class IC(Card):
    """``.ic v(node)=value ...`` on one card; node names as the dialect writes hierarchy
    (``x1.s`` in ngspice)."""

    voltages: Mapping[str, float]

    def _ngspice(self) -> str:
        return " ".join([".ic"] + [f"v({node})={number(v)}" for node, v in self.voltages.items()])


def _lines(items, dialect: str) -> list[str]:
    return [item if isinstance(item, str) else item.render(dialect) for item in items]


def _seq(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, Card)):
        return [value]
    return list(value)


@dataclasses.dataclass
class Deck:
    """A whole deck, rendered in the order ngspice reads best: ``* title``, ``.include`` files,
    subcircuit blocks, element lines, initial conditions, ``.save`` cards, options, analyses,
    ``.end`` and its trailing newline.

    ``subckts``, ``elements``: text (lines or multi-line blocks), written as given. ``ics``: IC
    cards or text. ``saves``: vector names (``v(out)``, ``all``), ten per ``.save`` card.
    ``options``: Options cards, each one line. ``analysis``: one Analysis or several, or text.
    """

    title: str
    elements: Sequence[str] = ()
    subckts: Sequence[str] = ()
    includes: Sequence[str] = ()
    ics: Sequence[IC | str] = ()
    saves: Sequence[str] = ()
    options: Options | Sequence[Options | str] = ()
    analysis: Analysis | str | Sequence[Analysis | str] = ()

    def __post_init__(self):
        if "\n" in self.title.strip():
            raise ValueError(f"a deck title is one line, got {self.title!r}")

    def render(self, dialect: str = "ngspice") -> str:
        _check_dialect(dialect, self)
        title = self.title.strip()
        lines = [title if title.startswith("*") else f"* {title}"]
        lines += [f'.include "{p}"' if any(c.isspace() for c in str(p)) else f".include {p}"
                  for p in self.includes]
        lines += list(self.subckts) + list(self.elements)
        lines += _lines(self.ics, dialect)
        saves = list(self.saves)
        lines += [" ".join([".save", *saves[i:i + 10]]) for i in range(0, len(saves), 10)]
        lines += _lines([o for o in _seq(self.options) if not isinstance(o, Options) or o],
                        dialect)
        lines += _lines(_seq(self.analysis), dialect)
        return "\n".join(lines + [".end"]) + "\n"

    def __str__(self) -> str:
        return self.render()
