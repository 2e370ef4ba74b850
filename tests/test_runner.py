import struct

import numpy as np
import pytest

from spicegen import SpiceError, run_netlist
from spicegen.rawfile import RawFileError, parse_raw
from spicegen.runner import normalise_netlist

from .conftest import requires_ngspice

RC = """* rc step
V1 in 0 PWL(0 0 1n 1)
R1 in out 1k
C1 out 0 1p
.tran 10p 10n
.end
"""


@requires_ngspice
@pytest.mark.parametrize("backend", ["subprocess", "shared"])
def test_rc_step_matches_analytic(backend):
    res = run_netlist(RC, backend)
    t, v = res.scale, res["v(out)"]
    assert t[-1] == pytest.approx(10e-9)
    late = t > 3e-9
    # after the 1 ns ramp the output relaxes to 1 V with tau = 1 ns
    assert np.allclose(v[late], 1 - (np.exp(1) - 1) * np.exp(-t[late] / 1e-9), atol=2e-3)
    assert np.array_equal(res["out"], res["V(OUT)"])


@requires_ngspice
def test_backends_agree():
    a = run_netlist(RC, "subprocess")
    b = run_netlist(RC, "shared")
    assert np.allclose(np.interp(a.scale, b.scale, b["out"]), a["out"], atol=1e-9)


BAD = {
    "parse error": ("* bad value\nV1 1 0 dc 1\nR1 1 0 abc\n.tran 1n 10n\n.end\n", "R1 1 0 abc"),
    "singular matrix": ("* loop\nV1 1 0 dc 1\nV2 1 0 dc 2\nR1 1 0 1k\n.tran 1n 10n\n.end\n",
                        "V1 1 0 dc 1"),
    "timestep too small": ("* blow-up\nCp p 0 1\nBp 0 p I = 1e10*V(p)*V(p)\n.ic v(p)=1\n"
                           ".tran 1n 100n\n.end\n", "Bp 0 p I = 1e10*V(p)*V(p)"),
    "unknown subcircuit": ("* no subckt\nV1 1 0 dc 1\nX1 1 0 nosuch\n.tran 1n 10n\n.end\n",
                           "X1 1 0 nosuch"),
}


@requires_ngspice
@pytest.mark.parametrize("backend", ["subprocess", "shared"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_failures_raise_with_ngspice_message_and_line(backend, case):
    netlist, line = BAD[case]
    with pytest.raises(SpiceError) as err:
        run_netlist(netlist, backend)
    exc = err.value
    assert exc.netlist_line == line, str(exc)
    assert exc.ngspice_message
    assert line in str(exc)
    # the library instance stays usable after a failure
    assert run_netlist(RC, backend)["out"][-1] == pytest.approx(1.0, abs=1e-2)


@requires_ngspice
@pytest.mark.parametrize("backend", ["subprocess", "shared"])
def test_harmless_output_is_not_an_error(backend):
    # a node called error_out appears in ngspice's operating-point table as "error_out  0"
    deck = "* t\nV1 in 0 PWL(0 0 1n 1)\nR1 in error_out 1k\nC1 error_out 0 1p\n.tran 10p 10n\n.end\n"
    assert run_netlist(deck, backend)["error_out"][-1] == pytest.approx(1.0, abs=1e-3)


def test_a_deck_without_title_is_refused():
    with pytest.raises(SpiceError, match="title"):
        run_netlist("V1 1 0 1\nR1 1 0 1k\n.op\n.end\n")


@requires_ngspice
def test_undefined_parameter_is_located():
    deck = ("* t\n.subckt foo a b params: g=1\nB1 a b I = kk*V(a)\n.ends\nV1 1 0 1\nX1 1 0 foo\n"
            ".tran 1n 10n\n.end\n")
    with pytest.raises(SpiceError) as err:
        run_netlist(deck)
    assert err.value.netlist_line == "B1 a b I = kk*V(a)"


@requires_ngspice
def test_shared_library_that_gave_up_falls_back_to_a_subprocess():
    """After 'cannot recover' libngspice is unusable in the process; runs must go on, isolated.
    Run in a child process so that the rest of the suite keeps a healthy library."""
    import subprocess
    import sys
    code = (
        "import warnings\n"
        "from spicegen import run_netlist, SpiceError\n"
        f"bad = {BAD_PARAM!r}\n"
        "try:\n    run_netlist(bad, 'shared')\nexcept SpiceError:\n    pass\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    r = run_netlist({RC!r}, 'shared')\n"
        "print(round(float(r['out'][-1]), 3), any('subprocess backend' in str(x.message) for x in w))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split()[-2:] == ["1.0", "True"], out.stdout + out.stderr


BAD_PARAM = ("* t\n.subckt foo a b params: g=1\nB1 a b I = kk*V(a)\n.ends\nV1 1 0 1\nX1 1 0 foo\n"
             ".tran 1n 10n\n.end\n")


@requires_ngspice
@pytest.mark.parametrize("backend", ["subprocess", "shared"])
def test_timeout(backend):
    slow = "* slow\nV1 1 0 SIN(0 1 1g)\nR1 1 2 1k\nC1 2 0 1p\n.tran 1p 10u 0 1p\n.end\n"
    with pytest.raises(SpiceError, match="timed out"):
        run_netlist(slow, backend, timeout=0.5)


def test_missing_ngspice(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SpiceError, match="apt-get install ngspice"):
        run_netlist(RC, "subprocess")


def test_unknown_backend_and_empty_netlist():
    with pytest.raises(ValueError, match="backend"):
        run_netlist(RC, "hspice")
    with pytest.raises(SpiceError, match="empty"):
        normalise_netlist("  \n")


def test_normalise_adds_end_and_trailing_newline():
    assert normalise_netlist("* t\nR1 1 0 1").endswith("R1 1 0 1\n.end\n")
    assert normalise_netlist("* t\n.end").endswith(".end\n")


def _raw_header(plot, flags, names, npoints, extra=""):
    lines = ["Title: * test", "Date: today", extra, f"Plotname: {plot}", f"Flags: {flags}",
             f"No. Variables: {len(names)}", f"No. Points: {npoints}", "Variables:"]
    lines += [f"\t{i}\t{n}\t{'time' if i == 0 else 'voltage'}" for i, n in enumerate(names)]
    return ("\n".join(line for line in lines if line) + "\n").encode()


def test_raw_parser_reads_fields_by_name_and_several_plots():
    # an ngspice-42 style header (extra 'Command:' line) followed by a complex AC plot
    tran = _raw_header("Transient Analysis", "real", ["time", "v(a)"], 3,
                       extra="Command: version 42") + b"Binary:\n"
    tran += struct.pack("<6d", 0, 1, 1, 2, 2, 3)
    ac = _raw_header("AC Analysis", "complex", ["frequency", "v(a)"], 2) + b"Binary:\n"
    ac += struct.pack("<8d", 1, 0, 1, 1, 2, 0, 0, -1)
    analyses = parse_raw(tran + ac)
    assert analyses[0]["a"].tolist() == [1, 2, 3]
    assert analyses[1]["v(a)"].tolist() == [1 + 1j, -1j]


def test_raw_parser_ascii_and_truncation():
    text = _raw_header("DC transfer characteristic", "real", ["v(v-sweep)", "v(a)"], 2)
    text += b"Values:\n 0\t0\n\t5\n 1\t1\n\t6\n"
    assert parse_raw(text)[0]["a"].tolist() == [5, 6]
    short = _raw_header("Transient Analysis", "real", ["time", "v(a)"], 3) + b"Binary:\n"
    with pytest.raises(RawFileError, match="truncated"):
        parse_raw(short + struct.pack("<4d", 0, 1, 1, 2))
    bad = _raw_header("DC transfer characteristic", "real", ["v(v-sweep)", "v(a)"], 1)
    with pytest.raises(RawFileError, match="bad value"):
        parse_raw(bad + b"Values:\n 0\t0\n\tnan-ish\n")
    with pytest.raises(RawFileError, match="bad value"):
        parse_raw(bad + b"Values:\n 0\t0\n\n")
    # an aborted run leaves 'No. Points: 0' with data behind it
    aborted = _raw_header("Transient Analysis", "real", ["time", "v(a)"], 0) + b"Binary:\n"
    with pytest.raises(RawFileError, match="aborted"):
        parse_raw(aborted + struct.pack("<4d", 0, 1, 1, 2))
