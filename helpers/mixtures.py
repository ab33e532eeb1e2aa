"""The 2-D mode-collapse benchmarks of chapter 6: a ring and a grid of Gaussians.

VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) measure mode collapse on
mixtures of Gaussians in the plane, where it can be counted exactly. The two mixtures are
PacGAN's, with equal weights on every component:

* ``"ring"``: 8 Gaussians, means on the unit circle at angles 2πk/8, σ = 0.01;
* ``"grid"``: 25 Gaussians, means {-4, -2, 0, 2, 4}², σ = 0.05.

:func:`sample` draws from them; :func:`resolve` turns a name into its :class:`Benchmark` and
:func:`as_points` checks generated points, for the modules that score and draw them
(:mod:`helpers.collapse`, :mod:`helpers.mode_plots`, :mod:`helpers.point_files`). NumPy only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["BENCHMARKS", "Benchmark", "as_points", "resolve", "sample"]


@dataclass(frozen=True, eq=False)  # eq=False: == on array fields would be ambiguous
class Benchmark:
    """An equal-weight mixture of K isotropic Gaussians N(means[k], sigma² I) in the plane.

    ``means``: (K, 2), stored as a read-only float64 copy. ``sigma``: standard deviation of
    every component.
    """

    name: str
    means: np.ndarray
    sigma: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty str, got {self.name!r}")
        means = np.array(self.means, dtype=np.float64)  # a copy: nobody can move our modes
        if means.ndim != 2 or means.shape[1] != 2 or len(means) == 0:
            raise ValueError(f"means must have shape (K, 2) with K >= 1, got {means.shape}")
        if not np.all(np.isfinite(means)):
            raise ValueError("means must be finite")
        if isinstance(self.sigma, bool) or not isinstance(self.sigma, (int, float, np.number)) \
                or not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be a positive finite number, got {self.sigma!r}")
        means.flags.writeable = False
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "sigma", float(self.sigma))

    @property
    def n_modes(self) -> int:
        """K, the number of components."""
        return len(self.means)


def _ring(k: int = 8, radius: float = 1.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (k, 2)


def _grid(values: Sequence[float] = (-4, -2, 0, 2, 4)) -> np.ndarray:
    x, y = np.meshgrid(values, values, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], axis=1)  # (len(values)², 2)


BENCHMARKS: dict[str, Benchmark] = {
    "ring": Benchmark("ring", _ring(), 0.01),
    "grid": Benchmark("grid", _grid(), 0.05),
}


def resolve(benchmark: Benchmark | str) -> Benchmark:
    """``benchmark`` itself, or the one of :data:`BENCHMARKS` it names."""
    if isinstance(benchmark, Benchmark):
        return benchmark
    if isinstance(benchmark, str):
        if benchmark not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")
        return BENCHMARKS[benchmark]
    raise TypeError(f"benchmark must be a Benchmark or a name, got {type(benchmark).__name__}")


def as_points(points) -> np.ndarray:
    """Any (n, 2) array of real numbers (NumPy, torch on any device, TensorFlow) → float64."""
    if hasattr(points, "detach"):  # torch: leave the graph and the GPU first
        points = points.detach().cpu()
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if len(points) == 0:
        raise ValueError("points must hold at least one point, got shape (0, 2)")
    if points.dtype == bool or not (np.issubdtype(points.dtype, np.integer)
                                    or np.issubdtype(points.dtype, np.floating)):
        raise ValueError(f"points must be real numbers, got dtype {points.dtype}")
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise ValueError(f"points must be finite: {bad.sum()} of {len(points)} rows hold NaN "
                         f"or inf (the first is row {np.argmax(bad)}); did the generator diverge?")
    return points.astype(np.float64)


def sample(benchmark: Benchmark | str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of the mixture, each from a component chosen uniformly. (n, 2) float32."""
    benchmark = resolve(benchmark)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    component = rng.integers(benchmark.n_modes, size=n)
    noise = rng.standard_normal((n, 2))
    return (benchmark.means[component] + benchmark.sigma * noise).astype(np.float32)
