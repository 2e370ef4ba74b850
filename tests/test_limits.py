"""Resource limits stated and enforced before ngspice starts."""
import pytest

from spicegen.backends import _ngspice
from spicegen.errors import SpiceError
from spicegen.runner import run_netlist


def _deck(stop: str, n_lines: int = 3) -> str:
    body = "\n".join(f"R{i} a 0 1k" for i in range(n_lines))
    return f"* t\nI1 0 a 1m\n{body}\n.tran 1n {stop}\n.end\n"


def test_timeout_grows_with_points_and_lines():
    small, long_run = _ngspice.size_timeout(_deck("1u")), _ngspice.size_timeout(_deck("1m"))
    wide = _ngspice.size_timeout(_deck("1m", 300))
    assert small == pytest.approx(_ngspice.TIMEOUT_FLOOR, rel=1e-2)
    assert small < long_run < wide
    # 301 circuit lines against 4 (the current source and the resistors)
    assert wide - _ngspice.TIMEOUT_FLOOR == pytest.approx(
        301 / 4 * (long_run - _ngspice.TIMEOUT_FLOOR), rel=1e-6)


def test_oversized_netlist_is_refused_before_running(monkeypatch):
    monkeypatch.setattr(_ngspice, "MAX_NETLIST_BYTES", 1000)
    with pytest.raises(SpiceError, match="over the limit of"):
        run_netlist(_deck("1u", 100))
