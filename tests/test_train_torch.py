import math

import pytest
import torch
from torch import nn

from helpers.loop import NonFiniteLossError
from helpers.train_torch import train


def regression_problem(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    w = torch.tensor([[1.0], [-2.0], [0.5]])
    return x, x @ w


def make_step(model, lr=0.1, optimizer=torch.optim.SGD):
    optimizer = optimizer(model.parameters(), lr=lr)

    def step(batch):
        x, y = batch
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss}

    return step, optimizer


def test_loss_falls_and_history_has_one_value_per_epoch():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    step, _ = make_step(model)
    history = train(step, regression_problem(), epochs=5, batch_size=32, progress=False)
    assert set(history) == {"loss", "epoch_time"}
    assert len(history["loss"]) == 5 and len(history["epoch_time"]) == 5
    assert history["loss"][-1] < 0.01 * history["loss"][0]


def test_epoch_mean_is_mean_over_steps():
    seen = []

    def step(batch):
        value = float(batch[0].sum())
        seen.append(value)
        return {"value": value}

    data = (torch.arange(10.0),)
    history = train(step, data, epochs=1, batch_size=4, shuffle=False, progress=False)
    assert seen == [6.0, 22.0, 17.0]  # batches [0..3], [4..7], [8, 9]
    assert history["value"] == [pytest.approx(sum(seen) / 3)]


def test_every_example_visited_once_per_epoch():
    visits = []
    train(lambda b: visits.append(b[0].clone()) or {"n": len(b[0])}, (torch.arange(50),),
          epochs=2, batch_size=8, progress=False)
    first, second = torch.cat(visits[:7]), torch.cat(visits[7:])
    assert sorted(first.tolist()) == list(range(50)) == sorted(second.tolist())
    assert first.tolist() != second.tolist()  # reshuffled


def test_same_seed_same_result():
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        step, _ = make_step(model)
        results.append(train(step, regression_problem(), epochs=2, batch_size=16, seed=7,
                             progress=False)["loss"])
    assert results[0] == results[1]


def test_evaluate_joins_history_and_may_not_clash():
    history = train(lambda b: {"loss": 1.0}, (torch.zeros(8),), epochs=3, batch_size=4,
                    evaluate=lambda: {"test_loss": 2.0}, progress=False)
    assert history["test_loss"] == [2.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="both return 'loss'"):
        train(lambda b: {"loss": 1.0}, (torch.zeros(8),), epochs=1, batch_size=4,
              evaluate=lambda: {"loss": 2.0}, progress=False)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_loss_names_epoch_step_and_metric(bad):
    calls = iter(range(100))

    def step(batch):
        i = next(calls)
        return {"loss": 1.0, "kl": bad if i == 5 else 0.0}

    with pytest.raises(NonFiniteLossError, match=r"kl became (nan|inf) at epoch 2, step 2"):
        train(step, (torch.zeros(16),), epochs=3, batch_size=4, shuffle=False,
              check_every=3, progress=False)


def test_checkpoint_resume_continues_identically(tmp_path):
    # Adam, not plain SGD: its moments and step count are state, so a resume that restores
    # the model but not the optimizer takes different steps after the restart.
    def run(epochs, path):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        step, optimizer = make_step(model, lr=0.05, optimizer=torch.optim.Adam)
        history = train(step, regression_problem(), epochs=epochs, batch_size=16, seed=1,
                        state={"model": model, "optimizer": optimizer}, checkpoint=path,
                        progress=False)
        return model, history

    straight, h_straight = run(4, tmp_path / "a.pt")
    run(2, tmp_path / "b.pt")  # "interrupted" after two epochs
    resumed, h_resumed = run(4, tmp_path / "b.pt")
    assert h_resumed["loss"] == h_straight["loss"]
    torch.testing.assert_close(resumed.weight, straight.weight)
    assert not list(tmp_path.glob("*.tmp"))  # no temporary files left behind


def test_amp_off_cuda_warns_and_runs_in_float32():
    def step(batch):
        return {"autocast": float(torch.is_autocast_enabled("cuda"))}

    with pytest.warns(RuntimeWarning, match="no effect"):
        history = train(step, (torch.zeros(4),), epochs=1, batch_size=4, amp=True,
                        device="cpu", progress=False)
    assert history["autocast"] == [0.0]


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(data=[torch.zeros(3), torch.zeros(4)]), ValueError, "differ in length"),
    (dict(data=[[1, 2, 3]]), TypeError, "torch tensors"),
    (dict(data=()), TypeError, "non-empty"),
    (dict(data=(torch.zeros(0),)), ValueError, "empty"),
    (dict(epochs=0), ValueError, "epochs must be a positive int"),
    (dict(batch_size=2.5), ValueError, "batch_size must be a positive int"),
    (dict(checkpoint="x.pt"), ValueError, "checkpoint needs state"),
])
def test_bad_arguments(kwargs, error, message):
    arguments = dict(data=(torch.zeros(4),), epochs=1, batch_size=2, progress=False)
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        train(lambda b: {"loss": 0.0}, **arguments)


@pytest.mark.parametrize("returned", [None, {}, 1.0])
def test_step_must_return_named_metrics(returned):
    with pytest.raises(TypeError, match="dict of named scalars"):
        train(lambda b: returned, (torch.zeros(4),), epochs=1, batch_size=2, progress=False)


# -- added with mutation testing (make mutation) ------------------------------------------------
def constant_step(batch):
    return {"loss": 1.0}


def test_checkpoint_cadence_and_resume_message(tmp_path, monkeypatch, capsys):
    import re

    import helpers.train_torch as train_torch

    saved = []
    real_save = train_torch.save_torch
    monkeypatch.setattr(train_torch, "save_torch",
                        lambda path, payload: (saved.append(payload["epoch"]),
                                               real_save(path, payload)))
    model = nn.Linear(3, 1)
    state = {"model": model}
    data = torch.zeros(6, 3)
    train(constant_step, data, epochs=7, batch_size=2, state=state, checkpoint=tmp_path / "a.pt",
          checkpoint_every=3, progress=False)
    assert saved == [3, 6, 7]  # every third epoch, and after the last
    saved.clear()
    train(constant_step, data, epochs=3, batch_size=2, state=state, checkpoint=tmp_path / "b.pt",
          progress=False)
    assert saved == [1, 2, 3]  # by default after every epoch
    capsys.readouterr()
    saved.clear()
    train(constant_step, data, epochs=4, batch_size=2, state=state, checkpoint=tmp_path / "b.pt")
    out, err = capsys.readouterr()
    assert out == f"resumed from {tmp_path / 'b.pt'} after epoch 3\n" and saved == [4]
    assert re.search(r"(^|\r)train: .* 3/3 ", err) and "loss=" in err  # one epoch of 3 steps
    with pytest.raises(ValueError, match=r"^checkpoint needs state=\{'model': \.\.\., "
                                         r"'optimizer': \.\.\.\} to save$"):
        train(constant_step, data, epochs=1, batch_size=2, checkpoint=tmp_path / "c.pt")


def test_progress_bar_defaults_and_epoch_times(capsys):
    import re

    history = train(constant_step, torch.zeros(6, 3), epochs=2, batch_size=2)
    err = capsys.readouterr().err
    assert re.search(r"(^|\r)train: 100%.* 6/6 ", err) and "loss=1" in err
    assert all(isinstance(t, float) and 0 <= t < 60 for t in history["epoch_time"])
    train(constant_step, torch.zeros(6, 3), epochs=2, batch_size=2, desc="fit")
    assert re.search(r"(^|\r)fit: ", capsys.readouterr().err)
    train(constant_step, torch.zeros(6, 3), epochs=2, batch_size=2, progress=False)
    assert capsys.readouterr().err == ""


def test_nan_is_found_at_the_default_check_every_50_steps():
    calls = []

    def step(batch):
        calls.append(1)
        return {"loss": math.nan if len(calls) == 1 else 1.0}

    with pytest.raises(NonFiniteLossError):
        train(step, torch.zeros(100, 1), epochs=1, batch_size=1, progress=False)
    assert len(calls) == 50  # the first check comes after 50 steps


def test_defaults_seed_zero_no_amp_and_a_single_tensor():
    import warnings

    seen = []

    def step(batch):
        seen.append(batch[0][:, 0].tolist())
        return {"loss": 0.0}

    data = torch.arange(8.0)[:, None]  # one tensor, not a tuple
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # amp is off by default: no warning
        train(step, data, epochs=1, batch_size=8, progress=False)
    order = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    assert seen == [order.float().tolist()]


def test_data_and_budget_messages():
    for data, error, message in [
        ([], TypeError, r"^data must be a tensor or a non-empty tuple of tensors$"),
        ((torch.zeros(2), [1, 2]), TypeError, r"^data must hold torch tensors, got list$"),
        ((torch.zeros(0, 3),), ValueError, r"^data is empty$"),
    ]:
        with pytest.raises(error, match=message):
            train(constant_step, data, epochs=1, batch_size=2, progress=False)
    for name in ("checkpoint_every", "check_every"):
        with pytest.raises(ValueError, match=f"^{name} must be a positive int"):
            train(constant_step, torch.zeros(2, 1), epochs=1, batch_size=2, progress=False,
                  **{name: 0})
