"""Metrics on NumPy arrays, shared by both frameworks."""
from __future__ import annotations

import numpy as np


def accuracy(scores, labels) -> float:
    """Fraction of rows of ``scores`` (N, C) whose arg-max equals ``labels`` (N,).

    ``scores`` may also be predicted labels of shape (N,).
    """
    scores, labels = np.asarray(scores), np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}")
    if scores.ndim == 2:
        predicted = scores.argmax(axis=1)
    elif scores.ndim == 1:
        predicted = scores
    else:
        raise ValueError(f"scores must have shape (N, C) or (N,), got {scores.shape}")
    if len(predicted) != len(labels):
        raise ValueError(f"{len(predicted)} predictions but {len(labels)} labels")
    if len(labels) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float((predicted == labels).mean())
