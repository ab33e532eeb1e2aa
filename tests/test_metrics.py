import numpy as np
import pytest
import torch
import torchmetrics

from helpers.metrics import accuracy


def test_accuracy_matches_torchmetrics():
    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=(500, 10)), rng.integers(0, 10, 500)
    reference = torchmetrics.functional.accuracy(torch.tensor(scores), torch.tensor(labels),
                                                 task="multiclass", num_classes=10)
    assert accuracy(scores, labels) == pytest.approx(float(reference))


def test_accuracy_of_labels():
    assert accuracy(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4])) == 0.75


@pytest.mark.parametrize("scores, labels, message", [
    (np.zeros((3, 2)), np.zeros(4), "3 predictions but 4 labels"),
    (np.zeros((3, 2, 2)), np.zeros(3), "scores must have shape"),
    (np.zeros((3, 2)), np.zeros((3, 1)), "labels must have shape"),
    (np.zeros((0, 2)), np.zeros(0), "empty"),
])
def test_accuracy_bad_input(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        accuracy(scores, labels)
