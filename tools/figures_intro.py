"""The front page's figure: the book in one picture, drawn when the book is built.

Five panels in chapter order: a digit under dropout masks (chapter 1), digits sampled from
chapter 5's GAN, one run of a plain GAN and one of the best remedy on chapter 6's ring of
eight modes, and chapter 7's FID ranking of the book's models. Everything shown comes from
MNIST and the files the labs stored in results/: the GAN samples and the mode-collapse points
(results/*.npz) and the recorded numbers (results/*.json, read through helpers.recorded).
No number is typed in. The conventions are those of tools/figures.py: 6.3 inches wide, no
text under 12 pt, saved at 200 dpi under book/figures/ (tools/figure_style.py).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers import load_mnist  # noqa: E402
from helpers.digits import load_samples  # noqa: E402
from helpers.collapse import evaluate  # noqa: E402
from helpers.point_files import load_points  # noqa: E402
from helpers.recorded import load_recorded  # noqa: E402
from tools.figure_style import STYLE, WIDTH, draw, save  # noqa: E402

RESULTS = ROOT / "results"
FRAMEWORK_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow"}
DROPOUT_RATES = (0.2, 0.5, 0.8)  # the rates chapter 1's figure shows
GAN_GRID = 6                     # GAN samples shown: the first GAN_GRID ** 2 stored
BENCHMARK = "ring"               # chapter 6's benchmark shown
METHOD_NAMES = {"gan": "plain GAN", "pac2_mbstd": "PacGAN2 + minibatch std",
                "pac2": "PacGAN2", "pac4": "PacGAN4", "mbstd": "minibatch std",
                "unrolled": "unrolled GAN", "unrolled10": "unrolled GAN, 10 steps",
                "wgan_gp": "WGAN-GP", "dropout": "dropout in D",
                "sgd": "SGD", "sgd_hi": "SGD, large steps"}


def required_files(framework: str = "torch") -> list[str]:
    """The stored files the figure reads, relative to results/."""
    return [f"05_gan_samples_{framework}.npz", f"06_mode_collapse_samples_{framework}.npz",
            "06_mode_collapse.json", "07_fid.json"]


def check_stored(results: Path, framework: str = "torch") -> None:
    """Fail, naming the files and what writes them, when a stored file is missing."""
    missing = [name for name in required_files(framework) if not (results / name).is_file()]
    if missing:
        raise FileNotFoundError(
            "the front page's figure needs " + ", ".join(f"results/{m}" for m in missing)
            + f" (looked in {results}); they are written by the full-mode runs of chapters 5, "
            "6 and 7 (`make execute`)")


NOT_MODELS = {"rank_fid_floor"}  # ranked in chapter 7, but no model's images


def rank_label(key: str, framework_names: dict[str, str] = FRAMEWORK_NAMES) -> str:
    """A readable name for a set of images ranked in chapter 7 (the part after rank_fid_)."""
    if match := re.fullmatch(r"autoencoder_(\d+)", key):
        return f"autoencoder, code {match[1]}"
    if match := re.fullmatch(r"gan_(\w+)", key):
        return f"GAN, {framework_names.get(match[1], match[1])} lab"
    if match := re.fullmatch(r"vae4_(\w+)", key):
        return f"VAE, {framework_names.get(match[1], match[1])} lab"
    return {"floor": "real test digits", "vae": "VAE, 10 epochs"}.get(key, key.replace("_", " "))


def rank_colour(key: str) -> str:
    """One colour per kind of model: GANs, autoencoders, the VAE, real digits."""
    if key.startswith("gan"):
        return "C0"
    if key.startswith("autoencoder"):
        return "C2"
    return {"floor": "0.45", "vae": "C1"}.get(key, "0.7")


def book_overview(path: Path, results: Path = RESULTS, framework: str = "torch") -> dict:
    """Draw the front page's figure into path; return what it shows, for the tests."""
    check_stored(results, framework)
    recorded = load_recorded(results)
    for chapter in ("06_mode_collapse", "07_fid"):
        if framework not in recorded.get(chapter, {}):
            raise KeyError(f"results/{chapter}.json records nothing for {framework}")

    # Chapter 1: one test digit under inverted-dropout masks.
    x, _ = load_mnist("test", subset=10, shape="image", online=False)
    digit = x[0]
    rng = np.random.default_rng(0)
    masked = [("test digit", digit)] + [
        (f"p = {p:g}", digit * (rng.random(digit.shape) >= p) / (1 - p)) for p in DROPOUT_RATES]

    # Chapter 5: the first stored samples of the GAN, tiled.
    samples, _ = load_samples(results / f"05_gan_samples_{framework}.npz")
    shown = samples[:GAN_GRID ** 2]
    if len(shown) < GAN_GRID ** 2:
        raise ValueError(f"results/05_gan_samples_{framework}.npz holds {len(samples)} images, "
                         f"fewer than the {GAN_GRID ** 2} shown")
    tiles = shown.reshape(GAN_GRID, GAN_GRID, 28, 28).transpose(0, 2, 1, 3).reshape(
        GAN_GRID * 28, GAN_GRID * 28)

    # Chapter 6: seed 0 of the plain GAN and of the method that found the most modes on
    # average (ties broken by the high-quality share), as recorded by the lab.
    points, benches, _ = load_points(results / f"06_mode_collapse_samples_{framework}.npz")
    modes = recorded["06_mode_collapse"][framework]
    remedies = [m for (name, m) in points if name == BENCHMARK and m != "gan"
                and f"{BENCHMARK}_{m}_modes" in modes]
    if (BENCHMARK, "gan") not in points or not remedies:
        raise KeyError(f"results/06_mode_collapse_samples_{framework}.npz and "
                       f"06_mode_collapse.json hold no plain GAN and remedies on the {BENCHMARK}")
    best = max(remedies, key=lambda m: (modes[f"{BENCHMARK}_{m}_modes"],
                                        modes[f"{BENCHMARK}_{m}_high_quality_pct"]))
    runs = {m: (points[(BENCHMARK, m)][0], evaluate(points[(BENCHMARK, m)][0],
                                                    benches[BENCHMARK]))
            for m in ("gan", best)}

    # Chapter 7: FID of each model's images, all at the same number of images. The real
    # test digits' row is left out: it is the floor, not a model (chapter 7 gives it with
    # its spread over random draws).
    fids = recorded["07_fid"][framework]
    ranking = sorted(((key[len("rank_fid_"):], value) for key, value in fids.items()
                      if key.startswith("rank_fid_") and key not in NOT_MODELS),
                     key=lambda item: item[1])
    if not ranking:
        raise KeyError(f"results/07_fid.json records no rank_fid_* for {framework}")

    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(WIDTH, 7.9), layout="constrained")
        top, middle, bottom = fig.subfigures(3, 1, height_ratios=[3.0, 2.8, 2.3])
        left, right = top.subfigures(1, 2, wspace=0.04)
        left.suptitle("1  Dropout: random masks")
        for ax, (title, image) in zip(left.subplots(2, 2).flat, masked):
            ax.imshow(np.minimum(image, 1.0), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(title)
            ax.axis("off")
        ax = right.subplots()
        ax.imshow(tiles, cmap="gray_r", vmin=0, vmax=255)
        ax.axis("off")
        right.suptitle("5  GAN: digits from noise")
        for sub, method in zip(middle.subfigures(1, 2, wspace=0.04), ("gan", best)):
            chosen, report = runs[method]
            ax = sub.subplots()
            means = benches[BENCHMARK].means
            # The modes as rings larger than their 3-sigma circles, so that the points inside
            # them stay visible at this size.
            ax.scatter(means[:, 0], means[:, 1], s=160, facecolors="none", edgecolors="C3",
                       linewidths=1.2, zorder=1)
            ax.scatter(chosen[:, 0], chosen[:, 1], s=3, alpha=0.4, color="C0", linewidths=0,
                       zorder=2)
            span = np.abs(means).max() * 1.2
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{report.modes} of {benches[BENCHMARK].n_modes} modes found")
            sub.suptitle(f"6  {METHOD_NAMES.get(method, method)}")
        ax = bottom.subplots()
        names = [rank_label(key) for key, _ in ranking]
        values = np.array([value for _, value in ranking])
        rows = np.arange(len(ranking))
        ax.barh(rows, values, color=[rank_colour(key) for key, _ in ranking])
        for row, value in zip(rows, values):
            ax.annotate(f"{value:.1f}", (value, row), xytext=(3, 0), textcoords="offset points",
                        va="center")
        ax.set_yticks(rows, names)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(values.min() / 2, values.max() * 4)
        ticks = [t for t in 10.0 ** np.arange(-3, 6) if values.min() / 2 <= t <= values.max() * 4]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel("FID, lower is closer to the training digits (log scale)")
        bottom.suptitle("7  FID ranks the book's models")
        save(fig, path)
    return {"gan_images": shown,
            "modes": {m: (report.modes, benches[BENCHMARK].n_modes)
                      for m, (_, report) in runs.items()},
            "best_method": best, "ranking": ranking}


FIGURES = {"00_book_overview.png": book_overview}


def main() -> None:
    draw(FIGURES)


if __name__ == "__main__":
    main()
