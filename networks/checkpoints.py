"""Models by kind name, and checkpoints read back into the model of the kind they name."""
from __future__ import annotations

from torch import nn

from spintronic.training import checkpoint
from spintronic.training.checkpoint import CheckpointError

from . import NETWORKS, get_kind


def make_model(kind: str, sizes: tuple[int, ...], seed: int = 0, config=None) -> nn.Module:
    """A fresh model of a registered kind. ``sizes`` start with the number of features (the
    number of inputs per time step for sequence models, whose set-up comes from ``config``)."""
    return get_kind(kind).make_model(tuple(sizes), seed, config)


def load_checkpoint(path: str, expect_sizes: tuple[int, ...] | None = None
                    ) -> tuple[nn.Module, dict]:
    """The model a checkpoint describes, with its weights, and the checkpoint's metadata."""
    meta, state = checkpoint.read(path)
    kind, network = meta.get("kind"), meta.get("network")
    if kind not in NETWORKS:
        raise CheckpointError(f"{path} holds a network of kind {kind!r}; registered kinds: "
                              f"{', '.join(sorted(NETWORKS))}")
    try:
        sizes = tuple(int(s) for s in network["sizes"])
    except (TypeError, KeyError, ValueError):
        raise CheckpointError(f"{path} does not state its network's layer sizes") from None
    if expect_sizes is not None and tuple(expect_sizes) != sizes:
        raise CheckpointError(f"checkpoint {path} holds a {kind} network of shape "
                              f"{sizes}, not the {tuple(expect_sizes)} asked for")
    try:
        model = get_kind(kind).model_from_dict(network)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{path} holds an invalid {kind} configuration: {exc}") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path} does not fit its own network shape {sizes}: "
                              f"{str(exc).splitlines()[0]}") from None
    model.eval()
    return model, meta
