"""Hostile checkpoints: whatever the file holds, ``load_checkpoint`` gives a model or a
CheckpointError (a ValueError, one line), never another exception; stated sizes are checked before
a model is built; a pickle is never unpickled; a failed save leaves the previous file whole.

Property tests mutate valid safetensors checkpoints: truncated at every offset, bytes flipped, the
safetensors header's tensor entries (dtype, shape, offsets) edited, and the JSON metadata
(``__metadata__["spintronic_spice"]``) rewritten: wrong and mismatched kinds, wrong, missing and
absurd sizes, fields of the wrong type, device parameters out of range.
"""
import json
import os
import pickle
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as save_tensors
from torch import nn

from spintronic.networks import NETWORKS
from spintronic.networks.checkpoints import (MAX_PARAMETERS, CheckpointError, load_checkpoint,
                                             make_model)
from spintronic.training import checkpoint
from spintronic.training.stno_network import DynamicalConfig
from spintronic.training.trainer import save_checkpoint

PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def _dynamical(synapses="ideal"):
    return DynamicalConfig(sizes=(2, 3, 2), steps=3, substeps=4, synapses=synapses)


MODELS = {
    "rf": lambda: make_model("rf", (6, 3, 2)),
    "mlp": lambda: make_model("mlp", (6, 3, 2)),
    "stno": lambda: make_model("stno", (2, 3, 2), config=_dynamical()),
    "stno-chain": lambda: make_model("stno", (2, 3, 2), config=_dynamical("chain")),
    "ctrnn": lambda: make_model("ctrnn", (2, 3, 2), config=_dynamical()),
}


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """name -> (file bytes, metadata, tensors) of a freshly written valid checkpoint."""
    folder = tmp_path_factory.mktemp("valid")
    out = {}
    for name, build in MODELS.items():
        path = str(folder / f"{name}.pt")
        save_checkpoint(build(), path)
        meta, tensors = checkpoint.read(path)
        with open(path, "rb") as fh:
            out[name] = (fh.read(), meta, tensors)
    return out


def _loads_or_refused(path):
    """The property: a model of a registered kind, or one CheckpointError line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # config warnings about time steps
            model, meta = load_checkpoint(str(path))
    except CheckpointError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and "Traceback" not in message, message
        return None
    assert isinstance(model, nn.Module) and isinstance(meta, dict)
    assert model.kind in NETWORKS and meta["kind"] == model.kind
    return model


def _write(folder, blob):
    path = folder / "m.pt"
    path.write_bytes(blob)
    return path


def _with_metadata(tensors, meta_text):
    return save_tensors(tensors, metadata={"spintronic_spice": meta_text})


def test_the_valid_checkpoints_load(valid, tmp_path):
    for name, (blob, *_) in valid.items():
        assert _loads_or_refused(_write(tmp_path, blob)) is not None, name


# ------------------------------------------------------------------------------- bytes

@PROPERTY
@given(data=st.data())
def test_a_truncated_checkpoint_is_a_checkpoint_error(valid, tmp_path, data):
    blob = valid[data.draw(st.sampled_from(sorted(valid)))][0]
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(str(_write(tmp_path, blob[:cut])))
    # a damaged safetensors file is not mistaken for a pickle (its header length may start with
    # the byte 0x80, pickle's PROTO); fewer than 9 bytes cannot tell
    assert cut < 9 or "pickle" not in str(info.value)


def test_a_header_length_with_a_pickle_byte_is_not_called_a_pickle(valid, tmp_path):
    _, meta, tensors = valid["rf"]
    text = json.dumps(meta)
    for pad in range(256):        # find a header whose length's low byte is 0x80
        blob = _with_metadata(tensors, text + " " * pad)
        if blob[0] == 0x80:
            break
    assert blob[0] == 0x80
    with pytest.raises(CheckpointError, match="not a checkpoint of this toolkit"):
        load_checkpoint(str(_write(tmp_path, blob[: len(blob) // 2])))


@PROPERTY
@given(data=st.data())
def test_flipped_bytes_load_or_are_refused(valid, tmp_path, data):
    blob = bytearray(valid[data.draw(st.sampled_from(sorted(valid)))][0])
    header_end = 8 + int.from_bytes(blob[:8], "little")
    for _ in range(data.draw(st.integers(1, 8))):
        # mostly in the length and the JSON header, where a flip changes meaning, else anywhere
        i = data.draw(st.one_of(st.integers(0, header_end - 1), st.integers(0, len(blob) - 1)))
        blob[i] = data.draw(st.one_of(st.integers(0, 255),
                                      st.sampled_from([blob[i] ^ 1, blob[i] ^ 0x80, 0x22, 0x7d])))
    _loads_or_refused(_write(tmp_path, bytes(blob)))


TENSOR_FIELDS = {
    "dtype": st.sampled_from(["F64", "F32", "F16", "BF16", "I64", "I8", "U8", "BOOL", "C64", "X",
                              None, 1]),
    "shape": st.one_of(st.sampled_from([[10**9, 10**9], [2**62, 4], [0], [], [-1], "x", None]),
                       st.lists(st.integers(0, 12), max_size=3)),
    "data_offsets": st.one_of(st.sampled_from([[0, 0], [0, 10**12], [5, 3], [-1, 4], None, "x"]),
                              st.lists(st.integers(0, 2000), min_size=2, max_size=2)),
}


@PROPERTY
@given(data=st.data())
def test_edited_safetensors_headers_load_or_are_refused(valid, tmp_path, data):
    """The tensor table itself: dtypes, shapes and offsets changed, entries dropped or copied."""
    blob = valid[data.draw(st.sampled_from(sorted(valid)))][0]
    n = int.from_bytes(blob[:8], "little")
    header, body = json.loads(blob[8:8 + n]), blob[8 + n:]
    names = sorted(k for k in header if k != "__metadata__")
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(names))
        how = data.draw(st.sampled_from(["dtype", "shape", "data_offsets", "drop", "copy",
                                         "metadata"]))
        if how == "drop":
            header.pop(name, None)
        elif how == "copy":
            header[name + ".extra"] = dict(header.get(name, {}))
        elif how == "metadata":
            header["__metadata__"] = data.draw(st.one_of(
                st.none(), st.integers(), st.lists(st.integers(), max_size=2),
                st.fixed_dictionaries({"spintronic_spice": st.one_of(st.text(max_size=8),
                                                                     st.integers())})))
        elif name in header:
            header[name][how] = data.draw(TENSOR_FIELDS[how])
    text = json.dumps(header).encode()
    _loads_or_refused(_write(tmp_path, len(text).to_bytes(8, "little") + text + body))


@pytest.mark.parametrize("blob", [
    b"", b"\x00" * 8, (2**63).to_bytes(8, "little") + b"{}", (10).to_bytes(8, "little") + b"{}",
    (100).to_bytes(8, "little") + b"\xff" * 100, (2).to_bytes(8, "little") + b"[]",
    b"PK\x03\x04not a zip", b"\x80\x04not a pickle", b"{\"kind\": \"rf\"}"])
def test_files_that_are_not_checkpoints(tmp_path, blob):
    with pytest.raises(CheckpointError):
        load_checkpoint(str(_write(tmp_path, blob)))


def test_a_folder_or_a_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(str(tmp_path))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(str(tmp_path / "absent.pt"))


# ------------------------------------------------------------------------------- metadata

VALUES = st.one_of(
    st.sampled_from([None, True, 0, -1, 1, 2, 3, 0.5, 1.5, 1e300, 1e-300, 10**9, 10**20, 2**63,
                     float("nan"), float("inf"), -float("inf"), "x", "3", "rows", [], {}, [1]]),
    st.floats(), st.integers(-10**6, 10**6), st.text(max_size=4))
SIZES = st.one_of(
    st.sampled_from([[10**9, 10**9], [10**6, 10**6], [2, 8000, 2], [1] * 2000, [6, 3, 2],
                     [2, 3, 2], [6], [], [6.5, 3, 2], [True, 3, 2], [-1, 3], [0, 3],
                     [float("inf"), 2], ["a", 2], [2, 3, 2, 2], "6,3,2", None, 5]),
    st.lists(st.integers(-2, 12), max_size=4), VALUES)
KIND_NAMES = st.sampled_from(sorted(NETWORKS) + ["bogus", "", None, 1, ["rf"]])


def _mutate_meta(draw, meta):
    network = meta.get("network")
    op = draw(st.sampled_from(["kind", "network", "sizes", "field", "drop_field", "device",
                               "top", "drop_top"]))
    if op == "kind":
        meta["kind"] = draw(KIND_NAMES)
    elif op == "network":
        meta["network"] = draw(st.one_of(st.sampled_from([None, [], "x", 1, {}]), VALUES))
    elif op == "sizes" and isinstance(network, dict):
        network["sizes"] = draw(SIZES)
    elif op in ("field", "drop_field") and isinstance(network, dict) and network:
        key = draw(st.sampled_from(sorted(network)))
        if op == "drop_field":
            del network[key]
        else:
            network[key] = draw(VALUES)
    elif op == "device" and isinstance(network, dict):
        subs = [k for k in ("stno", "resonator") if isinstance(network.get(k), dict)]
        if subs:
            sub = network[draw(st.sampled_from(subs))]
            key = draw(st.sampled_from(sorted(sub) + ["bogus"]))
            if draw(st.booleans()) and key in sub:
                del sub[key]
            else:
                sub[key] = draw(VALUES)
    elif op == "top":
        meta[draw(st.sampled_from(["format", "train", "dataset", "metrics"]))] = draw(VALUES)
    elif op == "drop_top" and meta:
        del meta[draw(st.sampled_from(sorted(meta)))]


@PROPERTY
@given(data=st.data())
def test_rewritten_metadata_loads_or_is_refused(valid, tmp_path, data):
    """Kinds that do not match the tensors (an "mlp" label on rf tensors...), sizes wrong,
    missing or huge, fields of the wrong type, devices out of range: the tensors stay those of
    the drawn checkpoint."""
    name = data.draw(st.sampled_from(sorted(valid)))
    _, meta, tensors = valid[name]
    meta = json.loads(json.dumps(meta))
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate_meta(data.draw, meta)
    text = data.draw(st.one_of(st.just(json.dumps(meta)),
                               st.just(json.dumps(meta))
                               .map(lambda t: t[:len(t) // 2])))   # cut JSON
    _loads_or_refused(_write(tmp_path, _with_metadata(tensors, text)))


@pytest.mark.parametrize("label, tensors_of", [("mlp", "rf"), ("rf", "mlp"), ("stno", "ctrnn"),
                                               ("ctrnn", "stno"), ("stno", "rf")])
def test_a_kind_that_does_not_match_the_tensors_is_refused(valid, tmp_path, label, tensors_of):
    _, meta, tensors = valid[tensors_of]
    text = json.dumps({**meta, "kind": label})
    with pytest.raises(CheckpointError, match=f"{label}"):
        load_checkpoint(str(_write(tmp_path, _with_metadata(tensors, text))))


@pytest.mark.parametrize("kind, sizes, pattern", [
    ("rf", [10**9, 10**9], "limit is 50,000,000"),
    ("mlp", [10**6, 10**6, 10], "limit is 50,000,000"),
    ("stno", [2, 8000, 2], "limit is 50,000,000"),        # 6.4e7 recurrent weights
    ("rf", [1] * 2000, "2 to 1001 positive widths"),
    ("rf", [6, 0, 2], "positive widths"),
    ("rf", [6.0, 3, 2], "list of integers"),
    ("rf", [True, 3, 2], "list of integers"),
    ("rf", "6,3,2", "list of integers"),
])
def test_absurd_sizes_are_refused_before_a_model_is_built(valid, tmp_path, monkeypatch, kind,
                                                          sizes, pattern):
    def never(*args, **kwargs):
        raise AssertionError("a model was built from sizes that should have been refused")
    monkeypatch.setattr(type(NETWORKS[kind]), "model_from_dict", never)
    _, meta, tensors = valid["rf"]
    text = json.dumps({**meta, "kind": kind, "network": {**meta["network"], "sizes": sizes}})
    with pytest.raises(CheckpointError, match=pattern):
        load_checkpoint(str(_write(tmp_path, _with_metadata(tensors, text))))


def test_sizes_that_fit_the_limit_but_not_the_tensors(valid, tmp_path):
    _, meta, tensors = valid["rf"]
    text = json.dumps({**meta, "network": {**meta["network"], "sizes": [6, 4, 2]}})
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(str(_write(tmp_path, _with_metadata(tensors, text))))


def test_configurations_at_a_threshold_load(valid, tmp_path):
    """bias_init = 1 (an STNO at threshold: no relaxation time) or I_max_ratio = 1 once divided by
    zero while loading; they load, their time constants infinite."""
    _, meta, tensors = valid["ctrnn"]
    network = {**meta["network"], "bias_init": 1.0,
               "stno": {**meta["network"]["stno"], "I_min_ratio": 0.5, "I_max_ratio": 1.0}}
    path = _write(tmp_path, _with_metadata(tensors, json.dumps({**meta, "network": network})))
    assert _loads_or_refused(path) is not None


# ------------------------------------------------------------------------------- pickles

class _Payload:
    """Unpickling this would create a marker file."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("how", ["torch_zip", "torch_legacy", *[f"pickle{p}" for p in range(6)]])
def test_a_pickle_is_never_unpickled(tmp_path, how):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    payload = {"format": 2, "kind": "rf", "network": {"sizes": [6, 3, 2]},
               "state": {"w": torch.zeros(2)}, "metrics": _Payload(str(marker))}
    if how == "torch_zip":
        torch.save(payload, path)
    elif how == "torch_legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(how[-1])))
    with pytest.raises(CheckpointError):
        load_checkpoint(str(path))
    assert not marker.exists()


# ------------------------------------------------------------------------------- writes

@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_save_leaves_the_previous_checkpoint_whole(valid, tmp_path, monkeypatch,
                                                            failure):
    path = tmp_path / "m.pt"
    before = valid["rf"][0]
    path.write_bytes(before)

    def fail(fd):
        raise failure
    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(type(failure)):
        save_checkpoint(MODELS["mlp"](), str(path))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.pt"]          # no temporary file left
    assert _loads_or_refused(path) is not None


def test_the_limit_is_generous_for_real_networks():
    assert NETWORKS["rf"].connections((784, 128, 10)) < MAX_PARAMETERS / 100
    assert NETWORKS["stno"].connections((28, 128, 10)) < MAX_PARAMETERS / 1000
