import shutil

import pytest

requires_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None,
                                      reason="ngspice not installed (make test installs it)")


@pytest.fixture(scope="session")
def digits():
    from spintronic.training.datasets import load_digits
    return load_digits()


@pytest.fixture(scope="session")
def small_rf(digits):
    """A small RF network (64 -> 8 -> 10) trained for a few epochs: fast, and well above chance."""
    from spintronic.networks.checkpoints import make_model
    from spintronic.training.trainer import TrainConfig, train
    model = make_model("rf", (64, 8, 10), seed=0)
    result = train(model, digits, TrainConfig(epochs=10, seed=0, patience=10))
    return model, result
