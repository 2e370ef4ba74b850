"""Trainer: Adam on cross-entropy, seeded, early stopping on the validation split, checkpoints that
carry the config that made them, a resume state at the end of every epoch (training.resume) and
progress bars with an ETA (an epoch bar, and a batch bar on long epochs)."""
from __future__ import annotations

import copy
import dataclasses
import os
import time

import numpy as np
import torch
from torch import nn

from spintronic.graph.progress import progress_bar

from . import checkpoint
from . import resume as resume_state
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


def _batch_bar(progress: bool, n_batches: int, epoch: int):
    """The per-batch bar of one epoch, with its ETA: shown at once on an epoch of many batches,
    otherwise only once the epoch has taken 2 s (short epochs keep to the epoch bar)."""
    if not progress:
        return None
    return progress_bar()(total=n_batches, desc=f"epoch {epoch + 1}", unit="batch", leave=False,
                          delay=0.0 if n_batches >= MANY_BATCHES else SLOW_EPOCH_S)


#: an epoch of this many batches shows its per-batch bar from the start
MANY_BATCHES = 500
#: otherwise the bar appears once an epoch has run this long (s)
SLOW_EPOCH_S = 2.0


def train(model: nn.Module, data: Dataset, cfg: TrainConfig = TrainConfig(),
          checkpoint: str | None = None, progress: bool = False, resume: bool = False,
          state_file: str | None = None) -> TrainResult:
    """Train ``model`` on ``data``; with ``checkpoint``, write the best model there at the end.

    At the end of every epoch the state needed to continue exactly (model, best model so far,
    optimiser, scheduler, random generators, counters) is written atomically to ``state_file``
    (default: ``checkpoint + ".resume.safetensors"``, see :mod:`training.resume`); it is removed
    once the checkpoint is written. ``resume=True`` continues from it: the same ``cfg``, network
    and data are required, and the run ends with the weights an uninterrupted run reaches.
    """
    sizes = model.sizes
    n_features = getattr(model, "n_features", sizes[0])  # sequence models read steps x inputs
    if n_features != data.n_features or sizes[-1] != data.n_classes:
        raise ValueError(f"network {sizes} ({n_features} features) does not fit data with "
                         f"{data.n_features} features and {data.n_classes} classes")
    if state_file is None and checkpoint:
        state_file = resume_state.state_path(checkpoint)
    if resume and not state_file:
        raise ValueError("resume needs the checkpoint (or state file) of the run to continue")
    meta = {"kind": model.kind, "network": _network_dict(model),
            "train": dataclasses.asdict(cfg), "dataset": data.name}
    if state_file:
        meta["data"] = resume_state.fingerprint(data)
    saved = None
    if resume:
        saved = resume_state.load(state_file)
        resume_state.check(saved, state_file, model.kind, meta["network"], meta["train"],
                           meta["data"])
    torch.manual_seed(cfg.seed)
    X = torch.as_tensor(data.X_train)
    y = torch.as_tensor(data.y_train)
    if hasattr(model, "prepare") and saved is None:   # data-dependent initialisation
        model.prepare(X)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    gen = torch.Generator().manual_seed(cfg.seed)
    best = (-1.0, np.inf)
    best_state, best_epoch, history, stale, seconds, start_epoch = None, 0, [], 0, 0.0, 0
    if saved is not None:
        loop = saved.loop
        best_state = resume_state.restore(saved, model, opt, sched, gen)
        best, best_epoch = tuple(loop["best"]), loop["best_epoch"]
        history, stale, seconds = loop["history"], loop["stale"], loop["seconds"]
        start_epoch = loop["epoch"]
    n_batches = -(-len(y) // cfg.batch_size)
    epochs = range(start_epoch, cfg.epochs)
    bar = None
    if progress:
        bar = progress_bar()(total=cfg.epochs, initial=start_epoch, unit="epoch",
                   desc=f"train {getattr(model, 'kind', '')}")
    try:
        for epoch in epochs:
            if stale >= cfg.patience:     # a resumed run that had already stopped early
                break
            start = time.perf_counter()
            model.train()
            perm = torch.randperm(len(y), generator=gen)
            total = 0.0
            batches = _batch_bar(progress, n_batches, epoch)
            for i in range(0, len(y), cfg.batch_size):
                idx = perm[i:i + cfg.batch_size]
                loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}: "
                                             f"lower lr")
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                if batches is not None:
                    batches.update()
            if batches is not None:
                batches.close()
            sched.step()
            val_acc = accuracy(model, data.X_val, data.y_val)
            train_loss = total / len(y)
            history.append({"epoch": epoch, "train_loss": train_loss, "val_accuracy": val_acc})
            if (val_acc, -train_loss) > (best[0], -best[1]):
                best, best_state, best_epoch, stale = (val_acc, train_loss), copy.deepcopy(
                    model.state_dict()), epoch, 0
            else:
                stale += 1
            seconds += time.perf_counter() - start
            if state_file:
                resume_state.save(state_file, meta=meta, model_state=model.state_dict(),
                                  best_state=best_state, optimizer=opt, scheduler=sched,
                                  generator=gen,
                                  loop={"epoch": epoch + 1, "history": history,
                                        "best": list(best), "best_epoch": best_epoch,
                                        "stale": stale, "seconds": seconds})
            if bar is not None:
                bar.update()
                bar.set_postfix(loss=f"{train_loss:.3f}", val=f"{val_acc:.3f}",
                                best=f"{best[0]:.3f}")
            if stale >= cfg.patience:
                break
    finally:
        if bar is not None:
            bar.close()
    if best_state is None:
        raise ValueError(f"nothing to train: the run already ended at epoch {start_epoch} of "
                         f"{cfg.epochs}")
    model.load_state_dict(best_state)
    result = TrainResult(history, best_epoch, best[0], accuracy(model, data.X_test, data.y_test),
                         seconds / max(1, len(history)))
    if checkpoint:
        save_checkpoint(model, checkpoint, cfg, result, data.name, getattr(data, "source", None))
        if state_file and os.path.exists(state_file):
            os.remove(state_file)      # the run is complete: nothing is left to resume
    return result


def save_checkpoint(model: nn.Module, path: str, cfg: TrainConfig | None = None,
                    result: TrainResult | None = None, dataset: str = "",
                    data_source: dict | None = None) -> None:
    """``data_source``: the arguments of ``datasets.load`` that give the data set again."""
    meta = {
        "kind": model.kind,
        "network": _network_dict(model),
        "train": dataclasses.asdict(cfg) if cfg else None,
        "dataset": dataset,
        "data_source": data_source,
        "metrics": None if result is None else {
            "val_accuracy": result.val_accuracy, "test_accuracy": result.test_accuracy,
            "best_epoch": result.best_epoch, "seconds_per_epoch": result.seconds_per_epoch},
    }
    checkpoint.write(path, meta, model.state_dict())
