"""Precision, recall, density and coverage of generated samples, and a memorisation check.

All four compare real features X (N, d) with generated ("fake") features Y (M, d) through
k-nearest-neighbour balls. NND_k(x) is the distance from x to its k-th nearest *other* row of
its own set, and B(x, r) = {z : |z - x| < r} the open ball (strict ``<``, as the reference
package ``prdc`` of Naeem et al. decides membership, so the two agree):

- precision = (1/M) sum_j 1[Y_j in some B(X_i, NND_k(X_i))]: the share of fakes that fall on
  the real manifold (Kynkäänniemi et al. 2019, "Improved precision and recall metric for
  assessing generative models"; k = 3 there);
- recall = (1/N) sum_i 1[X_i in some B(Y_j, NND_k(Y_j))]: the share of reals that fall on the
  fake manifold, built from the fakes' own k-th neighbour distances;
- density = (1/(kM)) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]: how many real balls hold each
  fake, divided by k; its expectation is 1 when Y and X come from one distribution, and it
  exceeds 1 when the fakes crowd where the reals are dense;
- coverage = (1/N) sum_i 1[some Y_j in B(X_i, NND_k(X_i))]: the share of real balls that hold
  at least one fake (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
  Generative Models"; k = 5 there). For one distribution its expectation is
  1 - prod_{i=1..k} (N - i) / (N + M - i): 1 - 2^-k = 0.969 for k = 5 and large N = M.

``prdc`` returns the four as a dict of floats, precision and recall with ``k_pr`` neighbours
and density and coverage with ``k_dc``. ``knn_radii`` gives the radii NND_k themselves.

The memorisation check asks whether a generator copies its training rows. ``nearest_distances``
gives each sample's distance to its nearest training row; ``memorisation_share`` compares those
with the same distances of held-out test rows, which the generator never saw: a sample closer
to the training set than 99 % of test rows are counts as memorised. A generator that copies
nothing scores about 1 %, one that copies more scores more.

Distances are Euclidean, in float64, from |x|^2 + |y|^2 - 2 x.y (one matrix product), computed
for ``chunk`` rows of the first set at a time: memory stays at chunk x (rows of the other set)
float64 values, 80 MB for 1,024 x 10,000, whatever the sizes. The chunk size leaves the
metrics as they are and moves a distance by rounding at most (the product may sum in another
order). Features may be NumPy arrays or torch tensors (on any device); both are converted to
NumPy float64 on the CPU, so the same data gives the same result bit for bit.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .fid import _to_numpy

if TYPE_CHECKING:
    import torch

Array = Union[np.ndarray, "torch.Tensor"]

CHUNK = 1024  # rows per block of distances: 1,024 x 10,000 float64 values are 80 MB
METRICS = ("precision", "recall", "density", "coverage")

__all__ = ["CHUNK", "METRICS", "knn_radii", "memorisation_share", "nearest_distances", "prdc"]


# ---------------------------------------------------------------------------------------------
# Precision, recall, density, coverage
# ---------------------------------------------------------------------------------------------

def prdc(real: Array, fake: Array, *, k_pr: int = 3, k_dc: int = 5,
         chunk: int = CHUNK) -> dict[str, float]:
    """Precision, recall, density and coverage of fake features against real ones.

    real: (N, d), fake: (M, d), arrays or tensors, finite. ``k_pr``: neighbours of the
    precision and recall balls (Kynkäänniemi et al. use 3); ``k_dc``: of the density and
    coverage balls (Naeem et al. use 5); each at most N - 1, and ``k_pr`` at most M - 1 too,
    since a ball's radius is the distance to the k-th nearest other row of its own set.
    ``chunk``: rows of distances held at once (see the module's docstring).

    Returns ``{"precision", "recall", "density", "coverage"}`` as Python floats, the keys of
    ``prdc.compute_prdc`` (which uses one k for all four: pass k_pr = k_dc = k to compare).
    Costs about (N^2 + M^2 + NM) d multiply-adds: 10 s or so on two CPU cores for 10,000 of
    each in 1,000 dimensions.
    """
    x, y = _features(real, "real"), _features(fake, "fake")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"real has {x.shape[1]} features per sample, fake has {y.shape[1]}")
    _check_k(k_pr, "k_pr", (("real", len(x)), ("fake", len(y))))
    _check_k(k_dc, "k_dc", (("real", len(x)),))
    _check_chunk(chunk)
    real_radii = _radii(x, sorted({k_pr, k_dc}), chunk)
    r_pr, r_dc = real_radii[k_pr], real_radii[k_dc]
    fake_r_pr = _radii(y, [k_pr], chunk)[k_pr]

    fake_on_real = np.zeros(len(y), dtype=bool)  # precision: fake j in some real ball
    balls_holding = np.zeros(len(y), dtype=np.int64)  # density: real balls that hold fake j
    real_on_fake = np.empty(len(x), dtype=bool)  # recall: real i in some fake ball
    covered = np.empty(len(x), dtype=bool)  # coverage: real i's ball holds some fake
    for rows, dist in _distance_blocks(x, y, chunk):  # dist: (rows, M)
        fake_on_real |= (dist < r_pr[rows, None]).any(axis=0)
        balls_holding += (dist < r_dc[rows, None]).sum(axis=0)
        real_on_fake[rows] = (dist < fake_r_pr[None, :]).any(axis=1)
        covered[rows] = dist.min(axis=1) < r_dc[rows]
    return {"precision": float(fake_on_real.mean()), "recall": float(real_on_fake.mean()),
            "density": float(balls_holding.sum() / (k_dc * len(y))),
            "coverage": float(covered.mean())}


def knn_radii(features: Array, k: int, *, chunk: int = CHUNK) -> np.ndarray:
    """NND_k: each row's distance to its k-th nearest other row of ``features``, (N,) float64.

    features: (N, d), N > k. A row never counts as its own neighbour, but a duplicate of it
    does (at distance 0), as in ``prdc``.
    """
    x = _features(features, "features")
    _check_k(k, "k", (("features", len(x)),))
    _check_chunk(chunk)
    return _radii(x, [k], chunk)[k]


def _radii(x: np.ndarray, ks: Sequence[int], chunk: int) -> dict[int, np.ndarray]:
    """knn_radii for several k in one pass over the distances; ks sorted ascending."""
    radii = {k: np.empty(len(x)) for k in ks}
    for rows, dist in _distance_blocks(x, x, chunk):
        # Each row's distance to itself would be its nearest neighbour; +inf keeps it out.
        dist[np.arange(dist.shape[0]), np.arange(rows.start, rows.stop)] = np.inf
        dist.partition([k - 1 for k in ks], axis=1)  # in place: no second (rows, N) block
        for k in ks:
            radii[k][rows] = dist[:, k - 1]
    return radii


# ---------------------------------------------------------------------------------------------
# Memorisation: samples against the training set, calibrated by held-out test rows
# ---------------------------------------------------------------------------------------------

def nearest_distances(samples: Array, reference: Array, *, chunk: int = CHUNK,
                      return_index: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Each sample's Euclidean distance to its nearest row of ``reference``.

    samples: (n, d), reference: (R, d), R >= 1, arrays or tensors, finite (flattened images,
    (n, 784), or features). Returns distances (n,) float64, or with ``return_index`` the
    pair (distances, indices), indices (n,) int64 into ``reference``.

    The nearest row is found with the matrix-product form of the distance; its distance is
    then recomputed as the norm of the difference, so an exact copy gives exactly 0 and a
    near copy is not lost to the product form's rounding (about 1e-8 of the rows' norms).
    """
    s, r = _features(samples, "samples"), _features(reference, "reference")
    if s.shape[1] != r.shape[1]:
        raise ValueError(f"samples have {s.shape[1]} features per row, "
                         f"reference has {r.shape[1]}")
    _check_chunk(chunk)
    index, distances = np.empty(len(s), dtype=np.int64), np.empty(len(s))
    for rows, dist in _distance_blocks(s, r, chunk):
        index[rows] = dist.argmin(axis=1)
        difference = s[rows] - r[index[rows]]
        distances[rows] = np.sqrt(np.einsum("ij,ij->i", difference, difference))
    return (distances, index) if return_index else distances


def memorisation_share(sample_to_train: Array, test_to_train: Array, *,
                       quantile: float = 0.01) -> float:
    """The share of samples closer to the training set than all but ``quantile`` of test rows.

    sample_to_train: (n,) each generated sample's distance to its nearest training row;
    test_to_train: (t,) the same for held-out test rows (both from ``nearest_distances``).
    With q = the ``quantile`` (default 1 %) quantile of test_to_train (NumPy's linear
    interpolation), a sample is memorised when its distance is < q: closer to the training
    set than 99 % (1 - quantile) of real rows the generator never saw. Returns the share in
    [0, 1]. Samples from the test rows' distribution score ``quantile`` in expectation, with
    a standard error of about sqrt(quantile (1 - quantile) (1/n + 1/t)); a sample that copies
    a training row (distance 0) always counts, since q must be positive: at q = 0 no sample
    could count, so that raises (at least ``quantile`` of the test rows copy training rows).
    """
    samples = _distances(sample_to_train, "sample_to_train")
    test = _distances(test_to_train, "test_to_train")
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float, np.floating)) \
            or not 0 < quantile < 1:
        raise ValueError(f"quantile must be a number in (0, 1), got {quantile!r}")
    threshold = float(np.quantile(test, quantile))
    if threshold == 0:
        raise ValueError(f"the {quantile:g} quantile of test_to_train is 0: at least that share "
                         "of the test rows are copies of training rows, so no sample can be "
                         "closer; remove those copies from the test set")
    return float(np.mean(samples < threshold))


def _distances(values: Array, name: str) -> np.ndarray:
    d = _to_numpy(values)
    if d.ndim != 1 or len(d) == 0:
        raise ValueError(f"{name} must be a non-empty (n,) array of distances, "
                         f"got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"{name} contains NaN or inf")
    if d.min() < 0:
        raise ValueError(f"{name} must hold distances >= 0, got {d.min():g}")
    return d


# ---------------------------------------------------------------------------------------------
# Distances in blocks of rows, conversions and checks
# ---------------------------------------------------------------------------------------------

def _distance_blocks(a: np.ndarray, b: np.ndarray, chunk: int
                     ) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows, |a[rows] - b|) for consecutive blocks of ``chunk`` rows of a; each (rows, len(b))
    block is a fresh array the caller may overwrite."""
    b_sq = np.einsum("ij,ij->i", b, b)
    for start in range(0, len(a), chunk):
        rows = slice(start, min(start + chunk, len(a)))
        block = a[rows] @ b.T  # one (rows, len(b)) array, updated in place from here on
        block *= -2
        block += np.einsum("ij,ij->i", a[rows], a[rows])[:, None]
        block += b_sq[None, :]
        np.maximum(block, 0, out=block)  # rounding can leave tiny negative squares
        yield rows, np.sqrt(block, out=block)


def _features(x: Array, name: str) -> np.ndarray:
    """x as an (N, d) float64 array with N, d >= 1 and finite entries."""
    a = _to_numpy(x)
    if a.ndim != 2 or 0 in a.shape:
        raise ValueError(f"{name} must be an (N, d) array with N, d >= 1, got shape {a.shape}")
    if not math.isfinite(float(np.abs(a).max())):  # max propagates NaN
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _check_k(k: Any, name: str, sets: Sequence[tuple[str, int]]) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be a positive int, got {k!r}")
    for set_name, n in sets:
        if k >= n:
            raise ValueError(f"{name} = {k} needs more than {k} rows of {set_name} (the k-th "
                             f"nearest neighbour of a row is another row), got {n}")


def _check_chunk(chunk: Any) -> None:
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive int (rows per block), got {chunk!r}")
