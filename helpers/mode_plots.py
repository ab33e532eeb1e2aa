"""Generated points drawn over a 2-D benchmark: the modes of :mod:`helpers.mixtures` and
the 3σ circles within which :mod:`helpers.collapse` counts a point as high quality.

A generator can collapse onto a spot far smaller than a mode's marker; its panel would look
empty. When all its points lie within :data:`SPOT` of the panel's extent of one another, the
panel rings the spot and says so in words. :func:`panels` lays panels out two a row.
"""
from __future__ import annotations

import textwrap

import numpy as np

from .collapse import HQ_RADIUS
from .mixtures import Benchmark, as_points, resolve

SPOT = 0.01  # points within this share of the panel's extent of their median look like none

PANEL = (3.6, 3.5)  # inches of one panel: two a row make 7.2 inches, 720 px at 100 dpi

__all__ = ["PANEL", "SPOT", "panels", "plot_points"]


def panels(n: int, size: tuple[float, float] = PANEL):
    """A figure of ``n`` panels, at most two a row, so that it fits the book's column (a
    figure up to 9.4 inches wide keeps its text readable there); ``size``: inches of each
    panel. Returns ``(figure, axes)``, the ``n`` axes in reading order; a spare one is
    hidden."""
    import matplotlib.pyplot as plt

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    cols, rows = min(n, 2), -(-n // 2)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def plot_points(points, benchmark: Benchmark | str, ax=None, title: str | None = None):
    """Scatter ``points`` (n, 2) over the modes of ``benchmark`` and their 3σ circles.

    Draws into ``ax`` when given, else into a new figure; the title defaults to the
    benchmark's name. Points too close together to see (:data:`SPOT`) are ringed, with a
    note in the panel that says where they are. Returns the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    benchmark = resolve(benchmark)
    x = as_points(points)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.4, color="C0", linewidths=0, label="samples")
    ax.scatter(benchmark.means[:, 0], benchmark.means[:, 1], marker="x", s=30, color="C3",
               label="modes")
    for mean in benchmark.means:
        ax.add_patch(Circle(mean, HQ_RADIUS * benchmark.sigma, fill=False, color="C3", lw=0.8))
    ax.set_aspect("equal")
    ax.set_title(title if title is not None else benchmark.name)
    _note_a_spot(ax, x, benchmark)
    return ax.figure


def _note_a_spot(ax, x: np.ndarray, benchmark: Benchmark) -> None:
    """Ring the points ``x`` (n, 2) and say where they are when they all lie within
    :data:`SPOT` of the panel's extent (modes and points) of their median."""
    both = np.concatenate([x, benchmark.means])
    extent = float(np.ptp(both, axis=0).max())
    centre = np.median(x, axis=0)
    radius = float(np.hypot(*(x - centre).T).max())
    if radius > SPOT * extent:
        return
    ax.scatter(*centre, s=250, facecolors="none", edgecolors="C0", linewidths=1.2,
               label="all samples")
    note = (f"all {len(x):,} points lie within {radius:.2g} of ({centre[0]:.2f}, "
            f"{centre[1]:.2f}), ringed: too close together to see")
    ax.text(0.5, 0.04, textwrap.fill(note, 34), transform=ax.transAxes, ha="center",
            va="bottom", fontsize=8, bbox=dict(facecolor="white", alpha=0.8, linewidth=0))
