"""Run a netlist in ngspice and return named waveforms, with two backends behind one interface.

- ``subprocess``: ``ngspice -b -r out.raw deck.cir`` in a temporary folder. Isolated, killed on
  timeout, safe to run in parallel (one process per worker).
- ``shared``: PySpice's shared-library mode (libngspice), one library instance per Python process.

Both classify ngspice's output the same way: informational lines ("Note:", "Warning:", solver
banners) are kept as warnings, fatal ones raise :class:`SpiceError` with ngspice's words and the
offending netlist line. A transient that stops before its end time is an error, never a result.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import threading
import warnings

import numpy as np

from .errors import SpiceError, locate_line
from .rawfile import Analysis, RawFileError, parse_raw

BACKENDS = ("subprocess", "shared")

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


@dataclasses.dataclass
class SimResult:
    """Waveforms of every analysis in a run, plus what ngspice printed."""

    analyses: list[Analysis]
    log: str
    warnings: list[str]

    def __getitem__(self, name: str) -> np.ndarray:
        """A vector of the last analysis: ``result['v(x1.p)']`` or ``result['x1.p']``."""
        return self.analyses[-1][name]

    def __contains__(self, name: str) -> bool:
        return name in self.analyses[-1]

    @property
    def scale(self) -> np.ndarray:
        """Time, sweep or frequency axis of the last analysis."""
        return self.analyses[-1].scale

    @property
    def names(self) -> list[str]:
        return list(self.analyses[-1].vectors)


_CARD = re.compile(r"^[rclvigebx]\w*\s+\S+\s+\S+\s+\S+", re.I)


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


def _tran_stop(netlist: str) -> float | None:
    for line in netlist.splitlines():
        tokens = line.split()
        if tokens and tokens[0].lower() == ".tran" and len(tokens) >= 3:
            try:
                return _spice_float(tokens[2])
            except ValueError:
                return None
    return None


_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9,
           "p": 1e-12, "f": 1e-15}


def _spice_float(token: str) -> float:
    match = re.fullmatch(r"([-+]?[\d.]+(?:e[-+]?\d+)?)(meg|[tgkmunpf])?[a-z]*", token.lower())
    if not match:
        raise ValueError(token)
    return float(match.group(1)) * _SUFFIX.get(match.group(2) or "", 1.0)


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


def _check_complete(analyses: list[Analysis], netlist: str, log: str) -> None:
    tstop = _tran_stop(netlist)
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


def run_subprocess(netlist: str, timeout: float = 120.0) -> SimResult:
    netlist = normalise_netlist(netlist)
    exe = ngspice_executable()
    with tempfile.TemporaryDirectory(prefix="spicegen-") as tmp:
        deck = os.path.join(tmp, "deck.cir")
        raw = os.path.join(tmp, "out.raw")
        with open(deck, "w") as fh:
            fh.write(netlist)
        try:
            proc = subprocess.run([exe, "-b", "-r", raw, deck], cwd=tmp, capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"")
            out = out.decode(errors="replace") if isinstance(out, bytes) else out
            raise SpiceError(f"ngspice timed out after {timeout:g} s", out[-2000:]) from None
        log = proc.stdout + "\n" + proc.stderr
        warnings = classify(log, netlist, proc.returncode)
        if not os.path.exists(raw):
            raise SpiceError("ngspice wrote no results (does the netlist hold an analysis card?)",
                             log[-2000:], netlist)
        with open(raw, "rb") as fh:
            try:
                analyses = parse_raw(fh.read())
            except RawFileError as exc:
                raise SpiceError(f"unreadable raw file: {exc}", log[-2000:], netlist) from None
    _check_complete(analyses, netlist, log)
    return SimResult(analyses, log, warnings)


class _SharedNgspice:
    """One libngspice per process, driven through PySpice, with our own output handling."""

    _lock = threading.Lock()
    _instance = None
    dead = False

    @classmethod
    def get(cls):
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls._make()
            return cls._instance

    @staticmethod
    def _make():
        try:
            from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi, ffi_string_utf8
        except ImportError as exc:  # pragma: no cover - PySpice is a dependency
            raise SpiceError(f"PySpice is not installed: {exc}") from None

        class Quiet(NgSpiceShared):
            """Collects every output line; deciding what is an error is left to classify()."""

            @staticmethod
            def _send_char(message_c, ngspice_id, user_data):
                self = ffi.from_handle(user_data)
                _, _, content = ffi_string_utf8(message_c).partition(" ")
                self.lines.append(content)
                return 0

            @staticmethod
            def _background_thread_running(no_run, ngspice_id, user_data):
                # ngspice passes true when its background thread has ended (PySpice misreads it)
                if no_run:
                    ffi.from_handle(user_data).finished.set()
                return 0

        # PySpice looks for 'libngspice.so', which only the -dev package provides
        NgSpiceShared.LIBRARY_PATH = _find_libngspice()
        import logging
        logging.getLogger("PySpice").setLevel(logging.CRITICAL)
        Quiet.lines = []
        Quiet.finished = threading.Event()
        try:
            return Quiet(ngspice_id=0, send_data=False)
        except OSError as exc:
            raise SpiceError(f"cannot load the ngspice shared library: {exc}. Install it: "
                             "`sudo apt-get install libngspice0`.") from None


def _find_libngspice() -> str:
    explicit = os.environ.get("NGSPICE_LIBRARY_PATH")
    if explicit:
        return explicit
    import ctypes.util
    return ctypes.util.find_library("ngspice") or "libngspice.so.0"


def run_shared(netlist: str, timeout: float = 120.0) -> SimResult:
    netlist = normalise_netlist(netlist)
    if _SharedNgspice.dead:
        # libngspice cannot be re-initialised in a process once it gave up: isolate the run instead
        warnings.warn("the shared ngspice library failed unrecoverably earlier in this process; "
                      "running this netlist with the subprocess backend", RuntimeWarning)
        return run_subprocess(netlist, timeout)
    ng = _SharedNgspice.get()
    try:
        return _run_shared(ng, netlist, timeout)
    finally:
        if any("cannot recover" in line for line in ng.lines):
            _SharedNgspice.dead = True


def _run_shared(ng, netlist: str, timeout: float) -> SimResult:
    with _SharedNgspice._lock:
        ng.lines.clear()
        lib = ng._ngspice_shared
        lib.ngSpice_Command(b"destroy all")
        lib.ngSpice_Command(b"remcirc")
        ng.lines.clear()
        from PySpice.Spice.NgSpice.Shared import FFI, ffi
        keep = [ffi.new("char[]", line.encode("utf8")) for line in netlist.splitlines() if line]
        keep += [ffi.new("char[]", b""), FFI.NULL]
        lib.ngSpice_Circ(ffi.new("char *[]", keep))
        classify("\n".join(ng.lines), netlist, 0)
        ng.finished.clear()
        lib.ngSpice_Command(b"bg_run")
        if not ng.finished.wait(timeout):
            lib.ngSpice_Command(b"bg_halt")
            ng.finished.wait(10.0)
            raise SpiceError(f"ngspice timed out after {timeout:g} s",
                             "\n".join(ng.lines[-20:]), netlist)
        log = "\n".join(ng.lines)
        warnings = classify(log, netlist, 0)
        analyses = _shared_analyses(ng)
    _check_complete(analyses, netlist, log)
    return SimResult(analyses, log, warnings)


def _shared_analyses(ng) -> list[Analysis]:
    """Vectors of the plots made by the last run, renamed as in a raw file (v(node), i(vsrc))."""
    names = [n for n in ng.plot_names if n != "const"]
    analyses = []
    for plot_name in reversed(names):
        plot = ng.plot(None, plot_name)
        vectors = {}
        scale = None
        for raw_name, vec in plot.items():
            name = raw_name.lower()
            data = np.array(vec._data, copy=True)  # ngspice owns the buffer
            if name in ("time", "frequency", "v-sweep") or name.endswith("-sweep"):
                scale = (name if name != "v-sweep" else "v(v-sweep)", data)
                continue
            if name.endswith("#branch"):
                name = f"i({name[:-len('#branch')]})"
            elif not name.startswith(("v(", "i(", "@")):
                name = f"v({name})"
            vectors[name] = data
        if scale is not None:
            vectors = {scale[0]: scale[1], **vectors}
        kind = {"tran": "Transient Analysis", "dc": "DC transfer characteristic",
                "ac": "AC Analysis", "op": "Operating Point"}
        label = next((v for k, v in kind.items() if plot_name.startswith(k)), plot_name)
        analyses.append(Analysis(label, vectors))
    if not analyses:
        raise SpiceError("ngspice produced no analysis")
    return analyses


def run_netlist(netlist: str, backend: str = "subprocess", timeout: float = 120.0) -> SimResult:
    """Simulate ``netlist`` and return its waveforms; raises SpiceError on any failure."""
    if backend == "subprocess":
        return run_subprocess(netlist, timeout)
    if backend == "shared":
        return run_shared(netlist, timeout)
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
