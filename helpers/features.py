"""The pinned MNIST feature network of the FID chapters, the same in PyTorch and in Keras.

An FID is only comparable with another FID computed in the same feature space, so every lab
and every reader uses one network whose weights are committed with the book
(``helpers/weights/mnist_features.npz``, trained once by ``tools/train_features.py``; 99.31 %
test accuracy) and checked against a pinned SHA-256 before they are loaded. Both frameworks
build the same layers from that one file::

    (N, 784) in [0, 1] -> (N, 28, 28, 1)
    conv 3x3, 16, ReLU, max-pool 2   # 28x28 -> 14x14
    conv 3x3, 32, ReLU, max-pool 2   # 14x14 -> 7x7
    conv 3x3, 64, ReLU, max-pool 2   # 7x7 -> 3x3
    flatten in (height, width, channel) order -> 576
    dense 128, ReLU                  # the features of FID
    dense 10                         # logits, to label generated digits

Input contract, both frameworks: float images of shape (N, 784) with every value in [0, 1]
(``load_mnist``'s default); anything else raises ``ValueError``. Output: the tuple
``(features (N, 128), logits (N, 10))``.

The file holds plain float32 arrays named ``conv1.kernel``, ``conv1.bias``, ...,
``dense2.bias``, laid out independently of either framework: conv kernels as
(height, width, in, out), dense kernels as (in, out) so that ``y = x @ kernel + bias``.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Callable

import numpy as np

WEIGHTS_FILE = Path(__file__).resolve().parent / "weights" / "mnist_features.npz"
WEIGHTS_SHA256 = "7d9f4097b3b37e04bb05c9dbbc0244ea0e3548c5fb4f41c90d736d47e03386ee"
FEATURES = 128
RANDOM_SEED = 0
INCEPTION_ENV = "BOOK_INCEPTION_WEIGHTS"

# name -> shape, in the framework-neutral layouts described above.
SHAPES = {
    "conv1.kernel": (3, 3, 1, 16), "conv1.bias": (16,),
    "conv2.kernel": (3, 3, 16, 32), "conv2.bias": (32,),
    "conv3.kernel": (3, 3, 32, 64), "conv3.bias": (64,),
    "dense1.kernel": (3 * 3 * 64, FEATURES), "dense1.bias": (FEATURES,),
    "dense2.kernel": (FEATURES, 10), "dense2.bias": (10,),
}
LAYERS = ("conv1", "conv2", "conv3", "dense1", "dense2")

HOW_TO_REGENERATE = (
    "Restore the committed file with `git checkout -- helpers/weights/mnist_features.npz`, "
    "or retrain it with `python tools/train_features.py` and pin the hash it prints as "
    "WEIGHTS_SHA256 in helpers/features.py (FIDs computed with other weights are not "
    "comparable with the book's)."
)
HOW_TO_ENABLE_INCEPTION = (
    "InceptionV3 features need its ImageNet weights on disk; nothing is downloaded. Get "
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 (the file "
    "keras.applications.InceptionV3(include_top=False) fetches when online) and pass its "
    f"path as weights_path, or set the environment variable {INCEPTION_ENV} to it."
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_weights(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if set(weights) != set(SHAPES):
        raise ValueError(f"weights must have exactly the arrays {sorted(SHAPES)}, "
                         f"got {sorted(weights)}")
    for name, shape in SHAPES.items():
        if weights[name].shape != shape or weights[name].dtype != np.float32:
            raise ValueError(f"{name} must be float32 of shape {shape}, got "
                             f"{weights[name].dtype} {weights[name].shape}")
    return weights


def load_weights(path: str | Path = WEIGHTS_FILE,
                 sha256: str = WEIGHTS_SHA256) -> dict[str, np.ndarray]:
    """The arrays of a weight file, read only if its SHA-256 equals ``sha256``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing. {HOW_TO_REGENERATE}")
    data = path.read_bytes()  # hash and parse the same bytes
    if _sha256(data) != sha256:
        raise ValueError(f"{path} has SHA-256 {_sha256(data)}, but the pinned one is {sha256}: "
                         f"the file is damaged or was replaced. {HOW_TO_REGENERATE}")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return _check_weights({name: npz[name] for name in npz.files})


def random_weights(seed: int = RANDOM_SEED) -> dict[str, np.ndarray]:
    """He-uniform kernels and zero biases drawn by NumPy, so both frameworks get the same.

    The untrained network is FID's cautionary baseline: distances in a random feature space
    still rank some differences, but they are not the ones a trained eye sees.
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in SHAPES.items():
        if name.endswith(".bias"):
            weights[name] = np.zeros(shape, np.float32)
        else:
            fan_in = int(np.prod(shape[:-1]))  # (h, w, in) or (in,)
            bound = np.sqrt(6.0 / fan_in)      # keeps the ReLU activations' scale
            weights[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return weights


def _resolve(weights: str | dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if isinstance(weights, dict):
        return _check_weights(weights)
    if weights == "pinned":
        return load_weights()
    if weights == "random":
        return random_weights()
    raise ValueError(f"weights must be 'pinned', 'random' or a dict of arrays, got {weights!r}")


def _check_images(shape: tuple, is_float: bool, in_range: bool | None) -> None:
    """The one input contract; ``in_range`` is None where values cannot be inspected."""
    if len(shape) != 2 or shape[1] != 784:
        raise ValueError(f"expected images of shape (N, 784), got {tuple(shape)}; "
                         "reshape with x.reshape(len(x), 784)")
    if not is_float:
        raise ValueError("expected float images in [0, 1], got an integer type; "
                         "divide uint8 pixels by 255")
    if in_range is False:
        raise ValueError("expected pixel values in [0, 1] (no NaN); map tanh outputs "
                         "with (x + 1) / 2 or clip first")


def features_torch(weights: str | dict[str, np.ndarray] = "pinned", *, device="cpu"):
    """The network as a frozen ``torch.nn.Module`` in evaluation mode on ``device``.

    ``model(x)`` takes a float tensor (N, 784) in [0, 1] and returns
    ``(features (N, 128), logits (N, 10))``. ``weights``: ``"pinned"`` (the trained network),
    ``"random"`` (:func:`random_weights` with the fixed seed) or a dict of arrays.
    """
    import torch
    from torch import nn

    arrays = _resolve(weights)

    class FeatureNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
            self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
            self.dense1 = nn.Linear(3 * 3 * 64, FEATURES)
            self.dense2 = nn.Linear(FEATURES, 10)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            _check_images(tuple(x.shape), x.is_floating_point(),
                          bool(((x >= 0) & (x <= 1)).all()))
            x = x.to(self.conv1.weight.dtype).reshape(-1, 1, 28, 28)
            for conv in (self.conv1, self.conv2, self.conv3):
                x = torch.max_pool2d(torch.relu(conv(x)), 2)  # 28 -> 14 -> 7 -> 3
            x = x.permute(0, 2, 3, 1).flatten(1)             # (N, 3, 3, 64) -> (N, 576), HWC
            features = torch.relu(self.dense1(x))
            return features, self.dense2(features)

    model = FeatureNet()
    with torch.no_grad():
        for layer in LAYERS:
            kernel = torch.from_numpy(arrays[f"{layer}.kernel"])
            # HWIO -> OIHW for convolutions, (in, out) -> (out, in) for linear layers.
            kernel = kernel.permute(3, 2, 0, 1) if kernel.ndim == 4 else kernel.T
            getattr(model, layer).weight.copy_(kernel)
            getattr(model, layer).bias.copy_(torch.from_numpy(arrays[f"{layer}.bias"]))
    return model.requires_grad_(False).eval().to(device)


def features_tf(weights: str | dict[str, np.ndarray] = "pinned"):
    """The same network as a ``keras.Model``; ``model(x)`` as in :func:`features_torch`.

    Accepts NumPy arrays or tensors (N, 784) in [0, 1]. Values are checked when called
    eagerly; inside a ``tf.function`` only the shape and the type are.
    """
    import keras
    import tensorflow as tf
    from keras import layers

    arrays = _resolve(weights)

    class FeatureNet(keras.Model):
        def __init__(self):
            super().__init__(name="mnist_features")
            self.convs = [layers.Conv2D(n, 3, padding="same", activation="relu", name=name)
                          for n, name in ((16, "conv1"), (32, "conv2"), (64, "conv3"))]
            self.dense1 = layers.Dense(FEATURES, activation="relu", name="dense1")
            self.dense2 = layers.Dense(10, name="dense2")

        def __call__(self, x, *args, **kwargs):
            x = tf.convert_to_tensor(x)
            eager = tf.executing_eagerly()
            _check_images(tuple(x.shape), x.dtype.is_floating,
                          bool(tf.reduce_all((x >= 0) & (x <= 1))) if eager else None)
            return super().__call__(tf.cast(x, "float32"), *args, **kwargs)

        def call(self, x):
            x = tf.reshape(x, (-1, 28, 28, 1))
            for conv in self.convs:
                x = tf.nn.max_pool2d(conv(x), 2, 2, "VALID")  # 28 -> 14 -> 7 -> 3
            features = self.dense1(tf.reshape(x, (-1, 3 * 3 * 64)))  # NHWC flattens as HWC
            return features, self.dense2(features)

    model = FeatureNet()
    for layer, shape in zip([*model.convs, model.dense1, model.dense2],
                            [(28, 28, 1), (14, 14, 16), (7, 7, 32), (576,), (FEATURES,)]):
        layer.build((None, *shape))
        layer.set_weights([arrays[f"{layer.name}.kernel"], arrays[f"{layer.name}.bias"]])
    model.trainable = False
    model.built = True
    return model


def inception_features(weights_path: str | Path | None = None, *,
                       batch_size: int = 100) -> Callable[[np.ndarray], np.ndarray]:
    """Keras InceptionV3 pool features (N, 2048) of NumPy images (N, 784) in [0, 1].

    Only from weights already on disk: ``weights_path``, else ``$BOOK_INCEPTION_WEIGHTS``.
    Digits are resized to 299x299, repeated over three channels and scaled to [-1, 1], as
    InceptionV3 expects. Raises ``FileNotFoundError`` with instructions when no weights are.
    """
    path = weights_path or os.environ.get(INCEPTION_ENV)
    if not path:
        raise FileNotFoundError(HOW_TO_ENABLE_INCEPTION)
    if not Path(path).expanduser().is_file():
        raise FileNotFoundError(f"no file at {path}. {HOW_TO_ENABLE_INCEPTION}")
    import keras
    import tensorflow as tf

    net = keras.applications.InceptionV3(include_top=False, pooling="avg",
                                         weights=str(Path(path).expanduser()),
                                         input_shape=(299, 299, 3))

    def extract(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        _check_images(x.shape, np.issubdtype(x.dtype, np.floating),
                      bool(((x >= 0) & (x <= 1)).all()))
        out = []
        for i in range(0, len(x), batch_size):  # 299x299x3 floats: 1 MB per image
            batch = tf.image.resize(x[i:i + batch_size].reshape(-1, 28, 28, 1), (299, 299))
            out.append(np.asarray(net(tf.image.grayscale_to_rgb(batch) * 2 - 1, training=False)))
        return np.concatenate(out) if out else np.zeros((0, 2048), np.float32)

    return extract
