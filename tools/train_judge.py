"""Train the second judge of generated digits (an MLP) once and write its weights.

    .venv/bin/python tools/train_judge.py            # writes helpers/weights/mnist_judge_mlp.npz

Trains the PyTorch build of :mod:`helpers.judge` on the CPU, seeded and deterministic, on all
60,000 training images (each batch shifted by up to one pixel), with seed 1 where the pinned
network of :mod:`helpers.features` used 0. It reports the test accuracy of the written file,
rebuilt in PyTorch and in Keras, on the 10,000 test images, and writes the weights as a
compressed ``.npz`` of float32 arrays in the framework-neutral layout (dense (in, out)). The
archive's bytes depend only on the weights (fixed zip timestamps), so its SHA-256, printed at
the end, is what ``WEIGHTS_SHA256`` pins. It runs on one thread, as ``tools/train_features.py``
does and for the same reasons: reproducible bit for bit with the same torch version.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers import load_mnist, seed_everything  # noqa: E402
from helpers.judge import LAYERS, SHAPES, WEIGHTS_FILE, judge_tf, judge_torch  # noqa: E402
from tools.train_features import export, shift, write_npz  # noqa: E402

SEED, THREADS, BATCH_SIZE, LR, SHIFT = 1, 1, 128, 1e-3, 1


def initial_weights(seed: int = SEED) -> dict[str, np.ndarray]:
    """He-uniform kernels and zero biases drawn by NumPy: the start of training."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in SHAPES.items():
        if name.endswith(".bias"):
            weights[name] = np.zeros(shape, np.float32)
        else:
            bound = np.sqrt(6.0 / shape[0])  # fan-in: keeps the ReLU activations' scale
            weights[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return weights


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of ``logits`` (N, 10) whose arg-max equals ``y`` (N,)."""
    return float((np.asarray(logits).argmax(1) == np.asarray(y)).mean())


def logits_torch(model, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([model(x[i:i + 2000]) for i in range(0, len(x), 2000)]).numpy()


def train(model, x: torch.Tensor, y: torch.Tensor, x_test, y_test, *, epochs: int) -> None:
    """Adam with a one-cycle learning rate (warm-up, then cosine decay); one shuffled pass per
    epoch."""
    model.requires_grad_(True).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    steps = epochs * (len(x) // BATCH_SIZE)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LR, total_steps=steps)
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        start, order = time.perf_counter(), torch.randperm(len(x), generator=generator)
        losses = []
        for i in range(0, len(x) - BATCH_SIZE + 1, BATCH_SIZE):  # drop the ragged last batch
            batch = order[i:i + BATCH_SIZE]
            loss = F.cross_entropy(model(shift(x[batch], generator, SHIFT)), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        print(f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f}, test accuracy "
              f"{accuracy(logits_torch(model, x_test), y_test):.4f}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    model.requires_grad_(False).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    seed_everything(SEED)
    x, y = (torch.as_tensor(a) for a in load_mnist("train"))        # (60000, 784), (60000,)
    x_test, y_test = load_mnist("test")                              # (10000, 784), (10000,)
    model = judge_torch(initial_weights())
    start = time.perf_counter()
    train(model, x, y, torch.as_tensor(x_test), torch.as_tensor(y_test), epochs=args.epochs)
    seconds = time.perf_counter() - start

    data = write_npz(args.out, export(model, LAYERS, SHAPES), SHAPES)
    with np.load(args.out) as npz:
        reloaded = dict(npz)
    by_torch = accuracy(logits_torch(judge_torch(reloaded), torch.as_tensor(x_test)), y_test)
    by_keras = accuracy(np.asarray(judge_tf(reloaded)(x_test)), y_test)
    print(f"test accuracy {by_torch:.4f} in PyTorch, {by_keras:.4f} in Keras "
          f"({len(x_test)} images), trained in {seconds:.0f} s on {THREADS} "
          f"thread{'s' * (THREADS != 1)}, torch {torch.__version__}")
    print(f"wrote {args.out} ({len(data):,} bytes)")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
