import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from torch import nn

from helpers import checkpoints
from helpers.checkpoints import (load_arrays, load_or_train, load_torch, save_arrays, save_torch,
                                 train_once)


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


def test_train_once_keeps_fast_and_full_apart(tmp_path, monkeypatch):
    calls = []
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    monkeypatch.setenv("BOOK_MODE", "full")
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    assert calls == [1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net-fast.pt", "net-full.pt"]


def build():
    """A small built Keras model."""
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])


def keras_trainer(calls):
    """A train_fn that counts its calls in ``calls`` and sets every weight to 0.5."""
    def train_fn(model):
        calls.append(1)
        model.set_weights([np.full(w.shape, 0.5, np.float32) for w in model.get_weights()])
        return {"loss": [3.0]}
    return train_fn


def test_unreadable_checkpoint_is_retrained(tmp_path):
    (tmp_path / "net-fast.pt").write_bytes(b"garbage")
    calls = []
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    assert calls == [1]


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


# --- added with mutation testing (make mutation) ---------------------------------------------

def test_checkpoint_dir_from_the_environment_else_the_repository(monkeypatch, tmp_path):
    default = checkpoints.Path(checkpoints.__file__).resolve().parent.parent / "checkpoints"
    monkeypatch.delenv("BOOK_CHECKPOINT_DIR", raising=False)
    assert checkpoints.checkpoint_dir() == default
    monkeypatch.setenv("BOOK_CHECKPOINT_DIR", "")
    assert checkpoints.checkpoint_dir() == default
    monkeypatch.setenv("BOOK_CHECKPOINT_DIR", str(tmp_path))
    assert checkpoints.checkpoint_dir() == tmp_path


def test_atomic_write_uses_a_temporary_file_beside_the_target(tmp_path):
    path = tmp_path / "new" / "dir" / "c.bin"  # folders that do not exist yet
    seen = []

    def write(f):
        seen.extend(p.name for p in path.parent.iterdir())
        f.write(b"data")

    checkpoints._atomic_write(path, write)
    assert len(seen) == 1 and seen[0].startswith("c.bin") and seen[0].endswith(".tmp")
    assert path.read_bytes() == b"data"
    assert [p.name for p in path.parent.iterdir()] == ["c.bin"]


def test_messages_of_arrays_and_keras_state(tmp_path):
    with pytest.raises(ValueError, match="^'__meta__' is reserved$"):
        save_arrays(tmp_path / "c.npz", {"__meta__": np.zeros(1)}, {})
    small = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    big = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    two = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"^model/0: checkpoint shape \(2, 2\), variable shape "
                                         r"\(2, 3\)$"):
        checkpoints.restore_keras_state({"model": big}, checkpoints.keras_state({"model": small}))
    with pytest.raises(ValueError, match=r"^checkpoint has 2 variables for 'model', the object "
                                         r"has 4: was it built the same way\?$"):
        checkpoints.restore_keras_state({"model": two}, checkpoints.keras_state({"model": small}))
    # Only the object's own keys: "model2/0" is not one of "model"'s.
    state = checkpoints.keras_state({"model": small, "model2": big})
    assert sorted(state) == ["model/0", "model/1", "model2/0", "model2/1"]
    fresh = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    checkpoints.restore_keras_state({"model": fresh}, state)
    for a, b in zip(fresh.get_weights(), small.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_which_models_are_torch_modules():
    class Net(nn.Module):  # defined outside torch, a torch module by its base class
        pass

    assert checkpoints._is_torch_module(Net()) and checkpoints._is_torch_module(nn.Linear(1, 1))
    assert not checkpoints._is_torch_module(keras.Sequential([keras.Input((2,))]))
    assert not checkpoints._is_torch_module(object())


def test_train_once_says_what_it_did(tmp_path, capsys):
    calls = []
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    assert capsys.readouterr().out == ""  # nothing to load: trains quietly
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    assert capsys.readouterr().out == "loaded net-fast.pt (this code, this config)\n"
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {"a": 1}, directory=tmp_path)
    assert capsys.readouterr().out == "net-fast.pt was trained with another config; training again\n"
    (tmp_path / "net-fast.pt").write_bytes(b"garbage")
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    out = capsys.readouterr().out
    assert out.startswith("ignoring checkpoint net-fast.pt (") and out.endswith(")\n")
    for config in ({}, {"b": 2}):  # loaded, then retrained: silent when not verbose
        train_once("net", nn.Linear(2, 2), counting_trainer(calls), config, directory=tmp_path,
                      verbose=False)
    (tmp_path / "net-fast.pt").write_bytes(b"garbage")
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path,
                  verbose=False)
    assert capsys.readouterr().out == "" and len(calls) == 5
    with pytest.raises(ValueError, match="^name must be a plain file stem, got ''$"):
        train_once("", nn.Linear(1, 1), counting_trainer([]), {}, directory=tmp_path)
    with pytest.raises(TypeError, match="^config must be a dict, got list$"):
        train_once("ok", nn.Linear(1, 1), counting_trainer([]), [1], directory=tmp_path)


def test_train_once_keras_checkpoint_and_its_config(tmp_path, monkeypatch):
    calls = []
    train_fn = keras_trainer(calls)
    monkeypatch.setenv("BOOK_CHECKPOINT_DIR", str(tmp_path))  # the default directory
    train_once("k", build(), train_fn, {"units": (2, 3)}, verbose=False)
    arrays, meta = load_arrays(tmp_path / "k-fast.npz")
    assert meta["config"] == {"units": [2, 3]} and meta["history"] == {"loss": [3.0]}
    assert sorted(meta) == ["code", "config", "history"]
    assert sorted(arrays) == ["model/0", "model/1"]
    model = build()
    train_once("k", model, train_fn, {"units": [2, 3]}, verbose=False)  # a tuple is a list
    assert calls == [1] and all(np.all(w == 0.5) for w in model.get_weights())
    other = build()
    train_once("k", other, train_fn, {"units": [2, 4]}, verbose=False)
    assert calls == [1, 1]


def test_torch_module_by_the_module_of_its_class_and_arrays_without_pickle(tmp_path):
    Stand_in = type("Stand_in", (), {"__module__": "torch.something"})  # no nn.Module base
    assert checkpoints._is_torch_module(Stand_in())
    path = tmp_path / "pickled.npz"
    np.savez(path, a=np.array([None, 1], dtype=object), __meta__=np.array("{}"))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_arrays(path)


def test_keras_state_round_trips_names_that_hold_a_slash():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    state = checkpoints.keras_state({"gan/generator": model})
    assert sorted(state) == ["gan/generator/0", "gan/generator/1"]
    fresh = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    checkpoints.restore_keras_state({"gan/generator": fresh}, state)
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_train_once_loads_only_what_this_code_and_config_trained(tmp_path, capsys):
    calls = []
    history = train_once("net", nn.Linear(2, 2), counting_trainer(calls), {"lr": 0.1},
                         directory=tmp_path)
    assert calls == [1] and capsys.readouterr().out == ""  # nothing to load: trains quietly
    again = nn.Linear(2, 2)
    assert train_once("net", again, counting_trainer(calls), {"lr": 0.1},
                      directory=tmp_path) == history
    assert calls == [1] and torch.all(again.weight == 0.5)
    assert capsys.readouterr().out == "loaded net-fast.pt (this code, this config)\n"

    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {"lr": 0.2}, directory=tmp_path)
    assert calls == [1, 1]
    assert capsys.readouterr().out == "net-fast.pt was trained with another config; training again\n"

    def other_trainer(model):  # the same config, other code
        calls.append(2)
        return {"loss": [0.0]}

    train_once("net", nn.Linear(2, 2), other_trainer, {"lr": 0.2}, directory=tmp_path)
    assert calls == [1, 1, 2]
    assert capsys.readouterr().out == "net-fast.pt was trained with other code; training again\n"


def test_train_once_keys_by_the_models_own_classes_and_the_code_passed(tmp_path):
    calls = []
    source = """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)
    def forward(self, x):
        return self.linear(x) * {k}
"""
    one, two = ({"__name__": "__main__", "torch": torch} for _ in range(2))
    exec(source.format(k=1), one)
    exec(source.format(k=2), two)
    train_once("net", one["Net"](), counting_trainer(calls), {}, directory=tmp_path)
    train_once("net", one["Net"](), counting_trainer(calls), {}, directory=tmp_path)
    assert calls == [1], "the same class: loaded"
    train_once("net", two["Net"](), counting_trainer(calls), {}, directory=tmp_path)
    assert calls == [1, 1], "its forward changed: trained again"

    def init_a(model):
        return model

    def init_b(model):
        return None

    train_once("net", two["Net"](), counting_trainer(calls), {}, code=(init_a,),
               directory=tmp_path)
    train_once("net", two["Net"](), counting_trainer(calls), {}, code=(init_a,),
               directory=tmp_path)
    train_once("net", two["Net"](), counting_trainer(calls), {}, code=(init_b,),
               directory=tmp_path)
    assert calls == [1, 1, 1, 1], "an initialiser passed in code is part of the key"


def test_train_once_retrains_a_checkpoint_written_without_a_code_key(tmp_path, capsys):
    save_torch(tmp_path / "net-fast.pt",  # what load_or_train wrote before it keyed by code
               {"config": {}, "history": {"loss": [1.0]}, "model": nn.Linear(2, 2).state_dict()})
    calls = []
    train_once("net", nn.Linear(2, 2), counting_trainer(calls), {}, directory=tmp_path)
    assert calls == [1]  # it names no code, so no code can claim it
    assert "other code" in capsys.readouterr().out


def test_train_once_keras(tmp_path):
    calls = []
    train_fn = keras_trainer(calls)
    train_once("k", build(), train_fn, {"units": 2}, directory=tmp_path)
    model = build()
    history = train_once("k", model, train_fn, {"units": 2}, directory=tmp_path)
    assert calls == [1] and history == {"loss": [3.0]}
    assert all(np.all(w == 0.5) for w in model.get_weights())


@pytest.mark.parametrize("name, config, train_fn, code, error, message", [
    ("a/b", {}, len, (), ValueError, "plain file stem"),
    ("", {}, len, (), ValueError, "plain file stem"),
    ("a", [], len, (), TypeError, "config must be a dict"),
    ("a", {}, None, (), TypeError, "train_fn must be callable"),
    ("a", {}, len, len, TypeError, "code must be a tuple"),
])
def test_train_once_bad_input(tmp_path, name, config, train_fn, code, error, message):
    with pytest.raises(error, match=message):
        train_once(name, nn.Linear(1, 1), train_fn, config, code=code, directory=tmp_path)


def test_load_or_train_is_train_once_under_its_former_name(tmp_path, capsys):
    calls = []
    trainer = counting_trainer(calls)
    load_or_train("net", nn.Linear(2, 2), trainer, {"lr": 0.1}, directory=tmp_path)
    model = nn.Linear(2, 2)
    train_once("net", model, trainer, {"lr": 0.1}, directory=tmp_path)
    assert calls == [1] and torch.all(model.weight == 0.5), "the same code and config: loaded"

    def other_trainer(model):
        calls.append(2)
        return {"loss": [0.0]}

    load_or_train("net", nn.Linear(2, 2), other_trainer, {"lr": 0.1}, directory=tmp_path)
    assert calls == [1, 2], "a checkpoint another code wrote is not loaded"
    assert capsys.readouterr().out.endswith(
        "net-fast.pt was trained with other code; training again\n")
