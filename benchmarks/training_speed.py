"""Training speed of RF networks: the chain-weight kernel (models/chain_kernel.py) beside the exact
sum it replaces, in the same run. Prints every figure it measures.

    .venv/bin/python benchmarks/training_speed.py                  # all (about 4 min on 2 cores)
    .venv/bin/python benchmarks/training_speed.py --threads 1
    .venv/bin/python benchmarks/training_speed.py --no-fashion     # no Fashion-MNIST (~1 min)

Targets (the training-speed issue): a 256-128-10 RF network on 702 samples, batch 32, float64,
Adam: <= 0.35 s per epoch; 784-128-10 on Fashion-MNIST (54 000 training images): <= 60 s per
epoch, its test accuracy beside the software MLP of the same shape after as many epochs; one
training step of 784-128-10 at <= 2 GB peak; chain weights within 1e-6 of max|W|, forward and
gradient. Measured with 2 threads at load average ~2 (other jobs running): 0.30 s/epoch (exact
sum 13 s), 42 s/epoch (exact ~6400 s), 14 MB per step (exact 4.8 GB); with 1 thread 0.47 s/epoch.
Run it alone: torch uses every thread it is given; the load average is printed before and after,
and CPU time beside wall time (a loaded machine inflates it far less).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spintronic.models import ResonatorParams, chain_kernel, resonator  # noqa: E402
from spintronic.networks.checkpoints import make_model  # noqa: E402
from spintronic.training.datasets import load, make_dataset  # noqa: E402
from spintronic.training.trainer import TrainConfig, train  # noqa: E402

FASHION = "mnist:/usr/share/datasets/fashion-mnist"


def load_average() -> str:
    loads = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"load average {loads} on {os.cpu_count()} cores"


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def kernel(n_in: int, n_out: int, exact_repeats: int) -> None:
    """W and its gradient for one dense layer, both paths; errors against the exact sum."""
    prm = ResonatorParams()
    freqs = torch.tensor(0.02e9 * 6.0 ** (np.arange(n_in) / (n_in - 1)))
    offset = (torch.rand(n_out, n_in, generator=torch.Generator().manual_seed(0),
                         dtype=torch.float64) * 2 - 1).requires_grad_(True)
    G = torch.randn(n_out, n_in, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    results = {}
    for mode, repeats in (("fast", 20), ("exact", exact_repeats)):
        cpu = time.process_time()
        def step():
            offset.grad = None
            with chain_kernel.forced(mode):
                W = resonator.chain_weights(freqs, freqs * (1 + prm.alpha * offset), prm)
            (W * G).sum().backward()
            return W
        seconds = median_time(step, repeats)
        W = step()
        cpu = (time.process_time() - cpu) / (repeats + 2)
        results[mode] = (seconds, W.detach(), offset.grad.clone(), cpu)
    (tf, Wf, gf, cf), (te, We, ge, ce) = results["fast"], results["exact"]
    plan = chain_kernel.plan_for(freqs, prm)
    fwd = float((Wf - We).abs().max() / We.abs().max())
    grad = float((gf - ge).abs().max() / ge.abs().max())
    bound = chain_kernel.STATS["bound"] / float(Wf.abs().max())
    print(f"  {n_out} chains x {n_in} resonators x {n_in} inputs: W + gradient fast "
          f"{1e3 * tf:.1f} ms (CPU {1e3 * cf:.1f}), exact {1e3 * te:.0f} ms (CPU {1e3 * ce:.0f}): "
          f"x{te / tf:.0f}; sigma {plan.sigma}, P {plan.P}; error / max|W| "
          f"forward {fwd:.1e} (computed bound {bound:.1e}), "
          f"gradient {grad:.1e}")


def random_data(n_features: int, n_train: int, seed: int = 0):
    """n_train training samples after the 10 % validation split, 200 test samples."""
    rng = np.random.default_rng(seed)
    n = int(round(n_train / 0.9)) + 1
    X, Xt = rng.random((n, n_features)), rng.random((200, n_features))
    y, yt = np.arange(n) % 10, np.arange(200) % 10
    data = make_dataset("random", X, y, Xt, yt, val_fraction=0.1, seed=seed)
    return data


def epoch_time(sizes, data, epochs: int, mode: str | None, lr: float = 0.01, kind: str = "rf"):
    """train()'s result, with cpu_per_epoch: the process's CPU time per epoch (every thread), which
    a loaded machine inflates far less than the wall time."""
    model = make_model(kind, sizes, 0)
    cpu = time.process_time()
    with chain_kernel.forced(mode):
        result = train(model, data, TrainConfig(epochs=epochs, lr=lr, seed=0, patience=epochs))
    result.cpu_per_epoch = (time.process_time() - cpu) / len(result.history)
    return result


def step_memory(mode: str, sizes=(784, 128, 10)) -> dict:
    """Peak resident memory growth of one training step (batch 32, Adam), in a fresh process: the
    process's high-water mark (VmHWM, which unlike getrusage's ru_maxrss starts afresh at exec)
    after the set-up, then after the step."""
    code = f"""
import json, sys, torch
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))!r})
from spintronic.models import chain_kernel
from spintronic.networks.checkpoints import make_model
torch.set_num_threads({torch.get_num_threads()})
model = make_model("rf", {tuple(sizes)!r}, 0)
x = torch.rand(32, {sizes[0]}, dtype=torch.float64)
y = torch.arange(32) % {sizes[-1]}
opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
if {mode!r} == "fast":
    with torch.no_grad():
        model(x)  # the kernel's plans and caches built: the step below is a steady-state one
before = hwm()
with chain_kernel.forced({mode!r}):
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
after = hwm()
print(json.dumps({{"before_MB": before / 1024, "peak_MB": after / 1024,
                  "fast": chain_kernel.STATS["fast"]}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fashion(epochs: int, exact_steps: int) -> None:
    t0 = time.perf_counter()
    data = load(FASHION)
    print(f"  {data.summary()} (loaded in {time.perf_counter() - t0:.1f} s)")
    rf = epoch_time((784, 128, 10), data, epochs, None)
    print(f"  rf 784-128-10, kernel: {rf.seconds_per_epoch:.1f} s/epoch over {len(rf.history)} "
          f"epochs (CPU {rf.cpu_per_epoch:.1f} s/epoch); test accuracy "
          f"{100 * rf.test_accuracy:.2f} % (val {100 * rf.val_accuracy:.2f} %)")
    mlp = epoch_time((784, 128, 10), data, epochs, None, lr=0.003, kind="mlp")
    print(f"  mlp 784-128-10: {mlp.seconds_per_epoch:.1f} s/epoch; test accuracy "
          f"{100 * mlp.test_accuracy:.2f} % after the same {epochs} epochs")
    # the exact path: a few optimiser steps, extrapolated to an epoch
    model = make_model("rf", (784, 128, 10), 0)
    X = torch.as_tensor(data.X_train[:32 * exact_steps])
    y = torch.as_tensor(data.y_train[:32 * exact_steps])
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    steps = (len(data.y_train) + 31) // 32
    for mode in ("exact", None):
        t0, cpu = time.perf_counter(), time.process_time()
        with chain_kernel.forced(mode):
            for i in range(exact_steps):
                loss = torch.nn.functional.cross_entropy(model(X[32 * i:32 * i + 32]),
                                                         y[32 * i:32 * i + 32])
                opt.zero_grad()
                loss.backward()
                opt.step()
        per_step = (time.perf_counter() - t0) / exact_steps
        cpu = (time.process_time() - cpu) / exact_steps
        print(f"  {mode or 'kernel'} path: {per_step * 1e3:.0f} ms per optimiser step (CPU "
              f"{cpu * 1e3:.0f} ms) -> {per_step * steps:.0f} s for the {steps} steps of an epoch")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-fashion", action="store_true")
    ap.add_argument("--fashion-epochs", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5, help="epochs of the 256-128-10 kernel run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {load_average()}")

    print("chain weights of one layer (forward + backward to the offsets):")
    kernel(256, 128, 3)
    kernel(784, 128, 1)

    print("256-128-10 RF network, 702 random samples of 256 features, batch 32, Adam, float64:")
    data = random_data(256, 702)
    fast = epoch_time((256, 128, 10), data, args.epochs, None)
    exact = epoch_time((256, 128, 10), data, 1, "exact")
    print(f"  kernel {fast.seconds_per_epoch:.3f} s/epoch (mean of {len(fast.history)}; CPU "
          f"{fast.cpu_per_epoch:.3f} s/epoch), exact {exact.seconds_per_epoch:.2f} s/epoch (CPU "
          f"{exact.cpu_per_epoch:.2f} s): x{exact.seconds_per_epoch / fast.seconds_per_epoch:.0f}"
          f"  [target <= 0.35 s]")

    print("one training step of 784-128-10 (batch 32), peak resident memory (VmHWM, fresh "
          "process):")
    for mode in ("fast", "exact"):
        m = step_memory(mode)
        print(f"  {mode}: {m['peak_MB'] - m['before_MB']:.0f} MB above the {m['before_MB']:.0f} MB "
              f"before the step (peak {m['peak_MB']:.0f} MB)  [target <= 2 GB]")

    if not args.no_fashion:
        print(f"784-128-10 on Fashion-MNIST, {args.fashion_epochs} epochs:  [target <= 60 s/epoch]")
        fashion(args.fashion_epochs, 3)
    print(load_average())


if __name__ == "__main__":
    main()
