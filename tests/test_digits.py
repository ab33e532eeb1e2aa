import base64
import json
import math
import re

import numpy as np
import pytest
from PIL import Image
from scipy import special, stats

from helpers import digits, load_mnist
from helpers.digits import (CONFIDENCE, DigitReport, animate, animation_html, as_float,
                            kl_to_uniform, label_digits, label_images_tf, label_images_torch,
                            load_samples, save_samples, softmax, to_uint8)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("test", subset=500)  # (500, 784) float32 in [0, 1], labels (500,)


def _logits_of(probabilities) -> np.ndarray:
    """Logits (N, 10) whose exact softmax is the given rows of probabilities."""
    with np.errstate(divide="ignore"):  # log 0 = -inf, clipped by the callers that use it
        return np.log(np.asarray(probabilities, dtype=np.float64))


def _one_hot_logits(labels, margin: float = 20.0) -> np.ndarray:
    """Logits (N, 10) that put almost all probability on ``labels``."""
    logits = np.zeros((len(labels), 10))
    logits[np.arange(len(labels)), labels] = margin
    return logits


# --- pure math on logits ----------------------------------------------------------------------

def test_softmax_matches_scipy_and_does_not_overflow():
    logits = np.random.default_rng(0).normal(0, 5, (50, 10))
    np.testing.assert_allclose(softmax(logits), special.softmax(logits, axis=1), rtol=1e-14)
    shifted = softmax(logits + 1000.0)  # exp(1000) overflows unless the maximum is subtracted
    assert np.isfinite(shifted).all()
    np.testing.assert_allclose(shifted, softmax(logits), rtol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_kl_to_uniform_of_k_even_classes(k):
    counts = np.zeros(10, int)
    counts[:k] = 7
    assert kl_to_uniform(counts) == pytest.approx(math.log(10 / k), rel=1e-14, abs=1e-15)


def test_kl_to_uniform_matches_scipy():
    counts = np.array([50, 0, 3, 9, 0, 0, 1, 20, 0, 17])
    expected = stats.entropy(counts / counts.sum(), np.full(10, 0.1))
    assert kl_to_uniform(counts) == pytest.approx(expected, rel=1e-13)


def test_all_digits_of_one_class():
    report = label_digits(_one_hot_logits(np.full(40, 7)))
    assert report.n == 40 and report.confident_pct == 100.0
    assert report.digits_present == 1 and report.confident_digits_present == 1
    assert report.kl_to_uniform == pytest.approx(math.log(10), rel=1e-14)
    assert report.counts.tolist() == [0] * 7 + [40, 0, 0]
    assert report.confident_counts.tolist() == report.counts.tolist()


def test_perfectly_balanced_digits():
    report = label_digits(_one_hot_logits(np.tile(np.arange(10), 6)))
    assert report.counts.tolist() == [6] * 10
    assert report.digits_present == 10 and report.kl_to_uniform == pytest.approx(0, abs=1e-15)


def test_known_histogram_gives_the_exact_kl():
    counts = np.array([5, 0, 1, 0, 0, 2, 0, 0, 0, 0])
    report = label_digits(_one_hot_logits(np.repeat(np.arange(10), counts)))
    q = np.array([5, 1, 2]) / 8
    assert report.counts.tolist() == counts.tolist() and report.digits_present == 3
    assert report.kl_to_uniform == pytest.approx(float(np.sum(q * np.log(10 * q))), rel=1e-14)


def test_threshold_is_inclusive_at_exactly_point_nine():
    assert CONFIDENCE == 0.9
    at = [0.9] + [0.1 / 9] * 9  # the top probability is exactly 0.9
    below = [0.9 - 1e-9] + [(0.1 + 1e-9) / 9] * 9
    two_way = [0.0] * 10
    two_way[4], two_way[6] = 0.9, 0.1
    report = label_digits(np.concatenate([_logits_of([at, below]),
                                          np.maximum(_logits_of([two_way]), -1e3)]))
    assert report.confidence[0] == pytest.approx(0.9, rel=1e-15)
    assert report.confident_pct == pytest.approx(200 / 3)
    assert report.labels.tolist() == [0, 0, 4]
    assert report.confident_counts.tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]


def test_confident_histogram_is_separate_from_the_class_histogram():
    sure = _logits_of([[0.95] + [0.05 / 9] * 9])  # class 0, confident
    unsure = np.roll(_logits_of([[0.5] + [0.5 / 9] * 9]), 3, axis=1)  # class 3, not
    report = label_digits(np.concatenate([np.repeat(sure, 3, 0), np.repeat(unsure, 1, 0)]))
    assert report.counts.tolist() == [3, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert report.confident_counts.tolist() == [3, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert report.digits_present == 2 and report.confident_digits_present == 1
    assert report.confident_pct == 75.0
    np.testing.assert_allclose(report.confidence, [0.95] * 3 + [0.5], rtol=1e-14)
    q = np.array([0.75, 0.25])
    assert report.kl_to_uniform == pytest.approx(float(np.sum(q * np.log(10 * q))), rel=1e-14)


def test_report_metrics_str_and_frozen():
    report = label_digits(_one_hot_logits([0, 0, 1, 2]))
    metrics = report.metrics()
    assert list(metrics) == ["confident_pct", "kl_to_uniform", "digits_present",
                             "confident_digits_present"]
    assert all(type(v) is float for v in metrics.values())
    assert metrics["digits_present"] == 3.0 and metrics["confident_pct"] == 100.0
    kl = float(np.sum(np.array([0.5, 0.25, 0.25]) * np.log(10 * np.array([0.5, 0.25, 0.25]))))
    assert str(report) == ("4 digits: 3/10 classes (3 confidently), 100.0% confident "
                           f"(p >= 0.9), KL to uniform {kl:.4f}")
    with pytest.raises(AttributeError):
        report.confident_pct = 0.0
    with pytest.raises(ValueError):
        report.counts[0] = 9  # read-only


def test_label_digits_takes_tensors_of_either_framework():
    import tensorflow as tf
    import torch

    logits = np.random.default_rng(1).normal(0, 4, (30, 10)).astype(np.float32)
    expected = label_digits(logits)
    from_torch = label_digits(torch.tensor(logits, requires_grad=True))
    from_tf = label_digits(tf.constant(logits))
    for report in (from_torch, from_tf):
        assert report.metrics() == expected.metrics()
        np.testing.assert_array_equal(report.counts, expected.counts)


@pytest.mark.parametrize("logits, message", [
    (np.zeros((5, 9)), r"shape \(N, 10\)"),
    (np.zeros(10), r"shape \(N, 10\)"),
    (np.zeros((2, 10, 1)), r"shape \(N, 10\)"),
    (np.zeros((0, 10)), "empty"),
    (np.array([[0.0] * 10, [np.nan] + [0.0] * 9]), "finite.*row 1"),
    (np.array([[np.inf] + [0.0] * 9]), "finite"),
    (np.zeros((3, 10), dtype=bool), "real numbers"),
    (np.zeros((3, 10), dtype=complex), "real numbers"),
    (np.full((1, 10), "a"), "real numbers"),
])
def test_bad_logits_raise(logits, message):
    with pytest.raises(ValueError, match=message):
        label_digits(logits)


@pytest.mark.parametrize("counts", [np.zeros(10), np.array([1, -1, 2]), np.zeros((2, 5)),
                                    np.array([]), np.array([1.0, np.nan])])
def test_bad_counts_raise(counts):
    with pytest.raises(ValueError, match="counts"):
        kl_to_uniform(counts)


# --- the pinned network -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_reports(mnist):
    x, _ = mnist
    return label_images_torch(x), label_images_tf(x)


def test_pinned_network_on_real_digits(mnist, real_reports):
    _, y = mnist
    for report in real_reports:
        assert isinstance(report, DigitReport) and report.n == 500
        assert report.confident_pct >= 90
        assert report.digits_present == 10 and report.confident_digits_present == 10
        assert np.mean(report.labels == y) > 0.97
        # the labels are almost as balanced as the true ones
        assert report.kl_to_uniform < 0.01
    by_torch, by_tf = real_reports
    np.testing.assert_array_equal(by_torch.counts, by_tf.counts)
    np.testing.assert_array_equal(by_torch.confident_counts, by_tf.confident_counts)
    np.testing.assert_allclose(by_torch.confidence, by_tf.confidence, atol=1e-5)


def test_blurs_and_dim_noise_are_rarely_confident(mnist, real_reports):
    x, _ = mnist
    rng = np.random.default_rng(0)
    blends = (x + x[rng.permutation(len(x))]) / 2  # two digits on top of each other
    dim_noise = rng.random((500, 784), dtype=np.float32) * 0.5
    # Measured: 98.0% confident on the real digits, 44.2% on blends, 1.6% on dim noise.
    for label, real in zip((label_images_torch, label_images_tf), real_reports):
        blended, noisy = label(blends), label(dim_noise)
        assert blended.confident_pct < real.confident_pct - 40
        assert noisy.confident_pct < 5
    assert label_images_torch(blends).counts.tolist() == label_images_tf(blends).counts.tolist()


def test_uniform_noise_is_a_confident_eight_that_the_histogram_exposes():
    noise = np.random.default_rng(1).random((500, 784), dtype=np.float32)
    for report in (label_images_torch(noise), label_images_tf(noise)):
        # Far from all training images, the ReLU network extrapolates to huge logits.
        assert report.confident_pct > 95 and report.counts[8] == 500
        assert report.digits_present == 1
        assert report.kl_to_uniform == pytest.approx(math.log(10), rel=1e-14)


def test_torch_input_and_one_network_per_device(mnist):
    import torch

    x = torch.as_tensor(mnist[0][:50], dtype=torch.float64)  # float64 is cast, as in the network
    first = label_images_torch(x)
    assert digits._pinned_torch("cpu") is digits._pinned_torch("cpu")
    second = label_images_torch(mnist[0][:50], device=torch.device("cpu"))
    np.testing.assert_array_equal(first.counts, second.counts)
    assert digits._pinned_torch.cache_info().currsize == 1


@pytest.mark.parametrize("label", [label_images_torch, label_images_tf])
@pytest.mark.parametrize("images, message", [
    (np.zeros((5, 28, 28), np.float32), r"shape \(N, 784\)"),
    (np.zeros((0, 784), np.float32), "empty"),
    (np.full((2, 784), 1.5, np.float32), r"\[0, 1\]"),
    (np.full((2, 784), np.nan, np.float32), r"\[0, 1\]"),
    (np.zeros((2, 784), np.uint8), "integer type"),
])
def test_bad_images_raise(label, images, message):
    with pytest.raises(ValueError, match=message):
        label(images)


# --- storing digits -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_uint8_round_trips_every_level(dtype):
    k = np.resize(np.arange(256), (2, 784))  # every level 0..255, several times
    pixels = to_uint8((k / 255.0).astype(dtype))
    assert pixels.dtype == np.uint8 and pixels.shape == (2, 28, 28)
    np.testing.assert_array_equal(pixels.reshape(2, 784), k)


def test_to_uint8_rounds_half_to_even():
    halves = (np.arange(255) + 0.5) / 255  # x * 255 is exactly k + 0.5 for each of these
    assert np.all(halves * 255 == np.arange(255) + 0.5)
    x = np.zeros(784)
    x[:255] = halves
    pixels = to_uint8(x[None]).reshape(784)[:255]
    expected = np.where(np.arange(255) % 2 == 0, np.arange(255), np.arange(255) + 1)
    np.testing.assert_array_equal(pixels, expected)
    assert pixels[0] == 0 and pixels[1] == 2


def test_to_uint8_and_as_float_match_load_mnist(mnist):
    x, _ = mnist
    pixels, _ = load_mnist("test", subset=500, dtype="uint8", shape="image")
    np.testing.assert_array_equal(to_uint8(x), pixels)
    for shape in [(500, 784), (500, 28, 28), (500, 1, 28, 28), (500, 28, 28, 1)]:
        np.testing.assert_array_equal(to_uint8(x.reshape(shape)), pixels)
    back = as_float(pixels)
    assert back.dtype == np.float32 and back.shape == (500, 784)
    np.testing.assert_array_equal(back, x)
    np.testing.assert_array_equal(as_float(pixels.reshape(500, 784)), x)
    assert to_uint8(pixels) is not pixels and np.array_equal(to_uint8(pixels), pixels)


def test_save_and_load_round_trip_without_pickle(tmp_path, mnist):
    x, _ = mnist
    path = save_samples(tmp_path / "gan" / "samples_epoch3", x[:100], framework="pytorch",
                        seed=np.int64(7), epoch=3, losses=[0.5, 0.25], note="fixed noise")
    assert path == tmp_path / "gan" / "samples_epoch3"  # the name given, no ".npz" added
    images, meta = load_samples(path)
    np.testing.assert_array_equal(images, to_uint8(x[:100]))
    assert meta == {"framework": "pytorch", "seed": 7, "epoch": 3, "losses": [0.5, 0.25],
                    "note": "fixed noise"}
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["images", "meta"]
        assert npz["images"].dtype == np.uint8 and npz["meta"].dtype.kind == "U"
        assert json.loads(str(npz["meta"][0]))["epoch"] == 3
    empty_meta = save_samples(tmp_path / "plain.npz", to_uint8(x[:2]))
    assert load_samples(empty_meta)[1] == {}


def test_two_thousand_digits_stay_small(tmp_path):
    x, _ = load_mnist("test", subset=2000)
    path = save_samples(tmp_path / "digits.npz", x, framework="tensorflow", seed=0)
    # Measured: 330,260 bytes (raw: 1,568,000).
    assert path.stat().st_size < 400_000
    images, _ = load_samples(path)
    np.testing.assert_array_equal(as_float(images), x)


@pytest.mark.parametrize("meta, message", [
    ({"model": object()}, "JSON"),
    ({"loss": float("nan")}, "JSON"),
])
def test_bad_metadata_raises(tmp_path, meta, message):
    with pytest.raises(ValueError, match=message):
        save_samples(tmp_path / "x.npz", np.zeros((2, 784)), **meta)


def test_load_refuses_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a file of save_samples"):
        load_samples(tmp_path / "other.npz")
    np.savez(tmp_path / "wrong.npz", images=np.zeros((2, 28, 28)), meta=np.array(["{}"]))
    with pytest.raises(ValueError, match="uint8"):
        load_samples(tmp_path / "wrong.npz")


@pytest.mark.parametrize("images, message", [
    (np.full((2, 784), 1.01), r"\[0, 1\]"),
    (np.full((2, 784), -0.01), r"\[0, 1\]"),
    (np.full((2, 784), np.nan), r"\[0, 1\]"),
    (np.zeros((2, 27, 27)), "shape"),
    (np.zeros(784), "shape"),
    (np.zeros((0, 784)), "empty"),
    (np.zeros((2, 784), np.int64), "float in"),
])
def test_bad_images_for_storage_raise(tmp_path, images, message):
    with pytest.raises(ValueError, match=message):
        to_uint8(images)
    with pytest.raises(ValueError, match=message):
        save_samples(tmp_path / "x.npz", images)


def test_as_float_takes_only_pixels():
    with pytest.raises(ValueError, match="uint8"):
        as_float(np.zeros((2, 784), np.float32))


# --- animating training ---------------------------------------------------------------------

def _training_frames(x: np.ndarray, epochs: int, rng) -> list[np.ndarray]:
    """Noise that fades into the digits ``x`` (n, 784) over ``epochs`` frames."""
    return [np.clip(x * t + rng.random(x.shape) * (1 - t) * 0.5, 0, 1)
            for t in np.arange(1, epochs + 1) / epochs]


def test_animate_writes_a_small_gif_with_every_frame(tmp_path, mnist):
    rng = np.random.default_rng(0)
    titles = [f"epoch {e}" for e in range(1, 31)]
    path = animate(_training_frames(mnist[0][:64], 30, rng), tmp_path / "anim" / "train.gif",
                   fps=4, titles=titles)
    assert path == tmp_path / "anim" / "train.gif"
    # Measured: 0.81 MB for these frames, 1.26 MB for 30 frames of pure noise.
    assert path.stat().st_size < 2_000_000
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 30 and gif.is_animated
        assert gif.size == (8 * 30 + 2, 8 * 30 + 2 + 14)  # 8 x 8 digits and a title band
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
        assert durations == [250] * 29 + [1250] and gif.info.get("loop") == 0
    noise = [rng.random((64, 784)) for _ in range(30)]
    assert animate(noise, tmp_path / "noise.gif", titles=titles).stat().st_size < 2_000_000


def test_animate_draws_the_digits_dark_on_white(tmp_path, mnist):
    pixels = to_uint8(mnist[0][:12])
    path = animate([pixels, pixels.reshape(12, 784)[::-1]], tmp_path / "two.gif", ncols=5,
                   levels=256)
    with Image.open(path) as gif:
        assert gif.n_frames == 2 and gif.size == (5 * 30 + 2, 3 * 30 + 2)
        first = np.asarray(gif.convert("L"))
    np.testing.assert_array_equal(first[2:30, 2:30], 255 - pixels[0])  # top left digit
    np.testing.assert_array_equal(first[32:60, 62:90], 255 - pixels[7])  # row 1, column 2
    assert (first[62:, 62:] == 255).all()  # the grid's empty cells stay white


def test_animate_keeps_32_grey_levels_by_default(tmp_path, mnist):
    path = animate([mnist[0][:16]], tmp_path / "one.gif")
    with Image.open(path) as gif:
        greys = np.unique(np.asarray(gif.convert("L")))
    assert len(greys) <= 32 and {0, 255} <= set(greys.tolist())


def test_identical_frames_without_titles_merge(tmp_path, mnist):
    x = mnist[0][:8]
    with Image.open(animate([x, x, x], tmp_path / "same.gif", fps=2)) as gif:
        assert gif.n_frames == 1 and gif.info["duration"] == 2500  # 3 x 500 ms + 1 s held


def test_animation_html_embeds_the_gif(tmp_path, mnist):
    path = animate([mnist[0][:16], mnist[0][16:32]], tmp_path / "a.gif", titles=["1", "2"])
    html = animation_html(path).data
    match = re.fullmatch(r'<img src="data:image/gif;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)" '
                         r'width="(\d+)" style="([^"]*)">', html)
    assert match, html[:200]
    assert base64.b64decode(match.group(1)) == path.read_bytes()
    assert int(match.group(3)) == 2 * (8 * 30 + 2)
    assert "max-width: 100%" in match.group(4)
    assert 'alt="a &lt;b&gt;"' in animation_html(path, alt="a <b>", zoom=1).data


def test_animation_html_refuses_other_and_large_files(tmp_path, monkeypatch, mnist):
    other = tmp_path / "x.png"
    Image.new("L", (4, 4)).save(other)
    with pytest.raises(ValueError, match="not a GIF"):
        animation_html(other)
    path = animate([mnist[0][:16]], tmp_path / "a.gif")
    monkeypatch.setattr(digits, "MAX_EMBED_BYTES", 100)
    with pytest.raises(ValueError, match="fewer frames"):
        animation_html(path)
    with pytest.raises(ValueError, match="zoom"):
        animation_html(path, zoom=0)


@pytest.mark.parametrize("frames, kwargs, message", [
    ([], {}, "non-empty list"),
    (np.zeros((2, 4, 784)), {}, "non-empty list"),
    ([np.zeros((4, 784)), np.zeros((5, 784))], {}, "same number of digits.*frame 1 has 5"),
    ([np.zeros((4, 784)), np.full((4, 784), 2.0)], {}, r"frame 1: .*\[0, 1\]"),
    ([np.zeros((4, 784))], {"titles": ["a", "b"]}, "1 strings"),
    ([np.zeros((4, 784))], {"titles": [3]}, "strings"),
    ([np.zeros((4, 784))], {"fps": 0}, "fps"),
    ([np.zeros((4, 784))], {"ncols": 0}, "ncols"),
    ([np.zeros((4, 784))], {"levels": 1}, "levels"),
    ([np.zeros((0, 784))], {}, "frame 0: .*empty"),
])
def test_bad_frames_raise(tmp_path, frames, kwargs, message):
    with pytest.raises(ValueError, match=message):
        animate(frames, tmp_path / "bad.gif", **kwargs)
    assert not (tmp_path / "bad.gif").exists()
