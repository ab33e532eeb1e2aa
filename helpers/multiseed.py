"""Several seeds trained as one stacked network, and the loop that trains and scores them.

A small network is too small to keep a CPU busy, so chapter 6 trains S seeds side by side:
every weight has a leading seed axis, and one batched matrix product computes all S
networks. :func:`init_stack` draws their initial weights with NumPy, so that a PyTorch lab
and a TensorFlow lab start from the same networks; :func:`train` runs the caller's step,
scores the caller's snapshots of the generators and returns a :class:`StackRun`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .collapse import ModeReport, evaluate
from .mixtures import Benchmark, resolve

__all__ = ["StackRun", "init_stack", "train"]


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

    bench = resolve(benchmark)
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
