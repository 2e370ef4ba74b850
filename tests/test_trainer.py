import numpy as np
import pytest
import torch

from spintronic.training import checkpoint
from spintronic.networks.checkpoints import CheckpointError, load_checkpoint, make_model
from spintronic.training.trainer import TrainConfig, accuracy, save_checkpoint, train


def test_small_rf_network_learns(small_rf, digits):
    model, result = small_rf
    assert result.test_accuracy > 0.7       # chance is 0.1
    assert result.val_accuracy == pytest.approx(accuracy(model, digits.X_val, digits.y_val))
    assert len(result.history) <= 10


def test_training_is_seeded(digits):
    runs = []
    for _ in range(2):
        model = make_model("mlp", (64, 16, 10), seed=3)
        runs.append(train(model, digits, TrainConfig(epochs=2, seed=3)).history)
    assert runs[0] == runs[1]


def test_checkpoint_round_trip(small_rf, digits, tmp_path):
    model, result = small_rf
    path = str(tmp_path / "net.pt")
    save_checkpoint(model, path, TrainConfig(), result, "digits")
    loaded, meta = load_checkpoint(path, expect_sizes=(64, 8, 10))
    x = torch.tensor(digits.X_test[:20])
    assert torch.equal(loaded(x), model(x))
    assert meta["metrics"]["test_accuracy"] == result.test_accuracy
    assert meta["network"]["sizes"] == [64, 8, 10] and meta["train"]["lr"] == 0.01


def test_checkpoint_of_another_shape_is_refused(small_rf, tmp_path):
    model, _ = small_rf
    path = str(tmp_path / "net.pt")
    save_checkpoint(model, path)
    with pytest.raises(CheckpointError, match=r"\(64, 8, 10\), not the \(64, 32, 10\)"):
        load_checkpoint(path, expect_sizes=(64, 32, 10))
    # a checkpoint whose weights do not fit its declared shape
    meta, tensors = checkpoint.read(path)
    meta["network"]["sizes"] = [64, 9, 10]
    checkpoint.write(path, {k: v for k, v in meta.items() if k != "format"}, tensors)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_checkpoint(str(tmp_path / "junk.pt"))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(str(tmp_path / "missing.pt"))


def test_network_must_fit_the_data(digits):
    with pytest.raises(ValueError, match="does not fit"):
        train(make_model("rf", (32, 8, 10), 0), digits, TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0.0)
    with pytest.raises(ValueError, match="kind"):
        make_model("cnn", (64, 10), 0)


def test_mlp_baseline_shape():
    m = make_model("mlp", (64, 32, 10), 0)
    assert m(torch.zeros(3, 64)).shape == (3, 10)
    assert np.sum([p.numel() for p in m.parameters()]) == 64 * 32 + 32 + 32 * 10 + 10
