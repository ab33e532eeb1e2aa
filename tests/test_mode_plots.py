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
    spread = np.array([[-1.0, -1.0], [1.0, 1.0], [0.0, 2.0], [2.0, 0.0], [-2.0, 1.0]])
    fig = plot_points(spread, "grid")
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
    assert plot_points(spread, "grid", title="").axes[0].get_title() == ""


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


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_points_too_close_together_to_see_are_ringed_and_said():
    ring = BENCHMARKS["ring"]
    spot = np.array([-0.024, 1.037]) + 0.0004 * np.random.default_rng(0).standard_normal((2_500, 2))
    fig = plot_points(spot, ring)
    (ax,) = fig.axes
    (note,) = _texts(ax)
    words = " ".join(note.split())
    assert words.startswith("all 2,500 points lie within ") and "of (-0.02, 1.04)" in words
    assert words.endswith("ringed: too close together to see")
    assert all(len(line) <= 34 for line in note.splitlines())
    samples, means, marker = ax.collections
    np.testing.assert_allclose(marker.get_offsets()[0], np.median(spot, axis=0))
    assert marker.get_label() == "all samples"


@pytest.mark.parametrize("name", NAMES)
def test_points_that_can_be_seen_get_no_note(name):
    b = BENCHMARKS[name]
    fig = plot_points(sample(b, 500, np.random.default_rng(0)), b)
    assert _texts(fig.axes[0]) == [] and len(fig.axes[0].collections) == 2
    # a collapsed but visible blob, like a plain GAN's on the ring, is drawn as it is
    extent = np.ptp(b.means, axis=0).max()
    blob = b.means[0] + 0.3 + 0.02 * extent * np.random.default_rng(1).standard_normal((500, 2))
    assert _texts(plot_points(blob, b).axes[0]) == []


def test_the_spot_threshold_is_a_share_of_the_panels_extent():
    from helpers.mode_plots import SPOT

    grid = BENCHMARKS["grid"]  # extent 8: points within 0.08 of their median are a spot
    assert SPOT == 0.01
    for radius, noted in ((0.079, True), (0.081, False)):
        points = np.array([[1.0, 1.0], [1.0 + radius, 1.0], [1.0 - radius, 1.0]])
        assert bool(_texts(plot_points(points, grid).axes[0])) is noted, radius


@pytest.mark.parametrize("n, rows", [(1, 1), (2, 1), (3, 2), (5, 3), (10, 5)])
def test_panels_come_two_a_row_and_fit_the_column(n, rows):
    from helpers.mode_plots import panels

    fig, axes = panels(n)
    assert len(axes) == n and all(ax.get_visible() for ax in axes)
    grid = fig.axes
    assert len(grid) == rows * min(n, 2)
    assert [ax.get_visible() for ax in grid].count(False) == rows * min(n, 2) - n
    width, height = fig.get_size_inches()
    assert width == 3.6 * min(n, 2) and height == 3.5 * rows
    assert width * fig.dpi <= 944  # tests/test_lab_figures.py's widest figure
    # reading order: left to right, then down
    boxes = [ax.get_position() for ax in axes]
    assert all((a.y0, -a.x0) > (b.y0, -b.x0) for a, b in zip(boxes, boxes[1:]))


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_panels_refuses_a_bad_count(n):
    from helpers.mode_plots import panels

    with pytest.raises(ValueError, match="n must be a positive int"):
        panels(n)
