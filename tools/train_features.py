"""Train the pinned MNIST feature network of the FID chapters once and write its weights.

    .venv/bin/python tools/train_features.py            # writes helpers/weights/mnist_features.npz

Trains the PyTorch build of :mod:`helpers.features` on the CPU, seeded and deterministic, on
all 60,000 training images, reports test accuracy on the 10,000 test images, and writes the
weights as a compressed ``.npz`` of float32 arrays in the framework-neutral layout
(conv HWIO, dense (in, out)). The archive's bytes depend only on the weights (fixed zip
timestamps), so its SHA-256, printed at the end, is what ``WEIGHTS_SHA256`` pins. It runs on
one thread: a one-threaded run is reproducible bit for bit with the same torch version, and on
a CPU shared with other work a second thread mostly waits (about 2.5 minutes of CPU time). Other
torch versions or CPUs may change the last bits, and with them the hash.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers import load_mnist, seed_everything  # noqa: E402
from helpers.features import LAYERS, SHAPES, WEIGHTS_FILE, features_torch  # noqa: E402

SEED, THREADS, BATCH_SIZE, LR, SHIFT = 0, 1, 128, 2e-3, 2


def accuracy(model, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` (N, 784) whose arg-max logit equals ``y`` (N,)."""
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 2000])[1] for i in range(0, len(x), 2000)])
    return float((logits.argmax(1) == y).float().mean())


def shift(x: torch.Tensor, generator: torch.Generator, pixels: int = SHIFT) -> torch.Tensor:
    """Each image (N, 784) moved by its own random offset of up to ``pixels`` in x and y."""
    n = len(x)
    padded = F.pad(x.reshape(n, 28, 28), (pixels,) * 4)           # (N, 28+2p, 28+2p), zeros
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, n, 1), generator=generator)
    rows = (dy + torch.arange(28))[:, :, None]                      # (N, 28, 1)
    cols = (dx + torch.arange(28))[:, None, :]                      # (N, 1, 28)
    return padded[torch.arange(n)[:, None, None], rows, cols].reshape(n, 784)


def train(model, x: torch.Tensor, y: torch.Tensor, x_test, y_test, *, epochs: int) -> None:
    """Adam with a one-cycle learning rate (warm-up, then cosine decay); one shuffled pass per epoch."""
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
            loss = F.cross_entropy(model(shift(x[batch], generator))[1], y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        print(f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f}, test accuracy "
              f"{accuracy(model, x_test, y_test):.4f}, {time.perf_counter() - start:.0f} s")
    model.requires_grad_(False).eval()


def export(model, layers=LAYERS, shapes=SHAPES) -> dict[str, np.ndarray]:
    """torch parameters -> the neutral layout: OIHW -> HWIO, (out, in) -> (in, out).

    ``layers`` and ``shapes`` name the network's layers and arrays: the pinned feature
    network's by default, the judge's for tools/train_judge.py."""
    weights = {}
    for layer in layers:
        kernel = getattr(model, layer).weight.detach()
        kernel = kernel.permute(2, 3, 1, 0) if kernel.ndim == 4 else kernel.T
        weights[f"{layer}.kernel"] = np.ascontiguousarray(kernel.numpy(), dtype=np.float32)
        weights[f"{layer}.bias"] = getattr(model, layer).bias.detach().numpy().astype(np.float32)
    assert {k: v.shape for k, v in weights.items()} == shapes
    return weights


def write_npz(path: Path, weights: dict[str, np.ndarray], shapes=SHAPES) -> bytes:
    """Like ``np.savez_compressed``, but with fixed member order (that of ``shapes``) and
    timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in shapes:
            array = io.BytesIO()
            np.lib.format.write_array(array, weights[name], allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, array.getvalue(), compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    seed_everything(SEED)
    x, y = (torch.as_tensor(a) for a in load_mnist("train"))        # (60000, 784), (60000,)
    x_test, y_test = (torch.as_tensor(a) for a in load_mnist("test"))  # (10000, 784)
    model = features_torch("random")  # the fixed-seed baseline network is the starting point
    model.to(memory_format=torch.channels_last)  # NHWC: faster convolutions on a CPU
    start = time.perf_counter()
    train(model, x, y, x_test, y_test, epochs=args.epochs)
    seconds = time.perf_counter() - start

    weights = export(model)
    data = write_npz(args.out, weights)
    reloaded = features_torch(dict(np.load(args.out)))
    score = accuracy(reloaded, x_test, y_test)
    print(f"test accuracy {score:.4f} ({len(x_test)} images), trained in {seconds:.0f} s "
          f"on {THREADS} thread{'s' * (THREADS != 1)}, torch {torch.__version__}")
    print(f"wrote {args.out} ({len(data):,} bytes)")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
