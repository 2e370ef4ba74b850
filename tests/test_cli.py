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
    assert main(["twins", "--only", "bogus"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_library_command(tmp_path):
    assert main(["library", "--out", str(tmp_path), "--no-examples"]) == 0
    assert sorted(os.listdir(tmp_path)) == ["devices_envelope.lib", "devices_rf.lib",
                                            "domain_wall.va", "mtj_resonator.va", "stno.va"]


@requires_ngspice
def test_dynamical_network_train_export_cosim(tmp_path, capsys):
    """The sequence pipeline at the command line: a row-by-row STNO network (one short epoch),
    its device graph, and the transient co-simulation of a few test samples."""
    ckpt, graph = str(tmp_path / "stno.pt"), str(tmp_path / "stno.json")
    assert main(["train", "--model", "stno", "--sizes", "8,12,10", "--epochs", "1",
                 "--substeps", "16", "--out", ckpt, "--quiet"]) == 0
    assert main(["export", "--checkpoint", ckpt, "--out", graph]) == 0
    assert "weights" in capsys.readouterr().out
    assert main(["cosim", "--graph", graph, "--limit", "12", "--chunk", "6", "--out",
                 str(tmp_path / "cosim"), "--points-per-step", "32", "--quiet"]) == 0
    assert "STNO power error" in capsys.readouterr().out
    import json
    with open(tmp_path / "cosim" / "report.json") as fh:
        rep = json.load(fh)
    assert rep["samples"] == 12 and rep["unit"] == "p"
    assert all(layer["max_error_p"] < 1e-3 for layer in rep["layers"])
    assert (tmp_path / "cosim" / "scores.png").exists()
    # a pixel-order request whose widths do not fit is refused with a message
    assert main(["train", "--model", "stno", "--order", "pixels", "--sizes", "8,12,10",
                 "--epochs", "1", "--out", ckpt, "--quiet"]) == 2
    assert "inputs per step" in capsys.readouterr().err


def test_chain_synapse_network_at_the_command_line(tmp_path, capsys):
    """--synapses chain trains resonance frequencies and exports resonator chains."""
    ckpt, graph = str(tmp_path / "chain.pt"), str(tmp_path / "chain.json")
    assert main(["train", "--model", "stno", "--synapses", "chain", "--sizes", "8,12,10",
                 "--epochs", "1", "--out", ckpt, "--quiet"]) == 0
    assert main(["export", "--checkpoint", ckpt, "--out", graph]) == 0
    out = capsys.readouterr().out
    assert "22 STNOs, 216 resonators, 144 weights" in out   # 12 x 12 recurrent weights
