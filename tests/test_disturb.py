import math

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


# The documented parameters of each disturbance, written out here rather than read from
# helpers.disturb, so that a changed constant is caught by the statistics below.
NOISE_WEIGHT = 0.75  # gaussian_noise: a = level * 0.75, "a up to 0.75 (our level 1)"
NOISE_MEAN, NOISE_STD = 0.5, 0.25  # "mid-grey, with +-2 std reaching black and white"
RECTANGLES = 5  # black_rectangles: "five rectangles at random places"
RECT_SIDE = 10.0  # longest rectangle side at level 1 (RECT_SIDE_MAX), u ~ U(0.5, 1) of it
FRACTION = 0.3  # salt_and_pepper: "flip up to 30 % of the pixels", half black, half white
ALPHA = 70.0  # elastic: displacement scale at level 1 (ALPHA_MAX)
ELASTIC_SIGMA = 4.0  # elastic: smoothing std in pixels, "Simard et al. use std 4"
# Statistical checks allow 5 standard errors (bounds derived beside each): a normal sampling
# error passes them but for a chance below 1 in 10^6; the seeds are fixed besides.
SIGMAS = 5


def _constant(value: float, n: int) -> np.ndarray:
    return np.full((n, 28, 28), value, dtype=np.float32)


def _clipped_normal_variance(c: float) -> float:
    """Variance of a standard normal Z clipped to [-c, c] (its mean stays 0 by symmetry).

    Integrating by parts, E[Z^2; |Z| < c] = (2 Phi(c) - 1) - 2 c phi(c); the clipped tails
    add c^2 P(|Z| > c) = 2 c^2 (1 - Phi(c)).
    """
    phi = math.exp(-c * c / 2) / math.sqrt(2 * math.pi)
    tail = 0.5 * math.erfc(c / math.sqrt(2))  # 1 - Phi(c)
    return (1 - 2 * tail) - 2 * c * phi + 2 * c * c * tail


@pytest.mark.parametrize("level", [0.5, 1.0])
@pytest.mark.parametrize("grey", [0.0, 0.5, 1.0])
def test_noise_mean_and_spread_follow_the_mixing_formula(grey, level):
    # Constant images x = grey, so every pixel is (1 - a) x + a n with its own draw
    # n = clip(N(0.5, 0.25^2), 0, 1) = 0.5 + 0.25 clip(Z, -2, 2): i.i.d., mean 0.5 (the clip
    # is symmetric about it), variance 0.25^2 V(2). Hence pixel mean (1 - a) x + a / 2 and
    # variance a^2 0.25^2 V(2); x = 0 alone could not tell the mix from x + a n.
    n = 100
    out, _ = disturb.disturb("gaussian_noise", _constant(grey, n), np.zeros(n, int), level,
                             seed=6)
    pixels = out.astype(np.float64).ravel()
    a = level * NOISE_WEIGHT
    mean = (1 - a) * grey + a * NOISE_MEAN
    variance = a**2 * NOISE_STD**2 * _clipped_normal_variance(NOISE_MEAN / NOISE_STD)
    # Standard error of the mean: sqrt(variance / N). For the spread, the squared deviation
    # d^2 = a^2 (n - 0.5)^2 has variance <= E[d^4] <= max(d^2) E[d^2] = (a / 2)^2 variance,
    # as |n - 0.5| <= 1/2.
    assert abs(pixels.mean() - mean) < SIGMAS * math.sqrt(variance / pixels.size)
    squared = np.mean((pixels - mean) ** 2)
    assert abs(squared - variance) < SIGMAS * (a / 2) * math.sqrt(variance / pixels.size)


@pytest.mark.parametrize("level", [0.5, 1.0])
def test_salt_and_pepper_hits_the_documented_share_half_white(level):
    # On mid-grey images every changed pixel is a hit; hits are i.i.d. with probability
    # p = 0.3 level (binomial standard error sqrt(p (1 - p) / N)), and each hit is white with
    # probability 1/2 (standard error sqrt(1/4 / hits)).
    n = 100
    out, _ = disturb.disturb("salt_and_pepper", _constant(0.5, n), np.zeros(n, int), level,
                             seed=7)
    hit = out != 0.5
    assert np.all((out[hit] == 0) | (out[hit] == 1))
    p = level * FRACTION
    assert abs(hit.mean() - p) < SIGMAS * math.sqrt(p * (1 - p) / hit.size)
    white = out[hit] == 1
    assert abs(white.mean() - 0.5) < SIGMAS * math.sqrt(0.25 / white.size)


@pytest.mark.parametrize("level", [0.5, 1.0])
def test_black_rectangles_cover_the_documented_share(level):
    # A rectangle's centre is U(0, 28) on each axis and its half side h = level 10 u / 2,
    # u ~ U(0.5, 1), so E[h] = 3.75 level <= 5 px. A pixel centre p at least 5 px from the
    # border is covered on one axis with probability E[2 h] / 28, on both with
    # q = (E[2 h] / 28)^2 (independent axes), and by one of the 5 independent rectangles with
    # P = 1 - (1 - q)^5. Pixels of one image are correlated, so the unit is the image: its
    # covered share of the interior lies in [0, 1], variance <= P (1 - P).
    n = 2000
    out, _ = disturb.disturb("black_rectangles", _constant(1.0, n), np.zeros(n, int), level,
                             seed=8)
    interior = out[:, 5:23, 5:23]  # pixel centres 5.5 ... 22.5
    covered = (interior == 0).mean(axis=(1, 2))
    q = (level * RECT_SIDE * 0.75 / 28) ** 2
    share = 1 - (1 - q) ** RECTANGLES
    assert abs(covered.mean() - share) < SIGMAS * math.sqrt(share * (1 - share) / n)


def _elastic_field_variance() -> np.ndarray:
    """Per-pixel variance of one smoothed displacement component, before the scale: (28, 28).

    A component is U(-1, 1) noise (variance 1/3) smoothed by a Gaussian of std 4 pixels, so at
    each pixel it is a weighted sum of independent draws with variance (1/3) sum w^2. The
    weights are the smoothing of a unit impulse (scipy's gaussian_filter folds them back at
    the border); in 2-D they are the product of the 1-D weights of the row and the column.
    """
    weights = ndimage.gaussian_filter1d(np.eye(28), ELASTIC_SIGMA, axis=0)  # row p: weights of p
    w2 = (weights**2).sum(axis=1)
    return np.outer(w2, w2) / 3


@pytest.mark.parametrize("level", [0.1, 0.25])
def test_elastic_displacement_has_the_documented_size(level):
    # On the ramp x = (row + col) / 54, bilinear resampling is exact, so a pixel whose
    # displaced source stays inside the image changes by (d_row + d_col) / 54. Pixels 6 px from
    # the border qualify: the displacement's std there is <= 0.25 * 70 * 0.044 < 0.8 px, so
    # 6 px is over 7 std.
    # The two components are independent with variance scale^2 V each, so
    # E[(54 change)^2] = 2 scale^2 V. Per image the mean Y over the interior has
    # sd <= max sd(Y) <= sqrt(2) max E[Y], as Y is the square of a symmetric sum of weighted
    # uniforms, whose kurtosis is at most the normal's 3 (so var(Y) <= 2 E[Y]^2).
    n = 2000
    rows, cols = np.mgrid[0:28, 0:28]
    ramp = np.broadcast_to((rows + cols) / 54, (n, 28, 28)).astype(np.float32)
    out, _ = disturb.disturb("elastic", ramp, np.zeros(n, int), level, seed=9)
    inner = slice(6, 22)
    change = (out.astype(np.float64) - ramp)[:, inner, inner] * 54
    scale = level * ALPHA
    expected = 2 * scale**2 * _elastic_field_variance()[inner, inner]
    per_image = (change**2).mean(axis=(1, 2))
    bound = SIGMAS * math.sqrt(2) * expected.max() / math.sqrt(n)
    assert abs(per_image.mean() - expected.mean()) < bound


@pytest.mark.parametrize("name, background", [("salt_and_pepper", 0.5),
                                              ("black_rectangles", 1.0)])
def test_higher_level_same_seed_damages_a_superset(name, background):
    # Documented: with one seed a higher level hits a superset of the pixels (salt and
    # pepper) and grows the same rectangles. On a constant image the damaged pixels are
    # those that changed.
    n = 50
    x, y = _constant(background, n), np.zeros(n, int)
    low_out = disturb.disturb(name, x, y, 0.4, seed=10)[0]
    high_out = disturb.disturb(name, x, y, 0.8, seed=10)[0]
    low, high = low_out != background, high_out != background
    assert low.any() and high.sum() > low.sum()
    assert np.all(high[low])
    # The same disturbance, stronger: a pixel damaged at both levels has the same value.
    np.testing.assert_array_equal(high_out[low], low_out[low])


@pytest.mark.parametrize("name", ["gaussian_noise", "elastic"])
def test_higher_level_same_seed_scales_the_same_draw(name):
    # Documented: with one seed a higher level strengthens the same noise or warp field.
    # The change a (n - x) of the noise is proportional to the level; so is the change of a
    # ramp under elastic (see above) where the sources stay inside: the inner pixels, at
    # levels small enough for that.
    n = 20
    rows, cols = np.mgrid[0:28, 0:28]
    x = np.broadcast_to((rows + cols) / 54, (n, 28, 28)).astype(np.float32)
    y = np.zeros(n, int)
    low = disturb.disturb(name, x, y, 0.1, seed=11)[0].astype(np.float64) - x
    high = disturb.disturb(name, x, y, 0.2, seed=11)[0].astype(np.float64) - x
    inner = slice(6, 22)
    assert np.abs(low[:, inner, inner]).max() > 1e-3
    np.testing.assert_allclose(high[:, inner, inner], 2 * low[:, inner, inner], atol=1e-6)


def test_drop_classes_higher_level_same_seed_drops_a_superset():
    images = np.linspace(0, 1, 20 * 784, dtype=np.float32).reshape(20, 28, 28)
    labels = np.repeat(np.arange(10), 2)
    kept = [set(disturb.disturb("drop_classes", images, labels, level, seed=12)[1])
            for level in (0.3, 0.6, 0.9)]  # 3, 5 and 8 of the 10 classes dropped
    assert [len(k) for k in kept] == [7, 5, 2]
    assert kept[0] >= kept[1] >= kept[2]


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


# --- added with mutation testing (make mutation) ---------------------------------------------

def test_the_shared_wrapper_checks_converts_clips_and_copies():
    # The seven disturbances are wrapped when the module is imported; wrap a known core afresh.
    calls, generators = [], []

    def core(x, labels, level, rng):
        """The core's docstring."""
        calls.append((x.dtype, x.shape, level))
        generators.append(rng)
        x[0], x[1] = -1.0, x[1] + level  # out of [0, 1] below; 0.25 + 0.5 inside
        labels[:] = 9
        return x, labels

    f = disturb._disturbance(core)
    assert (f.__name__, f.__qualname__, f.__doc__, f.__module__) == \
        (core.__name__, core.__qualname__, "The core's docstring.", __name__)
    images, labels = np.full((2, 784), 0.25), np.array([1, 2])  # float64, flat
    rng = np.random.default_rng(0)
    out, out_labels = f(images, labels, 0.5, rng)
    assert calls == [(np.float64, (2, 28, 28), 0.5)] and generators == [rng]
    assert out.shape == (2, 784) and out.dtype == np.float32
    assert out[0].tolist() == [0.0] * 784 and out[1].tolist() == [0.75] * 784
    assert out_labels.tolist() == [9, 9]
    assert labels.tolist() == [1, 2] and np.all(images == 0.25)  # the caller's arrays stay
    top = np.full((2, 28, 28), 0.75, dtype=np.float32)
    assert f(top, np.array([0, 0]), 1.0, np.random.default_rng(0))[0].max() == 1.0  # clipped
    # Level 0: the core is not called and both results are fresh copies.
    calls.clear()
    same, same_labels = f(images, labels, 0, np.random.default_rng(0))
    assert not calls and same.dtype == np.float32 and np.all(same == 0.25)
    assert same_labels.tolist() == [1, 2]
    same[:] = 1.0
    same_labels[:] = 0
    assert np.all(images == 0.25) and labels.tolist() == [1, 2]
    f32 = np.full((2, 28, 28), 0.5, dtype=np.float32)
    assert f(f32, np.array([0, 0]), 0.0, np.random.default_rng(0))[0] is not f32


CHECK_MESSAGES = [
    (dict(images=np.zeros((4, 32, 32), np.float32)),
     r"^images must have shape \(N, 28, 28\) or \(N, 784\), got \(4, 32, 32\)$"),
    (dict(images=np.zeros((4, 28, 28, 1), np.float32)), r"^images must have shape"),
    (dict(images=np.zeros((0, 784), np.float32), labels=np.zeros(0, int)),
     r"^images must hold at least one image$"),
    (dict(images=np.zeros((4, 784), np.uint8)),
     r"^images must be floats in \[0, 1\], got dtype uint8 \(for uint8 pixels divide by 255 "
     r"first\)$"),
    (dict(images=np.full((4, 784), 1.5)),
     r"^images must be finite and in \[0, 1\], got values in \[1\.5, 1\.5\]$"),
    (dict(images=np.full((4, 784), -0.5)), r"got values in \[-0\.5, -0\.5\]$"),
    (dict(labels=np.zeros(3, int)), r"^labels must be integers of shape \(4,\), got int64 of "
                                     r"shape \(3,\)$"),
    (dict(labels=np.zeros((4, 1), int)), r"^labels must be integers of shape \(4,\)"),
    (dict(labels=np.zeros(4)), r"^labels must be integers of shape \(4,\), got float64"),
    (dict(level=True), r"^level must be a number in \[0, 1\], got True$"),
    (dict(level=1.5), r"^level must be in \[0, 1\], got 1\.5$"),
    (dict(level=float("inf")), r"^level must be in \[0, 1\], got inf$"),
]


@pytest.mark.parametrize("case, message", CHECK_MESSAGES)
def test_bad_input_messages(case, message):
    args = dict(images=np.zeros((4, 784), np.float32), labels=np.zeros(4, np.int64), level=0.5)
    args.update(case)
    with pytest.raises(ValueError, match=message):
        disturb.gaussian_noise(args["images"], args["labels"], args["level"],
                               np.random.default_rng(0))


def test_edge_values_are_accepted():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.zeros((1, 784)), np.ones((1, 784))])  # the two ends of [0, 1]
    for level in (0, 1, np.float32(0.5), np.int64(1)):
        out, _ = disturb.gaussian_noise(x, np.array([0, 1], dtype=np.int8), level, rng)
        assert out.shape == (2, 784)
    assert disturb.gaussian_noise(x[:1], np.array([0]), 0.5, rng)[0].shape == (1, 784)
    with pytest.raises(TypeError, match="^rng must be a numpy.random.Generator, got int$"):
        disturb.swirl(x, np.array([0, 1]), 0.5, 0)
    for seed in (0, np.int64(3)):
        disturb.disturb("swirl", x, np.array([0, 1]), 0.5, seed=seed)
    for seed in (True, 1.0):
        with pytest.raises(ValueError, match=r"^seed must be a non-negative int, got"):
            disturb.disturb("swirl", x, np.array([0, 1]), 0.5, seed=seed)
    with pytest.raises(ValueError, match=r"^unknown disturbance 'jpeg'; known: gaussian_noise, "
                                         r"gaussian_blur, black_rectangles, salt_and_pepper, "
                                         r"swirl, elastic, drop_classes$"):
        disturb.disturb("jpeg", x, np.array([0, 1]), 0.5)


def test_disturb_seeds_the_generator_and_passes_the_level():
    x, y = np.full((2, 784), 0.5), np.array([0, 1])
    for name, f in DISTURBANCES.items():
        expected = f(x, y, 0.5, np.random.default_rng(11))
        got = disturb.disturb(name, x, y, 0.5, seed=11)
        assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    assert np.array_equal(disturb.disturb("elastic", x, y, 0.5)[0],
                          disturb.elastic(x, y, 0.5, np.random.default_rng(0))[0])  # seed 0


def test_swirl_warp_samples_a_linear_image_where_the_formula_says():
    # Bilinear resampling reproduces a linear image exactly, so each output pixel must equal
    # the image at the documented source point (r, theta + s exp(-5 r / (ln 2 radius))).
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float64)
    image = ((rows + 2 * cols) / 100 + 0.1).astype(np.float32)[None]
    strength, radius = 2.0, 10.0
    out = swirl_warp(image, strength, radius)
    assert out.dtype == np.float64 and out.shape == (1, 28, 28)
    dr, dc = rows - 13.5, cols - 13.5
    r = np.hypot(dr, dc)
    theta = np.arctan2(dr, dc) + strength * np.exp(-5 * r / (math.log(2) * radius))
    src_r, src_c = 13.5 + r * np.sin(theta), 13.5 + r * np.cos(theta)
    expected = (src_r + 2 * src_c) / 100 + 0.1
    inside = r < 13
    assert inside.sum() > 400
    np.testing.assert_allclose(out[0][inside], expected[inside], rtol=0, atol=1e-6)
