"""Disturbed MNIST, for the FID-versus-disturbance curves of chapter 7.

Heusel et al. (2017, appendix, the figure of disturbed images) show that FID grows steadily
as the images of a data set are disturbed more: Gaussian noise, Gaussian blur, implanted black
rectangles, swirl, salt-and-pepper noise and contamination with images of another kind. This
module redoes those disturbances for MNIST, plus an elastic warp and the loss of whole digit
classes (the mode dropping that chapter 6 watched a GAN do).

Every disturbance is a function ``f(images, labels, level, rng) -> (images, labels)``:

* ``images``: float in [0, 1], shape (N, 28, 28) or (N, 784); the result has the same shape,
  dtype float32, values in [0, 1];
* ``labels``: integers, shape (N,); they follow the images (only :func:`drop_classes` changes
  them);
* ``level``: in [0, 1]. 0 returns an exact copy; 1 is the strongest setting, chosen so the
  digits are badly damaged but still look like a digit data set, which keeps the curve
  informative all the way. Each ``*_MAX`` constant below is the parameter at level 1;
* ``rng``: a ``numpy.random.Generator``, so a seed fixes the result.

The code is NumPy and SciPy only, so the PyTorch and the TensorFlow labs disturb the same
images identically and their FIDs can be compared number for number. With one seed, raising
the level strengthens the same disturbance (the same noise, rectangle positions, warp field),
so a curve over the levels shows the level's effect rather than fresh randomness.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import ndimage

Disturbance = Callable[[np.ndarray, np.ndarray, float, np.random.Generator],
                       tuple[np.ndarray, np.ndarray]]

SIDE = 28  # MNIST images are SIDE x SIDE pixels
NOISE_MAX = 0.75       # mixing weight of the noise; the paper's largest level
NOISE_MEAN, NOISE_STD = 0.5, 0.25  # mid-grey noise whose +-2 std span the pixel range
SIGMA_MAX = 2.0        # blur std in pixels; ~ the paper's 4 px on 64 px faces, scaled to 28 px
RECTANGLES = 5         # the paper's count
RECT_SIDE_MAX = 10.0   # longest rectangle side in pixels, about a third of the image
FRACTION_MAX = 0.3     # share of pixels set to 0 or 1; the paper's largest level
STRENGTH_MAX = 6.0     # swirl angle (radians) at the centre
SWIRL_RADIUS = 14.0    # swirl extent in pixels: the effect fades to ~1/1000 at this distance
ELASTIC_SIGMA = 4.0    # smoothing of the displacement field (Simard et al. 2003)
ALPHA_MAX = 70.0       # displacement scale; Simard et al. augment with 34, we go twice as far


def _disturbance(core: Callable) -> Disturbance:
    """Wrap the math on float64 (N, 28, 28) arrays with the checks and conversions all share."""
    def wrapper(images: np.ndarray, labels: np.ndarray, level: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        images, labels, level = _check(images, labels, level, rng)
        if level == 0:  # exact copy, not "nearly": level 0 is the reference set of the curve
            return images.astype(np.float32, copy=True), labels.copy()
        x = images.reshape(len(images), SIDE, SIDE).astype(np.float64)
        x, labels = core(x, labels.copy(), level, rng)
        # Every disturbance stays in [0, 1] by construction; the clip only removes rounding.
        out = np.clip(x, 0.0, 1.0).astype(np.float32)
        return out.reshape(images.shape), labels

    # Name and docstring from the core, but not functools.wraps: help() and inspect should
    # show the public signature (images, labels, level, rng), not the core's.
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, attr, getattr(core, attr))
    return wrapper


def _check(images, labels, level, rng) -> tuple[np.ndarray, np.ndarray, float]:
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim not in (2, 3) or images.shape[1:] not in ((SIDE * SIDE,), (SIDE, SIDE)):
        raise ValueError(f"images must have shape (N, 28, 28) or (N, 784), got {images.shape}")
    if len(images) == 0:
        raise ValueError("images must hold at least one image")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"images must be floats in [0, 1], got dtype {images.dtype} "
                         "(for uint8 pixels divide by 255 first)")
    if not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1:
        raise ValueError("images must be finite and in [0, 1], got values in "
                         f"[{images.min()}, {images.max()}]")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape ({len(images)},), "
                         f"got {labels.dtype} of shape {labels.shape}")
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise ValueError(f"level must be a number in [0, 1], got {level!r}")
    if not (math.isfinite(level) and 0 <= level <= 1):
        raise ValueError(f"level must be in [0, 1], got {level}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return images, labels, float(level)


def _warp(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Resample each image at source coordinates ``rows, cols`` (each (N, 28, 28)), bilinearly.

    The stack is warped in one call with the image index as an integer first coordinate.
    Order 1 keeps that index exact (higher orders would prefilter across images) and makes
    every output pixel a convex mix of inputs, so values stay in [0, 1]. Outside is black,
    as MNIST's background is.
    """
    index = np.arange(len(x), dtype=np.float64)[:, None, None]
    coords = np.stack([np.broadcast_to(c, x.shape) for c in (index, rows, cols)])
    return ndimage.map_coordinates(x, coords, order=1, mode="constant", cval=0.0)


@_disturbance
def gaussian_noise(x: np.ndarray, labels: np.ndarray, level: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mix each image with Gaussian noise: ``(1 - a) x + a n``, ``a = level * NOISE_MAX``.

    Heusel et al. mix ``(1 - a) X + a N`` with ``N`` Gaussian noise scaled to the pixel range
    and ``a`` up to 0.75 (our level 1). Here ``n ~ N(NOISE_MEAN, NOISE_STD^2)`` per pixel,
    clipped to [0, 1]: mid-grey, with +-2 std reaching black and white (~5 % clipped).
    Shapes: images (N, 28, 28) or (N, 784) → same.
    """
    noise = np.clip(rng.normal(NOISE_MEAN, NOISE_STD, size=x.shape), 0.0, 1.0)
    a = level * NOISE_MAX
    return (1 - a) * x + a * noise, labels


@_disturbance
def gaussian_blur(x: np.ndarray, labels: np.ndarray, level: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Blur each image with a Gaussian of std ``level * SIGMA_MAX`` pixels (``rng`` unused).

    Same as ``scipy.ndimage.gaussian_filter(image, sigma, mode="constant")`` image by image
    (zero outside: MNIST's background). Heusel et al. use std up to 4 px on 64 px images.
    Shapes: images (N, 28, 28) or (N, 784) → same.
    """
    sigma = level * SIGMA_MAX
    # sigma 0 on the stack axis: images are blurred one by one, never into each other.
    return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma), mode="constant"), labels


@_disturbance
def black_rectangles(x: np.ndarray, labels: np.ndarray, level: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Paint ``RECTANGLES`` black rectangles per image, sides growing with the level.

    As in Heusel et al., five rectangles at random places; here each side is
    ``level * RECT_SIDE_MAX * u`` with ``u ~ U(0.5, 1)`` drawn per side (so they are not all
    squares), centred uniformly in the image and cut off at its border. A pixel is blacked
    out when its centre lies inside. The draws do not depend on the level, so with one seed
    a higher level grows the same rectangles.
    Shapes: images (N, 28, 28) or (N, 784) → same.
    """
    n = len(x)
    centres = rng.uniform(0, SIDE, size=(n, RECTANGLES, 2))
    half = level * RECT_SIDE_MAX * rng.uniform(0.5, 1.0, size=(n, RECTANGLES, 2)) / 2
    pixel = np.arange(SIDE) + 0.5  # pixel centres
    low, high = (centres - half)[..., None], (centres + half)[..., None]  # (n, R, 2, 1)
    inside = (low <= pixel) & (pixel < high)  # (n, R, 2, SIDE): rows and columns covered
    covered = np.zeros(x.shape, dtype=bool)
    for r in range(RECTANGLES):  # a loop keeps the mask (n, 28, 28) rather than (n, R, 28, 28)
        covered |= inside[:, r, 0, :, None] & inside[:, r, 1, None, :]
    return np.where(covered, 0.0, x), labels


@_disturbance
def salt_and_pepper(x: np.ndarray, labels: np.ndarray, level: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Set a share ``level * FRACTION_MAX`` of the pixels to black or white (half each).

    Heusel et al. flip up to 30 % of the pixels. Each pixel is hit with that probability; the
    uniform draw that decides it does not depend on the level, so with one seed a higher level
    hits a superset of the pixels.
    Shapes: images (N, 28, 28) or (N, 784) → same.
    """
    hit = rng.random(x.shape) < level * FRACTION_MAX
    white = rng.random(x.shape) < 0.5
    return np.where(hit, white.astype(np.float64), x), labels


def swirl_warp(x: np.ndarray, strength: float, radius: float = SWIRL_RADIUS) -> np.ndarray:
    """The swirl of scikit-image (and of Heusel et al.) about the image centre.

    The output pixel at polar coordinates ``(r, theta)`` around the centre takes its value
    from ``(r, theta + strength * exp(-5 r / (ln 2 * radius)))`` in the input: a rotation
    by ``strength`` radians at the centre that fades to ~1/1000 of it at ``radius``. Unlike
    scikit-image's default the centre is the true middle (13.5, 13.5), so the warp of a
    centred, radially symmetric image is (up to resampling) the image itself.

    Args:
        x: images, (N, 28, 28), float.
        strength: rotation at the centre in radians; 0 leaves the image unchanged.
        radius: extent of the swirl in pixels.

    Returns:
        (N, 28, 28) float64, bilinearly resampled.
    """
    x = np.asarray(x, dtype=np.float64)
    centre = (SIDE - 1) / 2
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64) - centre
    r = np.hypot(rows, cols)
    theta = np.arctan2(rows, cols) + strength * np.exp(-5 * r / (np.log(2) * radius))
    return _warp(x, centre + r * np.sin(theta), centre + r * np.cos(theta))


@_disturbance
def swirl(x: np.ndarray, labels: np.ndarray, level: float,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Swirl each image by :func:`swirl_warp`, strength ``level * STRENGTH_MAX`` (``rng`` unused).

    Heusel et al. use strengths up to 4 with extent 25 px on 64 px images; on 28 px digits,
    whose strokes mostly lie away from the centre, it takes a stronger twist (6 rad over a
    14 px radius) to damage them as badly.
    Shapes: images (N, 28, 28) or (N, 784) → same.
    """
    return swirl_warp(x, level * STRENGTH_MAX), labels


@_disturbance
def elastic(x: np.ndarray, labels: np.ndarray, level: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Elastic deformation (Simard et al. 2003) with scale ``level * ALPHA_MAX``.

    Each pixel's displacement (rows and columns) starts as ``U(-1, 1)`` noise, is smoothed by a
    Gaussian of std ``ELASTIC_SIGMA`` pixels (so neighbours move together, like rubber) and is
    multiplied by the scale; the image is resampled bilinearly at the displaced positions.
    Simard et al. use std 4 and scale 34 for augmentation that keeps digits readable.
    Shapes: images (N, 28, 28) or (N, 784) → same.
    """
    field = rng.uniform(-1, 1, size=(2, *x.shape))
    field = ndimage.gaussian_filter(field, sigma=(0, 0, ELASTIC_SIGMA, ELASTIC_SIGMA))
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    scale = level * ALPHA_MAX
    return _warp(x, rows + scale * field[0], cols + scale * field[1]), labels


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))  # Python's round() sends 4.5 to 4; we want 5


@_disturbance
def drop_classes(x: np.ndarray, labels: np.ndarray, level: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Remove ``round(level * (C - 1))`` of the C classes present and refill with the others.

    With MNIST's ten digits that is ``round(9 * level)`` classes (halves round up), so at
    level 1 a single digit is left: a data set collapsed onto one mode. The classes to drop
    are a random permutation's first ones, so with one seed a higher level drops a superset.
    Every image of a dropped class is replaced, in its place, by an image of a kept class,
    drawn without replacement from the kept images as long as there are enough (then each is
    used as evenly as possible); labels follow the images. N and the image shape stay.
    Shapes: images (N, 28, 28) or (N, 784) → same; labels (N,) → (N,).
    """
    classes = np.unique(labels)
    dropped = rng.permutation(classes)[:_round_half_up(level * (len(classes) - 1))]
    gone = np.isin(labels, dropped)
    kept, holes = np.flatnonzero(~gone), np.flatnonzero(gone)
    repeats, rest = divmod(len(holes), len(kept))
    sources = np.concatenate([np.tile(kept, repeats),
                              rng.choice(kept, size=rest, replace=False)])
    sources = rng.permutation(sources)
    x[holes], labels[holes] = x[sources], labels[sources]
    return x, labels


DISTURBANCES: dict[str, Disturbance] = {
    "gaussian_noise": gaussian_noise,
    "gaussian_blur": gaussian_blur,
    "black_rectangles": black_rectangles,
    "salt_and_pepper": salt_and_pepper,
    "swirl": swirl,
    "elastic": elastic,
    "drop_classes": drop_classes,
}


def disturb(name: str, images: np.ndarray, labels: np.ndarray, level: float,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Apply the disturbance ``name`` at ``level`` with a generator seeded by ``seed``.

    Shapes: images (N, 28, 28) or (N, 784) → same, float32 in [0, 1]; labels (N,) → (N,).
    """
    if name not in DISTURBANCES:
        raise ValueError(f"unknown disturbance {name!r}; known: {', '.join(DISTURBANCES)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return DISTURBANCES[name](images, labels, level, np.random.default_rng(seed))
