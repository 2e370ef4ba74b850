"""Models by kind name, and checkpoints read back into the model of the kind they name."""
from __future__ import annotations

from torch import nn

from spintronic.training import checkpoint
from spintronic.training.checkpoint import CheckpointError

from spintronic.graph.schema import MAX_LAYERS

from . import NETWORKS, get_kind


# the most weights a checkpoint's stated sizes may imply (NetworkKind.connections) before its model
# is built: 400 MB of float64. Generous: an MNIST rf network 784-128-10 has 1e5, a convolutional
# one a few million; sizes of [10**9, 10**9] are refused without allocating.
MAX_PARAMETERS = 50_000_000


def _short(sizes: tuple) -> str:
    return str(sizes) if len(sizes) <= 8 else f"({', '.join(map(str, sizes[:8]))}, ...)"


def _misfit(wanted: dict, state: dict) -> str:
    """What keeps ``state`` from loading into a model whose state dict is ``wanted``; '' if it
    fits (names and shapes; load_state_dict's own message lists them over many lines)."""
    missing = sorted(set(wanted) - set(state))
    unexpected = sorted(set(state) - set(wanted))
    if missing or unexpected:
        parts = ([f"missing tensors {missing[:3]}"] if missing else []) + \
            ([f"unexpected tensors {unexpected[:3]}"] if unexpected else [])
        return ", ".join(parts)
    for name, tensor in wanted.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            return (f"tensor {name!r} has shape {tuple(state[name].shape)}, the network's is "
                    f"{tuple(tensor.shape)}")
    return ""


def make_model(kind: str, sizes: tuple[int, ...], seed: int = 0, config=None) -> nn.Module:
    """A fresh model of a registered kind. ``sizes`` start with the number of features (the
    number of inputs per time step for sequence models, whose set-up comes from ``config``)."""
    return get_kind(kind).make_model(tuple(sizes), seed, config)


def load_checkpoint(path: str, expect_sizes: tuple[int, ...] | None = None
                    ) -> tuple[nn.Module, dict]:
    """The model a checkpoint describes, with its weights, and the checkpoint's metadata.

    A run's resume state (``OUT.resume.safetensors``) reads as the model at its last epoch."""
    meta, state = checkpoint.read(path)
    if isinstance(meta.get("resume"), dict):
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    kind, network = meta.get("kind"), meta.get("network")
    if not isinstance(kind, str) or kind not in NETWORKS:
        raise CheckpointError(f"{path} holds a network of kind {kind!r}; registered kinds: "
                              f"{', '.join(sorted(NETWORKS))}")
    sizes = network.get("sizes") if isinstance(network, dict) else None
    if not isinstance(sizes, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              for s in sizes):
        raise CheckpointError(f"{path} does not state its network's layer sizes (a list of "
                              f"integers)")
    sizes = tuple(sizes)
    # refused before the model is built: stated sizes must not allocate gigabytes
    if not 2 <= len(sizes) <= MAX_LAYERS + 1 or min(sizes) < 1:
        raise CheckpointError(f"{path} states layer sizes {_short(sizes)}; a network has 2 to "
                              f"{MAX_LAYERS + 1} positive widths")
    connections = get_kind(kind).connections(sizes)
    if connections > MAX_PARAMETERS:
        raise CheckpointError(f"{path} states a {kind} network of sizes {_short(sizes)}, "
                              f"{connections:,} weights; the limit is {MAX_PARAMETERS:,}")
    if expect_sizes is not None and tuple(expect_sizes) != sizes:
        raise CheckpointError(f"checkpoint {path} holds a {kind} network of shape "
                              f"{sizes}, not the {tuple(expect_sizes)} asked for")
    try:
        model = get_kind(kind).model_from_dict(network)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{path} holds an invalid {kind} configuration: {exc}") from None
    misfit = _misfit(model.state_dict(), state)
    if misfit:
        raise CheckpointError(f"checkpoint {path} does not fit its own {kind} network of shape "
                              f"{sizes}: {misfit}")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path} does not fit its own {kind} network of shape "
                              f"{sizes}: {str(exc).splitlines()[0]}") from None
    model.eval()
    return model, meta
