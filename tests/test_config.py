import dataclasses

import pytest

from helpers.config import ENV_VAR, Budget, budget_for, current_budget


def test_default_is_fast(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert current_budget().mode == "fast"


@pytest.mark.parametrize("value, mode", [("fast", "fast"), ("full", "full"), (" FULL ", "full")])
def test_env_var_selects_mode(monkeypatch, value, mode):
    monkeypatch.setenv(ENV_VAR, value)
    assert current_budget().mode == mode


def test_fast_is_smaller_than_full():
    assert [f.name for f in dataclasses.fields(Budget)] == ["mode", "train_size", "test_size"]
    fast, full = budget_for("fast"), budget_for("full")
    assert full.train_size is None and full.test_size is None  # the whole split
    assert fast.train_size < 60_000 and fast.test_size < 10_000


def test_pick_follows_mode():
    assert budget_for("fast").pick(fast=1, full=50) == 1
    assert budget_for("full").pick(fast=1, full=50) == 50


def test_budget_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        budget_for("fast").train_size = 100


@pytest.mark.parametrize("bad", ["medium", "", 1, None])
def test_unknown_mode_is_refused(bad):
    with pytest.raises(ValueError, match="BOOK_MODE must be one of"):
        budget_for(bad)


def test_unknown_env_value_is_refused(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "quick")
    with pytest.raises(ValueError, match="quick"):
        current_budget()
