"""Figures every chapter draws: image grids, training curves, 2-D latent codes.

Functions take NumPy arrays, torch tensors or TensorFlow tensors, and histories from either
training loop (same metric names), and return the matplotlib ``Figure``. Each figure is at most
:data:`MAX_WIDTH` inches wide, so that the book's column shows its text readably.
"""
from __future__ import annotations

import math
import textwrap
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


# A lab's figure is saved at 100 dpi with a tight bounding box, which pads it by 0.1 inch on
# each side; the book's column shows a figure of at most 944 px with its 10-pt text at 9 px or
# more (tests/test_lab_figures.py). So a figure and all it draws fit 9.44 - 0.2 inches.
MAX_WIDTH = 9.2  # inches
LABEL_HEIGHT = 0.25  # inches above an image of image_grid for its label (9 pt)


def _suptitle(fig, title: str) -> float:
    """``title`` above ``fig``, wrapped over lines until it is at most MAX_WIDTH wide; returns
    its height in inches."""
    text = fig.suptitle(title)
    chars = len(title)
    while chars > 20 and text.get_window_extent().width > MAX_WIDTH * fig.dpi:
        chars -= 5
        text.set_text(textwrap.fill(title, chars))
    return text.get_window_extent().height / fig.dpi


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of an array, a torch tensor (any device) or a TensorFlow tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x)


def as_images(x) -> np.ndarray:
    """(N, 784), (N, 28, 28), (N, 1, 28, 28) or (N, 28, 28, 1) → float (N, 28, 28) in [0, 1]."""
    x = to_numpy(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"images must be float in [0, 1] or uint8, got dtype {x.dtype}")
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    elif x.ndim == 4 and 1 in (x.shape[1], x.shape[3]):
        x = x.reshape(x.shape[0], 28, 28) if x.shape[1] * x.shape[2] * x.shape[3] == 784 else x
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError("images must have shape (N, 784), (N, 28, 28), (N, 1, 28, 28) or "
                         f"(N, 28, 28, 1), got {tuple(to_numpy(x).shape)}")
    if x.size and (np.nanmin(x) < -1e-3 or np.nanmax(x) > 1 + 1e-3):
        raise ValueError(f"float images must lie in [0, 1], got [{x.min():.3g}, {x.max():.3g}]")
    return x


def image_grid(images, labels: Sequence | None = None, *, ncols: int = 10,
               title: str | None = None, scale: float = 1.0, rows: Sequence[str] | None = None):
    """Show images in a grid, optionally with a label above each and, with ``rows``, a label
    left of each row (what the row shows: "originals", "reconstructions", ...); a row label
    longer than 20 characters is wrapped over lines, and so is a ``title`` wider than
    :data:`MAX_WIDTH`.

    ``scale`` is the width of one image in inches; row labels add their own width. A grid
    that would be wider than :data:`MAX_WIDTH` inches, such as 10 columns at the default
    scale, is drawn MAX_WIDTH wide instead, every image smaller: a larger ``scale`` gives
    the same figure as the largest that fits, and a smaller one is kept.
    """
    images = as_images(images)
    n = len(images)
    if n == 0:
        raise ValueError("no images to show")
    if labels is not None and len(labels) != n:
        raise ValueError(f"{n} images but {len(labels)} labels")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    if rows is not None and len(rows) != nrows:
        raise ValueError(f"{nrows} rows of images but {len(rows)} row labels")
    fig, axes = plt.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
    gap = 0.08 if rows else 0.0  # between a row label and its row, in images' widths
    texts = [axes[r, 0].text(-gap, 0.5, textwrap.fill(str(text), 20), ha="right", va="center",
                             transform=axes[r, 0].transAxes, fontsize=9)
             for r, text in enumerate(rows or [])]
    # The row labels' room, then the images' size in what is left of MAX_WIDTH; a row is as
    # tall as its image and the label above it, or as its row label.
    extents = [t.get_window_extent() for t in texts]
    room = max((e.width for e in extents), default=0) / fig.dpi
    scale = min(scale, (MAX_WIDTH - room) / (ncols + gap))
    row = scale + (LABEL_HEIGHT if labels is not None else 0.1 * scale)
    row = max([row] + [e.height / fig.dpi + 0.1 for e in extents])
    fig.set_size_inches(scale * (ncols + gap) + room, row * nrows)
    if title:
        fig.set_figheight(fig.get_figheight() + _suptitle(fig, title) + 0.1)
    fig.tight_layout(pad=0.6, w_pad=0.5, h_pad=0.5)
    return fig


# What a history's keys mean, in words, and their units: panel titles and y-labels.
METRIC_WORDS = {
    "loss": ("training loss", "mean over the epoch's batches"),
    "test_loss": ("test loss", "mean per test image"),
    "valid_loss": ("validation loss", "mean per validation image"),
    "test_accuracy": ("test accuracy", "fraction correct"),
    "d_loss": ("discriminator loss", "nats per image"),
    "g_loss": ("generator loss", "nats per image"),
    "d_real": ("D on real images", "mean probability"),
    "d_fake": ("D on generated images", "mean probability"),
    "epoch_time": ("time per epoch", "s"),
}
PANEL = (4.0, 3.2)  # inches: a panel of plot_history; two a row fit MAX_WIDTH
LOG_SPAN = 20.0  # a panel whose positive values span more than this factor gets a log axis
ZOOM = 5.0  # ... unless all epochs span this many times the later 80%'s narrow range: a zoom


def describe_metric(metric: str) -> tuple[str, str]:
    """``(title, y-label)`` of a history key: from :data:`METRIC_WORDS`, else from its name
    (``test_error_pct`` -> "test error", "%"; ``test_sq_err`` -> "test squared error")."""
    if metric in METRIC_WORDS:
        return METRIC_WORDS[metric]
    unit = ""
    words = metric
    for suffix, name in (("_pct", "%"), ("_pp", "points")):
        if words.endswith(suffix):
            words, unit = words[: -len(suffix)], name
    words = words.replace("sq_err", "squared error").replace("_", " ")
    return words, unit or "per image"


def _coinciding(runs: Mapping, metric: str) -> list[tuple[str, str]]:
    """Pairs of runs whose curves of ``metric`` are the same to 1e-9 (one hides the other)."""
    labels = list(runs)
    return [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:]
            if len(runs[a][metric]) == len(runs[b][metric])
            and np.allclose(runs[a][metric], runs[b][metric], rtol=1e-9, atol=0)]


def _scale(ax, curves: list[np.ndarray]) -> None:
    """Zoom on the later epochs when the first ones dwarf a small later change; else a log
    axis when positive values span more than LOG_SPAN times; else matplotlib's own limits."""
    finite = [c[np.isfinite(c)] for c in curves]
    everything = np.concatenate(finite)
    later = np.concatenate([c[int(np.ceil(0.2 * len(c))):] for c in finite])
    if everything.size == 0 or later.size == 0:
        return
    low, high = later.min(), later.max()
    spread = high - low
    long_enough = min(len(c) for c in finite) >= 5
    if (long_enough and low > 0 and high / low < 2 and spread > 1e-3 * high
            and everything.max() - everything.min() > ZOOM * spread):
        ax.set_ylim(low - 0.15 * spread, high + 0.15 * spread)
        ax.text(0.98, 0.98, "zoomed: early epochs off the axis", transform=ax.transAxes,
                fontsize="small", ha="right", va="top")
    elif everything.min() > 0 and everything.max() / everything.min() > LOG_SPAN:
        ax.set_yscale("log")


def plot_history(histories: Mapping, metrics: Sequence[str] | None = None, *,
                 title: str | None = None):
    """Training curves, one panel per metric, two panels a row, one line per run.

    ``histories`` is one history (``{"loss": [...], ...}``) or a dict of them keyed by run
    label, e.g. ``{"PyTorch": h1, "TensorFlow": h2}``. Each panel is titled in words with its
    unit on the y-axis (:func:`describe_metric`). Where the first epochs' large values would
    flatten a small later change, the panel zooms on the later epochs and says so; where
    positive values span more than :data:`LOG_SPAN` times, it uses a log axis. Runs whose
    curves coincide are named in the panel, since one line hides the other.
    """
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must be a non-empty dict")
    first = next(iter(histories.values()))
    runs = histories if isinstance(first, Mapping) else {"": histories}
    available = [k for k in next(iter(runs.values())) if k != "epoch_time"]
    metrics = list(metrics) if metrics is not None else available
    for label, history in runs.items():
        missing = [m for m in metrics if m not in history]
        if missing:
            raise ValueError(f"run {label!r} has no metric {missing}; it has {sorted(history)}")
    if not metrics:
        raise ValueError("no metrics to plot")
    ncols = min(2, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(PANEL[0] * ncols, PANEL[1] * nrows),
                             squeeze=False)
    for ax in axes.flat[len(metrics):]:  # an odd number of panels leaves one place empty
        ax.remove()
    for ax, metric in zip(axes.flat, metrics):
        for label, history in runs.items():
            values = history[metric]
            ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 20 else None,
                    label=label or None)
        words, unit = describe_metric(metric)
        ax.set_title(words)
        ax.set_xlabel("epoch")
        ax.set_ylabel(unit)
        _scale(ax, [np.asarray(h[metric], dtype=float) for h in runs.values()])
        same = _coinciding(runs, metric)
        if same:
            ax.text(0.02, 0.02, "\n".join(f"{a} = {b}: the lines coincide" for a, b in same),
                    transform=ax.transAxes, fontsize="small", va="bottom")
        if any(runs):
            ax.legend()
    if title:
        _suptitle(fig, title)
    fig.tight_layout()
    return fig


def latent_scatter(z, labels, *, title: str | None = None, max_points: int = 5000):
    """Scatter 2-D codes ``z`` (N, 2) coloured by digit ``labels`` (N,)."""
    z, labels = to_numpy(z), to_numpy(labels)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"z must have shape (N, 2), got {z.shape}")
    if labels.shape != (len(z),):
        raise ValueError(f"labels must have shape ({len(z)},), got {labels.shape}")
    z, labels = z[:max_points], labels[:max_points]
    fig, ax = plt.subplots(figsize=(5, 4.5))
    points = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_sweep(sweeps: Mapping, *, xlabel: str, ylabel: str, title: str | None = None):
    """A measure against a swept rate (test error against the dropout rate, say), one line
    per series.

    ``sweeps`` is one sweep ``{rate: value}`` or a dict of them keyed by series label, e.g.
    ``{"PyTorch": {0.0: 3.70, 0.1: 3.09}, "TensorFlow": {0.0: 3.68, 0.1: 3.17}}``. Points
    are joined in order of rate; a series may leave rates out.
    """
    if not isinstance(sweeps, Mapping) or not sweeps:
        raise TypeError("sweeps must be a non-empty dict: {rate: value} or {label: {rate: value}}")
    first = next(iter(sweeps.values()))
    series = sweeps if isinstance(first, Mapping) else {"": sweeps}
    points = {}
    for label, sweep in series.items():
        if not isinstance(sweep, Mapping) or not sweep:
            raise ValueError(f"series {label!r} must be a non-empty dict {{rate: value}}")
        try:
            points[label] = sorted((float(rate), float(value)) for rate, value in sweep.items())
        except (TypeError, ValueError) as error:
            raise ValueError(f"series {label!r}: rates and values must be numbers, "
                             f"got {dict(sweep)!r}") from error
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, pairs in points.items():
        rates, values = zip(*pairs)
        ax.plot(rates, values, marker="o", label=label or None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if any(points):
        ax.legend()
    fig.tight_layout()
    return fig
