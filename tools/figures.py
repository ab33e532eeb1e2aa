"""Figures of the theory pages, computed when the book is built (`make book` runs this).

Each function draws one figure from code and data, never from typed-in numbers, and saves it
under book/figures/, which is not committed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.stats  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers import load_mnist  # noqa: E402

OUT = ROOT / "book" / "figures"


def dropout_masks(path: Path) -> None:
    """One digit under inverted-dropout masks, and the binomial count of dropped units."""
    rng = np.random.default_rng(0)
    x, _ = load_mnist("test", subset=10, shape="image")
    digit = x[0]
    fig = plt.figure(figsize=(10, 2.8))
    grid = fig.add_gridspec(1, 5, width_ratios=[1, 1, 1, 1, 2.4])
    panels = [("input", digit)] + [
        (f"p = {p}, scaled by 1/{1 - p:g}", digit * (rng.random(digit.shape) >= p) / (1 - p))
        for p in (0.2, 0.5, 0.8)]
    for i, (title, image) in enumerate(panels):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(np.minimum(image, 1.0), cmap="gray_r", vmin=0, vmax=1)  # scaled values saturate
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    n, p, draws = 784, 0.5, 20_000
    dropped = (rng.random((draws, n)) < p).sum(axis=1)
    ax = fig.add_subplot(grid[0, 4])
    k = np.arange(dropped.min(), dropped.max() + 1)
    ax.hist(dropped, bins=np.append(k, k[-1] + 1) - 0.5, density=True, color="0.7",
            label=f"{draws:,} sampled masks")
    ax.plot(k, scipy.stats.binom.pmf(k, n, p), color="C0", label="Binomial(784, 0.5)")
    ax.axvline(n * p, color="C3", linestyle="--", label="k = pN = 392")
    ax.set_xlabel("units dropped out of 784")
    ax.set_yticks([])
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pca_codes(path: Path) -> None:
    """The best linear autoencoder (PCA) at several code sizes: reconstructions and test MSE."""
    x_train, _ = load_mnist("train")                   # (60000, 784) floats in [0, 1]
    x_test, _ = load_mnist("test")
    x_train, x_test = x_train.astype(np.float64), x_test.astype(np.float64)
    mean = x_train.mean(axis=0)
    centred = x_train - mean
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / len(centred))
    order = np.argsort(eigenvalues)[::-1]               # largest variance first
    eigenvalues, basis = np.clip(eigenvalues[order], 0, None), eigenvectors[:, order]
    d = x_train.shape[1]
    ks = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, d])
    train_mse = np.array([eigenvalues[k:].sum() / d for k in ks])   # closed form
    test_coords = (x_test - mean) @ basis               # (10000, 784) principal coordinates
    test_mse = np.array([(test_coords[:, k:] ** 2).sum(axis=1).mean() / d for k in ks])  # what k leaves

    shown, codes = x_test[:6], (2, 8, 32, 128)
    fig = plt.figure(figsize=(9, 3.6))
    grid = fig.add_gridspec(len(codes) + 1, len(shown) + 2, wspace=0.05, hspace=0.05,
                            width_ratios=[1] * len(shown) + [1.2, 7])
    rows = [("input", shown)] + [
        (f"k = {k}", mean + (shown - mean) @ basis[:, :k] @ basis[:, :k].T) for k in codes]
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(np.clip(image, 0, 1).reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
    ax = fig.add_subplot(grid[:, -1])
    ax.plot(ks[1:-1], train_mse[1:-1], marker="o", label="training set: $\\sum_{j>k}\\lambda_j / d$")
    ax.plot(ks[1:-1], test_mse[1:-1], marker="s", linestyle="--", label="test set")
    ax.axhline(test_mse[0], color="0.5", linewidth=0.8, label=f"k = 0 (mean image): {test_mse[0]:.4f}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("code size k")
    ax.set_ylabel("MSE per pixel")
    ax.legend(fontsize=7, loc="lower left")
    fig.subplots_adjust(left=0.03, right=0.98, bottom=0.15, top=0.97)
    fig.savefig(path, dpi=110)
    plt.close(fig)


FIGURES = {"01_dropout_masks.png": dropout_masks, "02_pca_codes.png": pca_codes}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(OUT / name)
        print(f"wrote {(OUT / name).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
