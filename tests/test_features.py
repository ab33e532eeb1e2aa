import shutil

import numpy as np
import pytest

from helpers import features, load_mnist
from helpers.features import (SHAPES, features_tf, features_torch, inception_features,
                              load_weights, random_weights)


@pytest.fixture(scope="module")
def digits():
    return load_mnist("test", subset=500)  # (500, 784) float32 in [0, 1], labels (500,)


@pytest.fixture(scope="module", params=["pinned", "random"])
def both(request):
    return request.param, features_torch(request.param), features_tf(request.param)


def run_torch(model, x):
    import torch

    with torch.no_grad():
        return tuple(t.numpy() for t in model(torch.as_tensor(x)))


def run_tf(model, x):
    return tuple(np.asarray(t) for t in model(x))


def test_pinned_file_is_small_and_verified():
    assert features.WEIGHTS_FILE.stat().st_size < 1_000_000
    weights = load_weights()
    assert {k: v.shape for k, v in weights.items()} == SHAPES
    assert all(v.dtype == np.float32 for v in weights.values())


def test_damaged_copy_is_refused(tmp_path):
    copy = tmp_path / "mnist_features.npz"
    shutil.copy(features.WEIGHTS_FILE, copy)
    load_weights(copy)  # an intact copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 1
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"(?s)mnist_features\.npz.*train_features\.py"):
        load_weights(copy)
    with pytest.raises(FileNotFoundError, match="train_features.py"):
        load_weights(tmp_path / "missing.npz")


def test_torch_and_keras_agree_on_mnist(both, digits):
    _, torch_net, keras_net = both
    x, _ = digits
    (f_torch, l_torch), (f_tf, l_tf) = run_torch(torch_net, x), run_tf(keras_net, x)
    assert f_torch.shape == (500, features.FEATURES) and l_torch.shape == (500, 10)
    assert f_torch.min() >= 0 and f_torch.std() > 0  # ReLU features, not all dead
    np.testing.assert_allclose(f_torch, f_tf, rtol=0, atol=1e-4)
    np.testing.assert_allclose(l_torch, l_tf, rtol=0, atol=1e-4)


def test_pinned_network_classifies_digits(both, digits):
    name, torch_net, _ = both
    x, y = digits
    accuracy = float((run_torch(torch_net, x)[1].argmax(1) == y).mean())
    assert accuracy >= 0.97 if name == "pinned" else accuracy < 0.5


def test_random_network_has_the_same_weights_in_both_frameworks():
    torch_net, keras_net = features_torch("random"), features_tf("random")
    expected = random_weights(features.RANDOM_SEED)
    np.testing.assert_array_equal(expected["dense1.kernel"], random_weights()["dense1.kernel"])
    assert not np.array_equal(expected["conv1.kernel"], random_weights(1)["conv1.kernel"])
    for layer in features.LAYERS:
        kernel, bias = keras_net.get_layer(layer).get_weights()
        np.testing.assert_array_equal(kernel, expected[f"{layer}.kernel"])
        np.testing.assert_array_equal(bias, expected[f"{layer}.bias"])
        weight = getattr(torch_net, layer).weight.numpy()
        # OIHW / (out, in) back to the file's HWIO / (in, out).
        weight = weight.transpose(2, 3, 1, 0) if weight.ndim == 4 else weight.T
        np.testing.assert_array_equal(weight, expected[f"{layer}.kernel"])


def test_torch_model_is_frozen_for_feature_extraction():
    model = features_torch()
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("x, message", [
    (np.zeros((4, 28, 28), np.float32), "shape"),
    (np.zeros((4, 1, 28, 28), np.float32), "shape"),
    (np.zeros((784,), np.float32), "shape"),
    (np.zeros((4, 785), np.float32), "shape"),
    (np.zeros((4, 784), np.uint8), "integer"),
    (np.full((4, 784), 1.5, np.float32), r"\[0, 1\]"),
    (np.full((4, 784), -0.1, np.float32), r"\[0, 1\]"),
    (np.full((4, 784), np.nan, np.float32), r"\[0, 1\]"),
])
def test_bad_images_are_refused(both, x, message):
    import torch

    _, torch_net, keras_net = both
    with pytest.raises(ValueError, match=message):
        torch_net(torch.as_tensor(x))
    with pytest.raises(ValueError, match=message):
        keras_net(x)


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="'pinned', 'random'"):
        features_torch("imagenet")
    weights = random_weights()
    weights["dense2.bias"] = np.zeros(11, np.float32)
    with pytest.raises(ValueError, match="dense2.bias"):
        features_tf(weights)
    with pytest.raises(ValueError, match="exactly the arrays"):
        features_torch({"conv1.kernel": weights["conv1.kernel"]})


def test_inception_needs_weights_on_disk(monkeypatch, tmp_path):
    monkeypatch.delenv(features.INCEPTION_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=f"nothing is downloaded.*{features.INCEPTION_ENV}"):
        inception_features()
    monkeypatch.setenv(features.INCEPTION_ENV, str(tmp_path / "absent.h5"))
    with pytest.raises(FileNotFoundError, match="absent.h5"):
        inception_features()
    with pytest.raises(FileNotFoundError, match="elsewhere.h5"):
        inception_features(tmp_path / "elsewhere.h5")
