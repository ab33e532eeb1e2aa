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


class RecordingInception:
    """Stands in for keras.applications.InceptionV3: records how it was built and every batch
    it is called on, and returns each image's position in the order of the calls as its
    first feature, so the caller's reassembly of the batches can be checked."""

    def __init__(self, **kwargs):
        self.kwargs, self.batches, self.training = kwargs, [], []

    def __call__(self, x, training):
        seen = sum(len(b) for b in self.batches)
        self.batches.append(np.asarray(x))
        self.training.append(training)
        out = np.zeros((len(x), 2048), np.float32)
        out[:, 0] = seen + np.arange(len(x))
        return out


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    """RecordingInception in place of the network, and a weights file that must exist but
    that nothing reads. Returns the networks inception_features builds, and that file."""
    import keras

    built = []

    def build(**kwargs):
        built.append(RecordingInception(**kwargs))
        return built[-1]

    monkeypatch.setattr(keras.applications, "InceptionV3", build)
    weights = tmp_path / "inception.h5"
    weights.write_bytes(b"")
    monkeypatch.setenv(features.INCEPTION_ENV, str(weights))
    return built, weights


def test_inception_features_resize_to_rgb_in_minus_one_to_one(stand_in):
    built, weights = stand_in
    extract = inception_features(batch_size=3)
    (net,) = built
    assert net.kwargs == {"include_top": False, "pooling": "avg", "weights": str(weights),
                          "input_shape": (299, 299, 3)}
    rng = np.random.default_rng(0)
    x = rng.random((7, 784)).astype(np.float32)
    x[0], x[1] = 0.0, 1.0                       # black and white
    x[2] = np.tile(np.arange(28) >= 14, 28)     # left half black, right half white
    out = extract(x)
    assert out.shape == (7, 2048)
    assert [len(b) for b in net.batches] == [3, 3, 1] and not any(net.training)
    np.testing.assert_array_equal(out[:, 0], np.arange(7))  # reassembled in order
    batch = np.concatenate(net.batches)
    assert batch.shape == (7, 299, 299, 3)
    # grey repeated over three equal channels
    np.testing.assert_array_equal(batch[..., 1], batch[..., 0])
    np.testing.assert_array_equal(batch[..., 2], batch[..., 0])
    # [0, 1] mapped to [-1, 1]: black is -1 and white +1 everywhere (a resize keeps a
    # constant image constant, up to float32 rounding of its interpolation weights)
    np.testing.assert_allclose(batch[0], -1.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(batch[1], 1.0, rtol=0, atol=1e-6)
    assert batch.min() >= -1 - 1e-6 and batch.max() <= 1 + 1e-6
    # The digit is stretched over all 299x299 (not padded or cropped): bilinear interpolation
    # mixes only the two source pixels nearest an output pixel, so only columns within one
    # source pixel (299 / 28 = 10.7 columns) of the seam at 149.5 are grey; 138 on each side
    # are black or white.
    np.testing.assert_allclose(batch[2, :, :138], -1.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(batch[2, :, -138:], 1.0, rtol=0, atol=1e-6)
    # ... and bilinear, as chapter 7 says: the columns between the centres of the last black
    # and the first white source pixel, an open interval 10.7 columns wide, hold 10 or 11
    # grey ones (a nearest-neighbour resize would leave none).
    row = batch[2, 0, :, 0]
    assert np.sum((row > -1 + 1e-3) & (row < 1 - 1e-3)) in (10, 11)
    # Random images go through the same map: a bilinear stretch weighs every source pixel
    # within 0.4 % of equally (the edge pixels a little more), so an image's mean moves by at
    # most 0.004, 0.008 once scaled by 2.
    np.testing.assert_allclose(batch[3:].mean((1, 2, 3)), 2 * x[3:].mean(1) - 1, rtol=0,
                               atol=0.01)
    assert extract(np.zeros((0, 784), np.float32)).shape == (0, 2048)


def test_inception_features_check_the_images(stand_in):
    built, _ = stand_in
    extract = inception_features()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        extract(np.full((2, 784), 255.0, np.float32))  # unscaled pixels
    with pytest.raises(ValueError, match="integer"):
        extract(np.zeros((2, 784), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        extract(np.zeros((2, 28, 28), np.float32))
    assert built[0].batches == []  # refused before the network saw anything
