"""Time one epoch of an MLP autoencoder on MNIST: helpers' loop vs a DataLoader loop.

Both loops run the same model, optimizer, batch size and step; they differ only in how
batches reach the step. The two are alternated so drifts in machine load hit both, and the
median over repeats is reported.

    python benchmarks/train_loop.py [--repeats 5] [--batch-size 128] [--device auto]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import fit_torch, get_device, load_mnist, seed_everything  # noqa: E402


def autoencoder() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 32), nn.ReLU(),
                         nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())


def make_step(model: nn.Module):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(batch):
        (x,) = batch
        loss = nn.functional.binary_cross_entropy(model(x), x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach()}

    return step


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def helpers_epoch(x: torch.Tensor, device: torch.device, batch_size: int) -> float:
    step = make_step(autoencoder().to(device))
    sync(device)
    began = time.perf_counter()
    fit_torch(step, (x,), epochs=1, batch_size=batch_size, device=device, progress=False)
    sync(device)
    return time.perf_counter() - began


def dataloader_epoch(x: torch.Tensor, device: torch.device, batch_size: int) -> float:
    model = autoencoder().to(device)
    step = make_step(model)
    loader = DataLoader(TensorDataset(x.cpu()), batch_size=batch_size, shuffle=True,
                        pin_memory=device.type == "cuda")
    sync(device)
    began = time.perf_counter()
    total = torch.zeros((), device=device)
    for (batch,) in loader:
        total += step((batch.to(device, non_blocking=True),))["loss"]
    total.item()  # the same one-sync-per-epoch bookkeeping as the helpers loop
    sync(device)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    seed_everything(0)
    device = get_device("torch") if args.device == "auto" else torch.device(args.device)
    x = torch.as_tensor(load_mnist("train")[0])
    x_device = x.to(device)
    helpers_epoch(x_device, device, args.batch_size)  # warm-up: kernels, allocator
    dataloader_epoch(x, device, args.batch_size)

    ours, theirs = [], []
    for i in range(args.repeats):
        ours.append(helpers_epoch(x_device, device, args.batch_size))
        theirs.append(dataloader_epoch(x, device, args.batch_size))
        print(f"repeat {i + 1}: helpers {ours[-1]:.3f} s, DataLoader {theirs[-1]:.3f} s")
    ratios = [t / o for o, t in zip(ours, theirs)]
    print(f"device: {device} ({torch.cuda.get_device_name(0) if device.type == 'cuda' else 'CPU'})")
    print(f"epoch of 60,000 images, batch {args.batch_size}: helpers median "
          f"{statistics.median(ours):.3f} s, DataLoader median {statistics.median(theirs):.3f} s")
    print(f"median speed-up (DataLoader time / helpers time): {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
