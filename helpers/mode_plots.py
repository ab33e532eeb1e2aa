"""Generated points drawn over a 2-D benchmark: the modes of :mod:`helpers.mixtures` and
the 3σ circles within which :mod:`helpers.collapse` counts a point as high quality."""
from __future__ import annotations

from .collapse import HQ_RADIUS
from .mixtures import Benchmark, as_points, resolve

__all__ = ["plot_points"]


def plot_points(points, benchmark: Benchmark | str, ax=None, title: str | None = None):
    """Scatter ``points`` (n, 2) over the modes of ``benchmark`` and their 3σ circles.

    Draws into ``ax`` when given, else into a new figure; the title defaults to the
    benchmark's name. Returns the matplotlib ``Figure``.
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
    return ax.figure
