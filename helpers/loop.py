"""What the PyTorch and TensorFlow training loops share: argument checks, the non-finite
check, and how one epoch's numbers become one row of the history."""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

History = dict[str, list[float]]


class NonFiniteLossError(FloatingPointError):
    """A metric returned by a step was NaN or infinite."""


def positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_step_output(metrics) -> None:
    if not isinstance(metrics, Mapping) or not metrics:
        raise TypeError("step must return a non-empty dict of named scalars, got "
                        f"{type(metrics).__name__}")


def add_checked(sums: dict[str, float], key: str, values: np.ndarray, epoch: int,
                first_step: int) -> None:
    """Add one metric's per-step ``values`` to ``sums``; fail on the first NaN or inf.

    ``first_step`` is the 0-based index in the epoch of ``values[0]``.
    """
    finite = np.isfinite(values)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise NonFiniteLossError(
            f"{key} became {values[bad]} at epoch {epoch + 1}, step {first_step + bad + 1}: "
            "lower the learning rate, check the loss for log(0) or division by zero, "
            "or check the inputs for NaN")
    sums[key] = sums.get(key, 0.0) + float(values.sum())


def end_epoch(history: History, sums: dict[str, float], steps: int, elapsed: float,
              evaluate: Callable[[], Mapping[str, float]] | None) -> None:
    """Append the epoch means of ``sums``, the metrics of ``evaluate()`` and the epoch time."""
    for key, total in sums.items():
        history.setdefault(key, []).append(total / steps)
    if evaluate is not None:
        for key, value in evaluate().items():
            if key in sums:
                raise ValueError(f"evaluate() and step() both return {key!r}")
            history.setdefault(key, []).append(float(value))
    history.setdefault("epoch_time", []).append(elapsed)


def postfix(history: History) -> dict[str, str]:
    return {k: f"{v[-1]:.4g}" for k, v in history.items() if k != "epoch_time"}
