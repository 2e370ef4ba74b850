"""Trainer: Adam on cross-entropy, seeded, early stopping on the validation split, checkpoints that
carry the config that made them."""
from __future__ import annotations

import copy
import dataclasses
import time

import numpy as np
import torch
from torch import nn

from . import checkpoint
from .datasets import Dataset
CHECKPOINT_FORMAT = checkpoint.FORMAT


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 32
    lr: float = 0.01
    seed: int = 0
    patience: int = 20          # epochs without validation improvement before stopping

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")


@dataclasses.dataclass
class TrainResult:
    history: list[dict]
    best_epoch: int
    val_accuracy: float
    test_accuracy: float
    seconds_per_epoch: float


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray, batch: int = 512) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            logits = model(torch.as_tensor(X[i:i + batch]))
            correct += int((logits.argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / len(y)


def _network_dict(model: nn.Module) -> dict:
    config = getattr(model, "config", None)
    return config.to_dict() if config is not None else {"sizes": list(model.sizes)}


def train(model: nn.Module, data: Dataset, cfg: TrainConfig = TrainConfig(),
          checkpoint: str | None = None, progress: bool = False) -> TrainResult:
    sizes = model.sizes
    n_features = getattr(model, "n_features", sizes[0])  # sequence models read steps x inputs
    if n_features != data.n_features or sizes[-1] != data.n_classes:
        raise ValueError(f"network {sizes} ({n_features} features) does not fit data with "
                         f"{data.n_features} features and {data.n_classes} classes")
    torch.manual_seed(cfg.seed)
    X = torch.as_tensor(data.X_train)
    y = torch.as_tensor(data.y_train)
    if hasattr(model, "prepare"):       # data-dependent initialisation, e.g. chain biases
        model.prepare(X)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    gen = torch.Generator().manual_seed(cfg.seed)
    best = (-1.0, np.inf)
    best_state, best_epoch, history, stale = None, 0, [], 0
    epochs = range(cfg.epochs)
    if progress:
        from tqdm import tqdm
        epochs = tqdm(epochs, desc=f"train {getattr(model, 'kind', '')}", unit="epoch")
    start = time.perf_counter()
    for epoch in epochs:
        model.train()
        perm = torch.randperm(len(y), generator=gen)
        total = 0.0
        for i in range(0, len(y), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}: lower lr")
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        val_acc = accuracy(model, data.X_val, data.y_val)
        history.append({"epoch": epoch, "train_loss": total / len(y), "val_accuracy": val_acc})
        if progress:
            epochs.set_postfix(loss=f"{total / len(y):.3f}", val=f"{val_acc:.3f}")
        train_loss = total / len(y)
        if (val_acc, -train_loss) > (best[0], -best[1]):
            best, best_state, best_epoch, stale = (val_acc, train_loss), copy.deepcopy(
                model.state_dict()), epoch, 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    seconds = (time.perf_counter() - start) / len(history)
    model.load_state_dict(best_state)
    result = TrainResult(history, best_epoch, best[0], accuracy(model, data.X_test, data.y_test),
                         seconds)
    if checkpoint:
        save_checkpoint(model, checkpoint, cfg, result, data.name)
    return result


def save_checkpoint(model: nn.Module, path: str, cfg: TrainConfig | None = None,
                    result: TrainResult | None = None, dataset: str = "") -> None:
    meta = {
        "kind": model.kind,
        "network": _network_dict(model),
        "train": dataclasses.asdict(cfg) if cfg else None,
        "dataset": dataset,
        "metrics": None if result is None else {
            "val_accuracy": result.val_accuracy, "test_accuracy": result.test_accuracy,
            "best_epoch": result.best_epoch, "seconds_per_epoch": result.seconds_per_epoch},
    }
    checkpoint.write(path, meta, model.state_dict())
