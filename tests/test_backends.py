"""Back ends as plug-ins, and the subprocess back end's hardening: non-UTF-8 output, timeouts,
resource limits, temp folders and ngspice children on every way a run can end.

Most tests put a fake ``ngspice`` (a Python script) first on PATH, so they need no ngspice.
"""
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

from spicegen import SpiceError, run_netlist
from spicegen.backends import (BACKENDS, MAX_POINTS, Backend, Limits, SimResult, get_backend,
                               register_backend)
from spicegen.backends._ngspice import check_points, decode_output
from spicegen.deck import Deck, Tran
from spicegen.rawfile import Analysis

from .conftest import requires_ngspice

RC = "* rc\nV1 in 0 PWL(0 0 1n 1)\nR1 in out 1k\nC1 out 0 1p\n.tran 10p 10n\n.end\n"

# an ascii raw file that satisfies RC's .tran (it ends at 10 ns)
RAW = ("Title: fake\nDate: today\nPlotname: Transient Analysis\nFlags: real\nNo. Variables: 2\n"
       "No. Points: 2\nVariables:\n\t0\ttime\ttime\n\t1\tv(out)\tvoltage\nValues:\n"
       " 0\t0\n\t0.25\n 1\t1e-08\n\t1\n")

FAKE = """#!{python}
import os, sys, time
args = sys.argv[1:]
raw = args[args.index("-r") + 1]
if os.environ.get("FAKE_MARKER"):
    open(os.environ["FAKE_MARKER"], "w").close()
if os.environ.get("FAKE_PIDFILE"):
    with open(os.environ["FAKE_PIDFILE"] + ".tmp", "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(os.environ["FAKE_PIDFILE"] + ".tmp", os.environ["FAKE_PIDFILE"])
if os.environ.get("FAKE_PIDDIR"):
    open(os.path.join(os.environ["FAKE_PIDDIR"], str(os.getpid())), "w").close()
{body}
"""

WRITE_RAW = f"""
sys.stdout.write("Circuit: fake\\n")
sys.stdout.flush()
sys.stderr.buffer.write(b"Note: r\\xe9sistance ok\\n")
open(raw, "w").write({RAW!r})
"""

SLOW = "time.sleep(60)"

# raw output that keeps growing
FLOOD = """
with open(raw, "wb") as fh:
    while True:
        fh.write(b"x" * 65536)
        fh.flush()
        time.sleep(0.01)
"""


@pytest.fixture
def fake_ngspice(tmp_path, monkeypatch):
    """Put a fake ngspice with the given body first on PATH, and the system temp folder in a
    folder of this test; returns (bin dir, temp dir)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))

    def make(body: str):
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        exe = bindir / "ngspice"
        exe.write_text(FAKE.format(python=sys.executable, body=textwrap.dedent(body)))
        exe.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
        return bindir, tmp
    return make


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def leftovers(tmp) -> list[str]:
    return [p for p in os.listdir(tmp) if p.startswith("spicegen-")]


def wait_for(path, seconds=30.0) -> None:
    end = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)


# ------------------------------------------------------------------------------ registry

def test_registry_lists_names_and_unknown_names_list_the_registered():
    assert list(BACKENDS)[:2] == ["subprocess", "shared"]
    assert "subprocess" in BACKENDS and "hspice" not in BACKENDS
    assert all(b.description for b in BACKENDS.values())
    assert BACKENDS["subprocess"].parallel_safe and not BACKENDS["shared"].parallel_safe
    with pytest.raises(ValueError, match="unknown backend 'hspice'; registered: subprocess, shared"):
        get_backend("hspice")
    with pytest.raises(KeyError):  # a Mapping all the same
        BACKENDS["hspice"]
    assert get_backend(BACKENDS["shared"]) is BACKENDS["shared"]


def test_a_registered_backend_is_used_by_name_and_gets_decks_in_its_dialect():
    seen = []

    class Echo(Backend):
        name = "echo_test"
        description = "returns a constant"

        def simulate(self, netlist, timeout, limits):
            seen.append((netlist, timeout, limits))
            return SimResult([Analysis("Operating Point", {"v(a)": np.array([1.0])})], "", [])

    backend = register_backend(Echo())
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_backend(Echo())
        deck = Deck("t", elements=["R1 a 0 1k"], analysis=Tran(1e-9, 1e-6))
        assert run_netlist(deck, "echo_test", timeout=None)["a"][0] == 1.0
        assert seen[0] == (deck.render(), None, Limits())
        with pytest.raises(ValueError, match="timeout"):
            run_netlist(deck, backend, timeout=0)
    finally:
        BACKENDS._items.pop("echo_test")


def test_spice_error_survives_pickling():
    netlist = "* t\nV1 1 0 1\nR1 1 0 abc\n.op\n"
    err = SpiceError("ngspice failed: netlist rejected", "Error on line 3", netlist, line_number=3)
    back = pickle.loads(pickle.dumps(err))
    assert (back.reason, back.netlist_line, back.device, str(back)) == \
        (err.reason, "R1 1 0 abc", "R1", str(err))


# ------------------------------------------------------------------------------ output encoding

def test_decode_output_keeps_every_line_whatever_its_encoding():
    text = decode_output("ok \u00b5s\n".encode() + b"Note: r\xe9sistance\n\xff\xfe\n")
    assert text.splitlines() == ["ok \u00b5s", "Note: r\u00e9sistance", "\u00ff\u00fe"]


def test_a_non_utf8_byte_from_ngspice_does_not_fail_the_run(fake_ngspice):
    _, tmp = fake_ngspice(WRITE_RAW)
    res = run_netlist(RC)
    assert res["out"].tolist() == [0.25, 1.0]
    assert "Note: r\u00e9sistance ok" in res.log
    assert leftovers(tmp) == []


@requires_ngspice
def test_real_ngspice_with_a_latin1_note_on_stderr(tmp_path, monkeypatch):
    real = subprocess.run(["sh", "-c", "command -v ngspice"], capture_output=True,
                          text=True).stdout.strip()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ngspice").write_bytes(
        f'#!/bin/sh\n"{real}" "$@"; rc=$?\nprintf "Note: r\\351sistance ok\\n" >&2\nexit $rc\n'
        .encode())
    (bindir / "ngspice").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    res = run_netlist(RC)
    assert res["out"][-1] == pytest.approx(1.0, abs=1e-2)
    assert "r\u00e9sistance ok" in res.log


# ------------------------------------------------------------------------------ limits

def test_time_point_limit_raises_before_ngspice_starts(fake_ngspice, tmp_path, monkeypatch):
    _, tmp = fake_ngspice(WRITE_RAW)
    marker = tmp_path / "started"
    monkeypatch.setenv("FAKE_MARKER", str(marker))
    huge = "* huge\nV1 1 0 1\nR1 1 0 1k\n.tran 1e-18 10n\n.end\n"
    with pytest.raises(SpiceError) as err:
        run_netlist(huge)
    message = str(err.value)
    assert f"max_points={MAX_POINTS:,}" in message and "SPICEGEN_MAX_POINTS" in message
    assert err.value.netlist_line == ".tran 1e-18 10n"
    assert not marker.exists() and leftovers(tmp) == []
    # the limit is the caller's to raise, per run or by environment
    with pytest.raises(SpiceError, match="max_points=1,000"):
        run_netlist(RC, max_points=1000)
    monkeypatch.setenv("SPICEGEN_MAX_POINTS", "inf")
    assert run_netlist(huge)["out"][-1] == 1.0
    assert marker.exists()
    monkeypatch.setenv("SPICEGEN_MAX_POINTS", "lots")
    with pytest.raises(ValueError, match="SPICEGEN_MAX_POINTS"):
        run_netlist(RC)


@pytest.mark.parametrize("card, points", [
    (".tran 10p 10n", 1001),                   # ngspice's own default step: min(tstep, span/50)
    (".tran 1n 1u 0 10n", 101),               # tmax sets the step, not tstep
    (".tran 100u 1m", 51),
    (".tran 1n 1u 0.5u", 501),                # saved from tstart
    (".dc V1 0 1 0.01", 101),
    (".dc V1 0 1 0.5 V2 0 2 1", 9),
    (".ac dec 10 1 1meg", 61),
    (".tran {h} 1u", None),                   # an expression: unknown before the run
])
def test_points_estimate(card, points):
    deck = f"* t\nV1 1 0 1\n{card}\n.end\n"
    if points is None:
        check_points(deck, Limits(max_points=1))
        return
    check_points(deck, Limits(max_points=points + 1e-6))
    with pytest.raises(SpiceError, match="max_points"):
        check_points(deck, Limits(max_points=points - 1))


def test_raw_output_over_the_limit_stops_the_run(fake_ngspice, tmp_path, monkeypatch):
    _, tmp = fake_ngspice(FLOOD)
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("FAKE_PIDFILE", str(pidfile))
    start = time.monotonic()
    with pytest.raises(SpiceError, match=r"max_raw_bytes=1,000,000 .*SPICEGEN_MAX_RAW_BYTES"):
        run_netlist(RC, timeout=30, max_raw_bytes=1e6)
    assert time.monotonic() - start < 10
    assert leftovers(tmp) == [] and not alive(int(pidfile.read_text()))


# ------------------------------------------------------------------------------ timeouts, interrupts

def test_a_failed_run_removes_its_temp_folder(fake_ngspice):
    _, tmp = fake_ngspice("""
        sys.stderr.buffer.write(b"Error on line 3 : r1 1 0 \\xe9\\n")
        sys.exit(1)
    """)
    with pytest.raises(SpiceError, match="ngspice failed") as err:
        run_netlist(RC)
    assert "r1 1 0 \u00e9" in err.value.ngspice_message
    assert leftovers(tmp) == []


def test_timeout_kills_ngspice_and_removes_the_temp_folder(fake_ngspice, tmp_path, monkeypatch):
    _, tmp = fake_ngspice(SLOW)
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("FAKE_PIDFILE", str(pidfile))
    with pytest.raises(SpiceError, match="timed out after 0.5 s \\(--timeout SECONDS to allow "
                                         "longer; from Python timeout=..."):
        run_netlist(RC, timeout=0.5)
    assert leftovers(tmp) == [] and not alive(int(pidfile.read_text()))


def test_a_timeout_quotes_ngspices_last_lines_without_its_progress_lines():
    from spicegen.backends import _ngspice
    lines = ["Circuit: rfcnn", *[f"   Reference value :  {k}e-06" for k in range(50)],
             "Warning: singular matrix", "   Reference value :  9e-06"]
    assert _ngspice.log_tail(lines).splitlines() == ["Circuit: rfcnn", "Warning: singular matrix"]
    assert _ngspice.log_tail([f"line {k}" for k in range(30)], 3) == "line 27\nline 28\nline 29"


# the child restores Python's Ctrl-C handler: a parent started in the background (nohup, `&`, some
# CI runners) passes SIGINT on as ignored, and Python then installs no handler of its own
CHILD = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from spicegen import run_netlist
from spicegen.signals import install_signal_handlers
install_signal_handlers()
try:
    run_netlist({deck!r}, timeout=None)
except KeyboardInterrupt as exc:
    print("unwound", type(exc).__name__, flush=True)
    sys.exit(3)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_and_sigterm_kill_ngspice_and_remove_the_temp_folder(fake_ngspice, tmp_path,
                                                                       signum):
    bindir, tmp = fake_ngspice(SLOW)
    pidfile = tmp_path / "pid"
    env = {**os.environ, "TMPDIR": str(tmp), "FAKE_PIDFILE": str(pidfile)}
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(deck=RC)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(pidfile)
        fake = int(pidfile.read_text())
        assert alive(fake) and len(leftovers(tmp)) == 1
        child.send_signal(signum)
        out, err = child.communicate(timeout=120)   # generous: a loaded machine is slow to unwind
    finally:
        if child.poll() is None:
            child.kill()
    expected = "Terminated" if signum == signal.SIGTERM else "KeyboardInterrupt"
    assert child.returncode == 3 and f"unwound {expected}" in out, out + err
    assert leftovers(tmp) == [] and not alive(fake)


@requires_ngspice
def test_real_timeout_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    slow = "* slow\nV1 1 0 SIN(0 1 1g)\nR1 1 2 1k\nC1 2 0 1p\n.tran 1p 10u 0 1p\n.end\n"
    with pytest.raises(SpiceError, match="timed out"):
        run_netlist(slow, timeout=0.5)
    assert leftovers(tmp_path) == []
