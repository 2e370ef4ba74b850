"""``spicegen import``: a spinMLP of the public rf_spintronic_nn code, given as a torch.save state
dict (read without unpickling) and its YAML config, becomes an rf network whose outputs are those
of their forward equations, evaluated here in numpy from their published formulas."""
import collections
import hashlib
import io
import math
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
import yaml

from spintronic import networks
from spintronic.graph import schema
from spintronic.networks import import_rfnn
from spintronic.networks.checkpoints import load_checkpoint
from spintronic.networks.import_rfnn import RFNNImportError
from spintronic.networks.torch_pickle import StateDictError, read_state_dict

from spicegen.cli import main

from .conftest import requires_ngspice


def grid(kind: str, n: int, lo: float = 0.02, hi: float = 0.12) -> np.ndarray:
    """Their two frequency distributions (GHz): evenly spaced, or "non_linear", a geometric
    sequence from lo with ratio (hi / lo)^(1 / (n - 1))."""
    if kind == "linear":
        return np.linspace(lo, hi, n)
    return lo * ((hi / lo) ** (1 / (n - 1))) ** np.arange(n)


def their_config(hidden, n_in, connection="k+1", distrib=None, **osc) -> dict:
    """A config in their schema (src/config_spinMLP.yaml)."""
    n_layers = len(hidden) + 1
    return {
        "UID": "00000000-000000", "torch_seed": 0,
        "dataset_params": {"name": "drones_signals", "input_freq_min": 0.02,
                           "input_freq_max": 0.12},
        "lr": 6.6e-06, "model": "spinMLP", "hidden_size": list(hidden),
        "physical_model_params": {
            "add_voltage_bias": [0.011084586710145186] * (n_layers - 1) + [0.0],
            "freq_res_bounds": [[0.02, 0.12]] * n_layers,
            "freq_res_distrib": list(distrib or ["linear"] + ["non_linear"] * (n_layers - 1)),
            "nb_input_resonators": n_in,
            "voltage_to_current_factors": [3.388370758630916] * (n_layers - 1) + [1.0],
            "resonators_params": {"bias_scaling": 0.01, "damping": 0.01,
                                  "freq_var_percentage": 0.0, "Ith_res": 10,
                                  "signed_connection": connection, "weight_scaling": 0.001},
            "oscillators_params": {"amp_factor": 1.25, "Ith_osc": 10, "Iclamp": 40,
                                   "power_var_percentage": 0.0, "Q": 2.0, "R_osc": 1.0e3,
                                   "scaling": 1.0e-06, **osc},
        },
    }


def their_state(cfg: dict, n_out: int, seed: int = 0, vb=None, gains=None) -> dict:
    """A trained-looking spinMLP state dict with their key names and float32 tensors; the hidden
    voltage biases aim the STNO currents at mid-window so that the test reaches p(I)."""
    rng = np.random.default_rng(seed)
    phys = cfg["physical_model_params"]
    n_in, hidden = phys["nb_input_resonators"], cfg["hidden_size"]
    sizes = [n_in, *hidden, n_out]
    n_layers = len(sizes) - 1
    sign = 1.0 if phys["resonators_params"]["signed_connection"] == "k" else -1.0
    f32 = lambda a: torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float32)  # noqa
    input_freq = f32(grid("linear", n_in, 0.021, 0.118))
    state = collections.OrderedDict(input_freq=input_freq)
    vb = [0.0074] * (n_layers - 1) + [0.0] if vb is None else vb
    gains = [3.388370758630916] * (n_layers - 1) + [1.0] if gains is None else gains
    state["layers_voltage_biases"] = f32(list(vb) + [0.0])       # reset_parameters appends one
    state["voltage_to_current_factors"] = f32(list(gains) + [1.0])
    for l in range(n_layers):
        init = grid(phys["freq_res_distrib"][l], sizes[l])
        state[f"layers.{l}.initial_res_freq"] = f32(init)
        # the first layer's input_freq is the network's own tensor (set_input_freq)
        state[f"layers.{l}.input_freq"] = input_freq if l == 0 else f32(init)
        state[f"layers.{l}.resonators_connection"] = f32(sign * (-1.0) ** np.arange(sizes[l]))
        # shifts of up to three linewidths from where each resonator started
        state[f"layers.{l}.weight"] = f32(rng.uniform(-3, 3, (sizes[l + 1], sizes[l]))
                                          * 0.01 * init[None, :])
        state[f"layers.{l}.bias"] = f32(rng.normal(0, 2e-4, sizes[l + 1]))
        if l < n_layers - 1:
            state[f"activations.{l}.factor"] = f32(1e-6 * 1.25)
    their_forward(state, cfg, rng.uniform(0, 1, (256, n_in)), calibrate=True)
    return state


def their_forward(state: dict, cfg: dict, x: np.ndarray, return_currents: bool = False,
                  calibrate: bool = False):
    """Their forward equations in float64: chains in V for inputs in uW, STNO currents in uA
    and powers in uW, scores (V + vb) 1e3 g of the last layer. ``calibrate``: first set each
    layer's chain biases to centre its voltages on x, as training would (``state`` changes)."""
    t = {k: v.double().numpy() for k, v in state.items()}
    phys = cfg["physical_model_params"]
    res, osc = phys["resonators_params"], phys["oscillators_params"]
    ksd = math.tan(math.pi / 4) / (8 * math.sqrt(2)) / res["Ith_res"]
    a = res["damping"]
    n_layers = len(cfg["hidden_size"]) + 1
    currents = []
    for l in range(n_layers):
        fr = (t[f"layers.{l}.initial_res_freq"] + t[f"layers.{l}.weight"])[:, None, :]
        fi = (t["input_freq"] if l == 0 else t[f"layers.{l}.input_freq"])[None, :, None]
        g = 2 * a * fr * (fi - fr) / ((a * fr) ** 2 + (fi - fr) ** 2) * ksd
        W = (g * t[f"layers.{l}.resonators_connection"]).sum(2)        # (chains, inputs)
        if calibrate:
            state[f"layers.{l}.bias"] = torch.tensor(-(x @ W.T).mean(0), dtype=torch.float32)
            t[f"layers.{l}.bias"] = state[f"layers.{l}.bias"].double().numpy()
        v = x @ W.T + t[f"layers.{l}.bias"]
        y = (v + t["layers_voltage_biases"][l]) * 1e3 * t["voltage_to_current_factors"][l]
        if l == n_layers - 1:
            return (y, currents) if return_currents else y
        i = np.clip(y, osc["Ith_osc"], osc["Iclamp"])
        currents.append(y)
        xi = i / osc["Ith_osc"]
        x = (xi - 1) / (xi + osc["Q"]) * i ** 2 * osc["R_osc"] * t[f"activations.{l}.factor"]


def write_pair(tmp_path, cfg, state, name="model"):
    sd, yml = tmp_path / f"{name}.pt", tmp_path / f"{name}.yaml"
    torch.save(state, sd)
    yml.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(sd), str(yml)


CASES = {
    "one hidden layer, k+1, linear then geometric": dict(hidden=[6], n_in=12, n_out=4),
    "two hidden layers, k, own voltage biases": dict(
        hidden=[7, 5], n_in=10, n_out=3, connection="k",
        distrib=["non_linear", "linear", "non_linear"], vb=[0.0074, 0.0069, 0.0012]),
    "no hidden layer": dict(hidden=[], n_in=9, n_out=3, vb=[0.0005]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_imported_network_computes_their_forward(tmp_path, case):
    c = dict(CASES[case])
    vb = c.pop("vb", None)
    n_out = c.pop("n_out")
    cfg = their_config(**c)
    state = their_state(cfg, n_out, vb=vb)
    sd, yml = write_pair(tmp_path, cfg, state)
    net, meta = import_rfnn.import_spinmlp(sd, yml)
    x = np.random.default_rng(1).uniform(0, 1, (64, c["n_in"]))
    want, currents = their_forward(state, cfg, x, return_currents=True)
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()
    # the STNOs were driven inside their window, not only at the clamps: p(I) was exercised
    for y in currents:
        inside = (y > 10.5) & (y < 39.5)
        assert inside.mean() > 0.3, inside.mean()
    rec = meta["imported"]
    assert rec["state_dict"]["sha256"] == hashlib.sha256(open(sd, "rb").read()).hexdigest()
    assert rec["their_config"]["hidden_size"] == c["hidden"]
    assert net.config.resonator.a_asym == (1.0 if c.get("connection") == "k" else -1.0)


def test_checkpoint_and_graph_hold_their_values(tmp_path):
    cfg = their_config([6], 12)
    state = their_state(cfg, 4, seed=3)
    sd, yml = write_pair(tmp_path, cfg, state)
    out, graph = tmp_path / "out" / "imported.pt", tmp_path / "g.json"
    assert main(["import", "--state-dict", sd, "--config", yml, "--out", str(out),
                 "--graph-out", str(graph)]) == 0
    model, meta = load_checkpoint(str(out))
    assert meta["kind"] == "rf" and meta["imported"]["config"]["file"] == "model.yaml"
    x = np.random.default_rng(2).uniform(0, 1, (16, 12))
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    want = their_forward(state, cfg, x)
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()
    g = schema.load(str(graph))
    networks.get_kind("rf").check_graph(g)
    # every resonator in the graph sits at their initial_res_freq + weight, in Hz
    for l in (0, 1):
        f_r = (state[f"layers.{l}.initial_res_freq"].double()
               + state[f"layers.{l}.weight"].double()).numpy() * 1e9
        for j, row in enumerate(f_r):
            for k, f in enumerate(row):
                assert g.nodes[f"L{l + 1}.c{j}.r{k}"]["f_r"] == pytest.approx(f, rel=1e-14)
    stno = g.nodes["L1.stno0"]
    assert stno["I_th"] == pytest.approx(10e-6) and stno["I_max_ratio"] == pytest.approx(4.0)
    assert stno["f0"] == pytest.approx(float(state["layers.1.input_freq"][0]) * 1e9, rel=1e-15)


@requires_ngspice
def test_imported_graph_runs_in_ngspice_like_their_forward(tmp_path):
    """Their "k+1" chains (a_asym = -1 here) through the envelope netlist: the graph's surrogate
    is their forward, and ngspice agrees with it (the hidden STNOs settle within the window)."""
    cfg = their_config([6], 12)
    state = their_state(cfg, 4, seed=5)
    net, _ = import_rfnn.import_spinmlp(*write_pair(tmp_path, cfg, state))
    kind = networks.get_kind("rf")
    X = np.random.default_rng(0).uniform(0, 1, (3, 12))
    want = their_forward(state, cfg, X)              # mV, their last gain being 1
    result = kind.cosim(kind.to_graph(net), X, want.argmax(1), networks.CosimOptions(workers=1))
    scale = np.abs(want).max()
    assert np.abs(result.surrogate[-1] * 1e3 - want).max() <= 1e-12 * scale
    assert np.abs(result.circuit[-1] * 1e3 - want).max() <= 1e-2 * scale
    assert result.report()["argmax_agreement"] == 1.0


def test_safetensors_and_npz_state_dicts_import_alike(tmp_path):
    from safetensors.torch import save_file

    cfg = their_config([5], 8)
    state = their_state(cfg, 3, seed=4)
    sd, yml = write_pair(tmp_path, cfg, state)
    st, npz = tmp_path / "m.safetensors", tmp_path / "m.npz"
    save_file({k: v.clone().contiguous() for k, v in state.items()}, str(st))
    np.savez(npz, **{k: v.numpy() for k, v in state.items()})
    x = torch.rand(8, 8, dtype=torch.float64)
    outs = [import_rfnn.import_spinmlp(p, yml)[0](x).detach() for p in (sd, str(st), str(npz))]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


# ------------------------------------------------------------------ the reader refuses code

def torch_zip(path, pickled: bytes, members: dict | None = None) -> str:
    """A file laid out as torch.save lays it out, around the given data.pkl."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("m/data.pkl", pickled)
        zf.writestr("m/byteorder", "little")
        for name, blob in (members or {}).items():
            zf.writestr(f"m/data/{name}", blob)
        zf.writestr("m/version", "3\n")
    return str(path)


class Custom:
    """A class of the test module whose unpickling writes the marker (BUILD -> __setstate__)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __setstate__(self, state):
        open(state["marker"], "w").close()


def _payloads(marker):
    class System:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    class Eval:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w').close()",))

    return {
        "os.system": pickle.dumps({"w": System()}, protocol=2),
        "builtins.eval": pickle.dumps({"w": Eval()}, protocol=2),
        "custom class": pickle.dumps({"w": Custom(marker)}, protocol=2),
        # protocol 0 and 1 object opcodes, and an extension code
        "INST": f"(S'touch {marker}'\nios\nsystem\n.".encode(),
        "OBJ": b"\x80\x02(cos\nsystem\nX\x05\x00\x00\x00touchob.",
        "EXT1": b"\x80\x02\x82\x01.",
        "BUILD on a list": b"\x80\x02]}b.",
        "NEWOBJ": b"\x80\x02ccollections\nOrderedDict\n)\x81.",
    }


@pytest.mark.parametrize("name", sorted(_payloads("x")))
def test_code_in_the_pickle_is_refused_without_running(tmp_path, name):
    marker = tmp_path / "ran"
    data = _payloads(marker)[name]
    path = torch_zip(tmp_path / "evil.pt", data)
    with pytest.raises(StateDictError, match="refused"):
        read_state_dict(path)
    assert not marker.exists()
    if name in ("os.system", "custom class"):   # the payloads are live: unpickling runs them
        pickle.loads(data)
        assert marker.exists()


def test_mutated_pickles_read_or_fail_cleanly(tmp_path):
    """Bytes of a real state dict's data.pkl changed at random: a state dict or one
    StateDictError, never another exception, and never anything run."""
    buf = io.BytesIO()
    torch.save(collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3), b=torch.ones(3)), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        pkl = next(zf.read(n) for n in zf.namelist() if n.endswith("data.pkl"))
        blobs = {n.rsplit("/", 1)[1]: zf.read(n) for n in zf.namelist() if "/data/" in n}
    rng = np.random.default_rng(0)
    outcomes = collections.Counter()
    for trial in range(300):
        data = bytearray(pkl)
        for pos in rng.integers(2, len(data), rng.integers(1, 4)):
            data[pos] = int(rng.integers(0, 256))
        path = torch_zip(tmp_path / f"m{trial % 4}.pt", bytes(data), blobs)
        try:
            state = read_state_dict(path)
            assert all(isinstance(v, np.ndarray) for v in state.values())
            outcomes["read"] += 1
        except StateDictError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100 and sum(outcomes.values()) == 300


def test_whole_pickled_model_is_refused_with_the_way_out(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), path)
    with pytest.raises(StateDictError, match=r"torch.nn.*whole pickled model.*state_dict\(\)"):
        read_state_dict(str(path))


def test_damaged_files_give_one_clear_error(tmp_path):
    cfg = their_config([4], 6)
    sd, yml = write_pair(tmp_path, cfg, their_state(cfg, 3))
    blob = open(sd, "rb").read()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(StateDictError, match="damaged or truncated zip"):
        read_state_dict(str(cut))
    # a storage member shorter than its tensor, and a pickle asking for a huge storage
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(4)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        pkl = next(zf.read(n) for n in zf.namelist() if n.endswith("data.pkl"))
    with pytest.raises(StateDictError, match="holds 8 bytes, its tensors need 16"):
        read_state_dict(torch_zip(tmp_path / "short.pt", pkl, {"0": b"\0" * 8}))
    huge = pkl.replace(b"K\x04t", b"J\x00\xca\x9a;t")         # numel 4 -> 1e9
    assert huge != pkl
    with pytest.raises(StateDictError, match="storage of 1,000,000,000 elements"):
        read_state_dict(torch_zip(tmp_path / "huge.pt", huge, {"0": b"\0" * 16}))
    (tmp_path / "text.pt").write_text("not a state dict")
    with pytest.raises(StateDictError, match="not a state dict"):
        read_state_dict(str(tmp_path / "text.pt"))
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(StateDictError, match="bare pickle"):
        read_state_dict(str(legacy))


def test_state_dicts_that_do_not_fit_are_refused(tmp_path):
    cfg = their_config([4], 6)
    good = their_state(cfg, 3)

    def refused(state, match, config=cfg):
        sd, yml = write_pair(tmp_path, config, state, name="bad")
        with pytest.raises(RFNNImportError, match=match):
            import_rfnn.import_spinmlp(sd, yml)

    bad = collections.OrderedDict(good)
    bad["layers.1.weight"] = torch.zeros(3, 5)
    refused(bad, r"layers.1.weight has shape \(3, 5\)")
    bad = collections.OrderedDict(good)
    del bad["layers.0.bias"]
    refused(bad, r"missing \['layers.0.bias'\]")
    bad = collections.OrderedDict(good, extra=torch.zeros(1))
    refused(bad, r"unexpected \['extra'\]")
    refused(good, "hidden_size", their_config([5], 6))
    refused(good, r"resonators_connection is 'k\+1'.*signed_connection is 'k'",
            their_config([4], 6, connection="k"))
    bad = collections.OrderedDict(good)
    bad["layers.0.weight"] = bad["layers.0.weight"] - 1.0     # below 0 GHz
    refused(bad, "resonance frequencies must be > 0")
    bad = collections.OrderedDict(good, **{"activations.0.factor": torch.tensor([1e-6, 2e-6, 1e-6,
                                                                               1e-6])})
    refused(bad, "STNO power factors.*differ")
    two = their_config([4, 4], 6)
    refused(their_state(two, 3, gains=[3.3, 2.1]), "voltage_to_current_factors differ", two)
    fewer = their_config([4], 6)
    fewer["physical_model_params"]["nb_input_resonators"] = 5
    bad = collections.OrderedDict(good)
    for key in ("initial_res_freq", "resonators_connection", "weight"):
        bad[f"layers.0.{key}"] = bad[f"layers.0.{key}"][..., :5].clone()
    refused(bad, "5 resonators per first-layer chain for 6 input", fewer)


@pytest.mark.parametrize("edit, match", [
    (lambda c: c.update(model="MLP"), "model is 'MLP'"),
    (lambda c: c.pop("hidden_size"), "hidden_size is missing"),
    (lambda c: c["physical_model_params"]["resonators_params"].update(damping="1e-2"),
     r"damping is the string '1e-2', not a number \(YAML reads 1e-6 as text"),
    (lambda c: c["physical_model_params"]["resonators_params"].update(damping=0.7),
     "damping 0.7 is no resonance"),
    (lambda c: c["physical_model_params"]["resonators_params"].update(signed_connection="k+2"),
     "signed_connection must be 'k' or 'k\\+1'"),
    (lambda c: c["physical_model_params"]["oscillators_params"].update(Iclamp=5),
     r"Iclamp \(5.0\) must exceed Ith_osc \(10.0\)"),
    (lambda c: c["physical_model_params"]["oscillators_params"].update(Q=True),
     "Q must be a finite number"),
    (lambda c: c["physical_model_params"].update(freq_res_distrib=["linear", "log"]),
     "freq_res_distrib must list"),
])
def test_bad_config_fields_are_named(tmp_path, edit, match):
    cfg = their_config([4], 6)
    state = their_state(cfg, 3)
    edit(cfg)
    sd, yml = write_pair(tmp_path, cfg, state)
    with pytest.raises(RFNNImportError, match=match):
        import_rfnn.import_spinmlp(sd, yml)


def test_bad_yaml_and_defaults_of_their_code(tmp_path):
    cfg = their_config([4], 6)
    sd, yml = write_pair(tmp_path, cfg, their_state(cfg, 3))
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: spinMLP\nhidden_size: [4\n")
    with pytest.raises(RFNNImportError, match="not valid YAML"):
        import_rfnn.import_spinmlp(sd, str(bad))
    bad.write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(RFNNImportError, match="not valid YAML"):
        import_rfnn.import_spinmlp(sd, str(bad))
    # a section their code fills from its defaults: the import takes the same ones
    del cfg["physical_model_params"]["oscillators_params"]
    (tmp_path / "short.yaml").write_text(yaml.safe_dump(cfg))
    net, meta = import_rfnn.import_spinmlp(sd, str(tmp_path / "short.yaml"))
    assert "oscillators_params.Iclamp" in meta["imported"]["mapping"]["defaults_taken"]
    assert net.config.stno.I_max_ratio == 4.0
