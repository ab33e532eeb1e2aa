"""Several seeds trained as one stacked network, and the loop that trains and scores them.

A small network is too small to keep a CPU busy, so chapter 6 trains S seeds side by side:
every weight has a leading seed axis, and one batched matrix product computes all S
networks. :func:`init_stack` draws their initial weights with NumPy, so that a PyTorch lab
and a TensorFlow lab start from the same networks; :func:`train` runs the caller's step,
scores the caller's snapshots of the generators with the caller's scorer (points on a 2-D
benchmark by :func:`helpers.collapse.evaluate`, digits by the pinned network) and returns a
:class:`StackRun`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

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

    ``history[name]``: (steps, S) float array of a metric the step returned. ``steps[i]``: the
    number of steps taken when snapshot i was taken. ``reports[i][s]``: what the scorer made of
    seed s's samples at snapshot i. ``samples``: the samples of every snapshot, (S, ...) each,
    or of the last one only (``keep_all=False``). ``seconds``: wall time of the training steps,
    without the snapshots and their scores.
    """

    history: dict[str, np.ndarray]
    steps: list[int]
    reports: list[list[Any]]
    samples: list[np.ndarray]
    seconds: float

    @property
    def final(self) -> list[Any]:
        """The reports of the last snapshot, one per seed."""
        return self.reports[-1]

    def scores(self, name: str) -> np.ndarray:
        """(snapshots, S): the score ``name`` of each seed at each snapshot, an attribute of
        the reports (``"modes"`` of a :class:`~helpers.collapse.ModeReport`) or a key of
        dict reports."""
        return np.array([[r[name] if isinstance(r, Mapping) else getattr(r, name) for r in row]
                         for row in self.reports])


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


def _samples(value) -> np.ndarray:
    """A snapshot as a NumPy array with a leading seed axis; floats as float32."""
    if hasattr(value, "detach"):  # torch: leave the graph and the GPU first
        value = value.detach().cpu()
    array = np.asarray(value)
    if array.ndim < 2:
        raise ValueError(f"snapshot() must return one row of samples per seed, (S, n, ...), "
                         f"got shape {array.shape}")
    return array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array


def train(step: Callable[[int], dict], steps: int, *, snapshot: Callable[[], Any],
          score: Callable[[np.ndarray], Any], every: int | None = None, keep_all: bool = True,
          desc: str = "training", progress: bool = True) -> StackRun:
    """Run ``step(i)`` for i = 0 .. steps-1 and score ``snapshot()`` along the way.

    ``step(i)`` trains every seed once and returns a dict of named metrics, each a scalar or
    one value per seed (arrays or tensors). ``snapshot()`` returns the generators' samples,
    (S, n, ...), one row per seed; ``score`` is called on each seed's row (n, ...) and what it
    returns is kept as that seed's report (``functools.partial(collapse.evaluate,
    benchmark="ring")`` scores points on the ring). Snapshots are taken every ``every`` steps
    (default: only at the end) and always after the last step; ``keep_all=False`` keeps the
    samples of the last one only (digits take room), scoring every one. A non-finite metric
    stops the run with a :class:`~helpers.loop.NonFiniteLossError` (a ``FloatingPointError``)
    that names it and the step. ``steps`` and ``every`` may be NumPy integers.
    """
    import time

    from .loop import check_step_output, positive_int
    from .progress import progress_bar

    def plain(value):  # NumPy integers as Python ints; anything else as given, to be refused
        return value.item() if isinstance(value, np.integer) else value

    steps = positive_int("steps", plain(steps))
    every = None if every is None else positive_int("every", plain(every))
    if not callable(score):
        raise TypeError(f"score must be a function of one seed's samples, got "
                        f"{type(score).__name__}")
    history: dict[str, list[np.ndarray]] = {}
    taken, reports, samples, seconds = [], [], [], 0.0

    def take(i: int) -> None:
        array = _samples(snapshot())
        taken.append(i)
        reports.append([score(row) for row in array])
        samples[:] = [*(samples if keep_all else []), array]

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
    return StackRun(history={k: np.stack(v) for k, v in history.items()}, steps=taken,
                    reports=reports, samples=samples, seconds=seconds)
