"""helpers/mode_plots.py: what plot_points draws, where, and in which style."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from helpers.mixtures import BENCHMARKS, sample  # noqa: E402
from helpers.mode_plots import plot_points  # noqa: E402


NAMES = list(BENCHMARKS)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", NAMES)
def test_plot_points_draws_samples_modes_and_circles(name):
    b = BENCHMARKS[name]
    points = sample(b, 321, np.random.default_rng(0))
    fig = plot_points(points, b, title="true samples")
    (ax,) = fig.axes
    samples, means = ax.collections
    np.testing.assert_allclose(samples.get_offsets(), points, rtol=1e-6)
    np.testing.assert_allclose(means.get_offsets(), b.means)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == b.n_modes
    assert all(c.get_radius() == pytest.approx(3 * b.sigma) for c in circles)
    assert ax.get_title() == "true samples"


def test_plot_points_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    out = plot_points(np.zeros((5, 2)), "ring", ax=right)
    assert out is fig and len(right.collections[0].get_offsets()) == 5
    assert not left.collections and right.get_title() == "ring"


def test_plot_points_style():
    fig = plot_points(np.zeros((5, 2)), "grid")
    (ax,) = fig.axes
    samples, means = ax.collections
    assert samples.get_label() == "samples" and means.get_label() == "modes"
    assert samples.get_sizes().tolist() == [3] and means.get_sizes().tolist() == [30]
    assert samples.get_alpha() == 0.4 and means.get_alpha() is None
    np.testing.assert_allclose(samples.get_facecolor()[0], matplotlib.colors.to_rgba("C0", 0.4))
    np.testing.assert_allclose(means.get_facecolor()[0], matplotlib.colors.to_rgba("C3"))
    assert samples.get_linewidths().tolist() == [0]
    x_marker = matplotlib.markers.MarkerStyle("x")
    np.testing.assert_array_equal(means.get_paths()[0].vertices,
                                  x_marker.get_path().transformed(x_marker.get_transform()).vertices)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 25 and all(not c.get_fill() for c in circles)
    assert all(c.get_linewidth() == 0.8 for c in circles)
    np.testing.assert_allclose(circles[0].get_edgecolor(), matplotlib.colors.to_rgba("C3"))
    assert ax.get_aspect() == 1.0 and ax.get_title() == "grid"
    assert tuple(fig.get_size_inches()) == (4.5, 4.5)
    assert plot_points(np.zeros((5, 2)), "grid", title="").axes[0].get_title() == ""


def test_plot_points_colours_do_not_follow_the_axes_colour_cycle():
    fig, ax = plt.subplots()
    ax.scatter([0], [0])  # takes C0 from the cycle; plot_points still draws samples in C0
    plot_points(np.zeros((5, 2)), "ring", ax=ax)
    np.testing.assert_allclose(ax.collections[1].get_facecolor()[0],
                               matplotlib.colors.to_rgba("C0", 0.4))


def test_plot_points_refuses_bad_points_and_unknown_benchmarks():
    # the checks are helpers.mixtures' (tests/test_mixtures.py); plot_points makes them
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot_points(np.zeros((10, 3)), "ring")
    with pytest.raises(ValueError, match="unknown benchmark 'spiral'; known: ring, grid"):
        plot_points(np.zeros((3, 2)), "spiral")
