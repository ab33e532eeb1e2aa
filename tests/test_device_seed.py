import random
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.device import get_device
from helpers.seed import seed_everything


def test_torch_device_on_this_machine_is_cpu(capsys):
    device = get_device("torch")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.type in (expected, "mps")
    assert "torch device:" in capsys.readouterr().out


def test_tensorflow_device_is_a_device_string(capsys):
    device = get_device("tensorflow")
    assert device in ("/GPU:0", "/CPU:0")
    assert "tensorflow device:" in capsys.readouterr().out


def test_full_mode_on_cpu_warns(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.setenv("BOOK_MODE", "full")
    with pytest.warns(RuntimeWarning, match="full mode on a CPU"):
        get_device("torch", verbose=False)
    monkeypatch.setenv("BOOK_MODE", "fast")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_device("torch", verbose=False)


def test_the_cpu_warning_points_at_the_readers_code(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from helpers import setup_lab

    monkeypatch.setenv("BOOK_MODE", "full")
    for call in (lambda: get_device("torch", verbose=False), lambda: setup_lab("torch")):
        with pytest.warns(RuntimeWarning, match="full mode on a CPU") as caught:
            call()
        assert [Path(w.filename).name for w in caught] == [Path(__file__).name]


def test_seeding_imports_no_framework():
    code = ("import sys; from helpers.seed import seed_everything; seed_everything(0); "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_framework():
    with pytest.raises(ValueError, match="framework must be one of"):
        get_device("jax")


def draws():
    import keras

    return (random.random(), np.random.rand(), torch.rand(1).item(),
            float(keras.random.uniform(())))


def test_seed_everything_repeats_every_generator():
    import keras  # noqa: F401  (so it is seeded)

    seed_everything(5)
    first = draws()
    seed_everything(5)
    assert draws() == first
    seed_everything(6)
    assert all(a != b for a, b in zip(draws(), first))


@pytest.mark.parametrize("bad, error", [(1.5, TypeError), ("1", TypeError), (True, TypeError),
                                        (-1, ValueError), (2**32, ValueError)])
def test_seed_bad_input(bad, error):
    with pytest.raises(error):
        seed_everything(bad)


def test_two_seeded_training_runs_are_identical():
    from helpers.classifier import classifier_torch, train_classifier_torch
    from helpers.data import load_mnist

    x, y = load_mnist("train", subset=256)
    runs = []
    for _ in range(2):
        seed_everything(0)
        model = classifier_torch()
        runs.append(train_classifier_torch(model, x, y, epochs=1, device="cpu",
                                           x_test=x[:64], y_test=y[:64]))
    assert runs[0]["loss"] == runs[1]["loss"]
    assert runs[0]["test_accuracy"] == runs[1]["test_accuracy"]
