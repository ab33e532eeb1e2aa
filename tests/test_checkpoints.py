import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from torch import nn

from helpers import checkpoints
from helpers.checkpoints import load_arrays, load_or_train, load_torch, save_arrays, save_torch


def test_torch_roundtrip_refuses_pickled_code(tmp_path):
    path = tmp_path / "c.pt"
    save_torch(path, {"w": torch.ones(3), "history": {"loss": [1.0, 0.5]}})
    loaded = load_torch(path)
    assert loaded["history"] == {"loss": [1.0, 0.5]}
    torch.save({"f": print}, path)  # arbitrary objects need full unpickling
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_torch(path)


def test_arrays_roundtrip(tmp_path):
    path = tmp_path / "c.npz"
    save_arrays(path, {"a/0": np.arange(3)}, {"history": {"loss": [2.0]}})
    arrays, meta = load_arrays(path)
    np.testing.assert_array_equal(arrays["a/0"], np.arange(3))
    assert meta == {"history": {"loss": [2.0]}}
    with pytest.raises(ValueError, match="reserved"):
        save_arrays(path, {"__meta__": np.zeros(1)}, {})


def test_failed_write_keeps_the_old_checkpoint(tmp_path):
    path = tmp_path / "c.pt"
    save_torch(path, {"version": 1})

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_torch(path, {"version": Unsaveable()})
    assert load_torch(path) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def counting_trainer(calls):
    def train_fn(model):
        calls.append(1)
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(0.5)
        return {"loss": [1.0, 0.25]}

    return train_fn


def test_load_or_train_torch(tmp_path, capsys):
    calls = []
    model = nn.Linear(2, 2)
    history = load_or_train("net", model, counting_trainer(calls), {"lr": 0.1}, directory=tmp_path)
    assert calls == [1] and history == {"loss": [1.0, 0.25]}
    assert (tmp_path / "net-fast.pt").exists()

    again = nn.Linear(2, 2)
    history = load_or_train("net", again, counting_trainer(calls), {"lr": 0.1}, directory=tmp_path)
    assert calls == [1], "matching checkpoint must be loaded, not retrained"
    assert torch.all(again.weight == 0.5) and history == {"loss": [1.0, 0.25]}

    load_or_train("net", nn.Linear(2, 2), counting_trainer(calls), {"lr": 0.2}, directory=tmp_path)
    assert calls == [1, 1], "another config must retrain"
    assert "another config" in capsys.readouterr().out


def test_load_or_train_keeps_fast_and_full_apart(tmp_path, monkeypatch):
    calls = []
    load_or_train("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    monkeypatch.setenv("BOOK_MODE", "full")
    load_or_train("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    assert calls == [1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net-fast.pt", "net-full.pt"]


def test_load_or_train_keras(tmp_path):
    calls = []

    def build():
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])

    def train_fn(model):
        calls.append(1)
        model.set_weights([np.full(w.shape, 0.5, np.float32) for w in model.get_weights()])
        return {"loss": [3.0]}

    load_or_train("k", build(), train_fn, {"units": 2}, directory=tmp_path)
    model = build()
    history = load_or_train("k", model, train_fn, {"units": 2}, directory=tmp_path)
    assert calls == [1] and history == {"loss": [3.0]}
    assert all(np.all(w == 0.5) for w in model.get_weights())


def test_unreadable_checkpoint_is_retrained(tmp_path):
    (tmp_path / "net-fast.pt").write_bytes(b"garbage")
    calls = []
    load_or_train("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    assert calls == [1]


@pytest.mark.parametrize("name, config, error", [
    ("", {}, ValueError), ("a/b", {}, ValueError), ("ok", [1], TypeError),
    ("ok", {"f": print}, TypeError),
])
def test_load_or_train_bad_input(tmp_path, name, config, error):
    with pytest.raises(error):
        load_or_train(name, nn.Linear(1, 1), counting_trainer([]), config, directory=tmp_path)


def test_restore_refuses_mismatched_shapes():
    small = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    big = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="shape"):
        checkpoints.restore_keras_state({"model": big}, checkpoints.keras_state({"model": small}))


def test_keras_state_round_trips_a_model_with_more_than_ten_variables_and_its_optimizer():
    """Twelve variables of two alternating shapes: restoring them in text order ("model/10"
    before "model/2") would put same-shaped weights in the wrong layers without an error."""
    def build():
        model = keras.Sequential([keras.Input((4,)), *[keras.layers.Dense(4) for _ in range(6)]])
        optimizer = keras.optimizers.Adam(1e-2)
        optimizer.build(model.trainable_variables)
        return model, optimizer

    model, optimizer = build()
    assert len(model.variables) == 12
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    for _ in range(2):  # moments that differ per variable
        with tf.GradientTape() as tape:
            loss = keras.ops.mean(model(x) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables))
    arrays = checkpoints.keras_state({"model": model, "optimizer": optimizer})
    fresh, fresh_optimizer = build()
    checkpoints.restore_keras_state({"model": fresh, "optimizer": fresh_optimizer}, arrays)
    for saved, restored in zip(model.variables + optimizer.variables,
                               fresh.variables + fresh_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(restored))
    np.testing.assert_allclose(fresh(x), model(x), rtol=0, atol=0)
