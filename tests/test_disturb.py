import numpy as np
import pytest
from scipy import ndimage

from helpers import disturb, load_mnist
from helpers.disturb import DISTURBANCES, gaussian_blur, swirl_warp

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
PIXEL_DISTURBANCES = [name for name in DISTURBANCES if name != "drop_classes"]
RANDOM_DISTURBANCES = [name for name in DISTURBANCES if name not in ("gaussian_blur", "swirl")]


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("test", subset=100, shape="image")


def _centred(radius_of_pixel) -> np.ndarray:
    """A (1, 28, 28) image whose pixels depend only on their distance to the image centre."""
    rows, cols = np.mgrid[0:28, 0:28] - 13.5
    return radius_of_pixel(np.hypot(rows, cols))[None].astype(np.float32)


def test_disturbances_in_the_documented_order():
    assert list(DISTURBANCES) == ["gaussian_noise", "gaussian_blur", "black_rectangles",
                                  "salt_and_pepper", "swirl", "elastic", "drop_classes"]


@pytest.mark.parametrize("name", DISTURBANCES)
def test_level_zero_is_an_exact_copy(name, mnist):
    x, y = mnist
    out, labels = disturb.disturb(name, x, y, 0.0, seed=0)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(labels, y)
    assert out is not x and not np.shares_memory(out, x) and not np.shares_memory(labels, y)


@pytest.mark.parametrize("name", DISTURBANCES)
@pytest.mark.parametrize("flat", [False, True])
def test_output_float32_in_unit_interval_with_input_shape(name, flat, mnist):
    x, y = mnist
    x = x.reshape(len(x), 784) if flat else x
    for level in LEVELS:
        out, labels = disturb.disturb(name, x, y, level, seed=1)
        assert out.shape == x.shape and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
        assert labels.shape == y.shape


@pytest.mark.parametrize("name", DISTURBANCES)
def test_same_seed_same_output(name, mnist):
    x, y = mnist
    a, la = disturb.disturb(name, x, y, 0.6, seed=3)
    b, lb = disturb.disturb(name, x, y, 0.6, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)


@pytest.mark.parametrize("name", RANDOM_DISTURBANCES)
def test_different_seed_different_output(name, mnist):
    x, y = mnist
    a, _ = disturb.disturb(name, x, y, 0.6, seed=3)
    b, _ = disturb.disturb(name, x, y, 0.6, seed=4)
    assert not np.array_equal(a, b)


def test_input_is_left_alone(mnist):
    x, y = mnist
    x0, y0 = x.copy(), y.copy()
    for name in DISTURBANCES:
        disturb.disturb(name, x, y, 1.0, seed=0)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("name", PIXEL_DISTURBANCES)
def test_damage_grows_with_level(name, mnist):
    x, y = mnist
    damage = [np.abs(disturb.disturb(name, x, y, level, seed=5)[0] - x).mean()
              for level in LEVELS]
    assert damage[0] == 0
    assert np.all(np.diff(damage) > 0), damage


def test_blur_is_scipy_gaussian_filter(mnist):
    x, y = mnist
    out, _ = gaussian_blur(x[:10], y[:10], 0.5, np.random.default_rng(0))
    sigma = 0.5 * disturb.SIGMA_MAX
    expected = [ndimage.gaussian_filter(image.astype(np.float64), sigma, mode="constant")
                for image in x[:10]]
    np.testing.assert_allclose(out, np.array(expected), atol=1e-6)


def test_swirl_of_strength_zero_is_identity(mnist):
    x, _ = mnist
    np.testing.assert_allclose(swirl_warp(x[:10], 0.0), x[:10], atol=1e-9)


def test_swirl_leaves_a_centred_disc_and_moves_a_digit(mnist):
    # A soft-edged disc: radially symmetric and smooth, so resampling it changes little.
    disc = _centred(lambda r: 1 / (1 + np.exp(r - 8)))
    strength = disturb.STRENGTH_MAX
    assert np.abs(swirl_warp(disc, strength) - disc).max() < 0.03
    x, _ = mnist
    assert np.abs(swirl_warp(x, strength) - x).mean() > 0.05
    bar = np.zeros((1, 28, 28))
    bar[0, 12:16, 4:24] = 1  # a horizontal bar through the centre: not symmetric
    assert np.abs(swirl_warp(bar, strength) - bar).max() > 0.5


@pytest.mark.parametrize("level, removed", [(0.25, 2), (0.5, 5), (0.75, 7), (1.0, 9)])
def test_drop_classes_keeps_n_and_pairs_images_with_labels(level, removed, mnist):
    x, y = mnist
    out, labels = disturb.disturb("drop_classes", x, y, level, seed=2)
    assert len(out) == len(x) and len(np.unique(labels)) == 10 - removed
    # Every output image is an input image with the same label.
    flat_in, flat_out = x.reshape(len(x), -1), out.reshape(len(out), -1)
    for image, label in zip(flat_out, labels):
        matches = np.flatnonzero((flat_in == image).all(axis=1))
        assert matches.size and label in y[matches]
    # Images of kept classes stay where they were.
    kept = np.isin(y, labels)
    np.testing.assert_array_equal(out[kept], x[kept])


def test_drop_classes_refills_without_replacement_when_it_can(mnist):
    x, y = mnist
    out, labels = disturb.disturb("drop_classes", x, y, 0.25, seed=0)  # drops 2 of 10
    _, counts = np.unique(out.reshape(len(out), -1), axis=0, return_counts=True)
    # The kept images outnumber the holes, so each is copied into at most one hole.
    assert len(counts) == np.isin(y, labels).sum() and counts.max() == 2


def test_drop_classes_at_full_level_leaves_one_class_of_repeats():
    images = np.linspace(0, 1, 20 * 784, dtype=np.float32).reshape(20, 28, 28)
    labels = np.repeat(np.arange(10), 2)
    out, new_labels = disturb.disturb("drop_classes", images, labels, 1.0, seed=0)
    (survivor,) = np.unique(new_labels)
    originals = images[labels == survivor]
    # 20 slots, 2 originals: each is used 10 times, as evenly as possible.
    counts = [sum(np.array_equal(o, image) for image in out) for o in originals]
    assert counts == [10, 10]


BAD_INPUT = {
    "uint8 images": dict(images=np.zeros((4, 28, 28), np.uint8)),
    "wrong image shape": dict(images=np.zeros((4, 32, 32), np.float32)),
    "no batch axis": dict(images=np.zeros((28, 28), np.float32)),
    "empty batch": dict(images=np.zeros((0, 28, 28), np.float32), labels=np.zeros(0, int)),
    "above one": dict(images=np.full((4, 28, 28), 1.5, np.float32)),
    "below zero": dict(images=np.full((4, 28, 28), -0.1, np.float32)),
    "nan pixel": dict(images=np.full((4, 28, 28), np.nan, np.float32)),
    "labels too short": dict(labels=np.zeros(3, int)),
    "float labels": dict(labels=np.zeros(4)),
    "level above one": dict(level=1.5),
    "negative level": dict(level=-0.1),
    "nan level": dict(level=float("nan")),
    "infinite level": dict(level=float("inf")),
    "bool level": dict(level=True),
    "string level": dict(level="0.5"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_raises_value_error(case):
    args = dict(images=np.zeros((4, 28, 28), np.float32), labels=np.zeros(4, int), level=0.5)
    args.update(BAD_INPUT[case])
    for name, f in DISTURBANCES.items():
        with pytest.raises(ValueError):
            f(args["images"], args["labels"], args["level"], np.random.default_rng(0))


def test_bad_rng_seed_and_name():
    x, y = np.zeros((4, 28, 28), np.float32), np.zeros(4, int)
    with pytest.raises(TypeError, match="Generator"):
        disturb.swirl(x, y, 0.5, 0)
    with pytest.raises(ValueError, match="seed"):
        disturb.disturb("swirl", x, y, 0.5, seed=-1)
    with pytest.raises(ValueError, match="gaussian_noise, gaussian_blur"):
        disturb.disturb("jpeg", x, y, 0.5)
