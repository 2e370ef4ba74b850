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


def test_train_resumes_an_interrupted_run_to_the_same_weights(tmp_path, capsys, monkeypatch):
    """Ctrl-C in the third epoch keeps the first two in OUT.resume.safetensors; --resume with the
    same options ends where an uninterrupted run ends, bit for bit."""
    import torch

    from spintronic.networks.checkpoints import load_checkpoint
    from spintronic.training import trainer

    common = ["train", "--model", "mlp", "--sizes", "64,12,10", "--epochs", "4",
              "--train-limit", "200", "--threads", "1", "--quiet"]
    whole, cut = str(tmp_path / "whole.pt"), str(tmp_path / "cut.pt")
    assert main(common + ["--out", whole]) == 0
    real, calls = trainer.accuracy, []

    def interrupt_in_the_third_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(trainer, "accuracy", interrupt_in_the_third_epoch)
    capsys.readouterr()
    assert main(common + ["--out", cut]) == 130
    err = capsys.readouterr().err
    assert "--resume" in err and "cut.pt.resume.safetensors" in err
    monkeypatch.setattr(trainer, "accuracy", real)
    # another shape or kind is refused with both named; the state is left for the right resume
    assert main([*common[:4], "64,16,10", *common[5:], "--out", cut, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "(64, 12, 10)" in err and "(64, 16, 10)" in err
    assert main(common + ["--out", cut, "--resume", "--lr", "0.5"]) == 2
    assert "lr" in capsys.readouterr().err
    assert main(common + ["--out", cut, "--resume"]) == 0
    a, b = load_checkpoint(whole)[0].state_dict(), load_checkpoint(cut)[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not os.path.exists(cut + ".resume.safetensors")
    assert main(common + ["--out", cut, "--resume"]) == 2
    assert "no resume state" in capsys.readouterr().err


def test_train_threads_option(tmp_path, capsys):
    import torch
    before = torch.get_num_threads()
    try:
        for bad in ("0", "-2", "two"):
            assert main(["train", "--threads", bad, "--quiet"]) == 2
            assert "--threads" in capsys.readouterr().err
        assert main(["train", "--model", "mlp", "--epochs", "1", "--threads", "1",
                     "--out", str(tmp_path / "m.pt")]) == 0
        assert torch.get_num_threads() == 1
        assert "training on 1 thread" in capsys.readouterr().out
    finally:
        torch.set_num_threads(before)
    from spicegen.cli.options import default_threads
    assert 1 <= default_threads() <= 4


def test_train_rf_channel_and_data_options(tmp_path, capsys):
    from spintronic.networks.checkpoints import load_checkpoint
    out = str(tmp_path / "rf.pt")
    assert main(["train", "--model", "rf", "--sizes", "64,4,10", "--epochs", "1", "--f-min",
                 "1e9", "--f-max", "3e9", "--grid", "linear", "--p-max", "2e-7",
                 "--train-limit", "300", "--out", out, "--quiet"]) == 0
    assert "269 train / 31 val / 359 test" in capsys.readouterr().out
    _, meta = load_checkpoint(out)
    net = meta["network"]
    assert (net["f_min"], net["f_max"], net["grid"], net["p_max"]) == (1e9, 3e9, "linear", 2e-7)
    assert meta["data_source"]["train_limit"] == 300
    for args, message in ((["--f-min", "3e9", "--f-max", "1e9"], "--f-min 3e+09 Hz must be "
                                                                 "below --f-max 1e+09 Hz"),
                          (["--f-max", "1e7"], "default f_min 2e+07 Hz must be below --f-max"),
                          (["--f-min", "0"], "argument --f-min"),
                          (["--p-max", "-1"], "argument --p-max"),
                          (["--grid", "log"], "argument --grid"),
                          (["--pool", "2"], "IDX images"),
                          (["--train-limit", "0"], "argument --train-limit")):
        assert main(["train", "--model", "rf", "--epochs", "1", "--out", out, "--quiet",
                     *args]) == 2, args
        assert message in capsys.readouterr().err, args
    # the dynamical kind takes them for its chain synapses, with its own defaults otherwise
    assert main(["train", "--model", "stno", "--synapses", "chain", "--sizes", "8,4,10",
                 "--substeps", "2", "--epochs", "1", "--f-min", "12e9", "--out", out,
                 "--quiet", "--train-limit", "100"]) == 0
    net = load_checkpoint(out)[1]["network"]
    assert (net["f_min"], net["f_max"]) == (12e9, 30e9)
    assert main(["train", "--model", "stno", "--f-min", "12e9", "--epochs", "1", "--out", out,
                 "--quiet"]) == 2
    assert "--synapses chain" in capsys.readouterr().err
