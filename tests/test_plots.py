import base64
import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

from helpers.plots import (MAX_WIDTH, as_images, describe_metric, image_grid,  # noqa: E402
                           latent_scatter, plot_history)
from test_lab_figures import WIDEST_PX, png_width  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("make", [
    lambda a: a.reshape(6, 784),
    lambda a: a,
    lambda a: a.reshape(6, 1, 28, 28),
    lambda a: a.reshape(6, 28, 28, 1),
    lambda a: torch.tensor(a),
    lambda a: tf.constant(a.reshape(6, 28, 28, 1)),
    lambda a: (a * 255).astype(np.uint8),
])
def test_as_images_accepts_every_layout(make):
    images = np.random.default_rng(0).random((6, 28, 28)).astype(np.float32)
    out = as_images(make(images))
    assert out.shape == (6, 28, 28)
    np.testing.assert_allclose(out, images, atol=1 / 255)


@pytest.mark.parametrize("bad, error, message", [
    (np.zeros((3, 100)), ValueError, "must have shape"),
    (np.full((3, 784), 2.0), ValueError, r"must lie in \[0, 1\]"),
    (np.zeros((3, 784), dtype=np.int64), TypeError, "float in"),
])
def test_as_images_bad_input(bad, error, message):
    with pytest.raises(error, match=message):
        as_images(bad)


def test_image_grid_layout_and_labels():
    fig = image_grid(np.zeros((12, 784)), labels=list(range(12)), ncols=5, title="digits")
    axes = fig.get_axes()
    assert len(axes) == 15  # 3 rows of 5; the last 3 stay empty
    assert [ax.get_title() for ax in axes[:3]] == ["0", "1", "2"]
    assert sum(bool(ax.images) for ax in axes) == 12
    with pytest.raises(ValueError, match="12 images but 3 labels"):
        image_grid(np.zeros((12, 784)), labels=[1, 2, 3])
    with pytest.raises(ValueError, match="no images"):
        image_grid(np.zeros((0, 784)))


def test_plot_history_one_line_per_run_and_panel_per_metric():
    torch_run = {"loss": [1.0, 0.5, 0.2], "test_accuracy": [0.8, 0.9, 0.95], "epoch_time": [1, 1, 1]}
    tf_run = {"loss": [1.1, 0.6, 0.3], "test_accuracy": [0.7, 0.85, 0.9], "epoch_time": [2, 2, 2]}
    fig = plot_history({"PyTorch": torch_run, "TensorFlow": tf_run})
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["training loss", "test accuracy"]
    assert axes[1].get_ylabel() == "fraction correct"
    assert len(axes[0].lines) == 2
    np.testing.assert_array_equal(axes[0].lines[1].get_ydata(), tf_run["loss"])
    fig = plot_history(torch_run, metrics=["loss"])
    assert len(fig.get_axes()) == 1
    with pytest.raises(ValueError, match="no metric"):
        plot_history(torch_run, metrics=["kl"])
    with pytest.raises(TypeError):
        plot_history([1, 2])



def test_image_grid_labels_its_rows():
    fig = image_grid(np.zeros((6, 784)), ncols=3, rows=["originals", "reconstructions"])
    texts = [t.get_text() for ax in fig.get_axes() for t in ax.texts]
    assert texts == ["originals", "reconstructions"]
    with pytest.raises(ValueError, match="2 rows of images but 1 row labels"):
        image_grid(np.zeros((6, 784)), ncols=3, rows=["originals"])


def test_image_grid_wraps_long_row_labels():
    fig = image_grid(np.zeros((2, 784)), ncols=1, rows=["short", "a row label far too long for one line"])
    texts = [t.get_text() for ax in fig.get_axes() for t in ax.texts]
    assert texts[0] == "short"
    assert texts[1].replace("\n", " ") == "a row label far too long for one line"
    assert max(len(line) for line in texts[1].splitlines()) <= 20

def stored_width(fig) -> int:
    """The width in pixels of ``fig`` as a lab stores it: the notebook's inline backend saves
    a PNG at 100 dpi with a tight bounding box."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
    return png_width(base64.b64encode(png.getvalue()))


LONG_TITLE = ("the ranked sets, each a random draw from its generator, best FID at the top and "
              "the worst at the bottom, with a title far longer than any figure is wide")


@pytest.mark.parametrize("ncols", [10, 30])
@pytest.mark.parametrize("rows", [False, True])
@pytest.mark.parametrize("title", [None, LONG_TITLE])
def test_image_grids_fit_the_column_with_room_for_their_images(ncols, rows, title):
    images = np.random.default_rng(0).random((2 * ncols, 784))
    labels = ["test digit", "PCA, k = 10 reconstruction"] if rows else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a layout matplotlib cannot apply warns
        fig = image_grid(images, ncols=ncols, rows=labels, title=title)
        assert stored_width(fig) <= WIDEST_PX
    assert fig.get_figwidth() == pytest.approx(MAX_WIDTH)
    drawn = sum(ax.get_window_extent().width for ax in fig.get_axes()[:ncols]) / fig.dpi
    assert drawn > 0.6 * MAX_WIDTH  # the images, not the gaps, take the width
    if title:
        assert "\n" in fig.texts[0].get_text()


def test_a_scale_too_large_draws_the_grid_the_largest_size_that_fits():
    images = np.zeros((20, 784))
    grids = [image_grid(images, ncols=10, rows=["a", "b"], title="t", scale=scale)
             for scale in (1.0, 2.0)]
    assert grids[0].get_size_inches() == pytest.approx(grids[1].get_size_inches())
    assert stored_width(grids[1]) <= WIDEST_PX


def test_a_grid_narrower_than_the_column_keeps_its_scale():
    fig = image_grid(np.zeros((20, 784)), labels=list(range(20)), ncols=10, scale=0.5,
                     title="digits")
    assert fig.get_figwidth() == pytest.approx(5.0)
    assert fig.texts[0].get_text() == "digits"
    assert stored_width(fig) <= 520
    with_rows = image_grid(np.zeros((20, 784)), ncols=10, scale=0.5, rows=["a", "b"])
    assert 5.0 < with_rows.get_figwidth() < 5.5  # the row labels add their room


@pytest.mark.parametrize("count", [1, 2, 3, 4])
@pytest.mark.parametrize("title", [None, LONG_TITLE])
def test_plot_history_draws_two_readable_panels_a_row_within_the_column(count, title):
    metrics = ["loss", "test_loss", "train_error_pct", "test_error_pct"][:count]
    run = {m: list(np.linspace(2.0, 1.0, 12)) for m in metrics}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_history({"PyTorch": run, "TensorFlow": dict(run)}, metrics, title=title)
        assert stored_width(fig) <= WIDEST_PX
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == [describe_metric(m)[0] for m in metrics]
    assert len({round(ax.get_position().x0, 3) for ax in axes}) == min(count, 2)
    assert len({round(ax.get_position().y0, 3) for ax in axes}) == (count + 1) // 2
    assert min(ax.get_window_extent().width for ax in axes) / fig.dpi > 2.5  # inches
    with pytest.raises(ValueError, match="no metrics"):
        plot_history(run, [])


@pytest.mark.parametrize("metric, words", [
    ("test_error_pct", ("test error", "%")), ("small_gap_pp", ("small gap", "points")),
    ("test_sq_err", ("test squared error", "per image")),
    ("d_real", ("D on real images", "mean probability"))])
def test_metric_names_become_words_and_units(metric, words):
    assert describe_metric(metric) == words


def test_small_late_changes_are_zoomed_on_and_wide_spans_get_a_log_axis():
    slow = [60.0, 20.0, 11.3, 11.9, 11.5, 11.6, 11.7, 11.8, 11.9, 11.9]
    fig = plot_history({"a": {"test_sq_err": slow, "loss": [100.0, 10.0, 1.0, 0.1],
                              "acc": [1.0, 0.9, 0.8, 0.85]}},
                       metrics=["test_sq_err", "loss", "acc"])
    zoomed, logged, plain = fig.get_axes()
    assert zoomed.get_ylim()[1] < 20 and zoomed.get_yscale() == "linear"
    assert "zoomed" in zoomed.texts[0].get_text()
    assert logged.get_yscale() == "log" and not logged.texts
    assert plain.get_yscale() == "linear" and not plain.texts


def test_coinciding_curves_are_named():
    same = {"loss": [1.0, 0.5, 0.25]}
    fig = plot_history({"dropout": same, "dropout + max-norm": dict(same),
                        "none": {"loss": [1.0, 0.6, 0.3]}})
    texts = [t.get_text() for t in fig.get_axes()[0].texts]
    assert texts == ["dropout = dropout + max-norm: the lines coincide"]
    fig = plot_history({"a": {"loss": [1.0, 0.5]}, "b": {"loss": [1.0, 0.5000001]}})
    assert not fig.get_axes()[0].texts


def test_latent_scatter():
    rng = np.random.default_rng(0)
    fig = latent_scatter(rng.normal(size=(100, 2)), rng.integers(0, 10, 100))
    assert len(fig.get_axes()[0].collections[0].get_offsets()) == 100
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        latent_scatter(np.zeros((10, 3)), np.zeros(10))
    with pytest.raises(ValueError, match="labels must have shape"):
        latent_scatter(np.zeros((10, 2)), np.zeros(9))
