"""Chapter 4's measures of a variational autoencoder, the same for both frameworks.

The model, its loss and its log-weights are written in the labs; this module turns
log-weights into the importance-weighted bound in batches that fit in memory, counts active
latent units and lays out the grid of codes that a two-dimensional latent space is shown on.
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Callable

import numpy as np

from .plots import to_numpy
from .progress import progress_bar

LogWeights = Callable[[np.ndarray, int], object]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def log_mean_exp(a, axis: int = 0) -> np.ndarray:
    """``log(mean(exp(a)))`` along ``axis`` in float64, without overflow or underflow.

    The largest entry is taken out before exponentiating, so log-weights of -500 nats, whose
    exponentials are 0 in float64, still give their exact average.
    """
    a = np.asarray(to_numpy(a), dtype=np.float64)
    if a.ndim == 0 or a.shape[axis] == 0:
        raise ValueError(f"log_mean_exp needs at least one value along axis {axis}, "
                         f"got shape {a.shape}")
    if np.isnan(a).any() or np.isposinf(a).any():
        raise ValueError("log-weights contain NaN or +inf")
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # a slice of only -inf stays -inf below
    with np.errstate(divide="ignore"):
        out = np.log(np.mean(np.exp(a - top), axis=axis, keepdims=True)) + top
    return np.squeeze(out, axis=axis)


def iw_bound(log_weights: LogWeights, x, k: int, *, max_samples: int = 20_000,
             progress: bool = True, desc: str | None = None) -> np.ndarray:
    """The importance-weighted bound L_k of every image of ``x`` (Burda et al., 2016).

    L_k(x) = log (1/k) sum_i w_i with w_i = p(x, z_i) / q(z_i | x) and z_1 .. z_k drawn from
    q(z | x). With k = 1 its mean is the ELBO; it rises with k towards log p(x).

    Args:
        log_weights: ``log_weights(x_batch, c)`` draws c codes for each image of the batch
            (B, ...) and returns their log-weights, shape (c, B), as a NumPy array or a
            torch or TensorFlow tensor. Written in the lab, in its framework.
        x: images (N, ...), a NumPy array.
        k: codes per image.
        max_samples: at most this many codes are decoded in one call, so memory stays
            bounded (20,000 codes of 784 logits are 63 MB); k above it is drawn in chunks
            whose log-sum-exps are combined exactly.

    Returns:
        float64 (N,): L_k per image, in nats. Average it for the data set's bound.

    Raises:
        ValueError: bad ``k`` or ``max_samples``, empty ``x``, log-weights of the wrong
            shape, or NaN/+inf among them (a bug in the model's densities).
    """
    k = _positive_int("k", k)
    max_samples = _positive_int("max_samples", max_samples)
    if not isinstance(x, np.ndarray) or x.ndim < 1 or len(x) == 0:
        raise ValueError("x must be a non-empty NumPy array of images (N, ...)")
    per_call = min(k, max_samples)
    images = max(1, max_samples // per_call)
    out = np.empty(len(x), dtype=np.float64)
    bar = progress_bar(total=len(x), desc=desc or f"L_{k}", disable=not progress)
    for start in range(0, len(x), images):
        batch = x[start:start + images]
        total = np.full(len(batch), -np.inf)
        drawn = 0
        while drawn < k:
            c = min(per_call, k - drawn)
            lw = np.asarray(to_numpy(log_weights(batch, c)), dtype=np.float64)
            if lw.shape != (c, len(batch)):
                raise ValueError(f"log_weights(x_batch, {c}) must return shape ({c}, "
                                 f"{len(batch)}): (codes, images); got {lw.shape}")
            total = np.logaddexp(total, log_mean_exp(lw, axis=0) + math.log(c))
            drawn += c
        out[start:start + len(batch)] = total - math.log(k)
        bar.update(len(batch))
    bar.close()
    return out


def active_units(posterior_means, threshold: float = 1e-2) -> tuple[int, np.ndarray]:
    """Burda et al.'s (2016) count of active latent units.

    Unit u is active if Cov_x(E_q[z_u | x]) > ``threshold``: its posterior mean varies across
    the data. An inactive unit's posterior is the same for every image; the code does not
    use it.

    Args:
        posterior_means: (N, k) posterior means mu(x) of N images, N >= 2.

    Returns:
        ``(count, variances)``: the number of active units and the variance over the images
        of each unit's posterior mean, float64 (k,).
    """
    m = np.asarray(to_numpy(posterior_means), dtype=np.float64)
    if m.ndim != 2 or len(m) < 2:
        raise ValueError(f"posterior_means must have shape (N >= 2, k), got {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("posterior_means contain NaN or inf")
    if not (isinstance(threshold, (int, float)) and threshold >= 0):
        raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
    variances = m.var(axis=0)
    return int((variances > threshold).sum()), variances


def prior_grid(n: int, *, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """An n × n grid of two-dimensional codes spaced by quantiles of N(0, 1).

    Rows run from the top (largest z_2) down, columns left to right (smallest z_1 first), so
    ``image_grid(decode(prior_grid(n)), ncols=n)`` is laid out like a plot of the latent
    plane. Equal steps in probability put as many grid points in each band of the prior as
    it holds mass (Kingma and Welling, 2014, Fig. 4).

    Returns:
        float32 (n * n, 2).
    """
    n = _positive_int("n", n)
    if not 0 < low < high < 1:
        raise ValueError(f"need 0 < low < high < 1, got low={low!r}, high={high!r}")
    quantiles = np.linspace(low, high, n) if n > 1 else np.array([0.5])
    values = np.array([NormalDist().inv_cdf(float(q)) for q in quantiles])
    z1, z2 = np.meshgrid(values, values[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)
