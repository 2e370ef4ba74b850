"""Import a ``spinMLP`` trained with the public CNRS/Thales code ``rf_spintronic_nn`` as an ``rf``
network of this toolkit (checkpoint and device graph).

Their model (``src/networks.py``) works in GHz, uW, uA and mV; this toolkit in SI. With x the
input powers in uW, layer l's chains give volts,

    V_j = sum_i x_i sum_k c_k G(f_i, f_r[j, k]) + b_j,    f_r = initial_res_freq + weight (GHz),
    G = KSD 2 a f_r (f - f_r) / ((a f_r)^2 + (f - f_r)^2),   KSD = tan(pi/4) / (8 sqrt 2) / Ith_res,

c_k = (-1)^k ("k") or (-1)^(k+1) ("k+1", their default). A hidden layer then drives its STNOs with
I = clamp((V + vb_l) 1e3 g_l, Ith_osc, Iclamp) uA and emits P = factor p(I) I^2 R_osc uW, p =
(I/Ith_osc - 1) / (I/Ith_osc + Q), factor = scaling * amp_factor; the last layer's scores are
(V + vb_L) 1e3 g_L. The mapping (every value taken from the state dict where it holds one):

- inputs: p_max = 1 uW (their power unit); frequencies x 1e9 (Hz), kept exactly, per layer, in
  the network's buffers (the config's f_min, f_max and grid only describe layer 1's channels;
  their "non_linear" distribution is the geometric grid);
- resonators: alpha = damping, K_SD = tan(pi/4) / (8 sqrt 2) / (Ith_res uA) (V/W), a_sym = 0,
  a_asym = +1 for "k" and -1 for "k+1" (this toolkit's chains alternate +1, -1, ... from k = 0);
- amplifier: g_m = g_l mA/V (= uA/mV), v_bias = vb_1; another hidden layer's vb_l moves into its
  chain biases; the read-out scale is 1e3 g_L and vb_L joins the output chains' biases;
- STNOs: I_th = Ith_osc uA, I_max_ratio = Iclamp / Ith_osc, Q, R = R_osc, k_P = amp_factor, and
  hidden_attenuation = factor 1e6 / amp_factor (1 with their scaling of 1e-6 W -> uW). Gg, N and
  Z0 (the dynamics their static model has no use for) keep this toolkit's defaults.

Not representable, and refused with the reason: per-layer amplifier gains that differ, per-STNO
power factors that differ (their non-idealities), and first-layer chains with another number of
resonators than inputs (``nb_input_resonators``). Their whole-model pickles (``torch.save(model)``)
are refused too: their weights are read from a state dict only (see ``torch_pickle``).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os

import numpy as np
import torch

from spintronic.graph.files import file_sha256
from spintronic.models import ResonatorParams, STNOParams
from spintronic.training import checkpoint
from spintronic.training.rf_network import RFNetwork, RFNetworkConfig

from .torch_pickle import read_state_dict

MAX_CONFIG_BYTES = 1 << 20
# their LayerChainsResonators / LayerOscillators defaults, used where the YAML leaves one out
RESONATOR_DEFAULTS = {"bias": True, "signed_connection": "k+1", "Ith_res": 10.0, "damping": 0.01}
OSCILLATOR_DEFAULTS = {"Q": 2.0, "Ith_osc": 10.0, "Iclamp": 40.0, "R_osc": 1e3, "scaling": 1e-6,
                       "amp_factor": 1.25}
GRIDS = {"linear": "linear", "non_linear": "geometric"}


class RFNNImportError(ValueError):
    """A state dict or config that is not a spinMLP this toolkit can represent."""


# ------------------------------------------------------------------ their YAML config

def read_config(path: str) -> dict:
    """Their YAML config, read with ``yaml.safe_load`` (no tags, no objects)."""
    import yaml

    try:
        with open(path, "rb") as fh:
            text = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise RFNNImportError(f"cannot read the config {path}: "
                              f"{exc.strerror or type(exc).__name__}") from None
    if len(text) > MAX_CONFIG_BYTES:
        raise RFNNImportError(f"{path}: over {MAX_CONFIG_BYTES} bytes, not an rf_spintronic_nn "
                              f"config")
    try:
        cfg = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RFNNImportError(f"{path}: not valid YAML ({' '.join(str(exc).split())[:120]})") \
            from None
    if not isinstance(cfg, dict):
        raise RFNNImportError(f"{path}: holds a {type(cfg).__name__}, not a config mapping")
    return cfg


_MISSING = object()


def _field(cfg: dict, dotted: str, path: str, default=_MISSING):
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is not _MISSING:
                return default
            raise RFNNImportError(f"{path}: {dotted} is missing")
        node = node[part]
    return node


def _number(value, dotted: str, path: str, low: float = 0.0, low_open: bool = True) -> float:
    if isinstance(value, str):
        hint = (" (YAML reads 1e-6 as text: write 1.0e-6)"
                if value.strip().lstrip("+-")[:1].isdigit() else "")
        raise RFNNImportError(f"{path}: {dotted} is the string {value!r:.30}, not a number{hint}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RFNNImportError(f"{path}: {dotted} must be a finite number, got {value!r:.40}")
    if value < low or (low_open and value == low):
        raise RFNNImportError(f"{path}: {dotted} must be {'>' if low_open else '>='} {low:g}, "
                              f"got {value!r}")
    return float(value)


@dataclasses.dataclass(frozen=True)
class TheirConfig:
    """The fields of their config this import uses, checked."""
    hidden_size: tuple[int, ...]
    nb_input_resonators: int
    distrib: tuple[str, ...]
    resonators: dict
    oscillators: dict
    defaults_taken: tuple[str, ...]


def parse_config(cfg: dict, path: str) -> TheirConfig:
    model = _field(cfg, "model", path)
    if model != "spinMLP":
        raise RFNNImportError(f"{path}: model is {model!r:.30}; only their spinMLP (resonator "
                              f"chains and STNOs) has devices to import")
    hidden = _field(cfg, "hidden_size", path)
    if not isinstance(hidden, list) or not all(isinstance(h, int) and not isinstance(h, bool)
                                               and h >= 1 for h in hidden):
        raise RFNNImportError(f"{path}: hidden_size must be a list of positive integers, got "
                              f"{hidden!r:.60}")
    phys = "physical_model_params"
    n_res = _field(cfg, f"{phys}.nb_input_resonators", path)
    if not isinstance(n_res, int) or isinstance(n_res, bool) or n_res < 1:
        raise RFNNImportError(f"{path}: {phys}.nb_input_resonators must be a positive integer, got "
                              f"{n_res!r:.40}")
    distrib = _field(cfg, f"{phys}.freq_res_distrib", path)
    if (not isinstance(distrib, list) or len(distrib) < len(hidden) + 1
            or not all(d in GRIDS for d in distrib)):
        raise RFNNImportError(f"{path}: {phys}.freq_res_distrib must list 'linear' or 'non_linear' "
                              f"for each of the {len(hidden) + 1} layers, got {distrib!r:.80}")
    taken: list[str] = []
    sections = {}
    for name, defaults in (("resonators_params", RESONATOR_DEFAULTS),
                           ("oscillators_params", OSCILLATOR_DEFAULTS)):
        section = _field(cfg, f"{phys}.{name}", path, {})
        if not isinstance(section, dict):
            raise RFNNImportError(f"{path}: {phys}.{name} must be a mapping")
        values = {}
        for key, default in defaults.items():
            if key not in section:
                taken.append(f"{name}.{key}")
            values[key] = section.get(key, default)
        sections[name] = values
    res, osc = sections["resonators_params"], sections["oscillators_params"]
    where = f"{phys}.resonators_params"
    if res["signed_connection"] not in ("k", "k+1"):
        raise RFNNImportError(f"{path}: {where}.signed_connection must be 'k' or 'k+1', got "
                              f"{res['signed_connection']!r:.30}")
    if not isinstance(res["bias"], bool):
        raise RFNNImportError(f"{path}: {where}.bias must be true or false")
    res["Ith_res"] = _number(res["Ith_res"], f"{where}.Ith_res", path)
    res["damping"] = _number(res["damping"], f"{where}.damping", path)
    if res["damping"] >= 0.5:
        raise RFNNImportError(f"{path}: {where}.damping {res['damping']} is no resonance (< 0.5)")
    where = f"{phys}.oscillators_params"
    for key in ("Ith_osc", "Iclamp", "R_osc", "scaling", "amp_factor"):
        osc[key] = _number(osc[key], f"{where}.{key}", path)
    osc["Q"] = _number(osc["Q"], f"{where}.Q", path, low_open=False)
    if osc["Iclamp"] <= osc["Ith_osc"]:
        raise RFNNImportError(f"{path}: {where}.Iclamp ({osc['Iclamp']}) must exceed Ith_osc "
                              f"({osc['Ith_osc']})")
    return TheirConfig(tuple(hidden), n_res, tuple(distrib), res, osc, tuple(taken))


# ------------------------------------------------------------------ their state dict

def _expected(their: TheirConfig, n_in: int, n_out: int) -> dict[str, tuple]:
    """Key -> shape of a spinMLP state dict (scalar-or-vector entries are checked later)."""
    sizes = (n_in, *their.hidden_size, n_out)
    n_layers = len(sizes) - 1
    shapes: dict[str, tuple] = {"input_freq": (n_in,)}
    for l in range(n_layers):
        n_res, n_chains = (their.nb_input_resonators if l == 0 else sizes[l]), sizes[l + 1]
        shapes.update({f"layers.{l}.initial_res_freq": (n_res,),
                       f"layers.{l}.input_freq": (sizes[l],),
                       f"layers.{l}.resonators_connection": (n_res,),
                       f"layers.{l}.weight": (n_chains, n_res)})
        if their.resonators["bias"]:
            shapes[f"layers.{l}.bias"] = (n_chains,)
        if l < n_layers - 1:
            shapes[f"activations.{l}.factor"] = None
    shapes["layers_voltage_biases"] = shapes["voltage_to_current_factors"] = None
    return shapes


def check_state(state: dict[str, np.ndarray], their: TheirConfig, path: str
                ) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    """The network's sizes and its tensors as float64, after checking names, shapes, values."""
    n_layers = len(their.hidden_size) + 1
    last = f"layers.{n_layers - 1}.weight"
    if "input_freq" not in state or last not in state or state[last].ndim != 2:
        looks = (" (their software MLP? only the spinMLP has devices)"
                 if "layers.0.weight" in state and "input_freq" not in state else "")
        raise RFNNImportError(f"{path}: not a spinMLP state dict with {n_layers} layers: no "
                              f"'input_freq' or 2-d '{last}'{looks}")
    n_in, n_out = int(state["input_freq"].size), int(state[last].shape[0])
    shapes = _expected(their, n_in, n_out)
    missing = sorted(set(shapes) - set(state))
    unexpected = sorted(set(state) - set(shapes))
    if missing or unexpected:
        parts = ([f"missing {missing[:3]}"] if missing else []) + \
            ([f"unexpected {unexpected[:3]}"] if unexpected else [])
        raise RFNNImportError(f"{path} does not fit the config's spinMLP of hidden_size "
                              f"{list(their.hidden_size)}: {', '.join(parts)}")
    out = {}
    for key, shape in shapes.items():
        arr = np.asarray(state[key])
        if arr.dtype.kind not in "fiu" or (shape is not None and arr.shape != shape):
            raise RFNNImportError(
                f"{path}: {key} has shape {arr.shape} ({arr.dtype}); the config's spinMLP "
                f"(hidden_size {list(their.hidden_size)}, {n_in} inputs, {n_out} outputs) needs "
                f"{shape} of floats")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise RFNNImportError(f"{path}: {key} holds non-finite values")
        out[key] = arr
    for l in range(n_layers - 1):
        factor = out[f"activations.{l}.factor"]
        if factor.ndim > 1 or factor.size not in (1, their.hidden_size[l]):
            raise RFNNImportError(f"{path}: activations.{l}.factor has shape {factor.shape}, "
                                     f"expected one value or one per STNO")
    for key in ("layers_voltage_biases", "voltage_to_current_factors"):
        if out[key].ndim != 1 or out[key].size < n_layers:
            raise RFNNImportError(f"{path}: {key} has shape {out[key].shape}, expected one value "
                                  f"per layer ({n_layers})")
    if their.nb_input_resonators != n_in:
        raise RFNNImportError(f"{path}: {their.nb_input_resonators} resonators per first-layer "
                              f"chain for {n_in} input frequencies; this toolkit's rf chains hold "
                              f"one resonator per input")
    return (n_in, *their.hidden_size, n_out), out


def _chain_sign(t: dict, their: TheirConfig, n_layers: int, path: str) -> float:
    """+1 for their "k" connection, -1 for "k+1", as the tensors (what their forward used) say."""
    want = 1.0 if their.resonators["signed_connection"] == "k" else -1.0
    for l in range(n_layers):
        c = t[f"layers.{l}.resonators_connection"]
        alternating = (-1.0) ** np.arange(c.size)
        if not np.array_equal(c, want * alternating):
            got = ("'k'" if np.array_equal(c, alternating) else
                   "'k+1'" if np.array_equal(c, -alternating) else "no alternating connection")
            raise RFNNImportError(f"{path}: layers.{l}.resonators_connection is {got}, the "
                                  f"config's signed_connection is "
                                  f"{their.resonators['signed_connection']!r}")
    return want


def _one_value(values: np.ndarray, what: str, path: str) -> float:
    if values.size == 0 or np.ptp(values) > 1e-12 * np.abs(values).max():
        raise RFNNImportError(f"{path}: {what} differ ({values.min():g} to {values.max():g}); this "
                              f"toolkit's rf network has one value for all")
    return float(values.flat[0])


def _grid(f: np.ndarray) -> str:
    """The grid kind layer 1's input frequencies are closest to (the config's description)."""
    n = f.size
    lin = np.linspace(f.min(), f.max(), n)
    geo = f.min() * (f.max() / f.min()) ** (np.arange(n) / max(n - 1, 1))
    s = np.sort(f)
    return "linear" if np.abs(s - lin).max() < np.abs(s - geo).max() else "geometric"


def build_model(sizes: tuple[int, ...], t: dict, their: TheirConfig, path: str
                ) -> tuple[RFNetwork, dict]:
    """The rf network holding their trained values, and the mapping applied (for the record)."""
    n_layers = len(sizes) - 1
    res, osc = their.resonators, their.oscillators
    sign = _chain_sign(t, their, n_layers, path)
    vb, gain = t["layers_voltage_biases"], t["voltage_to_current_factors"]
    hidden = range(n_layers - 1)
    f_in = t["input_freq"] * 1e9
    freqs = [f_in] + [t[f"layers.{l}.input_freq"] * 1e9 for l in range(1, n_layers)]
    if not np.array_equal(t["layers.0.input_freq"], t["input_freq"]):
        raise RFNNImportError(f"{path}: layers.0.input_freq differs from input_freq (their model "
                              f"sets one to the other)")
    f_r = [(t[f"layers.{l}.initial_res_freq"][None, :] + t[f"layers.{l}.weight"]) * 1e9
           for l in range(n_layers)]
    for name, values in [("input frequencies", f) for f in freqs] + \
            [("resonance frequencies", f) for f in f_r]:
        if not (values > 0).all():
            raise RFNNImportError(f"{path}: {name} must be > 0 GHz, found {values.min() / 1e9:g}")
    if f_in.max() <= f_in.min():
        raise RFNNImportError(f"{path}: input_freq spans no band ({f_in.min() / 1e9:g} GHz)")
    g_l = gain[: n_layers - 1]
    g_m = _one_value(g_l, "hidden layers' voltage_to_current_factors", path) * 1e-3 \
        if n_layers > 1 else RFNetworkConfig().g_m
    readout = float(gain[n_layers - 1]) * 1e3
    if (n_layers > 1 and g_m <= 0) or readout <= 0:
        raise RFNNImportError(f"{path}: voltage_to_current_factors must be > 0, got "
                              f"{gain[:n_layers].tolist()}")
    v_bias = float(vb[0]) if n_layers > 1 else RFNetworkConfig().v_bias
    factors = [t[f"activations.{l}.factor"].ravel() for l in hidden]
    factor = _one_value(np.concatenate(factors), "STNO power factors (activations.*.factor)",
                        path) if factors else osc["scaling"] * osc["amp_factor"]
    if factor <= 0:
        raise RFNNImportError(f"{path}: activations.*.factor must be > 0, got {factor:g}")
    config = RFNetworkConfig(
        sizes=sizes, f_min=float(f_in.min()), f_max=float(f_in.max()), grid=_grid(f_in),
        p_max=1e-6, hidden_attenuation=factor * 1e6 / osc["amp_factor"], g_m=g_m, v_bias=v_bias,
        readout_scale=readout,
        stno=STNOParams(Q=osc["Q"], I_th=osc["Ith_osc"] * 1e-6, R=osc["R_osc"],
                        k_P=osc["amp_factor"], I_min_ratio=1.0,
                        I_max_ratio=osc["Iclamp"] / osc["Ith_osc"]),
        resonator=ResonatorParams(alpha=res["damping"], a_sym=0.0, a_asym=sign,
                                  K_SD=math.tan(math.pi / 4) / (8 * math.sqrt(2))
                                  / (res["Ith_res"] * 1e-6)))
    net = RFNetwork(config)
    alpha = config.resonator.alpha
    with torch.no_grad():
        net.grid_in.copy_(torch.from_numpy(f_in))
        net.log_input_shift.zero_()
        for l, layer in enumerate(net.layers):
            serve = freqs[l]                 # the frequency resonator k serves: input k's
            bias = t[f"layers.{l}.bias"] if res["bias"] else np.zeros(sizes[l + 1])
            # another hidden layer's voltage bias, and the last layer's, join the chain biases
            bias = bias + (vb[l] - v_bias if l < n_layers - 1 else vb[l])
            layer.serve.copy_(torch.from_numpy(serve))
            layer.offset.copy_(torch.from_numpy((f_r[l] / serve[None, :] - 1.0) / alpha))
            layer.bias_mv.copy_(torch.from_numpy(bias * 1e3))
        for l in range(n_layers - 1):
            getattr(net, f"neuron_f0_{l}").copy_(torch.from_numpy(freqs[l + 1]))
    net.eval()
    mapping = {"chain_sign": their.resonators["signed_connection"],
               "grids": [GRIDS[d] for d in their.distrib[:n_layers]],
               "hidden_voltage_biases_V": vb[: n_layers - 1].tolist(),
               "output_voltage_bias_V": float(vb[n_layers - 1]),
               "stno_power_factor": factor,
               "defaults_taken": list(their.defaults_taken),
               "toolkit_defaults": ["stno.Gg", "stno.N", "stno.Z0", "resonator.R0",
                                    "resonator.Z0", "resonator.lp_ratio"]}
    return net, mapping


# ------------------------------------------------------------------ the whole import

def import_spinmlp(state_path: str, config_path: str) -> tuple[RFNetwork, dict]:
    """Their spinMLP as this toolkit's rf network, and the checkpoint metadata recording it."""
    cfg = read_config(config_path)
    their = parse_config(cfg, config_path)
    sizes, tensors = check_state(read_state_dict(state_path), their, state_path)
    net, mapping = build_model(sizes, tensors, their, state_path)
    imported = {
        "from": "rf_spintronic_nn spinMLP (github.com/neurophysics-cnrsthales/rf_spintronic_nn)",
        "state_dict": {"file": os.path.basename(state_path), "sha256": file_sha256(state_path)},
        "config": {"file": os.path.basename(config_path), "sha256": file_sha256(config_path)},
        "their_config": json.loads(json.dumps(cfg, default=str)),
        "mapping": mapping,
    }
    meta = {"kind": net.kind, "network": net.config.to_dict(), "train": None, "dataset": "",
            "data_source": None, "metrics": None, "imported": imported}
    return net, meta


def save(net: RFNetwork, meta: dict, path: str) -> None:
    """The checkpoint (safetensors, as ``train`` writes), read back by ``load_checkpoint``."""
    checkpoint.write(path, meta, net.state_dict())
