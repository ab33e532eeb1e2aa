"""The book's MNIST classifier: it trains on what the lab's budget says, not on the environment."""
import pytest

from helpers import classifier
from helpers.config import ENV_VAR, budget_for


@pytest.mark.parametrize("bad", [None, "full", {"mode": "full"}])
def test_the_budget_must_be_a_budget(bad):
    with pytest.raises(TypeError, match="budget must be a helpers Budget"):
        classifier.mnist_classifier("torch", "cpu", budget=bad)


def test_the_budget_argument_decides_not_the_environment(monkeypatch):
    seen = {}

    def load_or_train(name, model, train, config):
        seen.update(config)
        return {"test_accuracy": [0.0]}

    monkeypatch.setattr(classifier, "load_or_train", load_or_train)
    monkeypatch.setattr(classifier, "load_mnist", lambda split, subset=None: (subset, split))
    monkeypatch.setenv(ENV_VAR, "full")
    classifier.mnist_classifier("torch", "cpu", budget=budget_for("fast"))
    assert seen["train_size"] == budget_for("fast").train_size
    assert seen["test_size"] == budget_for("fast").test_size
