"""helpers/multiseed.py: the stacked initial weights against nn.Linear's law, and the training
loop's history, snapshots, scores, budgets and messages."""
import functools
import math

import numpy as np
import pytest
from scipy import stats

from helpers import multiseed
from helpers.collapse import evaluate
from helpers.mixtures import BENCHMARKS, sample


TAIL = 1e-6  # chance per check that a correct implementation fails a statistical test


def test_init_stack_shapes_bounds_and_seed_independence():
    params = multiseed.init_stack([16, 128, 2], [0, 1, 2])
    assert [p.shape for p in params] == [(3, 16, 128), (3, 1, 128), (3, 128, 2), (3, 1, 2)]
    assert all(p.dtype == np.float32 for p in params)
    assert np.abs(params[0]).max() <= 1 / math.sqrt(16) and np.abs(params[2]).max() <= 1 / math.sqrt(128)
    assert not params[1].any() and not params[3].any()
    # member s depends only on its own seed: the same seed in another stack gives the same slice
    other = multiseed.init_stack([16, 128, 2], [5, 1])
    np.testing.assert_array_equal(other[0][1], params[0][1])
    assert not np.array_equal(params[0][0], params[0][1])
    # a different salt gives a different network for the same seed
    assert not np.array_equal(multiseed.init_stack([16, 4], [0], salt=1)[0], multiseed.init_stack([16, 4], [0])[0])


def test_init_stack_matches_the_uniform_law_of_nn_linear():
    w = multiseed.init_stack([400, 300], [0])[0].ravel().astype(np.float64)
    bound = 1 / math.sqrt(400)
    assert stats.kstest(w, stats.uniform(-bound, 2 * bound).cdf).pvalue > TAIL


@pytest.mark.parametrize("sizes, seeds", [([16], [0]), ([16, 0], [0]), ([16, 4], []),
                                          ([16, 4], [1, 1]), ([16, 4], [-1])])
def test_init_stack_rejects_bad_input(sizes, seeds):
    with pytest.raises(ValueError):
        multiseed.init_stack(sizes, seeds)


def test_init_stack_edge_widths_and_messages():
    w, b = multiseed.init_stack([1, 1], [0])  # one input, one output: bound 1
    assert w.shape == (1, 1, 1) and abs(w[0, 0, 0]) <= 1.0 and b.tolist() == [[[0.0]]]
    with pytest.raises(ValueError, match=r"^sizes must list at least two positive widths, "
                                         r"got \[16\]$"):
        multiseed.init_stack([16], [0])
    with pytest.raises(ValueError, match=r"^seeds must be distinct non-negative ints, "
                                         r"got \[1, 1\]$"):
        multiseed.init_stack([16, 4], [1, 1])


# -- train --------------------------------------------------------------------------------------
ON_THE_RING = functools.partial(evaluate, benchmark="ring")
SMALL = 800  # points per snapshot


def _fake_run(steps=10, every=None, value=1.0, **kwargs):
    bench = BENCHMARKS["ring"]
    calls = []

    def step(i):
        calls.append(i)
        return {"d_loss": np.array([value, 2 * value]), "g_loss": 0.5}

    def snapshot():  # seed 0 on every mode, seed 1 on mode 0 only
        rng = np.random.default_rng(len(calls))
        a = sample(bench, SMALL, rng)
        b = np.repeat(bench.means[:1], SMALL, axis=0)
        return np.stack([a, b])

    run = multiseed.train(step, steps, snapshot=snapshot, score=ON_THE_RING, every=every,
                          progress=False, **kwargs)
    return run, calls


def test_train_records_history_snapshots_and_scores():
    run, calls = _fake_run(steps=10, every=4)
    assert calls == list(range(10))
    assert run.history["d_loss"].shape == (10, 2) and np.all(run.history["d_loss"] == [1, 2])
    assert run.history["g_loss"].shape == (10, 1)
    assert run.steps == [4, 8, 10] and len(run.samples) == 3
    assert all(s.shape == (2, SMALL, 2) and s.dtype == np.float32 for s in run.samples)
    assert run.scores("modes").tolist() == [[8, 1], [8, 1], [8, 1]]
    assert [r.modes for r in run.final] == [8, 1]
    assert run.seconds >= 0
    once, _ = _fake_run(steps=3)
    assert once.steps == [3]


def test_each_seed_of_each_snapshot_goes_to_the_scorer_and_its_answer_is_kept():
    seen = []

    def score(row):  # any function of one seed's samples; here dict reports
        seen.append(row.copy())
        return {"mean": float(row.mean()), "rows": len(row)}

    snapshots = iter(np.arange(3 * 2 * 4 * 5, dtype=np.float64).reshape(3, 2, 4, 5))
    run = multiseed.train(lambda i: {"loss": [0.0, 0.0]}, 6, snapshot=lambda: next(snapshots),
                          score=score, every=2, progress=False)
    assert len(seen) == 6 and all(row.shape == (4, 5) for row in seen)
    assert run.steps == [2, 4, 6]
    assert run.scores("mean").tolist() == [[9.5, 29.5], [49.5, 69.5], [89.5, 109.5]]
    assert run.scores("rows").tolist() == [[4, 4]] * 3
    assert run.final == [{"mean": 89.5, "rows": 4}, {"mean": 109.5, "rows": 4}]
    assert [s[0, 0, 0] for s in run.samples] == [0.0, 40.0, 80.0]


def test_keep_all_false_keeps_the_last_samples_and_scores_every_snapshot():
    run, _ = _fake_run(steps=10, every=4, keep_all=False)
    assert run.steps == [4, 8, 10] and len(run.reports) == 3
    assert len(run.samples) == 1 and run.samples[0].shape == (2, SMALL, 2)
    expected = sample("ring", SMALL, np.random.default_rng(10))
    np.testing.assert_array_equal(run.samples[0][0], expected)


def test_integer_samples_stay_integers():
    run = multiseed.train(lambda i: {"loss": 0.0}, 1, snapshot=lambda: np.ones((2, 3), np.uint8),
                          score=lambda row: int(row.sum()), progress=False)
    assert run.samples[0].dtype == np.uint8 and run.final == [3, 3]


def test_train_stops_on_a_non_finite_metric():
    from helpers.loop import NonFiniteLossError

    with pytest.raises(NonFiniteLossError, match=r"d_loss became .* at step 1:"):
        _fake_run(value=float("nan"))
    assert issubclass(NonFiniteLossError, FloatingPointError)


def test_train_takes_numpy_integers_as_budgets():
    run, calls = _fake_run(steps=np.int64(5), every=np.int32(2))
    assert calls == list(range(5)) and run.steps == [2, 4, 5]


@pytest.mark.parametrize("steps, every", [(0, None), (2.5, None), (True, None), (5, 0),
                                          (np.float64(3.0), None), (5, np.bool_(True))])
def test_train_rejects_bad_budgets(steps, every):
    with pytest.raises(ValueError):
        multiseed.train(lambda i: {"d_loss": 0.0}, steps, snapshot=lambda: np.zeros((1, 5, 2)),
                        score=ON_THE_RING, every=every, progress=False)


@pytest.mark.parametrize("returned", [None, {}, 1.0, [("d_loss", 1.0)]])
def test_train_refuses_a_step_that_returns_no_metrics(returned):
    with pytest.raises(TypeError, match="non-empty dict"):
        multiseed.train(lambda i: returned, 2, snapshot=lambda: np.zeros((1, 5, 2)),
                        score=ON_THE_RING, progress=False)


def test_train_refuses_a_scorer_that_is_not_a_function():
    with pytest.raises(TypeError, match="^score must be a function of one seed's samples, "
                                        "got str$"):
        multiseed.train(lambda i: {"d_loss": 0.0}, 2, snapshot=lambda: np.zeros((1, 5, 2)),
                        score="ring", progress=False)


def test_train_rejects_snapshots_without_a_seed_axis():
    with pytest.raises(ValueError, match=r"^snapshot\(\) must return one row of samples per "
                                         r"seed, \(S, n, ...\), got shape \(5,\)$"):
        multiseed.train(lambda i: {"d_loss": 0.0}, 2, snapshot=lambda: np.zeros(5),
                        score=ON_THE_RING, progress=False)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):  # the scorer's own check
        multiseed.train(lambda i: {"d_loss": 0.0}, 2, snapshot=lambda: np.zeros((5, 2)),
                        score=ON_THE_RING, progress=False)


def test_train_takes_tensors_that_need_grad_and_counts_step_time(monkeypatch):
    import time

    import torch

    clock = iter(range(0, 1000, 1))  # every reading of the clock one second later
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    bench = BENCHMARKS["ring"]

    def step(i):
        return {"d_loss": torch.tensor([1.0, 2.0], requires_grad=True), "n": 3}

    def snapshot():
        points = np.repeat(bench.means[None, :1], 50, axis=1).astype(np.float64)
        return torch.tensor(points, requires_grad=True)

    run = multiseed.train(step, 4, snapshot=snapshot, score=ON_THE_RING, progress=False)
    assert run.history["d_loss"].tolist() == [[1.0, 2.0]] * 4
    assert run.history["n"].dtype == np.float64 and run.history["n"].tolist() == [[3.0]] * 4
    assert run.samples[0].dtype == np.float32
    assert run.final[0].modes == 1
    assert run.seconds == 4.0  # one second a step; snapshots are not counted


def test_train_messages_and_progress_bar(capsys):
    ok = {"step": lambda i: {"d_loss": 0.0}, "snapshot": lambda: np.zeros((1, 5, 2)),
          "score": ON_THE_RING}
    with pytest.raises(ValueError, match="^steps must be a positive int"):
        multiseed.train(steps=0, progress=False, **ok)
    with pytest.raises(ValueError, match="^every must be a positive int"):
        multiseed.train(steps=2, every=0, progress=False, **ok)
    from helpers.loop import NonFiniteLossError
    with pytest.raises(NonFiniteLossError, match=r"\(lower the learning rate\)$"):
        multiseed.train(lambda i: {"d_loss": math.inf}, 2, snapshot=ok["snapshot"],
                        score=ON_THE_RING, progress=False)
    capsys.readouterr()
    multiseed.train(steps=3, **ok)
    shown = capsys.readouterr().err
    assert "training" in shown and "3/3" in shown
    multiseed.train(steps=3, desc="pacgan", **ok)
    assert "pacgan" in capsys.readouterr().err
    multiseed.train(steps=3, progress=False, **ok)
    assert capsys.readouterr().err == ""


def test_train_progress_bar_label(capsys):
    import re

    multiseed.train(lambda i: {"d_loss": 0.0}, 2, snapshot=lambda: np.zeros((1, 5, 2)),
                    score=ON_THE_RING)
    assert re.search(r"(^|\r)training: ", capsys.readouterr().err)
