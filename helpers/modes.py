"""The 2-D mode-collapse benchmarks of chapter 6: a ring and a grid of Gaussians.

VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) measure mode collapse on
mixtures of Gaussians in the plane, where it can be counted exactly. The two mixtures are
PacGAN's, with equal weights on every component:

* ``"ring"``: 8 Gaussians, means on the unit circle at angles 2πk/8, σ = 0.01;
* ``"grid"``: 25 Gaussians, means {-4, -2, 0, 2, 4}², σ = 0.05.

A generator's points, :data:`EVAL_POINTS` of them as in the papers, are scored by
:func:`evaluate`:

* a point is *high quality* if it lies within ``HQ_RADIUS`` = 3 σ of its nearest mode
  (Euclidean distance ≤ 3σ);
* a mode is *captured* if it is the nearest mode of at least one high-quality point;
  ``modes`` counts them;
* ``high_quality_pct`` is the share of high-quality points, in percent (as the papers' tables);
* ``reverse_kl`` is KL(q ‖ p) = Σ_k q_k log(K q_k), where q is the histogram of the
  high-quality points over the K modes (normalised over those points) and p = 1/K is the
  uniform weight of the true mixture. Empty bins add 0 (0·log 0 = 0), so one captured mode
  gives log K, the largest value, and k modes captured evenly give log(K/k). With no
  high-quality point q does not exist and ``reverse_kl`` is NaN.

What a perfect generator scores: modes = K, but not 100 % high quality. For a 2-D isotropic
Gaussian ‖x - μ‖²/σ² is χ² with 2 degrees of freedom, so P(‖x - μ‖ ≤ 3σ) = 1 - e^{-9/2}
≈ 98.89 % (:data:`TRUE_HQ_PROBABILITY`); at 2,500 points it fluctuates by about ±0.2 points
around that. Nor is its reverse KL 0: with m high-quality points the histogram is multinomial,
2m·KL is the G-statistic, close to χ² with K - 1 degrees of freedom, so KL ≈ (K - 1)/(2m):
about 0.0014 for the ring and 0.0049 for the grid at 2,500 points. Differences below these
floors are noise. More points capture more rare modes, so compare runs at equal ``n``.

:func:`summarise` gives mean and standard deviation over seeds; :func:`plot_points` draws
points with the modes and their 3σ circles. NumPy only, so both frameworks' labs score their
generators identically.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

HQ_RADIUS = 3.0  # a point is high quality within this many σ of its nearest mode
TRUE_HQ_PROBABILITY = 1.0 - math.exp(-HQ_RADIUS ** 2 / 2)  # ≈ 0.98889, the χ²(2) cdf at 9
EVAL_POINTS = 2_500  # points generated per evaluation, as in VEEGAN and PacGAN
METRICS = ("modes", "high_quality_pct", "reverse_kl")

__all__ = ["BENCHMARKS", "Benchmark", "EVAL_POINTS", "HQ_RADIUS", "METRICS", "ModeReport", "StackRun",
           "TRUE_HQ_PROBABILITY", "evaluate", "init_stack", "load_points", "plot_points", "sample",
           "save_points", "summarise", "train"]


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


@dataclass(frozen=True, eq=False)
class ModeReport:
    """The scores of one set of generated points on one benchmark (see the module docstring).

    ``counts``: (K,) int, high-quality points per mode (read-only); ``n``: points scored.
    """

    benchmark: str
    n: int
    modes: int
    high_quality_pct: float
    reverse_kl: float
    counts: np.ndarray

    def __post_init__(self) -> None:
        counts = np.array(self.counts, dtype=np.int64)
        counts.flags.writeable = False
        object.__setattr__(self, "counts", counts)

    def metrics(self) -> dict[str, float]:
        """``{"modes", "high_quality_pct", "reverse_kl"}`` as floats."""
        return {name: float(getattr(self, name)) for name in METRICS}

    def __str__(self) -> str:
        return (f"{self.benchmark}: {self.modes}/{len(self.counts)} modes, "
                f"{self.high_quality_pct:.1f}% high quality, reverse KL {self.reverse_kl:.4f}")


def _benchmark(benchmark: Benchmark | str) -> Benchmark:
    if isinstance(benchmark, Benchmark):
        return benchmark
    if isinstance(benchmark, str):
        if benchmark not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")
        return BENCHMARKS[benchmark]
    raise TypeError(f"benchmark must be a Benchmark or a name, got {type(benchmark).__name__}")


def _as_points(points) -> np.ndarray:
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
    benchmark = _benchmark(benchmark)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    component = rng.integers(benchmark.n_modes, size=n)
    noise = rng.standard_normal((n, 2))
    return (benchmark.means[component] + benchmark.sigma * noise).astype(np.float32)


def evaluate(points, benchmark: Benchmark | str) -> ModeReport:
    """Score generated ``points`` (n, 2) on ``benchmark`` (a :class:`Benchmark` or a name).

    A point nearer to several modes at once (possible only when 3σ circles overlap) counts
    for the first of them. Points may be a NumPy array or a torch/TensorFlow tensor; they are
    scored in float64.
    """
    benchmark = _benchmark(benchmark)
    x = _as_points(points)
    # Differences, not |x|² - 2x·μ + |μ|²: that expansion loses the digits the 3σ test needs.
    # hypot of the two coordinates keeps the temporaries at (n, K), never (n, K, 2).
    means = benchmark.means
    distances = np.hypot(x[:, :1] - means[:, 0], x[:, 1:] - means[:, 1])  # (n, K)
    nearest = distances.argmin(axis=1)  # (n,)
    high_quality = distances[np.arange(len(x)), nearest] <= HQ_RADIUS * benchmark.sigma
    counts = np.bincount(nearest[high_quality], minlength=benchmark.n_modes)  # (K,)
    total = int(counts.sum())
    if total == 0:
        reverse_kl = math.nan  # no high-quality point: no histogram to compare
    else:
        q = counts[counts > 0] / total  # empty bins dropped: 0·log 0 = 0
        reverse_kl = float(np.sum(q * np.log(q * benchmark.n_modes)))
    return ModeReport(benchmark=benchmark.name, n=len(x), modes=int((counts > 0).sum()),
                      high_quality_pct=100.0 * total / len(x), reverse_kl=reverse_kl,
                      counts=counts)


def summarise(reports: Sequence[ModeReport]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof = 1) of each metric over runs (seeds).

    Returns ``{"modes_mean", "modes_std", "high_quality_pct_mean", "high_quality_pct_std",
    "reverse_kl_mean", "reverse_kl_std"}``, ready for ``save_results``. A run whose reverse KL
    is NaN (no high-quality point) makes the reverse-KL entries NaN, rather than quietly
    averaging over the other runs. Needs at least two reports of one benchmark.
    """
    reports = list(reports)
    if len(reports) < 2:
        raise ValueError(f"need at least two reports to give a spread, got {len(reports)}")
    if not all(isinstance(r, ModeReport) for r in reports):
        raise ValueError("reports must all be ModeReport objects (the results of evaluate)")
    names = sorted({r.benchmark for r in reports})
    if len(names) > 1:
        raise ValueError(f"reports mix benchmarks {names}; summarise one benchmark at a time")
    summary = {}
    for metric in METRICS:
        values = np.array([getattr(r, metric) for r in reports], dtype=np.float64)
        summary[f"{metric}_mean"] = float(values.mean())
        summary[f"{metric}_std"] = float(values.std(ddof=1))
    return summary


def plot_points(points, benchmark: Benchmark | str, ax=None, title: str | None = None):
    """Scatter ``points`` (n, 2) over the modes of ``benchmark`` and their 3σ circles.

    Draws into ``ax`` when given, else into a new figure; the title defaults to the
    benchmark's name. Returns the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    benchmark = _benchmark(benchmark)
    x = _as_points(points)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.4, color="C0", linewidths=0, label="samples")
    ax.scatter(benchmark.means[:, 0], benchmark.means[:, 1], marker="x", s=30, color="C3",
               label="modes")
    for mean in benchmark.means:
        ax.add_patch(Circle(mean, HQ_RADIUS * benchmark.sigma, fill=False, color="C3", lw=0.8))
    ax.set_aspect("equal")
    ax.set_title(title if title is not None else benchmark.name)
    return ax.figure


# -- several seeds as one stacked network -------------------------------------------------------
def init_stack(sizes: Sequence[int], seeds: Sequence[int], salt: int = 0) -> list[np.ndarray]:
    """Initial weights of one MLP per seed, stacked along a leading seed axis.

    ``sizes``: layer widths, input first (``[16, 128, 128, 2]``: three linear layers).
    Returns ``[W1, b1, W2, b2, ...]`` as float32 arrays, ``W`` of shape (S, d_in, d_out) and
    ``b`` of shape (S, 1, d_out), with S = ``len(seeds)``. Every ``W`` is drawn uniformly from
    ±1/√d_in (PyTorch's default for ``nn.Linear``) and every ``b`` is 0. Member s depends
    only on ``seeds[s]`` and ``salt`` (use a different salt for each network of one seed), so a
    PyTorch lab and a TensorFlow lab start from the same weights.
    """
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least two positive widths, got {sizes}")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"seeds must be distinct non-negative ints, got {seeds}")
    rngs = [np.random.default_rng([seed, salt]) for seed in seeds]
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(d_in)
        params.append(np.stack([r.uniform(-bound, bound, (d_in, d_out)) for r in rngs])
                      .astype(np.float32))
        params.append(np.zeros((len(seeds), 1, d_out), dtype=np.float32))
    return params


@dataclass
class StackRun:
    """What :func:`train` recorded: per-step metrics, snapshots and their scores.

    ``history[name]``: (steps, S) float array of a metric the step returned. ``snapshots``:
    ``(step, points (S, n, 2))`` pairs. ``reports[i][s]``: the :class:`ModeReport` of seed s at
    snapshot i. ``seconds``: wall time of the training steps, without the snapshots.
    """

    benchmark: str
    history: dict[str, np.ndarray]
    snapshots: list[tuple[int, np.ndarray]]
    reports: list[list[ModeReport]]
    seconds: float

    @property
    def final(self) -> list[ModeReport]:
        """The reports of the last snapshot, one per seed."""
        return self.reports[-1]

    def mode_counts(self) -> np.ndarray:
        """(snapshots, S) int: modes captured by each seed at each snapshot."""
        return np.array([[r.modes for r in row] for row in self.reports])


def _per_seed(value, name: str, step: int) -> np.ndarray:
    """A metric of step ``step`` (0-based) as float64 values, one per seed; fails if any is not
    finite."""
    from .loop import NonFiniteLossError

    if hasattr(value, "detach"):
        value = value.detach().cpu()
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise NonFiniteLossError(f"{name} became {array} at step {step + 1}: the GAN diverged "
                                 "(lower the learning rate)")
    return array


def train(step, steps: int, *, snapshot, benchmark: Benchmark | str, every: int | None = None,
          desc: str = "training", progress: bool = True) -> StackRun:
    """Run ``step(i)`` for i = 0 .. steps-1 and score ``snapshot()`` along the way.

    ``step(i)`` trains every seed once and returns a dict of named metrics, each a scalar or
    one value per seed (arrays or tensors). ``snapshot()`` returns the generators' points,
    (S, n, 2), scored on ``benchmark`` per seed; it is called every ``every`` steps (default:
    only at the end) and always after the last step. A non-finite metric stops the run with a
    :class:`~helpers.loop.NonFiniteLossError` (a ``FloatingPointError``) that names it and the
    step. ``steps`` and ``every`` may be NumPy integers.
    """
    import time

    from .loop import check_step_output, positive_int
    from .progress import progress_bar

    def plain(value):  # NumPy integers as Python ints; anything else as given, to be refused
        return value.item() if isinstance(value, np.integer) else value

    bench = _benchmark(benchmark)
    steps = positive_int("steps", plain(steps))
    every = None if every is None else positive_int("every", plain(every))
    history: dict[str, list[np.ndarray]] = {}
    snapshots, reports, seconds = [], [], 0.0

    def take(i: int) -> None:
        points = snapshot()
        if hasattr(points, "detach"):
            points = points.detach().cpu()
        points = np.asarray(points, dtype=np.float32)
        if points.ndim != 3 or points.shape[2] != 2:
            raise ValueError(f"snapshot() must return points of shape (S, n, 2), got {points.shape}")
        snapshots.append((i, points))
        reports.append([evaluate(p, bench) for p in points])

    with progress_bar(steps, desc, disable=not progress) as bar:
        for i in range(steps):
            start = time.perf_counter()
            metrics = step(i)
            check_step_output(metrics)
            values = {name: _per_seed(value, name, i) for name, value in metrics.items()}
            seconds += time.perf_counter() - start
            for name, value in values.items():
                history.setdefault(name, []).append(value)
            if (every and (i + 1) % every == 0) or i + 1 == steps:
                take(i + 1)
            bar.update(1)
    return StackRun(benchmark=bench.name, history={k: np.stack(v) for k, v in history.items()},
                    snapshots=snapshots, reports=reports, seconds=seconds)


# -- storing the final points ------------------------------------------------------------------
def save_points(path, points: dict[tuple[str, str], np.ndarray], **meta) -> "Path":
    """Write generated points to a compressed ``.npz`` that anyone can re-score.

    ``points[(benchmark, method)]``: (S, n, 2), one row of points per seed. The file holds
    ``"<benchmark>/<method>"`` arrays (float32), each benchmark's ``"<benchmark>/means"`` and
    ``"<benchmark>/sigma"``, and ``meta`` (JSON-serialisable keyword arguments) as one JSON
    string, so that it loads without pickle. Returns the path.
    """
    import json
    from pathlib import Path

    arrays = {}
    for key, value in points.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            raise ValueError(f"keys must be (benchmark, method) pairs of str, got {key!r}")
        name, method = key
        bench = _benchmark(name)
        if "/" in method or not method:
            raise ValueError(f"method must be a non-empty name without '/', got {method!r}")
        array = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
        if array.ndim != 3 or array.shape[2] != 2 or not np.all(np.isfinite(array)):
            raise ValueError(f"{key}: points must be finite, of shape (S, n, 2), got {array.shape}")
        arrays[f"{name}/{method}"] = array.astype(np.float32)
        arrays[f"{name}/means"] = bench.means.astype(np.float64)
        arrays[f"{name}/sigma"] = np.array(bench.sigma)
    if not arrays:
        raise ValueError("no points to save")
    try:
        text = json.dumps(meta, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"meta must be JSON-serialisable: {error}") from error
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:  # a file object: NumPy would append ".npz" to a name
        np.savez_compressed(file, meta=np.array([text]), **arrays)
    return path


def load_points(path) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, Benchmark], dict]:
    """Read a file of :func:`save_points`, without pickle.

    Returns ``(points, benchmarks, meta)``: ``points[(benchmark, method)]`` (S, n, 2) float32,
    the benchmarks rebuilt from the stored means and σ (so a reader's evaluator needs nothing
    else), and the metadata.
    """
    import json

    points, benchmarks = {}, {}
    with np.load(path, allow_pickle=False) as npz:
        files = set(npz.files)
        if "meta" not in files:
            raise ValueError(f"{path} is not a file of save_points: no meta")
        meta = json.loads(str(npz["meta"][0]))
        for key in sorted(files - {"meta"}):
            name, _, method = key.partition("/")
            if method in ("means", "sigma"):
                continue
            points[(name, method)] = npz[key]
            if name not in benchmarks:
                benchmarks[name] = Benchmark(name, npz[f"{name}/means"], float(npz[f"{name}/sigma"]))
    return points, benchmarks, meta
