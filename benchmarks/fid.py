"""Time the Fréchet distance at d = 2048: helpers.fid vs scipy's sqrtm vs torchmetrics.

The two Gaussians are fitted to N synthetic features shaped like an Inception pool layer's
(non-negative, correlated, with a decaying spectrum). The methods take turns within each
repeat, starting with a different one each time, so drifts in machine load hit all of them;
the medians over repeats are reported, with the relative difference of each reference from
ours. scipy's route is the textbook one: sqrtm(sigma1 @ sigma2), as pytorch-fid computes it.

    python benchmarks/fid.py [--repeats 5] [--dim 2048] [--samples 10000] [--device auto]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from torchmetrics.image.fid import _compute_fid

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import fid, get_device  # noqa: E402


def features(rng: np.random.Generator, rotation: np.ndarray, n: int, decay: float,
             shift: float) -> np.ndarray:
    """(n, d) features: ReLU of correlated Gaussians whose spectrum decays like exp(-i/decay)."""
    d = len(rotation)
    z = rng.normal(size=(n, d)) * np.exp(-np.arange(d) / decay)
    return np.maximum(z @ rotation.T + shift, 0.0)


def scipy_sqrtm(mu1, sigma1, mu2, sigma2) -> float:
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--device", default="auto", help="device of the torch methods")
    args = parser.parse_args()
    if args.repeats < 1 or args.dim < 1 or args.samples < 2:
        parser.error("need --repeats >= 1, --dim >= 1 and --samples >= 2")

    device = get_device("torch") if args.device == "auto" else torch.device(args.device)
    rng = np.random.default_rng(0)
    rotation = np.linalg.qr(rng.normal(size=(args.dim, args.dim)))[0]
    mu1, sigma1 = fid.feature_stats(np.array_split(
        features(rng, rotation, args.samples, decay=300, shift=0.2), 20))
    mu2, sigma2 = fid.feature_stats(np.array_split(
        features(rng, rotation, args.samples, decay=250, shift=0.25), 20))
    host = (mu1, sigma1, mu2, sigma2)
    on_device = tuple(torch.from_numpy(a).to(device) for a in host)

    methods = {
        "ours (NumPy)": lambda: fid.frechet_distance(*host),
        f"ours (torch, {device.type})": lambda: fid.frechet_distance_torch(*on_device),
        "scipy sqrtm": lambda: scipy_sqrtm(*host),
        f"torchmetrics ({device.type})": lambda: _compute_fid(*on_device).item(),
    }
    small = [a[:64] if a.ndim == 1 else a[:64, :64] for a in host]  # warm-up: libraries, kernels
    fid.frechet_distance(*small), scipy_sqrtm(*small)
    fid.frechet_distance_torch(*(torch.from_numpy(a).to(device) for a in small))
    _compute_fid(*(torch.from_numpy(a).to(device) for a in small)).item()

    names = list(methods)
    times: dict[str, list[float]] = {name: [] for name in names}
    values: dict[str, float] = {}
    for i in range(args.repeats):
        for name in names[i % len(names):] + names[:i % len(names)]:
            began = time.perf_counter()
            values[name] = methods[name]()
            times[name].append(time.perf_counter() - began)
        print(f"repeat {i + 1}: " + ", ".join(f"{name} {times[name][-1]:.2f} s" for name in names))

    ours = names[0]
    where = f"CPU, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    if device.type == "cuda":
        where += f"; torch methods on {torch.cuda.get_device_name(0)}"
    print(f"machine: {where}; d = {args.dim}, covariances of {args.samples:,} features each, "
          f"FID = {values[ours]:.6f}")
    for name in names:
        ratios = [t / o for t, o in zip(times[name], times[ours])]
        difference = abs(values[name] - values[ours]) / abs(values[name])
        print(f"{name:>22}: median {statistics.median(times[name]):.3f} s, median time / ours "
              f"{statistics.median(ratios):.2f}x, relative difference {difference:.1e}")


if __name__ == "__main__":
    main()
