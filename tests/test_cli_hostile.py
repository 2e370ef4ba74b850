"""The command line against bad input: every one is exit status 2 and one ``error:`` line on
stderr (argparse's ``error: argument ...`` line for a bad option value), never a traceback; a
failed export leaves the files it would have replaced as they were; an output folder another run
holds is refused naming that run. Nothing here runs ngspice: each case fails before a simulation.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from spicegen.cli import main
from spintronic import networks
from spintronic.graph import schema
from spintronic.networks.checkpoints import make_model
from spintronic.training import checkpoint
from spintronic.training.trainer import save_checkpoint


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A valid rf checkpoint (6 -> 3 -> 2), its graph, a data set of its width, and bad files."""
    d = tmp_path_factory.mktemp("cli")
    paths = {name: str(d / name) for name in (
        "rf.pt", "rf.json", "data.npz", "corrupt.npz", "list.json", "bogus.json", "mislabelled.pt",
        "truncated.pt")}
    model = make_model("rf", (6, 3, 2))
    save_checkpoint(model, paths["rf.pt"])
    g = networks.to_graph(model)
    schema.save(g, paths["rf.json"])
    rng = np.random.default_rng(0)
    np.savez(paths["data.npz"], X_train=rng.random((40, 6)), Y_train=np.arange(40) % 2,
             X_test=rng.random((10, 6)), Y_test=np.arange(10) % 2)
    with open(paths["data.npz"], "rb") as fh:
        blob = fh.read()
    with open(paths["corrupt.npz"], "wb") as fh:
        fh.write(blob[: len(blob) // 2])
    with open(paths["list.json"], "w") as fh:
        json.dump([1, 2, 3], fh)
    data = json.loads(schema.to_json(g))
    data["graph"]["network"] = "bogus"
    with open(paths["bogus.json"], "w") as fh:
        json.dump(data, fh)
    meta, tensors = checkpoint.read(paths["rf.pt"])
    checkpoint.write(paths["mislabelled.pt"], {**{k: v for k, v in meta.items() if k != "format"},
                                               "kind": "mlp"}, tensors)
    with open(paths["rf.pt"], "rb") as fh:
        blob = fh.read()
    with open(paths["truncated.pt"], "wb") as fh:
        fh.write(blob[: len(blob) // 3])
    paths["missing.json"] = str(d / "absent" / "g.json")
    paths["dir"] = str(d)
    return paths


def _one_error_line(err, pattern=None):
    """stderr holds exactly one ``error:`` line (argparse prefixes it with the program name),
    matching ``pattern``, and no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("error: ") or (line.startswith("spicegen") and ": error: " in line), err
    if pattern is not None:
        import re
        assert re.search(pattern, line), (pattern, line)
    return line


def _fails(capsys, argv, pattern=None):
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, err)
    return _one_error_line(err, pattern)


# argparse: option values refused by their type, before anything runs
@pytest.mark.parametrize("argv, pattern", [
    (["cosim", "--limit", "0"], "argument --limit: must be >= 1"),
    (["cosim", "--limit", "-1"], "argument --limit: must be >= 1"),
    (["sneak", "--limit", "0"], "argument --limit"),
    (["train", "--lr", "0"], "argument --lr: must be > 0"),
    (["train", "--lr", "nan"], "argument --lr: must be finite"),
    (["train", "--lr", "fast"], "argument --lr: expected a number"),
    (["train", "--batch-size", "0"], "argument --batch-size"),
    (["train", "--epochs", "0"], "argument --epochs"),
    (["train", "--sizes", "100000000,10"], "argument --sizes"),
    (["train", "--model", "bogus"], "argument --model: invalid choice"),
    (["cosim", "--chunk", "-3"], "argument --chunk"),
    (["cosim", "--workers", "0"], "argument --workers"),
    (["cosim", "--window", "-1"], "argument --window"),
    (["cosim", "--executor", "bogus"], "argument --executor: invalid choice"),
    (["cosim", "--backend", "bogus"], "argument --backend: invalid choice"),
    (["export", "--samples", "0"], "argument --samples"),
    (["sneak", "--layer", "0"], "argument --layer"),
    (["crosstalk", "--channels", "1"], "argument --channels"),
    (["bogus"], "invalid choice"),
])
def test_bad_option_values(capsys, argv, pattern):
    _fails(capsys, argv, pattern)


def test_bad_files_and_values_the_commands_find(files, capsys, tmp_path):
    f = files
    out = str(tmp_path / "out")
    cases = [
        (["sneak", "--graph", f["rf.json"], "--layer", "9", "--data", f["data.npz"], "--out", out],
         "^error: --layer 9 is outside the network's layers 1..2"),
        (["crosstalk", "--graph", f["rf.json"], "--layer", "9", "--out", out],
         "^error: --layer 9 is outside"),
        (["cosim", "--graph", f["list.json"], "--data", f["data.npz"], "--out", out, "--quiet"],
         "^error: not a device graph"),
        (["cosim", "--graph", f["missing.json"], "--data", f["data.npz"], "--out", out],
         "^error: .*absent"),
        (["cosim", "--graph", f["dir"], "--data", f["data.npz"], "--out", out],
         "^error: .*json or .graphml"),
        (["cosim", "--graph", f["bogus.json"], "--data", f["data.npz"], "--out", out],
         "^error: graph attribute network is 'bogus'"),
        (["export", "--checkpoint", f["mislabelled.pt"], "--out", str(tmp_path / "g.json")],
         "^error: .*mislabelled.pt.*does not fit its own mlp network"),
        (["export", "--checkpoint", f["truncated.pt"], "--out", str(tmp_path / "g.json")],
         "^error: .*truncated.pt is not a checkpoint"),
        (["export", "--checkpoint", f["missing.json"], "--out", str(tmp_path / "g.json")],
         "^error: no checkpoint at"),
        (["cosim", "--graph", f["rf.json"], "--data", f["corrupt.npz"], "--out", out, "--quiet"],
         "^error: .*corrupt.npz"),
        (["train", "--data", f["corrupt.npz"], "--out", str(tmp_path / "m.pt"), "--quiet"],
         "^error: .*corrupt.npz"),
        (["cosim", "--graph", f["rf.json"], "--data", f["data.npz"], "--out", out,
          "--scheduler", "tcp://127.0.0.1:9"], "^error: a scheduler address applies to the dask"),
    ]
    for argv, pattern in cases:
        _fails(capsys, argv, pattern)
    # nothing written: at most the run folder a run took and released
    assert not os.path.exists(out) or os.listdir(out) == []
    assert not os.path.exists(tmp_path / "g.json")


def test_an_unreachable_dask_scheduler_is_one_line_within_seconds(files, capsys, tmp_path):
    pytest.importorskip("distributed")
    start = time.monotonic()
    _fails(capsys, ["cosim", "--graph", files["rf.json"], "--data", files["data.npz"],
                    "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--quiet",
                    "--out", str(tmp_path / "out")], "^error: cannot reach the Dask scheduler")
    assert time.monotonic() - start < 15


def test_a_failed_export_leaves_the_previous_files_as_they_were(files, capsys, tmp_path):
    graph, netlist = tmp_path / "g.json", tmp_path / "n.cir"
    assert main(["export", "--checkpoint", files["rf.pt"], "--out", str(graph)]) == 0
    netlist.write_text("* an earlier netlist\n.end\n")
    before = graph.read_bytes(), netlist.read_bytes()
    # a checkpoint that cannot be read
    _fails(capsys, ["export", "--checkpoint", files["truncated.pt"], "--out", str(graph)])
    # a checkpoint that records no data set, with a netlist asked for: --data is needed
    _fails(capsys, ["export", "--checkpoint", files["rf.pt"], "--out", str(graph), "--netlist",
                    str(netlist)], "records no data source: pass --data")
    # a netlist that cannot be compiled (the digits have 64 features, the network 6): refused
    # before either file is written
    _fails(capsys, ["export", "--checkpoint", files["rf.pt"], "--out", str(graph), "--netlist",
                    str(netlist), "--data", "digits"], "^error: stimulus must have shape")
    assert (graph.read_bytes(), netlist.read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["g.json", "n.cir"]      # no temporary files


_HOLDER = """
import sys
from spintronic.graph.files import OutputLock
lock = OutputLock(sys.argv[1]).acquire()
print("held", flush=True)
sys.stdin.read()
lock.release()
"""


def test_cosim_into_a_folder_another_run_holds(files, capsys, tmp_path):
    folder = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        line = _fails(capsys, ["cosim", "--graph", files["rf.json"], "--data", files["data.npz"],
                               "--out", str(folder), "--quiet"], "^error: output folder .* in use")
        assert f"pid {holder.pid}" in line
        assert sorted(os.listdir(folder)) == [".spicegen.lock"]      # nothing written there
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0
