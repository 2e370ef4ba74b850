"""ngspice's dialect, shared by its two back ends: deck normalisation, the pre-run resource check,
output decoding and the classification of its log into warnings and errors.

Informational lines ("Note:", "Warning:", solver banners) are kept as warnings, fatal ones raise
:class:`SpiceError` with ngspice's words and the offending netlist line. A transient that stops
before its end time is an error, never a result.
"""
from __future__ import annotations

import math
import re
import shutil

from ..errors import SpiceError, locate_line
from ..rawfile import Analysis
from .base import Limits

_FATAL = [
    (re.compile(r"timestep too small", re.I), "timestep too small"),
    (re.compile(r"singular matrix", re.I), "singular matrix"),
    (re.compile(r"iteration limit reached|gmin stepping failed.*\n.*source stepping failed", re.I),
     "no convergence"),
    # "Error on line 3 ...", "Error: ..."; not a node table row whose node is called error_out
    (re.compile(r"^\s*error\s*(?::|on line)", re.I | re.M), "ngspice reported an error"),
    (re.compile(r"undefined parameter|cannot recover", re.I), "netlist rejected"),
    (re.compile(r"simulation\(s\) aborted|circuit not parsed|simulation interrupted", re.I),
     "simulation aborted"),
    (re.compile(r"could not find a valid|unknown (?:subckt|model|parameter)", re.I),
     "netlist rejected"),
]
# lines that ngspice prints on success and that older PySpice mistook for errors
_INFO = re.compile(r"^\s*(note:|warning:|using sparse|trying gmin|supplies reduced|"
                   r"doing analysis|no\. of data|total |dram|maximum ngspice|current ngspice|"
                   r"shared ngspice|text \(code\)|stack =|library pages|circuit:|binary raw|"
                   r"initial transient|reference value|-+$|node\s+voltage|\S+\s+-?[\d.e+-]+$)", re.I)

_CARD = re.compile(r"^[rclvigebx]\w*\s+\S+\s+\S+\s+\S+", re.I)


def decode_output(data: bytes) -> str:
    """ngspice's output as text, whatever its encoding: UTF-8 where a line is UTF-8, else Latin-1
    (a 0xE9 in a "Note:" line stays an e-acute). Never raises, never drops a line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    out = []
    for line in data.splitlines(keepends=True):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode("latin-1"))
    return "".join(out)


def normalise_netlist(netlist: str) -> str:
    """``.end`` last and the trailing newline ngspice needs after it.

    ngspice takes the first line as the title whatever it holds, so a deck that starts with a card
    would silently lose it: such a deck is refused.
    """
    lines = netlist.rstrip().splitlines()
    if not lines:
        raise SpiceError("empty netlist")
    first = lines[0].strip()
    if not first.startswith("*") and _CARD.match(first):
        raise SpiceError("the first line of a netlist is its title, and ngspice would drop this "
                         f"card: {first!r}. Start the netlist with a '* title' line.")
    if lines[-1].strip().lower() != ".end":
        lines.append(".end")
    return "\n".join(lines) + "\n"


_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9,
           "p": 1e-12, "f": 1e-15}


def spice_float(token: str) -> float:
    """A SPICE number: ``10n``, ``1.5meg``, ``2e-9s``; ValueError for anything else."""
    match = re.fullmatch(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)(meg|[tgkmunpf])?[a-z]*",
                         token.lower())
    if not match:
        raise ValueError(token)
    return float(match.group(1)) * _SUFFIX.get(match.group(2) or "", 1.0)


def _analysis_cards(netlist: str) -> list[tuple[int, str, list[str]]]:
    """(line number, card, tokens) of the dot cards outside .control blocks, continuation lines
    joined onto their card."""
    cards: list[tuple[int, str, list[str]]] = []
    in_control = False
    for number, line in enumerate(netlist.splitlines(), start=1):
        tokens = line.split()
        if not tokens or number == 1:
            continue
        head = tokens[0].lower()
        if head == ".control":
            in_control = True
        elif head == ".endc":
            in_control = False
        elif in_control or head.startswith("*"):
            continue
        elif head.startswith("+") and cards:
            n, card, prev = cards[-1]
            cards[-1] = (n, f"{card} {line.strip()[1:]}", prev + line.strip()[1:].split())
        else:
            cards.append((number, line.strip(), tokens))
    return cards


def _tran_times(tokens: list[str]) -> tuple[float, float, float, float | None] | None:
    values = []
    for token in tokens[1:]:
        if token.lower() == "uic":
            break
        try:
            values.append(spice_float(token))
        except ValueError:
            return None  # a parameter or expression: cannot be checked before the run
    if len(values) < 2:
        return None
    step, stop = values[0], values[1]
    start = values[2] if len(values) > 2 else 0.0
    tmax = values[3] if len(values) > 3 and values[3] > 0 else None
    return step, stop, start, tmax


def _points(tokens: list[str]) -> float | None:
    """The fewest points ngspice saves for an analysis card, or None when unknown.

    .tran: ngspice's largest step is tmax, by default min(tstep, (tstop - tstart)/50), and it saves
    every step from tstart, so at least (tstop - tstart) / that step points.
    """
    head = tokens[0].lower()
    try:
        if head == ".tran":
            times = _tran_times(tokens)
            if times is None:
                return None
            step, stop, start, tmax = times
            span = stop - start
            if span <= 0:
                return None
            h = tmax if tmax is not None else min(step, span / 50)
            return math.inf if h <= 0 else span / h + 1
        if head == ".dc":
            points = 1.0
            rest = tokens[1:]
            while len(rest) >= 4:
                start, stop, step = (spice_float(t) for t in rest[1:4])
                points *= math.inf if step == 0 else math.floor(abs(stop - start) / abs(step)) + 1
                rest = rest[4:]
            return points
        if head == ".ac" and len(tokens) >= 5:
            kind, n = tokens[1].lower(), spice_float(tokens[2])
            fstart, fstop = spice_float(tokens[3]), spice_float(tokens[4])
            if kind == "lin":
                return n
            if fstart <= 0 or fstop <= fstart:
                return None
            per = {"dec": math.log10, "oct": math.log2}.get(kind)
            return None if per is None else n * per(fstop / fstart) + 1
    except ValueError:
        return None
    return None


def check_points(netlist: str, limits: Limits) -> None:
    """Refuse, before the simulator starts, an analysis that asks for more than
    ``limits.max_points`` points."""
    for number, card, tokens in _analysis_cards(netlist):
        points = _points(tokens)
        if points is not None and points > limits.max_points:
            raise SpiceError(
                f"the analysis on line {number} ({card!r}) asks for at least {points:.3g} points, "
                f"over the limit max_points={limits.max_points:,.0f}. Use a larger step or a shorter "
                f"run, or raise the limit: max_points=... (run_netlist, run_many) or the "
                f"environment variable SPICEGEN_MAX_POINTS (math.inf / 'inf': no limit)",
                netlist=netlist, line_number=number)


# the largest deck a run may hand to ngspice: a 784-128-10 RF envelope deck is about 5 MB, so this
# only stops a graph whose sizes would make ngspice parse for hours
MAX_NETLIST_BYTES = 256 * 1024 ** 2
# seconds per (time point x circuit line): the slowest decks measured on 2 busy cores, envelope
# decks of the 28x28 rfcnn (45 images, 28k resonators as VCCS cards: over 8e-6 s; carrier-level rf
# decks ~5e-7 s), times a safety factor of 5; plus a fixed start-up allowance. It only stops hangs.
SECONDS_PER_POINT_LINE = 4e-5
TIMEOUT_FLOOR = 60.0
# what to say a run may do instead, from the command line and from Python
TIMEOUT_HINT = "--timeout SECONDS to allow longer; from Python timeout=..., None for no limit"


def log_tail(lines: list[str], n: int = 20) -> str:
    """The last ``n`` lines of ngspice's output worth quoting in an error: without its transient
    progress lines (``Reference value : ...``), which say nothing about what went wrong."""
    return "\n".join([line for line in lines if "Reference value" not in line][-n:])


def check_size(netlist: str) -> None:
    size = len(netlist.encode("utf-8", "surrogateescape"))
    if size > MAX_NETLIST_BYTES:
        raise SpiceError(f"the netlist is {size / 1024 ** 2:.0f} MB, over the limit of "
                         f"{MAX_NETLIST_BYTES / 1024 ** 2:.0f} MB for one ngspice run: split the "
                         f"work (fewer samples per run, --chunk) or use a smaller network")


def size_timeout(netlist: str) -> float:
    """A per-run timeout derived from the run's size: time points x circuit lines."""
    points = max((p for _, _, tokens in _analysis_cards(netlist)
                  if (p := _points(tokens)) is not None and math.isfinite(p)), default=1.0)
    lines = sum(1 for line in netlist.splitlines() if line and line[0] not in "*.+")
    return TIMEOUT_FLOOR + SECONDS_PER_POINT_LINE * points * max(lines, 1)


def prepare(netlist: str, limits: Limits) -> str:
    """The deck ngspice gets, checked against the limits before anything starts."""
    check_size(netlist)
    netlist = normalise_netlist(netlist)
    check_points(netlist, limits)
    return netlist


def tran_stop(netlist: str) -> float | None:
    for _, _, tokens in _analysis_cards(netlist):
        if tokens[0].lower() == ".tran":
            times = _tran_times(tokens)
            return None if times is None else times[1]
    return None


def classify(log: str, netlist: str, returncode: int | None = 0) -> list[str]:
    """Raise SpiceError if ngspice's output or exit status says the run failed; else the warnings.

    A singular matrix that ngspice recovers from by gmin stepping is only a warning; it is fatal when
    the run aborts or exits non-zero.
    """
    lines = [line for line in log.splitlines() if line.strip()]
    fatal_hits = []
    for pattern, reason in _FATAL:
        for match in pattern.finditer(log):
            fatal_hits.append((match.start(), reason))
    aborted = returncode not in (0, None) or any(
        reason not in ("singular matrix",) for _, reason in fatal_hits)
    warnings = [line.strip() for line in lines if re.match(r"\s*warning", line, re.I)]
    if not aborted:
        return warnings
    fatal_hits.sort()
    reason = next((r for _, r in fatal_hits if r != "ngspice reported an error"),
                  fatal_hits[0][1] if fatal_hits else f"ngspice exited with status {returncode}")
    relevant = [line for line in lines if not _INFO.match(line)
                or re.search(r"error|singular|timestep|abort|trouble", line, re.I)]
    message = "\n".join(_dedupe(relevant)[-15:]) or log.strip()[-2000:]
    raise SpiceError(f"ngspice failed: {reason}", message, netlist,
                     line_number=locate_line(netlist, log))


def _dedupe(lines: list[str]) -> list[str]:
    seen, out = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


def check_complete(analyses: list[Analysis], netlist: str, log: str) -> None:
    tstop = tran_stop(netlist)
    if tstop is None:
        return
    tran = [a for a in analyses if a.plotname.lower().startswith("transient")]
    if not tran or len(tran[-1]) == 0 or tran[-1].scale[-1] < tstop * (1 - 1e-9):
        reached = tran[-1].scale[-1] if tran and len(tran[-1]) else 0.0
        raise SpiceError(f"transient stopped at {reached:.6g} s before its end {tstop:.6g} s",
                         log.strip()[-2000:], netlist)


def ngspice_executable() -> str:
    path = shutil.which("ngspice")
    if path is None:
        raise SpiceError("ngspice not found on PATH. Install it: `sudo apt-get install ngspice "
                         "libngspice0` (Debian/Ubuntu), or run `make test`, which does it.")
    return path
