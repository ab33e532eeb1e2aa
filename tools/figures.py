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


FIGURES = {"01_dropout_masks.png": dropout_masks}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(OUT / name)
        print(f"wrote {(OUT / name).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
