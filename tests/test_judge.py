import hashlib
import shutil

import numpy as np
import pytest

from helpers import features, judge, load_mnist
from helpers.digits import DigitReport, label_digits, label_images_torch
from helpers.judge import (SHAPES, judge_tf, judge_torch, label_images_judge_tf,
                           label_images_judge_torch, load_weights)


@pytest.fixture(scope="module")
def test_set():
    return load_mnist("test")  # (10000, 784) float32 in [0, 1], labels (10000,)


@pytest.fixture(scope="module")
def nets():
    return judge_torch(), judge_tf()


def reference(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The judge's logits (N, 10) from the file's arrays alone: NumPy, float64."""
    for i, layer in enumerate(judge.LAYERS):
        x = x.astype(np.float64) @ weights[f"{layer}.kernel"] + weights[f"{layer}.bias"]
        if i < len(judge.LAYERS) - 1:
            x = np.maximum(x, 0.0)
    return x


def run_torch(model, x):
    import torch

    with torch.no_grad():
        return model(torch.as_tensor(x)).numpy()


@pytest.fixture(scope="module")
def logits(nets, test_set):
    """Logits of all test digits: (NumPy reference, PyTorch, Keras), each (10000, 10)."""
    x, _ = test_set
    torch_net, keras_net = nets
    return reference(load_weights(), x), run_torch(torch_net, x), np.asarray(keras_net(x))


def test_pinned_file_is_small_and_verified():
    data = judge.WEIGHTS_FILE.read_bytes()
    assert len(data) < 2_000_000
    assert hashlib.sha256(data).hexdigest() == judge.WEIGHTS_SHA256
    weights = load_weights()
    assert {k: v.shape for k, v in weights.items()} == SHAPES
    assert all(v.dtype == np.float32 for v in weights.values())


def test_changed_byte_is_refused_before_loading(tmp_path, monkeypatch):
    copy = tmp_path / "mnist_judge_mlp.npz"
    shutil.copy(judge.WEIGHTS_FILE, copy)
    load_weights(copy)  # an intact copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 1
    copy.write_bytes(bytes(data))

    def parse(*args, **kwargs):
        raise AssertionError("the file was parsed before its hash was checked")

    monkeypatch.setattr(np, "load", parse)
    with pytest.raises(ValueError, match=r"(?s)mnist_judge_mlp\.npz has SHA-256.*train_judge\.py"):
        load_weights(copy)
    with pytest.raises(FileNotFoundError, match="train_judge.py"):
        load_weights(tmp_path / "missing.npz")


def test_torch_and_keras_match_the_numpy_reference(logits):
    expected, by_torch, by_keras = logits
    assert by_torch.shape == by_keras.shape == (10000, 10)
    assert expected.std() > 1  # logits that tell digits apart, not a dead network
    np.testing.assert_allclose(by_torch, expected, rtol=0, atol=1e-4)
    np.testing.assert_allclose(by_keras, expected, rtol=0, atol=1e-4)


def test_judge_classifies_the_test_digits(logits, test_set):
    _, y = test_set
    for by in logits:  # measured by tools/train_judge.py: 98.99 % in both frameworks
        assert np.mean(by.argmax(1) == y) >= 0.98


def test_judge_is_another_architecture(nets):
    from torch import nn

    torch_net, keras_net = nets
    assert SHAPES == {"dense1.kernel": (784, 512), "dense1.bias": (512,),
                      "dense2.kernel": (512, 256), "dense2.bias": (256,),
                      "dense3.kernel": (256, 10), "dense3.bias": (10,)}
    assert not set(SHAPES) & {name for name in features.SHAPES if "conv" in name}
    layers = list(torch_net.children())
    assert all(isinstance(m, nn.Linear) for m in layers)
    assert [tuple(m.weight.shape) for m in layers] == [(512, 784), (256, 512), (10, 256)]
    assert [tuple(w.shape) for w in keras_net.get_weights()] == list(SHAPES.values())
    assert any(isinstance(m, nn.Conv2d) for m in features.features_torch().modules())
    assert not torch_net.training
    assert not any(p.requires_grad for p in torch_net.parameters())


def test_judge_agrees_with_the_pinned_network_on_real_digits_only():
    x, _ = load_mnist("test", subset=2000)
    ours, pinned = label_images_judge_torch(x), label_images_torch(x)
    # Measured on all 10,000 test digits: the two labels agree on 98.9 %.
    assert 0.97 <= np.mean(ours.labels == pinned.labels) < 1
    # Far from every training image they extrapolate differently: uniform noise is an 8 to
    # the pinned network every time, and mostly a 0 to the judge.
    noise = np.random.default_rng(1).random((500, 784), dtype=np.float32)
    assert label_images_torch(noise).counts[8] == 500
    assert label_images_judge_torch(noise).counts[8] < 250


def same_report(a: DigitReport, b: DigitReport) -> None:
    assert a.metrics() == b.metrics() and a.n == b.n
    for name in ("counts", "confident_counts", "labels", "confidence"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_labelling_reports_label_digits_of_the_logits(nets, test_set):
    import torch

    x = test_set[0][:700]
    torch_net, keras_net = nets
    by_torch, by_keras = label_images_judge_torch(x), label_images_judge_tf(x)
    assert isinstance(by_torch, DigitReport) and by_torch.n == 700
    same_report(by_torch, label_digits(run_torch(torch_net, x)))
    same_report(by_keras, label_digits(np.asarray(keras_net(x))))
    np.testing.assert_array_equal(by_torch.labels, by_keras.labels)
    for label, whole in ((label_images_judge_torch, by_torch), (label_images_judge_tf, by_keras)):
        batched = label(x, batch_size=300)  # other batches may round the last bit otherwise
        np.testing.assert_array_equal(batched.labels, whole.labels)
        np.testing.assert_allclose(batched.confidence, whole.confidence, rtol=0, atol=1e-6)
    same_report(label_images_judge_torch(torch.as_tensor(x), device=torch.device("cpu")),
                by_torch)
    assert judge._pinned_torch.cache_info().currsize == 1  # one network per device


@pytest.mark.parametrize("x, message", [
    (np.zeros((4, 28, 28), np.float32), r"shape \(N, 784\)"),
    (np.zeros((784,), np.float32), r"shape \(N, 784\)"),
    (np.zeros((4, 785), np.float32), r"shape \(N, 784\)"),
    (np.zeros((4, 784), np.uint8), "integer type"),
    (np.full((4, 784), 1.5, np.float32), r"\[0, 1\]"),
    (np.full((4, 784), -0.1, np.float32), r"\[0, 1\]"),
    (np.full((4, 784), np.nan, np.float32), r"\[0, 1\]"),
])
def test_bad_images_are_refused(nets, x, message):
    import torch

    torch_net, keras_net = nets
    for call in (lambda: torch_net(torch.as_tensor(x)), lambda: keras_net(x),
                 lambda: label_images_judge_torch(x), lambda: label_images_judge_tf(x)):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("label", [label_images_judge_torch, label_images_judge_tf])
def test_no_images_are_refused(label):
    with pytest.raises(ValueError, match="empty"):
        label(np.zeros((0, 784), np.float32))


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="'pinned' or a dict"):
        judge_torch("random")
    weights = load_weights()
    weights["dense3.bias"] = np.zeros(11, np.float32)
    with pytest.raises(ValueError, match="dense3.bias"):
        judge_tf(weights)
    with pytest.raises(ValueError, match="exactly the arrays"):
        judge_torch({"dense1.kernel": weights["dense1.kernel"]})
