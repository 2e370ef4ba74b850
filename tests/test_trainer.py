import os

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
        make_model("bogus", (64, 10), 0)


def test_mlp_baseline_shape():
    m = make_model("mlp", (64, 32, 10), 0)
    assert m(torch.zeros(3, 64)).shape == (3, 10)
    assert np.sum([p.numel() for p in m.parameters()]) == 64 * 32 + 32 + 32 * 10 + 10


# --- resume, progress ---------------------------------------------------------------------------

def _interrupt_at_epoch(monkeypatch, epoch):
    """Ctrl-C during the validation of ``epoch`` (0-based): epochs before it are done."""
    from spintronic.training import trainer
    calls = []
    real = trainer.accuracy

    def accuracy_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == epoch + 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(trainer, "accuracy", accuracy_then_interrupt)


@pytest.mark.parametrize("kind, sizes", [("mlp", (64, 12, 10)), ("stno", (8, 5, 10))])
def test_a_resumed_run_reaches_the_weights_of_an_uninterrupted_one(kind, sizes, monkeypatch,
                                                                    tmp_path):
    from spintronic.training.datasets import load_digits
    from spintronic.training.resume import state_path
    from spintronic.training.stno_network import DynamicalConfig
    data = load_digits(train_limit=150)
    config = DynamicalConfig(substeps=2) if kind == "stno" else None
    cfg = TrainConfig(epochs=4, batch_size=32, lr=0.02, seed=5)
    whole, cut = str(tmp_path / "whole.pt"), str(tmp_path / "cut.pt")
    uninterrupted = train(make_model(kind, sizes, 5, config), data, cfg, checkpoint=whole)
    assert not (tmp_path / "whole.pt.resume.safetensors").exists()   # removed when finished
    with monkeypatch.context() as m:
        _interrupt_at_epoch(m, 2)
        with pytest.raises(KeyboardInterrupt):
            train(make_model(kind, sizes, 5, config), data, cfg, checkpoint=cut)
    meta, _ = checkpoint.read(state_path(cut))
    assert meta["resume"]["loop"]["epoch"] == 2 and not (tmp_path / "cut.pt").exists()
    # a fresh model of another seed: everything comes from the resume state
    resumed = train(make_model(kind, sizes, 99, config), data, cfg, checkpoint=cut, resume=True)
    assert resumed.history == uninterrupted.history
    a, b = load_checkpoint(whole)[0].state_dict(), load_checkpoint(cut)[0].state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not os.path.exists(state_path(cut))
    with pytest.raises(CheckpointError, match="no resume state"):
        train(make_model(kind, sizes, 5, config), data, cfg, checkpoint=cut, resume=True)


def test_resume_state_is_tensors_and_json_and_reads_as_a_checkpoint(monkeypatch, tmp_path):
    from spintronic.training.resume import state_path
    out = str(tmp_path / "net.pt")
    _interrupt_at_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        train(make_model("mlp", (64, 8, 10), 0), _tiny_digits(), TrainConfig(epochs=3),
              checkpoint=out)
    path = state_path(out)
    with open(path, "rb") as fh:
        assert fh.read(1) != b"\x80" and b"PK\x03\x04" not in fh.read(8)   # no pickle, no zip
    meta, tensors = checkpoint.read(path)
    names = list(make_model("mlp", (64, 8, 10), 0).state_dict())
    adam = {f"optimizer.{i}.{k}" for i in range(len(names)) for k in ("exp_avg", "exp_avg_sq",
                                                                        "step")}
    assert adam | {"rng.batches", "rng.torch"} | {f"model.{k}" for k in names} | \
        {f"best.{k}" for k in names} == set(tensors)
    assert meta["resume"]["optimizer"]["param_groups"][0]["lr"] > 0
    assert meta["data"]["n_train"] + meta["data"]["n_val"] == 150
    model, meta = load_checkpoint(path)           # the model at its last finished epoch
    assert meta["kind"] == "mlp" and model(torch.zeros(2, 64)).shape == (2, 10)


def _tiny_digits():
    from spintronic.training.datasets import load_digits
    return load_digits(train_limit=150)


def test_a_resume_into_another_network_set_up_or_data_is_refused(monkeypatch, tmp_path):
    out = str(tmp_path / "net.pt")
    data = _tiny_digits()
    _interrupt_at_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=3), checkpoint=out)
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match=r"mlp network of shape \(64, 8, 10\), this run "
                                              r"builds a rf network of shape \(64, 6, 10\)"):
        train(make_model("rf", (64, 6, 10), 0), data, TrainConfig(epochs=3), checkpoint=out,
              resume=True)
    with pytest.raises(CheckpointError, match=r"\(64, 8, 10\).*\(64, 9, 10\)"):
        train(make_model("mlp", (64, 9, 10), 0), data, TrainConfig(epochs=3), checkpoint=out,
              resume=True)
    with pytest.raises(CheckpointError, match=r"training set-up differs.*lr 0.01 \(saved\) vs "
                                              r"0.02 \(now\)"):
        train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=3, lr=0.02),
              checkpoint=out, resume=True)
    from spintronic.training.datasets import load_digits
    with pytest.raises(CheckpointError, match="data set differs"):
        train(make_model("mlp", (64, 8, 10), 0), load_digits(train_limit=160),
              TrainConfig(epochs=3), checkpoint=out, resume=True)
    # the matching run still resumes
    result = train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=3),
                   checkpoint=out, resume=True)
    assert [h["epoch"] for h in result.history] == [0, 1, 2]


def test_progress_shows_an_epoch_bar_and_a_batch_bar_on_long_epochs(monkeypatch, capsys):
    from spintronic.training import trainer
    data = _tiny_digits()
    monkeypatch.setattr(trainer, "SLOW_EPOCH_S", 1e9)     # a loaded machine must not flip it
    train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=2), progress=True)
    err = capsys.readouterr().err
    assert "train mlp" in err and "epoch 1" not in err      # short epochs: no batch bar
    monkeypatch.setattr(trainer, "MANY_BATCHES", 2)
    train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=2), progress=True)
    err = capsys.readouterr().err
    assert "epoch 1" in err and "batch" in err
    train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=2), progress=False)
    assert capsys.readouterr().err == ""


def test_a_damaged_resume_state_is_a_checkpoint_error(monkeypatch, tmp_path):
    from spintronic.training.resume import state_path
    out = str(tmp_path / "net.pt")
    data = _tiny_digits()
    _interrupt_at_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=3), checkpoint=out)
    monkeypatch.undo()
    meta, tensors = checkpoint.read(state_path(out))
    for damage in ({"loop": {**meta["resume"]["loop"], "epoch": "2"}},
                   {"optimizer": {"state": {"0": {"step": {"tensor": "missing"}}},
                                  "param_groups": []}}):
        bad = {**meta, "resume": {**meta["resume"], **damage}}
        checkpoint.write(state_path(out), {k: v for k, v in bad.items() if k != "format"}, tensors)
        with pytest.raises(CheckpointError, match="damaged"):
            train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=3), checkpoint=out,
                  resume=True)
    (tmp_path / "junk.pt.resume.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        train(make_model("mlp", (64, 8, 10), 0), data, TrainConfig(epochs=3),
              checkpoint=str(tmp_path / "junk.pt"), resume=True)
