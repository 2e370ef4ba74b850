"""``subprocess``: ``ngspice -b -r out.raw deck.cir`` in a temporary folder, one process per run.

Isolated and safe to run in parallel. Every run's temp folder (``spicegen-*`` under the system temp
folder) is removed and its ngspice process group killed whatever ends the run: success, failure,
timeout, a raw file over ``max_raw_bytes``, Ctrl-C, or SIGTERM once
:func:`spicegen.signals.install_signal_handlers` is in place. ngspice leads its own process group,
so Ctrl-C at a terminal reaches only Python, which then stops it.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time

from .. import signals
from ..errors import SpiceError
from ..rawfile import RawFileError, parse_raw
from . import _ngspice
from .base import Backend, Limits, SimResult, register_backend

#: bytes of ngspice's stdout and stderr kept for classification: the first MiB and the rest from
#: the end, with a marker between
MAX_LOG_BYTES = 8 * 1024 ** 2


def _read_log(path: str) -> str:
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            if size <= MAX_LOG_BYTES:
                return _ngspice.decode_output(fh.read())
            head = fh.read(1024 ** 2)
            fh.seek(size - (MAX_LOG_BYTES - len(head)))
            tail = fh.read()
    except OSError:
        return ""
    skipped = size - len(head) - len(tail)
    return (_ngspice.decode_output(head) + f"\n[... {skipped} bytes of output left out ...]\n"
            + _ngspice.decode_output(tail))


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class SubprocessNgspice(Backend):
    name = "subprocess"
    description = "ngspice in batch mode, one isolated process per run (parallel-safe)"
    parallel_safe = True

    def version(self) -> str:
        """``ngspice -v``'s version line (e.g. ``ngspice-39``) and the executable's path."""
        import re
        try:
            exe = _ngspice.ngspice_executable()
            out = subprocess.run([exe, "-v"], capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        except (SpiceError, OSError, subprocess.SubprocessError) as exc:
            return f"unavailable ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        found = re.search(r"ngspice-\S+", _ngspice.decode_output(out.stdout + out.stderr))
        return f"{found.group(0) if found else 'ngspice, version not reported'} ({exe})"

    def simulate(self, netlist: str, timeout: float | None, limits: Limits) -> SimResult:
        netlist = _ngspice.prepare(netlist, limits)
        exe = _ngspice.ngspice_executable()
        tmp = tempfile.mkdtemp(prefix="spicegen-")
        signals.register_tempdir(tmp)
        proc = None
        try:
            deck, raw = os.path.join(tmp, "deck.cir"), os.path.join(tmp, "out.raw")
            out_path, err_path = os.path.join(tmp, "stdout.log"), os.path.join(tmp, "stderr.log")
            with open(deck, "w", encoding="utf-8") as fh:
                fh.write(netlist)
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen([exe, "-b", "-r", raw, deck], cwd=tmp, stdout=out,
                                        stderr=err, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            signals.register_child(proc)
            stopped = _wait(proc, timeout, raw, limits.max_raw_bytes)
            if stopped:
                signals.kill_group(proc)
            log = _read_log(out_path) + "\n" + _read_log(err_path)
            if stopped == "timeout":
                raise SpiceError(f"ngspice timed out after {timeout:g} s "
                                 f"({_ngspice.TIMEOUT_HINT})",
                                 _ngspice.log_tail(log.splitlines(), 40)[-2000:], netlist)
            if stopped == "raw" or _size(raw) > limits.max_raw_bytes:
                raise SpiceError(
                    f"ngspice's raw output exceeded max_raw_bytes={limits.max_raw_bytes:,.0f} "
                    f"and the run was stopped. Save fewer vectors (.save), shorten the run or "
                    f"lengthen its step, or raise the limit: max_raw_bytes=... (run_netlist, "
                    f"run_many) or the environment variable SPICEGEN_MAX_RAW_BYTES",
                    log[-2000:], netlist)
            warnings = _ngspice.classify(log, netlist, proc.returncode)
            if not os.path.exists(raw):
                raise SpiceError("ngspice wrote no results (does the netlist hold an analysis "
                                 "card?)", log[-2000:], netlist)
            with open(raw, "rb") as fh:
                try:
                    analyses = parse_raw(fh.read())
                except RawFileError as exc:
                    raise SpiceError(f"unreadable raw file: {exc}", log[-2000:], netlist) from None
        finally:
            if proc is not None:
                signals.kill_group(proc)
                signals.unregister_child(proc)
            signals.remove_tempdir(tmp)
        _ngspice.check_complete(analyses, netlist, log)
        return SimResult(analyses, log, warnings)


def _wait(proc: subprocess.Popen, timeout: float | None, raw: str, max_raw_bytes: float) -> str:
    """Wait for ngspice to exit; '' when it did, 'timeout' or 'raw' when it had to be stopped
    (the caller's ``finally`` kills it)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    poll = 0.005
    while True:
        wait = poll if deadline is None else min(poll, max(deadline - time.monotonic(), 0.0))
        try:
            proc.wait(wait)
            return ""
        except subprocess.TimeoutExpired:
            pass
        if _size(raw) > max_raw_bytes:
            return "raw"
        if deadline is not None and time.monotonic() >= deadline:
            return "timeout"
        poll = min(poll * 2, 0.2)


register_backend(SubprocessNgspice())
