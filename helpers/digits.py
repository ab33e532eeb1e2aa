"""Generated MNIST digits in the GAN chapters: label them, store them, animate training.

The book's pinned MNIST network (:mod:`helpers.features`, 99.3 % test accuracy) labels
generated digits. In layers, as every metric of the book:

- pure math on logits, float64 and NumPy only (:func:`softmax`, :func:`kl_to_uniform`,
  :func:`label_digits`), so both frameworks' labs score their generators identically;
- the network at the edge: :func:`label_images_torch` and :func:`label_images_tf` run the
  pinned network over images (N, 784) in [0, 1] and hand its logits to :func:`label_digits`;
- files: :func:`save_samples` / :func:`load_samples` keep generated digits as uint8 in a
  compressed ``.npz`` (no pickle), :func:`animate` writes a GIF of the same fixed-noise
  samples epoch after epoch and :func:`animation_html` shows it in a notebook.

What :func:`label_digits` measures, for N generated digits with softmax probabilities p:

* the **class histogram** ``counts`` (10,): how many of *all* N digits the network labels
  0, 1, ..., 9 (argmax of p). This is the histogram chapter 6 means when it counts the
  digit classes a generator produces and the spread of their frequencies (as the mode counts
  of the unrolled-GAN and VEEGAN papers, which label every sample); ``digits_present`` is
  its number of non-empty classes and ``kl_to_uniform`` = KL(q ‖ u) = Σ_k q_k log(10 q_k),
  in nats, of its frequencies q against the uniform u = 1/10 (empty classes add 0, since
  0·log 0 = 0). One class only gives log 10 ≈ 2.303, the largest value; k classes equally
  often give log(10/k); a perfectly balanced histogram gives 0. Real MNIST is not exactly
  balanced: its test labels give 0.0017.
* ``confident_pct``: the percentage of digits whose top probability is at least
  :data:`CONFIDENCE` (0.9), a crude quality score: the network labels anything, but it is
  rarely sure of a blur (real test digits: 98 % confident; the average of two test digits:
  44 %; noise in [0, 0.5]: 2 %). It is no proof of quality on its own: uniform noise in
  [0, 1] is far from every training image, and the network calls each such image an 8 with
  p > 0.94 (100 % confident). The histogram exposes that generator: one class, KL = log 10.
  ``confident_counts`` is the histogram of the confident digits only and
  ``confident_digits_present`` its non-empty classes: a class the generator produces only
  as unrecognisable blobs is absent there.

The softmax is computed stably (the row maximum subtracted first) and the threshold is
inclusive, so a digit whose top probability is exactly 0.9 is confident (up to a relative
1e-12, which absorbs the rounding of the softmax).
"""
from __future__ import annotations

import base64
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

CONFIDENCE = 0.9  # a digit is confident when its top class probability is at least this
CLASSES = 10
# The computed top probability is 1 / sum(exp(l - max l)), and no double's reciprocal rounds
# to 0.9: logits whose exact softmax gives 0.9 come out as 0.8999999999999999. Comparing
# with this relative slack keeps such a tie confident, as the inclusive threshold promises.
_TIE = 1e-12
METRICS = ("confident_pct", "kl_to_uniform", "digits_present", "confident_digits_present")
MAX_EMBED_BYTES = 2_000_000  # animation_html refuses larger GIFs: they bloat the notebook

__all__ = ["CLASSES", "CONFIDENCE", "DigitReport", "MAX_EMBED_BYTES", "METRICS", "animate",
           "animation_html", "as_float", "kl_to_uniform", "label_digits", "label_images_tf",
           "label_images_torch", "load_samples", "save_samples", "softmax", "to_uint8"]


# -- pure math on logits ------------------------------------------------------------------------
def _numpy(x) -> np.ndarray:
    """A NumPy view of an array, a torch tensor (any device, in a graph or not) or a TF tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":  # NumPy has no bfloat16
            x = x.float()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x)


def _real(a: np.ndarray, name: str) -> None:
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer)
                               or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"{name} must be real numbers, got dtype {a.dtype}")


def _logits(logits) -> np.ndarray:
    """Checked logits (N, 10) with N >= 1, all finite, as float64."""
    a = _numpy(logits)
    if a.ndim != 2 or a.shape[1] != CLASSES:
        raise ValueError(f"logits must have shape (N, {CLASSES}), got {a.shape}; they are the "
                         "second output of the pinned network, (features, logits)")
    if len(a) == 0:
        raise ValueError("logits are empty: shape (0, 10); there is nothing to label")
    _real(a, "logits")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        raise ValueError(f"logits must be finite: {bad.sum()} of {len(a)} rows hold NaN or inf "
                         f"(the first is row {np.argmax(bad)})")
    return a


def softmax(logits) -> np.ndarray:
    """Class probabilities (N, 10), float64, of logits (N, 10): exp(l - max l), normalised.

    Subtracting each row's maximum first keeps every exponent at most 0, so nothing overflows
    and the top class's term is exactly 1.
    """
    z = _logits(logits)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def kl_to_uniform(counts) -> float:
    """KL(q ‖ uniform) in nats of a histogram ``counts`` (K,) over K classes.

    q = counts / counts.sum(); empty classes add 0 (0·log 0 = 0). Ranges from 0 (balanced)
    to log K (a single class).
    """
    c = _numpy(counts)
    if c.ndim != 1 or len(c) == 0:
        raise ValueError(f"counts must have shape (K,) with K >= 1, got {c.shape}")
    _real(c, "counts")
    c = c.astype(np.float64)
    if not np.isfinite(c).all() or (c < 0).any() or c.sum() <= 0:
        raise ValueError(f"counts must be finite, non-negative and not all zero, got {c}")
    q = c[c > 0] / c.sum()
    return float(np.sum(q * np.log(q * len(c))))


@dataclass(frozen=True, eq=False)  # eq=False: == on array fields would be ambiguous
class DigitReport:
    """How the pinned network labels N digits (see the module docstring).

    ``labels`` (N,) int64: argmax class of each digit; ``confidence`` (N,) float64: its top
    probability; ``counts`` and ``confident_counts`` (10,) int64: the class histogram of all
    digits and of the confident ones. Arrays are read-only.
    """

    n: int
    confident_pct: float
    kl_to_uniform: float
    digits_present: int
    confident_digits_present: int
    counts: np.ndarray
    confident_counts: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        for name, dtype in (("counts", np.int64), ("confident_counts", np.int64),
                            ("labels", np.int64), ("confidence", np.float64)):
            array = np.array(getattr(self, name), dtype=dtype)
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    def metrics(self) -> dict[str, float]:
        """``{"confident_pct", "kl_to_uniform", "digits_present", "confident_digits_present"}``
        as floats, ready for ``save_results``."""
        return {name: float(getattr(self, name)) for name in METRICS}

    def __str__(self) -> str:
        return (f"{self.n} digits: {self.digits_present}/10 classes "
                f"({self.confident_digits_present} confidently), "
                f"{self.confident_pct:.1f}% confident (p >= {CONFIDENCE}), "
                f"KL to uniform {self.kl_to_uniform:.4f}")


def label_digits(logits) -> DigitReport:
    """Label N digits from the pinned network's ``logits`` (N, 10).

    ``logits``: NumPy array, torch tensor (any device) or TensorFlow tensor of real numbers,
    all finite, N >= 1; scored in float64.
    """
    p = softmax(logits)  # (N, 10)
    labels = p.argmax(axis=1)  # (N,)
    confidence = p[np.arange(len(p)), labels]  # (N,)
    confident = confidence >= CONFIDENCE * (1 - _TIE)
    counts = np.bincount(labels, minlength=CLASSES)
    confident_counts = np.bincount(labels[confident], minlength=CLASSES)
    return DigitReport(n=len(p), confident_pct=float(100.0 * confident.sum() / len(p)),
                       kl_to_uniform=kl_to_uniform(counts),
                       digits_present=int((counts > 0).sum()),
                       confident_digits_present=int((confident_counts > 0).sum()),
                       counts=counts, confident_counts=confident_counts,
                       labels=labels, confidence=confidence)


# -- the pinned network at the edge -------------------------------------------------------------
def _check_batch(images) -> None:
    """Shape (N, 784) with N >= 1; the network itself checks the type and the [0, 1] range."""
    shape = tuple(getattr(images, "shape", np.shape(images)))
    if len(shape) != 2 or shape[1] != 784:
        raise ValueError(f"images must have shape (N, 784), got {shape}; reshape with "
                         "x.reshape(len(x), 784)")
    if shape[0] == 0:
        raise ValueError("images are empty: shape (0, 784); there is nothing to label")


@functools.lru_cache(maxsize=None)
def _pinned_torch(device: str):
    from .features import features_torch

    return features_torch("pinned", device=device)


@functools.lru_cache(maxsize=1)
def _pinned_tf():
    from .features import features_tf

    return features_tf("pinned")


def label_images_torch(images, *, device="cpu", batch_size: int = 2000) -> DigitReport:
    """:func:`label_digits` of float images (N, 784) in [0, 1] (NumPy or a torch tensor),
    labelled by the pinned network in PyTorch on ``device`` (built once per device)."""
    import torch

    from .evaluate import predict_torch

    _check_batch(images)
    device = str(torch.device(device))  # "cpu" and torch.device("cpu") share one network
    _, logits = predict_torch(_pinned_torch(device), images, batch_size=batch_size)
    return label_digits(logits)


def label_images_tf(images, *, batch_size: int = 2000) -> DigitReport:
    """:func:`label_digits` of float images (N, 784) in [0, 1] (NumPy or a ``tf.Tensor``),
    labelled by the pinned network in Keras (built once)."""
    from .evaluate import predict_tf

    _check_batch(images)
    _, logits = predict_tf(_pinned_tf(), images, batch_size=batch_size)
    return label_digits(logits)


# -- storing digits -----------------------------------------------------------------------------
def _grids(images) -> np.ndarray:
    """Checked images (N, 784), (N, 28, 28), (N, 1, 28, 28) or (N, 28, 28, 1), N >= 1, float
    in [0, 1] or uint8, as an array (N, 28, 28) of the same dtype."""
    a = _numpy(images)
    if a.ndim in (2, 3, 4) and a.shape[1:] in ((784,), (28, 28), (1, 28, 28), (28, 28, 1)):
        a = a.reshape(len(a), 28, 28)
    else:
        raise ValueError("images must have shape (N, 784), (N, 28, 28), (N, 1, 28, 28) or "
                         f"(N, 28, 28, 1), got {a.shape}")
    if len(a) == 0:
        raise ValueError(f"images are empty: shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"images must be float in [0, 1] or uint8, got dtype {a.dtype}")
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"images must lie in [0, 1], but {bad.sum()} values are NaN or inf; "
                         "did the generator diverge?")
    if a.min() < 0 or a.max() > 1:
        raise ValueError(f"images must lie in [0, 1], got values in [{a.min():.3g}, "
                         f"{a.max():.3g}]; map tanh outputs with (x + 1) / 2")
    return a


def to_uint8(images) -> np.ndarray:
    """Float images in [0, 1] as uint8 pixels (N, 28, 28).

    Each value x becomes round(255 x), computed in float64 and rounded half to even
    (``np.rint``): k / 255 comes back as exactly k, 0.5 / 255 as 0 and 1.5 / 255 as 2.
    Shapes: (N, 784), (N, 28, 28), (N, 1, 28, 28) or (N, 28, 28, 1); values outside [0, 1]
    or NaN raise ``ValueError``. uint8 input is returned as a copy of shape (N, 28, 28).
    """
    a = _grids(images)
    if a.dtype == np.uint8:
        return a.copy()
    return np.rint(a.astype(np.float64) * 255.0).astype(np.uint8)


def as_float(images_uint8) -> np.ndarray:
    """uint8 pixels (N, 28, 28) or (N, 784) as float32 images (N, 784) in [0, 1] (x / 255),
    what the pinned network and the FID take."""
    a = _numpy(images_uint8)
    if a.dtype != np.uint8:
        raise ValueError(f"as_float takes uint8 pixels (from load_samples), got dtype {a.dtype}")
    return _grids(a).reshape(len(a), 784).astype(np.float32) / 255.0


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):  # np.int64(3), np.float32(0.5): a seed from NumPy
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def save_samples(path: str | Path, images, **meta) -> Path:
    """Write generated digits to a compressed ``.npz`` at ``path`` (exactly that name).

    ``images``: float (N, 784) or (N, 28, 28) in [0, 1] (stored as :func:`to_uint8`), or
    uint8. ``meta``: JSON-serialisable keyword arguments (``framework="pytorch", seed=0,
    epoch=20``), stored as a one-element string array holding their JSON, so that the file
    loads without pickle. 2,000 MNIST test digits take 330 kB; noisy samples compress worse
    (uniform noise: 1.57 MB, the raw size). Returns the path.
    """
    pixels = to_uint8(images)
    try:
        text = json.dumps(meta, default=_json_default, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"meta must be JSON-serialisable (str, numbers, lists, dicts): {error}"
                         ) from error
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:  # a file object: NumPy would append ".npz" to a name
        np.savez_compressed(file, images=pixels, meta=np.array([text]))
    return path


def load_samples(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a file of :func:`save_samples`, without pickle.

    Returns ``(images, meta)``: uint8 pixels (N, 28, 28) (:func:`as_float` gives the float
    images (N, 784)) and the metadata dict.
    """
    with np.load(Path(path), allow_pickle=False) as npz:
        if set(npz.files) != {"images", "meta"}:
            raise ValueError(f"{path} is not a file of save_samples: it holds {sorted(npz.files)}")
        images, meta = npz["images"], npz["meta"]
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{path}: images must be uint8 (N, 28, 28), got {images.dtype} "
                         f"{images.shape}")
    if meta.shape != (1,) or meta.dtype.kind != "U":
        raise ValueError(f"{path}: meta must be one JSON string, got {meta.dtype} {meta.shape}")
    return images, json.loads(str(meta[0]))


# -- animating training -------------------------------------------------------------------------
def _tile(pixels: np.ndarray, ncols: int, pad: int = 2) -> np.ndarray:
    """uint8 digits (n, 28, 28), dark on white as plots.image_grid draws them, tiled into one
    uint8 image (rows * (28 + pad) + pad, ncols * (28 + pad) + pad)."""
    n = len(pixels)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    step = 28 + pad
    grid = np.full((nrows * step + pad, ncols * step + pad), 255, np.uint8)
    for i, digit in enumerate(pixels):
        r, c = divmod(i, ncols)
        grid[pad + r * step:pad + r * step + 28, pad + c * step:pad + c * step + 28] = 255 - digit
    return grid


def animate(frames: Sequence, path: str | Path, *, fps: float = 4,
            titles: Sequence[str] | None = None, ncols: int = 8, levels: int = 32) -> Path:
    """Write a looping GIF with one grid of digits per frame; returns ``path``.

    Args:
        frames: a list of F >= 1 batches of the same n digits, each (n, 784) or (n, 28, 28),
            float in [0, 1] or uint8; e.g. the samples of one fixed noise after each epoch.
        path: the GIF to write (folders are created).
        fps: frames per second; the last frame is held one second longer.
        titles: F strings written above the grids, such as ``"epoch 3"``, or None.
        ncols: digits per row of a grid.
        levels: grey levels kept (2 to 256); 32 look like 256 at this size and halve the
            file of a noisy early epoch.

    Digits are drawn dark on white, like ``image_grid``, one GIF pixel per MNIST pixel
    (:func:`animation_html` enlarges them on the page). 30 frames of 64 digits take 10 kB
    to 0.8 MB, depending on how noisy the digits are, and at most about 1.3 MB (pure noise).
    A GIF shows two identical consecutive frames as one held twice as long (Pillow writes
    them so), so a file can hold fewer than F frames unless titles tell them apart.
    """
    from PIL import Image, ImageDraw, ImageFont

    if isinstance(frames, np.ndarray) or not isinstance(frames, Sequence) or not frames:
        raise ValueError("frames must be a non-empty list of image batches (n, 784) or "
                         "(n, 28, 28)")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 50:
        raise ValueError(f"fps must be a number in (0, 50], got {fps!r}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= 256:
        raise ValueError(f"levels must be an int in [2, 256], got {levels!r}")
    if titles is not None:
        titles = list(titles)
        if len(titles) != len(frames) or not all(isinstance(t, str) for t in titles):
            raise ValueError(f"titles must be {len(frames)} strings, one per frame, got {titles!r}")
    grids = []
    for i, frame in enumerate(frames):
        try:
            pixels = to_uint8(frame)
        except ValueError as error:
            raise ValueError(f"frame {i}: {error}") from error
        if i == 0:
            n = len(pixels)
        elif len(pixels) != n:
            raise ValueError(f"every frame must hold the same number of digits: frame 0 has "
                             f"{n}, frame {i} has {len(pixels)}")
        step = (levels - 1) / 255  # to the nearest of `levels` evenly spaced greys
        pixels = np.rint(np.rint(pixels * step) / step).astype(np.uint8)
        grids.append(_tile(pixels, ncols))

    band = 14 if titles is not None else 0  # pixels above the grid for the title
    font = ImageFont.load_default()
    images = []
    for i, grid in enumerate(grids):
        height, width = grid.shape
        image = Image.new("L", (width, height + band), 255)
        image.paste(Image.fromarray(grid, "L"), (0, band))
        if titles is not None:
            ImageDraw.Draw(image).text((width // 2, band // 2 + 1), titles[i], fill=0,
                                       font=font, anchor="mm")
        images.append(image)
    durations = [round(1000 / fps)] * len(images)
    durations[-1] += 1000
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=durations, loop=0)
    return path


def animation_html(path: str | Path, *, zoom: float = 2,
                   alt: str = "generated digits during training"):
    """An ``IPython.display.HTML`` that shows the GIF at ``path`` in a notebook's output.

    The GIF travels inside the output as a base64 ``data:`` URI of an ``<img>``, so the page
    jupyter-book builds from the stored notebook shows it with no file beside it (and the
    notebook shows it in Jupyter and Colab alike). It is drawn ``zoom`` times its size with
    sharp pixels, never wider than the text column. GIFs over :data:`MAX_EMBED_BYTES` are
    refused: they would bloat the notebook (animate fewer frames or digits).
    """
    from html import escape

    from IPython.display import HTML

    if isinstance(zoom, bool) or not isinstance(zoom, (int, float)) or not zoom > 0:
        raise ValueError(f"zoom must be a positive number, got {zoom!r}")
    data = Path(path).read_bytes()
    if not data.startswith((b"GIF87a", b"GIF89a")) or len(data) < 10:
        raise ValueError(f"{path} is not a GIF")
    if len(data) > MAX_EMBED_BYTES:
        raise ValueError(f"{path} has {len(data):,} bytes, more than {MAX_EMBED_BYTES:,} to "
                         "embed in a notebook; animate fewer frames or fewer digits")
    width = int.from_bytes(data[6:8], "little")  # the GIF header's logical screen width
    uri = "data:image/gif;base64," + base64.b64encode(data).decode("ascii")
    return HTML(f'<img src="{uri}" alt="{escape(alt)}" width="{round(zoom * width)}" '
                'style="max-width: 100%; height: auto; image-rendering: pixelated;">')
