"""Fréchet distance and kernel inception distance (KID) between two sets of features.

Three layers, each usable on its own:

- math: ``frechet_distance`` (NumPy float64) and ``frechet_distance_torch`` (float64 on the
  tensors' device) between two Gaussians given by a mean (d,) and a covariance (d, d);
- statistics: ``FeatureStats`` streams batches of features (N, d) into a mean and covariance,
  ``feature_stats`` does it for an iterable of batches, ``fid_from_features`` chains both;
- ``polynomial_mmd2`` and ``kernel_inception_distance`` work on the features themselves.

The feature extractor, files and the choice of device stay with the caller. Features may be
NumPy arrays or torch tensors (on any device); the results are Python floats and NumPy arrays.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Union

import numpy as np

if TYPE_CHECKING:
    import torch

Array = Union[np.ndarray, "torch.Tensor"]
Features = Union[Array, Iterable[Array]]

# A covariance computed in float64 is PSD up to rounding, about d·eps of its largest
# eigenvalue. One rounded to float32 is off by ~1e-9 relative; one built from float32 sums
# whose mean is far from zero is off by ~1e-3 and gives a meaningless FID. The tolerance sits
# between the two: smaller negative eigenvalues are rounding and count as 0, larger ones raise.
PSD_RTOL = 1e-6
# How far sigma may be from sigma.T, relative to its largest entry: float32 rounding passes.
SYMMETRY_RTOL = 1e-6

__all__ = ["FeatureStats", "feature_stats", "fid_from_features", "frechet_distance",
           "frechet_distance_torch", "kernel_inception_distance", "polynomial_mmd2"]


# ---------------------------------------------------------------------------------------------
# Math: Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)
#
#   FID = |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr sqrt(sigma1 sigma2)
#
# tr sqrt(sigma1 sigma2) is the sum of the square roots of the eigenvalues of sigma1 sigma2.
# That product is not symmetric, but with any factor sigma1 = B B^T it is similar to the
# symmetric PSD matrix B^T sigma2 B (B^-1 (B B^T sigma2) B = B^T sigma2 B), whose eigenvalues
# `eigvalsh` finds fast and real (no complex parts to discard, as eigvals or sqrtm leave).
# The Cholesky factor is the cheapest B, d^3/3 flops; an eigendecomposition with vectors costs
# several times more and scipy.linalg.sqrtm's Schur method more again (benchmarks/fid.py
# times them). It exists when sigma1 is positive definite. Features with fewer samples than
# dimensions give a singular covariance, so we try sigma2's factor next (the trace is the same
# either way round) and fall back to B = V sqrt(w) from eigh when both are singular.
# ---------------------------------------------------------------------------------------------

def frechet_distance(mu1: Array, sigma1: Array, mu2: Array, sigma2: Array) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in NumPy float64.

    mu1, mu2: means, shape (d,). sigma1, sigma2: covariances, shape (d, d), symmetric positive
    semi-definite. Returns a float >= 0 (negative rounding residue is returned as 0.0).
    Raises ValueError on mismatched shapes, NaN/inf, or a matrix that is not a covariance.
    """
    mu1, sigma1, mu2, sigma2 = (_to_numpy(a) for a in (mu1, sigma1, mu2, sigma2))
    _check_gaussians(mu1, sigma1, mu2, sigma2)
    sigma1, sigma2 = (sigma1 + sigma1.T) / 2, (sigma2 + sigma2.T) / 2
    diff = mu1 - mu2
    trace_sqrt = _trace_sqrt_product(sigma1, sigma2)
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
    return max(float(value), 0.0)


def _trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr sqrt(sigma1 sigma2) for symmetric PSD (d, d) float64 matrices."""
    for a, b in ((sigma1, sigma2), (sigma2, sigma1)):
        try:
            lower = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            continue
        product = lower.T @ b @ lower
        break
    else:
        w, v = np.linalg.eigh(sigma1)
        _check_psd(w.min(), np.abs(w).max(), "sigma1")
        half = v * np.sqrt(np.where(w > _rounding_floor(w), w, 0.0))
        product = half.T @ sigma2 @ half
    lam = np.linalg.eigvalsh(product)
    _check_psd(lam.min(), np.abs(lam).max(), "sigma1 @ sigma2")
    # Eigenvalues that are zero in exact arithmetic come out as ±d·eps·max: their square roots
    # (~1e-7 each) would add noise to the trace, so they count as 0.
    return float(np.sqrt(np.where(lam > _rounding_floor(lam), lam, 0.0)).sum())


def frechet_distance_torch(mu1: Array, sigma1: Array, mu2: Array, sigma2: Array) -> float:
    """The same as ``frechet_distance``, computed by torch in float64 on sigma1's device.

    mu1, mu2: shape (d,); sigma1, sigma2: shape (d, d); tensors or arrays (moved to sigma1's
    device, a CUDA GPU for example). Returns a float, like the NumPy version.
    """
    import torch

    device = sigma1.device if _is_tensor(sigma1) else torch.device("cpu")
    mu1, sigma1, mu2, sigma2 = (torch.as_tensor(a).detach().to(device, torch.float64)
                                for a in (mu1, sigma1, mu2, sigma2))
    _check_gaussians(mu1, sigma1, mu2, sigma2)
    sigma1, sigma2 = (sigma1 + sigma1.T) / 2, (sigma2 + sigma2.T) / 2
    product = None
    for a, b in ((sigma1, sigma2), (sigma2, sigma1)):
        lower, info = torch.linalg.cholesky_ex(a)  # info > 0: not positive definite
        if info.item() == 0:
            product = lower.T @ b @ lower
            break
    if product is None:
        w, v = torch.linalg.eigh(sigma1)
        _check_psd(w.min().item(), w.abs().max().item(), "sigma1")
        half = v * torch.where(w > _rounding_floor(w), w, 0.0).sqrt()
        product = half.T @ sigma2 @ half
    lam = torch.linalg.eigvalsh(product)
    _check_psd(lam.min().item(), lam.abs().max().item(), "sigma1 @ sigma2")
    trace_sqrt = torch.where(lam > _rounding_floor(lam), lam, 0.0).sqrt().sum()
    diff = mu1 - mu2
    value = diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(value.item(), 0.0)


def _rounding_floor(eigenvalues: Any) -> float:
    """Below this, an eigenvalue of a symmetric (d, d) matrix is indistinguishable from 0."""
    return len(eigenvalues) * np.finfo(np.float64).eps * float(abs(eigenvalues).max())


def _check_psd(smallest: float, scale: float, name: str) -> None:
    if smallest < -PSD_RTOL * scale:
        raise ValueError(
            f"{name} has an eigenvalue {smallest:.3g}, below -{PSD_RTOL:g} x its largest "
            f"{scale:.3g}: the covariances are not positive semi-definite. Covariances from "
            "float32 sums cancel badly; compute them in float64, e.g. with FeatureStats.")


def _check_gaussians(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> None:
    """Shapes (d,), (d, d), (d,), (d, d); finite; symmetric. NumPy arrays or torch tensors."""
    for i, (mu, sigma) in enumerate(((mu1, sigma1), (mu2, sigma2)), start=1):
        if mu.ndim != 1 or mu.shape[0] == 0:
            raise ValueError(f"mu{i} must have shape (d,) with d >= 1, got {tuple(mu.shape)}")
        if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1]:
            raise ValueError(f"sigma{i} must be a square (d, d) matrix, got {tuple(sigma.shape)}")
        if sigma.shape[0] != mu.shape[0]:
            raise ValueError(f"mu{i} has shape {tuple(mu.shape)} but sigma{i} has "
                             f"{tuple(sigma.shape)}; expected (d,) and (d, d)")
        for name, a in ((f"mu{i}", mu), (f"sigma{i}", sigma)):
            if not math.isfinite(float(abs(a).max())):  # max propagates NaN in both libraries
                raise ValueError(f"{name} contains NaN or inf")
        scale, asymmetry = float(abs(sigma).max()), float(abs(sigma - sigma.T).max())
        if asymmetry > SYMMETRY_RTOL * scale:
            raise ValueError(f"sigma{i} is not symmetric: |sigma - sigma.T| reaches "
                             f"{asymmetry:.3g} for entries up to {scale:.3g}; is it a covariance?")
    if mu1.shape != mu2.shape:
        raise ValueError(f"the two Gaussians have different dimensions: mu1 {tuple(mu1.shape)}, "
                         f"mu2 {tuple(mu2.shape)}")


# ---------------------------------------------------------------------------------------------
# Statistics: mean and covariance streamed over batches
# ---------------------------------------------------------------------------------------------

class FeatureStats:
    """Mean and unbiased covariance of features (N, d), accumulated batch by batch in float64.

    ``update(batch)`` takes a NumPy array or torch tensor of shape (n, d). The first batch
    decides where the sums live: torch batches are summed by torch on the first batch's device
    (a GPU multiplies faster than it copies to the host), arrays by NumPy; later batches are
    moved there. ``count``: samples seen; ``mean``: (d,); ``cov``: (d, d), divided by N - 1.

    Sums of x and x x^T over one pass lose digits to cancellation when the mean is large
    against the spread (cov = E[xx^T] - mean mean^T). So the sums are of x - c, with c the first
    batch's mean: the digits lost then grow with ((mean - c) / spread)^2, which is small when c
    is close to the final mean. Sums keep the state additive (two FeatureStats could be merged
    by adding) at one matrix product per batch, the cost of Welford's batched update too;
    Welford would be the choice for a stream that drifts far from its first batch.
    """

    def __init__(self) -> None:
        self.count = 0
        self._device: Any = None  # None: NumPy; else the torch.device of the sums
        self._dim: int | None = None
        self._shift: Any = None  # c, (d,)
        self._sum: Any = None  # sum of (x - c), (d,)
        self._outer: Any = None  # sum of (x - c)(x - c)^T, (d, d)

    def update(self, batch: Array) -> FeatureStats:
        """Add a batch of features, shape (n, d) with n >= 0; returns self."""
        if self._dim is None and _is_tensor(batch):
            self._device = batch.device
        x = _to_numpy(batch) if self._device is None else _to_torch(batch, self._device)
        if x.ndim != 2:
            raise ValueError(f"a batch of features must have shape (n, d), got {tuple(x.shape)}")
        if self._dim is None:
            self._dim = x.shape[1]
        elif x.shape[1] != self._dim:
            raise ValueError(f"batch has {x.shape[1]} features per sample, "
                             f"earlier batches {self._dim}")
        if x.shape[0] == 0:
            return self
        if self._shift is None:
            self._shift = x.mean(0)
            self._sum = _zeros((self._dim,), self._device)
            self._outer = _zeros((self._dim, self._dim), self._device)
        centred = x - self._shift
        self._sum += centred.sum(0)
        self._outer += centred.T @ centred
        self.count += x.shape[0]
        return self

    @property
    def mean(self) -> np.ndarray:
        """Mean of all features seen, shape (d,), float64."""
        self._check(1, self._sum)
        return _to_numpy(self._shift + self._sum / self.count)

    @property
    def cov(self) -> np.ndarray:
        """Unbiased (N - 1) covariance of all features seen, shape (d, d), float64, symmetric."""
        self._check(2, self._outer)
        n = self.count
        cov = _to_numpy((self._outer - self._sum[:, None] * self._sum[None, :] / n) / (n - 1))
        return (cov + cov.T) / 2  # exactly symmetric, whatever order the product summed in

    def _check(self, needed: int, total: Any) -> None:
        if self.count < needed:
            what = "a mean needs at least 1 sample" if needed == 1 else \
                "a covariance needs at least 2 samples"
            raise ValueError(f"{what}, got {self.count}")
        if not math.isfinite(float(abs(total).max())):
            raise ValueError("the features contain NaN or inf (or values too large to square)")


def feature_stats(features: Features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of features: one (N, d) array or tensor, or
    an iterable of (n, d) batches such as a generator over a data loader."""
    stats = FeatureStats()
    for batch in _batches(features):
        stats.update(batch)
    return stats.mean, stats.cov


def fid_from_features(f1: Features, f2: Features) -> float:
    """Fréchet distance between Gaussians fitted to two sets of features.

    f1, f2: each an (N, d) array or tensor, or an iterable of (n, d) batches; N >= 2.
    """
    stats = []
    for name, features in (("f1", f1), ("f2", f2)):
        try:
            stats.extend(feature_stats(features))
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from error
    return frechet_distance(*stats)


# ---------------------------------------------------------------------------------------------
# KID: unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets
# ---------------------------------------------------------------------------------------------

def polynomial_mmd2(x: Features, y: Features) -> float:
    """Unbiased estimate of MMD^2 between the distributions of x (m, d) and y (n, d).

    MMD^2_u = sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (n(n-1))
              - 2 sum_{i,j} k(x_i, y_j) / (mn),  with k(a, b) = (a.b / d + 1)^3.
    Its expectation is 0 when both come from one distribution, so it can come out negative.
    """
    x, y = _feature_matrix(x, "x"), _feature_matrix(y, "y")
    _check_feature_pair(x, y, "x", "y")
    return _mmd2(x, y)


def kernel_inception_distance(f1: Features, f2: Features, *, subsets: int = 100,
                              subset_size: int = 1000, seed: int | None = 0) -> tuple[float, float]:
    """KID: mean and standard deviation of ``polynomial_mmd2`` over random subsets.

    f1 (N1, d), f2 (N2, d): features, arrays/tensors or iterables of batches. Each of
    ``subsets`` rounds draws ``subset_size`` rows of each set without replacement, with a
    generator seeded by ``seed``. The defaults are those of the KID paper and torchmetrics; the
    subset size is clipped to min(N1, N2). The std divides by the number of subsets, as
    torchmetrics and torch-fidelity do. Costs ~3 subset_size^2 d flops per subset.
    """
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"need subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}")
    x, y = _feature_matrix(f1, "f1"), _feature_matrix(f2, "f2")
    _check_feature_pair(x, y, "f1", "f2")
    size = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    scores = np.array([_mmd2(x[rng.choice(len(x), size, replace=False)],
                             y[rng.choice(len(y), size, replace=False)]) for _ in range(subsets)])
    return float(scores.mean()), float(scores.std())


def _mmd2(x: np.ndarray, y: np.ndarray) -> float:
    m, n, d = len(x), len(y), x.shape[1]

    def kernel_sum(a: np.ndarray, b: np.ndarray, skip_diagonal: bool) -> float:
        k = a @ b.T
        k /= d
        k += 1
        cube = k * k
        cube *= k
        # Unbiased: k(x_i, x_i) pairs a sample with itself, which a second draw never would.
        return float(cube.sum() - (np.trace(cube) if skip_diagonal else 0.0))

    return (kernel_sum(x, x, True) / (m * (m - 1)) + kernel_sum(y, y, True) / (n * (n - 1))
            - 2 * kernel_sum(x, y, False) / (m * n))


def _check_feature_pair(x: np.ndarray, y: np.ndarray, name_x: str, name_y: str) -> None:
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{name_x} has {x.shape[1]} features per sample, "
                         f"{name_y} has {y.shape[1]}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"an unbiased MMD needs at least 2 samples in each set, got "
                         f"{len(x)} in {name_x} and {len(y)} in {name_y}")


# ---------------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------------

def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")  # a tensor exists only if torch was imported
    return torch is not None and isinstance(x, torch.Tensor)


def _to_numpy(x: Any) -> np.ndarray:
    if _is_tensor(x):
        import torch

        return x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _to_torch(x: Any, device: Any) -> torch.Tensor:
    import torch

    return torch.as_tensor(x).detach().to(device, torch.float64)


def _zeros(shape: tuple[int, ...], device: Any) -> Any:
    if device is None:
        return np.zeros(shape)
    import torch

    return torch.zeros(shape, dtype=torch.float64, device=device)


def _batches(features: Features) -> Iterator[Any]:
    if isinstance(features, np.ndarray) or _is_tensor(features):
        yield features  # one (N, d) batch, not N rows
    else:
        yield from features


def _feature_matrix(features: Features, name: str) -> np.ndarray:
    """All features as one (N, d) float64 array, checked."""
    batches = [_to_numpy(b) for b in _batches(features)]
    if not batches or any(b.ndim != 2 for b in batches):
        shapes = [b.shape for b in batches]
        raise ValueError(f"{name} must be an (N, d) array or batches of shape (n, d), got {shapes}")
    if len({b.shape[1] for b in batches}) > 1:
        raise ValueError(f"{name}: batches have different numbers of features per sample")
    x = np.concatenate(batches)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x
