"""Measuring a trained model: reconstruction errors, and running it over a data set.

In layers, as every metric of the book:

- pure math on arrays, in float64 and without a framework: one value per image
  (:func:`squared_error_per_image`, :func:`cross_entropy_per_image`,
  :func:`cross_entropy_with_logits_per_image`), and the mean over images that the labs
  print (:func:`sq_err`, :func:`cross_entropy`);
- the model at the edge: :func:`predict_torch` and :func:`predict_tf` run a model over an
  array in batches, with dropout off and no gradients, and return NumPy arrays.

A lab imports the names it uses: ``from helpers.evaluate import predict_torch, sq_err``.
"""
from __future__ import annotations

import contextlib
import inspect
import itertools
from typing import Callable

import numpy as np

# The clipping of probabilities before a logarithm; Keras' default epsilon.
EPSILON = 1e-7


# -- reconstruction errors on arrays ------------------------------------------------------------
def _float64(x, name: str) -> np.ndarray:
    """``x`` (a NumPy array, or a torch or TensorFlow tensor) as a float64 NumPy array."""
    if hasattr(x, "detach"):  # torch, on any device and of any float type (bfloat16 too)
        x = x.detach().cpu().double()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from error


def _pair(x_hat, x) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Both arrays in float64, checked: the same shape (N, ...) with N >= 1 and at least one
    axis of pixels. Also returns the pixel axes, summed over per image."""
    x_hat, x = _float64(x_hat, "x_hat"), _float64(x, "x")
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat and x must have the same shape, got {x_hat.shape} and {x.shape}")
    if x.ndim < 2:
        raise ValueError(f"images must have shape (N, pixels...), got {x.shape}; "
                         "a single image needs a leading axis: x[None]")
    if len(x) == 0:
        raise ValueError("no images: the mean over an empty set is undefined")
    return x_hat, x, tuple(range(1, x.ndim))


def _check_unit_interval(a: np.ndarray, name: str, hint: str = "") -> None:
    if np.isnan(a).any() or a.min() < 0 or a.max() > 1:
        raise ValueError(f"{name} must lie in [0, 1], got values in [{np.nanmin(a):.3g}, "
                         f"{np.nanmax(a):.3g}]{hint}")


def squared_error_per_image(x_hat, x) -> np.ndarray:
    """Squared error of each reconstruction, summed over its pixels.

    Args:
        x_hat, x: reconstructions and images of one shape (N, 784) (or (N, 28, 28), ...).

    Returns:
        float64 array (N,): ``sum_j (x_hat[n, j] - x[n, j])**2`` for each image n.
    """
    x_hat, x, pixels = _pair(x_hat, x)
    return ((x_hat - x) ** 2).sum(axis=pixels)


def sq_err(x_hat, x) -> float:
    """Squared error per image (summed over pixels), averaged over images: the book's
    reconstruction error. Shapes as in :func:`squared_error_per_image`."""
    return float(squared_error_per_image(x_hat, x).mean())


def cross_entropy_per_image(x_hat, x, *, eps: float = EPSILON) -> np.ndarray:
    """Binary cross-entropy of each reconstruction, in nats, summed over its pixels.

    Args:
        x_hat: reconstructed pixel probabilities in [0, 1], shape (N, 784) or (N, ...);
            clipped to [eps, 1 - eps] so that a pixel predicted as exactly 0 or 1 costs
            ``-log(eps)`` instead of infinity (as Keras does).
        x: the images, grey values in [0, 1], the same shape.

    Returns:
        float64 array (N,): ``-sum_j x log x_hat + (1 - x) log(1 - x_hat)``.
    """
    x_hat, x, pixels = _pair(x_hat, x)
    _check_unit_interval(x_hat, "x_hat", " (for logits use cross_entropy_with_logits_per_image)")
    _check_unit_interval(x, "x")
    if not 0 <= eps < 0.5:
        raise ValueError(f"eps must be in [0, 0.5), got {eps}")
    x_hat = np.clip(x_hat, eps, 1 - eps)
    return -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat)).sum(axis=pixels)


def cross_entropy(x_hat, x, *, eps: float = EPSILON) -> float:
    """Binary cross-entropy per image (summed over pixels) of reconstructions ``x_hat``,
    averaged over images. Arguments as in :func:`cross_entropy_per_image`."""
    return float(cross_entropy_per_image(x_hat, x, eps=eps).mean())


def cross_entropy_with_logits_per_image(logits, x) -> np.ndarray:
    """Binary cross-entropy of each reconstruction given as logits, summed over pixels.

    Args:
        logits: real numbers, shape (N, 784) or (N, ...); the probability is sigmoid(logits).
        x: the images, grey values in [0, 1], the same shape.

    Returns:
        float64 array (N,): ``sum_j softplus(logits) - x * logits``, which is the
        cross-entropy of sigmoid(logits) without clipping and without overflow.
    """
    logits, x, pixels = _pair(logits, x)
    _check_unit_interval(x, "x")
    return (np.logaddexp(0.0, logits) - x * logits).sum(axis=pixels)


# -- running a model over a data set ------------------------------------------------------------
def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _rows(x, kinds: tuple[type, ...], kind_names: str) -> int:
    """N of an input of shape (N, ...), checked."""
    if not isinstance(x, kinds):
        raise TypeError(f"x must be {kind_names}, got {type(x).__name__}")
    shape = tuple(x.shape)
    if not shape:
        raise ValueError("x must have shape (N, ...), got a scalar")
    if shape[0] == 0:
        raise ValueError(f"x is empty: shape {shape}")
    return int(shape[0])


def _as_parts(y, rows: int) -> tuple[list, bool]:
    """A model's output for a batch of ``rows`` as a list of arrays, and whether it was a
    tuple; each part must have one row per input row."""
    parts, is_tuple = (list(y), True) if isinstance(y, (tuple, list)) else ([y], False)
    for part in parts:
        shape = tuple(getattr(part, "shape", ()))
        if not shape or shape[0] != rows:
            raise ValueError(f"the model returned shape {shape} for a batch of {rows} rows; "
                             "it must return one row per input row")
    return parts, is_tuple


def predict_torch(model, x, *, batch_size: int = 2000, device=None,
                  output: Callable | None = None) -> np.ndarray | tuple[np.ndarray, ...]:
    """Run a PyTorch model over ``x`` in batches, in evaluation mode, without gradients.

    Args:
        model: a ``torch.nn.Module`` (``autoencoder``, ``autoencoder.encoder``) or a method
            of one (``autoencoder.reconstruct``). Its module is switched to evaluation mode
            (dropout off, batch norm on running statistics) for the call; afterwards every
            submodule has its own training flag back, whatever it was.
        x: NumPy array or tensor of shape (N, ...), e.g. (N, 784). Each batch (B, ...) is
            moved to ``device`` as it is used, so ``x`` may stay in host memory.
        batch_size: rows per forward pass. Matrix kernels may round float32 results
            differently for another batch size, in the last bit.
        device: where to compute; by default where the module's parameters are (the CPU
            for a module without any).
        output: applied to each batch's output on the device before it is collected,
            e.g. ``torch.sigmoid`` (logits -> pixels) or ``lambda y: y.argmax(1)``.

    Returns:
        The outputs of all rows, in order, as a NumPy array (N, ...); a tuple of such
        arrays when the model returns a tuple (a feature network's ``(features, logits)``).

    Raises:
        TypeError: ``model`` is not a module or a method of one; ``x`` is not an array.
        ValueError: ``x`` has no rows or no shape, ``batch_size`` is not a positive int, or
            the model returns a different number of rows than it was given.
    """
    import torch
    from torch import nn

    module = model if isinstance(model, nn.Module) else getattr(model, "__self__", None)
    if not isinstance(module, nn.Module):
        raise TypeError("model must be a torch.nn.Module or a method of one (so that its "
                        f"dropout can be switched off), got {type(model).__name__}; pass "
                        "post-processing as output=")
    batch_size = _positive_int("batch_size", batch_size)
    n = _rows(x, (np.ndarray, torch.Tensor), "a NumPy array or a torch tensor")
    if device is None:
        first = next(itertools.chain(module.parameters(), module.buffers()), None)
        device = first.device if first is not None else torch.device("cpu")

    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            batches, is_tuple = [], False
            for i in range(0, n, batch_size):
                batch = torch.as_tensor(x[i:i + batch_size], device=device)
                y = model(batch)
                if output is not None:
                    y = output(y)
                parts, is_tuple = _as_parts(y, len(batch))
                batches.append(parts)
    finally:
        for m, flag in flags:  # each its own flag back: .train() would set all of them
            m.training = flag

    def gather(parts: list[torch.Tensor]) -> np.ndarray:
        out = torch.cat(parts).cpu()  # one transfer from the device
        return (out.float() if out.dtype == torch.bfloat16 else out).numpy()

    arrays = tuple(gather([b[k] for b in batches]) for k in range(len(batches[0])))
    return arrays if is_tuple else arrays[0]


def _accepts_training(fn) -> bool:
    """Whether ``fn`` can be called with ``training=False``."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "training" or p.kind is p.VAR_KEYWORD for p in parameters)


def predict_tf(model, x, *, batch_size: int = 2000, device: str | None = None,
               output: Callable | None = None) -> np.ndarray | tuple[np.ndarray, ...]:
    """Run a Keras model over ``x`` in batches, in inference mode: the twin of
    :func:`predict_torch`.

    Args:
        model: a Keras model or layer, called with ``training=False``; or a method of one
            (``autoencoder.reconstruct``), called with ``training=False`` if it takes that
            argument and plainly otherwise, where Keras layers default to inference.
        x: NumPy array or ``tf.Tensor`` of shape (N, ...).
        batch_size: rows per forward pass.
        device: a TensorFlow device string such as ``"/GPU:0"``; by default TensorFlow's
            own placement.
        output: applied to each batch's output before it is collected, e.g. ``tf.sigmoid``.

    Returns:
        NumPy array (N, ...) of the outputs in order; a tuple of arrays for a tuple output.

    Raises:
        TypeError, ValueError: as :func:`predict_torch`.
    """
    import keras
    import tensorflow as tf

    layer = model if isinstance(model, keras.layers.Layer) else getattr(model, "__self__", None)
    if not isinstance(layer, keras.layers.Layer):
        raise TypeError("model must be a Keras model or layer, or a method of one, got "
                        f"{type(model).__name__}; pass post-processing as output=")
    batch_size = _positive_int("batch_size", batch_size)
    n = _rows(x, (np.ndarray, tf.Tensor), "a NumPy array or a tf.Tensor")
    kwargs = {"training": False} if model is layer or _accepts_training(model) else {}

    batches, is_tuple = [], False
    with tf.device(device) if device else contextlib.nullcontext():
        for i in range(0, n, batch_size):
            batch = x[i:i + batch_size]
            y = model(batch, **kwargs)
            if output is not None:
                y = output(y)
            parts, is_tuple = _as_parts(y, int(batch.shape[0]))
            batches.append([np.asarray(part) for part in parts])
    arrays = tuple(np.concatenate([b[k] for b in batches]) for k in range(len(batches[0])))
    return arrays if is_tuple else arrays[0]
