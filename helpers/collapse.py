"""Scoring mode collapse on the 2-D benchmarks of :mod:`helpers.mixtures`, as VEEGAN and
PacGAN do.

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

:func:`summarise` gives mean and standard deviation over seeds, and :func:`reverse_kl_text`
the reverse KL's in words, counting the seeds that have none. NumPy only, so both
frameworks' labs score their generators identically.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .mixtures import Benchmark, as_points, resolve

HQ_RADIUS = 3.0  # a point is high quality within this many σ of its nearest mode
TRUE_HQ_PROBABILITY = 1.0 - math.exp(-HQ_RADIUS ** 2 / 2)  # ≈ 0.98889, the χ²(2) cdf at 9
EVAL_POINTS = 2_500  # points generated per evaluation, as in VEEGAN and PacGAN
HELD_SHARE = 0.01  # a mode is held by at least this share of the points, high quality on it
METRICS = ("modes", "high_quality_pct", "reverse_kl")

__all__ = ["EVAL_POINTS", "HELD_SHARE", "HQ_RADIUS", "METRICS", "ModeReport",
           "TRUE_HQ_PROBABILITY", "evaluate", "hops", "reverse_kl_text", "summarise"]


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

    def held(self, share: float = HELD_SHARE) -> np.ndarray:
        """The modes (indices, ascending) on which at least ``share`` of the ``n`` points
        scored are high quality: the modes the generator holds, not those a few stray points
        pass by (see :func:`hops`)."""
        if isinstance(share, bool) or not isinstance(share, (int, float)) \
                or not 0 < share <= 1:
            raise ValueError(f"share must be a number in (0, 1], got {share!r}")
        return np.flatnonzero(self.counts >= share * self.n)

    def metrics(self) -> dict[str, float]:
        """``{"modes", "high_quality_pct", "reverse_kl"}`` as floats."""
        return {name: float(getattr(self, name)) for name in METRICS}

    def __str__(self) -> str:
        return (f"{self.benchmark}: {self.modes}/{len(self.counts)} modes, "
                f"{self.high_quality_pct:.1f}% high quality, reverse KL {self.reverse_kl:.4f}")


def evaluate(points, benchmark: Benchmark | str) -> ModeReport:
    """Score generated ``points`` (n, 2) on ``benchmark`` (a :class:`Benchmark` or a name).

    A point nearer to several modes at once (possible only when 3σ circles overlap) counts
    for the first of them. Points may be a NumPy array or a torch/TensorFlow tensor; they are
    scored in float64.
    """
    benchmark = resolve(benchmark)
    x = as_points(points)
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


def hops(reports: Sequence[ModeReport], share: float = HELD_SHARE) -> int:
    """How often one generator hopped: the snapshots after which the set of modes it holds
    (:meth:`ModeReport.held`) changed, ``reports`` being its reports in the order taken.

    A mode counts as held only with at least ``share`` of the points: 1 % is 25 of 2,500, a
    quarter of what a perfect generator puts on each grid mode (about 99, with a standard
    deviation of 10) and a twelfth of a ring mode's share, so true samples hold every mode,
    while the few points a collapsed generator strews near other modes (capture noise, which
    changes the *captured* modes from one snapshot to the next) do not make a hop.
    """
    reports = list(reports)
    if not all(isinstance(r, ModeReport) for r in reports):
        raise ValueError("reports must all be ModeReport objects (the results of evaluate)")
    if len({r.benchmark for r in reports}) > 1:
        raise ValueError("reports must all be of one benchmark, one generator's snapshots")
    held = [r.held(share).tolist() for r in reports]
    return sum(a != b for a, b in zip(held[:-1], held[1:]))


def summarise(reports: Sequence[ModeReport]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof = 1) of each metric over runs (seeds).

    Returns ``{"modes_mean", "modes_std", "high_quality_pct_mean", "high_quality_pct_std",
    "reverse_kl_mean", "reverse_kl_std", "runs", "no_hq_runs"}``, ready for ``save_results``.
    A run without a high-quality point has no reverse KL: the reverse-KL entries are taken
    over the other runs, and ``no_hq_runs`` counts the runs left out (NaN remains only where
    no run, or for the spread fewer than two, has a value). Needs at least two reports of one
    benchmark; :func:`reverse_kl_text` says all this in words.
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
        if metric == "reverse_kl":  # undefined without high-quality points
            missing = int(np.isnan(values).sum())
            values = values[~np.isnan(values)]
        summary[f"{metric}_mean"] = float(values.mean()) if len(values) else math.nan
        summary[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    summary["runs"] = float(len(reports))
    summary["no_hq_runs"] = float(missing)
    return summary


def reverse_kl_text(summary: dict[str, float], digits: int = 3) -> str:
    """The reverse KL of a :func:`summarise` summary for a table: mean ± standard deviation
    over the seeds that have high-quality points, with the seeds that have none counted."""
    runs, missing = int(summary["runs"]), int(summary["no_hq_runs"])
    if missing == runs:
        return f"undefined: none of {runs} seeds has high-quality points"
    text = f"{summary['reverse_kl_mean']:.{digits}f}"
    if runs - missing > 1:
        text += f" ± {summary['reverse_kl_std']:.{digits}f}"
    else:
        text += " (one seed)"
    if missing:
        text += f"; {missing} of {runs} seeds without high-quality points"
    return text
