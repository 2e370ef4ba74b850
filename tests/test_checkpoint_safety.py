"""Checkpoints cannot carry code: a pickle is refused before anything in it runs."""
import os
import pickle

import pytest
import torch

from spintronic.training import checkpoint
from spintronic.networks.checkpoints import CheckpointError, load_checkpoint, make_model
from spintronic.training.trainer import save_checkpoint


class _Payload:
    """Unpickling this would create a marker file."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("how", ["torch_zip", "plain_pickle"])
def test_pickled_checkpoint_runs_nothing(tmp_path, how):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    payload = {"format": 1, "kind": "rf", "metrics": _Payload(str(marker))}
    if how == "torch_zip":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(str(path))
    assert not marker.exists()


def test_checkpoint_file_is_plain_safetensors(tmp_path):
    from safetensors.torch import load_file

    model = make_model("mlp", (4, 3, 2), 0)
    path = str(tmp_path / "m.pt")
    save_checkpoint(model, path)
    tensors = load_file(path)          # any safetensors reader opens it
    assert set(tensors) == set(model.state_dict())
    assert not [f for f in os.listdir(tmp_path) if f != "m.pt"]   # no temp file left


@pytest.mark.parametrize("meta", [{"kind": "cnn", "network": {"sizes": [4, 2]}},
                                  {"kind": "mlp", "network": {}},
                                  {"kind": "mlp", "network": {"sizes": "x"}},
                                  {"kind": "rf", "network": {"sizes": [4, 2], "alpha": -1}}])
def test_bad_metadata_is_a_checkpoint_error(tmp_path, meta):
    path = str(tmp_path / "m.pt")
    checkpoint.write(path, meta, {"w": torch.zeros(2)})
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_truncated_checkpoint_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(make_model("mlp", (4, 3, 2), 0), str(path))
    for n in (0, 7, 8, 20, len(path.read_bytes()) - 1):
        cut = tmp_path / f"cut{n}.pt"
        cut.write_bytes(path.read_bytes()[:n])
        with pytest.raises(CheckpointError):
            load_checkpoint(str(cut))
