import os

import pytest

from spicegen.cli import main

from .conftest import requires_ngspice


@requires_ngspice
def test_twins_command_prints_table_and_writes_plots(tmp_path, capsys):
    code = main(["twins", "--only", "resonator_envelope", "domain_wall", "--out", str(tmp_path),
                 "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "resonator envelope" in out and "0 of" in out
    for name in ("resonator_envelope.png", "domain_wall.png"):
        path = tmp_path / name
        assert path.exists() and path.stat().st_size > 10_000


def test_unknown_twin_is_rejected(capsys):
    with pytest.raises(SystemExit) as err:
        main(["twins", "--only", "bogus"])
    assert err.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_library_command(tmp_path):
    assert main(["library", "--out", str(tmp_path), "--no-examples"]) == 0
    assert sorted(os.listdir(tmp_path)) == ["devices_envelope.lib", "devices_rf.lib",
                                            "domain_wall.va", "mtj_resonator.va", "stno.va"]
