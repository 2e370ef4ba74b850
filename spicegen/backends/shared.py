"""``shared``: PySpice's shared-library mode (libngspice), one library instance per Python process.

Not parallel-safe: its runs hold a process-wide lock, so executors that run threads run them one
after another, and processes or Dask workers each load their own library. ngspice's output is
collected and classified by us (PySpice 1.5 treats every non-warning stderr line as an error and
chokes on non-UTF-8 bytes). ``max_raw_bytes`` does not apply (there is no raw file: the vectors
live in the library); ``max_points`` does.
"""
from __future__ import annotations

import os
import threading
import warnings

import numpy as np

from ..errors import SpiceError
from ..rawfile import Analysis
from . import _ngspice
from .base import Backend, Limits, SimResult, get_backend, register_backend


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
            from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi
        except ImportError as exc:  # pragma: no cover - PySpice is a dependency
            raise SpiceError(f"PySpice is not installed: {exc}") from None

        class Quiet(NgSpiceShared):
            """Collects every output line; deciding what is an error is left to classify()."""

            @staticmethod
            def _send_char(message_c, ngspice_id, user_data):
                self = ffi.from_handle(user_data)
                message = _ngspice.decode_output(ffi.string(message_c))
                _, _, content = message.partition(" ")
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


class SharedNgspice(Backend):
    name = "shared"
    description = ("libngspice in this process through PySpice; one run at a time per process "
                   "(not parallel-safe)")
    parallel_safe = False

    def version(self) -> str:
        """The loaded libngspice's version (PySpice asks it with ``version -f``) and its path."""
        import re
        try:
            ng = _SharedNgspice.get()
            with _SharedNgspice._lock:    # our output hook collects ng.lines, not PySpice
                ng.lines.clear()
                ng._ngspice_shared.ngSpice_Command(b"version -f")
                text = "\n".join(ng.lines)
                ng.lines.clear()
        except Exception as exc:  # a missing library or PySpice: a report says so, never fails
            return f"unavailable ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        found = re.search(r"ngspice-\S+", text)
        return (f"{found.group(0) if found else 'ngspice, version not reported'} shared library "
                f"({_find_libngspice()})")

    def simulate(self, netlist: str, timeout: float | None, limits: Limits) -> SimResult:
        netlist = _ngspice.prepare(netlist, limits)
        if _SharedNgspice.dead:
            # libngspice cannot be re-initialised in a process once it gave up: isolate the run
            warnings.warn("the shared ngspice library failed unrecoverably earlier in this "
                          "process; running this netlist with the subprocess backend",
                          RuntimeWarning)
            return get_backend("subprocess").simulate(netlist, timeout, limits)
        ng = _SharedNgspice.get()
        try:
            return _run_shared(ng, netlist, timeout)
        finally:
            if any("cannot recover" in line for line in ng.lines):
                _SharedNgspice.dead = True


def _run_shared(ng, netlist: str, timeout: float | None) -> SimResult:
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
        _ngspice.classify("\n".join(ng.lines), netlist, 0)
        ng.finished.clear()
        lib.ngSpice_Command(b"bg_run")
        try:
            finished = ng.finished.wait(timeout)
        except BaseException:  # Ctrl-C or SIGTERM: stop the library's thread before unwinding
            lib.ngSpice_Command(b"bg_halt")
            ng.finished.wait(10.0)
            raise
        if not finished:
            lib.ngSpice_Command(b"bg_halt")
            ng.finished.wait(10.0)
            raise SpiceError(f"ngspice timed out after {timeout:g} s ({_ngspice.TIMEOUT_HINT})",
                             _ngspice.log_tail(ng.lines), netlist)
        log = "\n".join(ng.lines)
        warnings = _ngspice.classify(log, netlist, 0)
        analyses = _shared_analyses(ng)
    _ngspice.check_complete(analyses, netlist, log)
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


register_backend(SharedNgspice())
