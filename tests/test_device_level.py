"""Device-level envelope netlists (spicegen.device_level) and the decks plain ngspice runs
(spicegen.user_deck): names, the term window, the gain expressions against layer_weights, a retuned
resonator against the surrogate, and ``spicegen export`` at both fidelities."""
import math
import os
import re
import shutil
import subprocess

import networkx as nx
import numpy as np
import pytest
import torch

from spicegen import run_netlist
from spicegen.compiler import compile_envelope, compile_rf, layer_weights, source_power_scale
from spicegen.cosim import graph_forward
from spicegen.device_level import NAME_MAX, DeviceLevel, Names, tail_slope
from spintronic.graph import schema
from spintronic.models import resonator
from spintronic.networks import to_graph

from .conftest import requires_ngspice


@pytest.fixture(scope="module")
def graph(small_rf):
    return to_graph(small_rf[0])


def _device_level(g, budget):
    sizes = schema.layer_sizes(g)
    freqs = [[g.nodes[s]["frequency"] if g.nodes[s]["kind"] == "input" else g.nodes[s]["f0"]
              for s in schema.sources(g, l)] for l in range(1, len(sizes))]
    return DeviceLevel(g, sizes, freqs, budget)


def test_names_are_safe_unique_without_case_and_short():
    names = Names(reserved=["res0_ksd"])
    a = names.add("fr_", "L1.c0.r5")
    b = names.add("fr_", "l1_c0_r5")            # ngspice folds case: a clash with a
    c = names.add("fr_", "r\n.control\nshell rm -rf /\n.endc")
    d = names.add("fr_", "x" * 500)
    e = names.add("", "res0_ksd")
    assert a == "fr_L1_c0_r5" and b == "fr_l1_c0_r5_2" and e == "res0_ksd_2"
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", n) and len(n) <= NAME_MAX + 3 for n in (a, b, c, d))
    assert names.renamed == [("l1_c0_r5", "fr_l1_c0_r5_2"), ("res0_ksd", "res0_ksd_2")]


def test_the_window_follows_the_term_budget(graph):
    n_res = sum(1 for _, a in graph.nodes(data=True) if a["kind"] == "resonator")
    low, mid, high = (_device_level(graph, b) for b in (0, 5_000, 10 ** 6))
    assert low.window == 0.0 and low.terms == n_res          # each resonator's nearest source
    assert high.window == math.inf and high.terms == high.dense == 8 * 64 * 64 + 10 * 8 * 8
    assert 0 < mid.window < math.inf and n_res < mid.terms <= 5_000
    with pytest.raises(ValueError, match="term budget"):
        _device_level(graph, -1)


def _gains_from_text(text: str) -> dict:
    """(layer, chain, source) -> gain, by evaluating the deck's expressions in Python: the
    .param values, and the .func of the Lorentzian as models.resonator computes it."""
    params = {}
    for name, value in re.findall(r"^\.param (\w+)=(\S+)$", text, re.M):
        params[name] = float(value)
    for line in re.findall(r"^\.param (.*)$", text, re.M):
        for name, value in re.findall(r"(\w+)=(\S+)", line):
            params[name] = float(value)
    prm = {k: resonator.ResonatorParams(f_r=1.0, alpha=params[f"res{k}_alpha"],
                                        K_SD=params[f"res{k}_ksd"], a_sym=params[f"res{k}_asym"],
                                        a_asym=params[f"res{k}_aasym"])
           for k in {int(m) for m in re.findall(r"^\.func res(\d+)_lor", text, re.M)}}
    env = {**params, **{f"res{k}_lor": (lambda p: lambda f, fr: float(resonator.lorentzian(
        torch.tensor(f, dtype=torch.float64), torch.tensor(fr, dtype=torch.float64), p)))(p)
        for k, p in prm.items()}}
    gains, scope = {}, None
    for line in text.splitlines():
        m = re.match(r"\.subckt chain(\d+)_(\d+)", line)
        if m:
            scope = (int(m.group(1)), int(m.group(2)))
        elif line.startswith(".ends"):
            scope = None
        m = re.match(r"G(\d+)(?:_(\d+)_(\d+))? .*\{(.*)\}$", line)
        if m:
            key = (*scope, int(m.group(1))) if scope else tuple(int(x) for x in m.group(1, 2, 3))
            gains[key] = gains.get(key, 0.0) + eval(m.group(4), {}, env)   # noqa: S307
    return gains


@pytest.mark.parametrize("budget", [0, 5_000, 10 ** 6])
def test_gain_expressions_evaluate_to_layer_weights(graph, digits, budget):
    text = compile_envelope(graph, digits.X_test[:2], term_budget=budget).text
    gains = _gains_from_text(text)
    for l in (1, 2):
        W, _ = layer_weights(graph, l)
        want = W * source_power_scale(graph, l)[None, :] * 1e-6
        got = np.array([[gains[(l, j, i)] for i in range(W.shape[1])] for j in range(W.shape[0])])
        assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()
    # every resonator's f_r is in the text at full precision
    for node, a in graph.nodes(data=True):
        if a["kind"] == "resonator":
            name = "fr_" + node.replace(".", "_")
            assert f".param {name}={a['f_r']!r}\n" in text


def test_names_from_a_file_cannot_inject_cards(graph, digits):
    evil = nx.relabel_nodes(graph, {"in0": "in0\n.include /etc/passwd",
                                    "L1.c0.r0": "r\n.control\nshell touch /tmp/pwned\n.endc",
                                    "L1.c0.r1": "L1.C0.R0"})
    text = compile_envelope(evil, digits.X_test[:2]).text
    for line in text.splitlines():
        assert not line.lower().startswith((".include", ".control", "shell", ".endc")), line


def _read(text: str, read_times: np.ndarray, names: list[str]) -> np.ndarray:
    res = run_netlist(text)
    return np.array([np.interp(read_times, res.scale, res[n]) for n in names]).T


@requires_ngspice
def test_device_level_deck_runs_as_the_numeric_one(graph, digits):
    X = digits.X_test[:3]
    a = compile_envelope(graph, X)
    b = compile_envelope(graph, X, device_level=False)
    names = a.outputs + a.hidden[0]
    va, vb = _read(a.text, a.read_times, names), _read(b.text, b.read_times, names)
    assert np.abs(va - vb).max() <= 1e-9 * np.abs(vb).max()


@requires_ngspice
@pytest.mark.parametrize("budget", [5_000, 10 ** 6])
def test_retuning_one_resonator_in_the_netlist_text(graph, digits, budget):
    """Edit fr_L2_c3_r5 by 0.3 and by 3 linewidths in the deck, rerun ngspice: the output chain
    must move as the surrogate with that f_r, except for the Lorentzian tails the header says stay
    frozen (sources outside the window of explicit terms). Tolerances: those frozen tails exactly,
    within 1 nV (the chain node is linear and resistive, so ngspice solves it to rounding, but the
    STNO powers feeding it come from two transient runs whose time steps may differ: measured
    1e-11 V apart; the changes are 1e-5 to 1e-4 V, the frozen tails up to 7e-7 V); and the bound
    the header states, slope(W) x shift x the power of the frozen sources."""
    X = digits.X_test[:3]
    node, j = "L2.c3.r5", 3
    a = graph.nodes[node]
    prm = schema.resonator_params(a)
    net = compile_envelope(graph, X, term_budget=budget)
    line = f".param fr_L2_c3_r5={a['f_r']!r}\n"
    assert line in net.text
    explicit = {int(i) for i in re.findall(r"G(\d+) 0 c p\d+ 0 \{[^}]*fr_L2_c3_r5\)", net.text)}
    base = _read(net.text, net.read_times, net.outputs)
    powers: list = []
    surrogate = graph_forward(graph, X, line_powers=powers)[-1]
    f_src = torch.tensor([graph.nodes[s]["f0"] for s in schema.sources(graph, 2)],
                         dtype=torch.float64)
    window = _device_level(graph, budget).window
    for shift in (0.3, 3.0):
        f_new = a["f_r"] * (1 + shift * prm.alpha)
        moved = graph.copy()
        moved.nodes[node]["f_r"] = f_new
        got = _read(net.text.replace(line, f".param fr_L2_c3_r5={f_new!r}\n"), net.read_times,
                    net.outputs) - base
        want = graph_forward(moved, X)[-1] - surrogate
        delta_g = a["orientation"] * (resonator.lorentzian(f_src, torch.tensor(f_new), prm) -
                                      resonator.lorentzian(f_src, torch.tensor(a["f_r"]), prm))
        frozen_src = [i for i in range(len(f_src)) if i not in explicit]
        frozen = powers[1][:, frozen_src] @ delta_g.numpy()[frozen_src]
        others = [k for k in range(want.shape[1]) if k != j]
        assert np.abs(got[:, others]).max() < 1e-12 and np.abs(want[:, others]).max() == 0
        assert np.abs(want[:, j]).max() > 1e-5                          # the test can fail
        assert np.abs(got[:, j] - (want[:, j] - frozen)).max() <= 1e-9
        bound = tail_slope(prm, window) * shift * powers[1][:, frozen_src].sum(1)
        assert (np.abs(got[:, j] - want[:, j]) <= bound + 1e-12).all()
        if math.isinf(window):
            assert not frozen_src


@requires_ngspice
def test_retuning_a_first_layer_resonator_moves_every_output(graph, digits):
    """Every term explicit: a first-layer resonator moved by 2 linewidths changes its chain, its
    STNO's power and so every output; the circuit's change matches the surrogate's within 2 uV,
    twice the agreement the envelope co-simulation holds at a 200 ns window."""
    X = digits.X_test[:3]
    node = "L1.c2.r17"
    a = graph.nodes[node]
    net = compile_envelope(graph, X, term_budget=10 ** 6)
    line = f".param fr_L1_c2_r17={a['f_r']!r}\n"
    f_new = a["f_r"] * (1 + 2 * schema.resonator_params(a).alpha)
    moved = graph.copy()
    moved.nodes[node]["f_r"] = f_new
    got = (_read(net.text.replace(line, f".param fr_L1_c2_r17={f_new!r}\n"), net.read_times,
                 net.outputs) - _read(net.text, net.read_times, net.outputs))
    want = graph_forward(moved, X)[-1] - graph_forward(graph, X)[-1]
    assert np.abs(want).max() > 20e-6
    assert np.abs(got - want).max() < 2e-6


@requires_ngspice
def test_plain_ngspice_runs_the_exported_decks(tmp_path, digits):
    """`spicegen export --netlist` at envelope and (a tiny network) rf fidelity: plain ngspice -b
    exits 0, prints every output and writes them beside the deck."""
    from spicegen.cli import main
    from spintronic.networks.checkpoints import make_model
    from spintronic.training.trainer import save_checkpoint
    from spintronic.training.rf_network import RFNetwork, RFNetworkConfig

    ckpt = str(tmp_path / "rf.pt")
    model = make_model("rf", (64, 4, 10), seed=0)
    save_checkpoint(model, ckpt, dataset="digits")
    assert main(["export", "--checkpoint", ckpt, "--out", str(tmp_path / "g.json"), "--netlist",
                 str(tmp_path / "n.cir"), "--samples", "2", "--data", "digits"]) == 0
    run = subprocess.run([shutil.which("ngspice"), "-b", "n.cir"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "no simulations run" not in run.stdout + run.stderr
    printed = dict(re.findall(r"^(c2_\d+_s\d+)\s+=\s+(\S+)", run.stdout, re.M))
    assert len(printed) == 20
    written = (tmp_path / "n.outputs.txt").read_text()
    assert all(name in written for name in printed) and (tmp_path / "n.waves.txt").exists()

    # rf fidelity: one deck per sample, on a network small enough to run in seconds
    g = to_graph(RFNetwork(RFNetworkConfig(sizes=(4, 3), f_min=1.0e9, f_max=1.2e9), seed=0))
    deck = tmp_path / "r.cir"
    compile_rf(g, digits.X_test[0, :4]).write(str(deck))
    run = subprocess.run([shutil.which("ngspice"), "-b", deck.name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert len(re.findall(r"^c1_\d\s+=\s+\S+\s+from=", run.stdout, re.M)) == 3


def test_export_fidelity_rf_writes_one_deck_per_sample(tmp_path, capsys):
    from spicegen.cli import main
    from spintronic.networks.checkpoints import make_model
    from spintronic.training.trainer import save_checkpoint

    ckpt = str(tmp_path / "rf.pt")
    save_checkpoint(make_model("rf", (64, 4, 10), seed=0), ckpt, dataset="digits")
    common = ["export", "--checkpoint", ckpt, "--out", str(tmp_path / "g.json"), "--data",
              "digits", "--fidelity", "rf"]
    assert main(common + ["--netlist", str(tmp_path / "r.cir"), "--samples", "2"]) == 0
    assert "r.s0.cir .. " in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["g.json", "r.s0.cir", "r.s1.cir", "rf.pt"]
    assert ".control" in (tmp_path / "r.s1.cir").read_text()
    assert main(common + ["--netlist", str(tmp_path / "one.cir"), "--samples", "1"]) == 0
    assert (tmp_path / "one.cir").exists()
    stno = str(tmp_path / "stno.pt")
    save_checkpoint(make_model("stno", (8, 4, 10), seed=0), stno, dataset="digits")
    assert main(["export", "--checkpoint", stno, "--out", str(tmp_path / "s.json"), "--data",
                 "digits", "--netlist", str(tmp_path / "s.cir"), "--fidelity", "rf"]) == 2
    assert "no rf fidelity" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()
