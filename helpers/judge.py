"""A second judge of generated digits: an MNIST classifier of another architecture.

Chapter 5's GAN design was chosen by how the pinned network (:mod:`helpers.features`) labels
its samples, so that network's verdict is not an independent one. This module is a second
classifier that played no part in choosing anything: a multilayer perceptron, with no
convolutions, trained once by ``tools/train_judge.py`` with another seed (1, the pinned
network's is 0). Its weights are committed with the book
(``helpers/weights/mnist_judge_mlp.npz``) and checked against a pinned SHA-256 before they
are loaded. Both frameworks build the same layers from that one file::

    (N, 784) in [0, 1]
    dense 512, ReLU
    dense 256, ReLU
    dense 10                         # logits

``tools/train_judge.py`` measured 98.99 % test accuracy (10,000 digits, the written file rebuilt
in PyTorch and in Keras alike) after 15 epochs of Adam on digits shifted by up to one pixel; the
pinned network has 99.31 %. Measured on the same digits: the two networks' labels agree on
98.9 % of them, and 97.4 % are confident to the judge (97.8 % to the pinned network). Far from
the training images they part: uniform noise, an 8 to the pinned network every time, is mostly
a 0 to the judge.

:func:`label_images_judge_torch` and :func:`label_images_judge_tf` hand its logits to
:func:`helpers.digits.label_digits`, so a lab reports the judge's confident share and KL to
uniform beside the pinned network's, measured the same way.

Input contract, both frameworks, as in :mod:`helpers.features`: float images of shape
(N, 784) with every value in [0, 1]; anything else raises ``ValueError``. Output: logits
(N, 10).

The file holds plain float32 arrays named ``dense1.kernel``, ``dense1.bias``, ...,
``dense3.bias``, dense kernels as (in, out) so that ``y = x @ kernel + bias``.
"""
from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

import numpy as np

from .digits import DigitReport, _check_batch, label_digits
from .features import _check_images

WEIGHTS_FILE = Path(__file__).resolve().parent / "weights" / "mnist_judge_mlp.npz"
WEIGHTS_SHA256 = "ea9d23dba769f509b9778af1e031665e7332281bf6ad64ef542068bc7b958c69"
WIDTHS = (784, 512, 256, 10)  # input, two hidden layers, logits
LAYERS = ("dense1", "dense2", "dense3")
# name -> shape: dense kernels (in, out), biases (out,).
SHAPES = {name: shape for i, layer in enumerate(LAYERS)
          for name, shape in ((f"{layer}.kernel", WIDTHS[i:i + 2]),
                              (f"{layer}.bias", WIDTHS[i + 1:i + 2]))}

HOW_TO_REGENERATE = (
    "Restore the committed file with `git checkout -- helpers/weights/mnist_judge_mlp.npz`, "
    "or retrain it with `python tools/train_judge.py` and pin the hash it prints as "
    "WEIGHTS_SHA256 in helpers/judge.py."
)

__all__ = ["LAYERS", "SHAPES", "WEIGHTS_FILE", "WEIGHTS_SHA256", "judge_tf", "judge_torch",
           "label_images_judge_tf", "label_images_judge_torch", "load_weights"]


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
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ValueError(f"{path} has SHA-256 {digest}, but the pinned one is {sha256}: "
                         f"the file is damaged or was replaced. {HOW_TO_REGENERATE}")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return _check_weights({name: npz[name] for name in npz.files})


def _resolve(weights: str | dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if isinstance(weights, dict):
        return _check_weights(weights)
    if weights == "pinned":
        return load_weights()
    raise ValueError(f"weights must be 'pinned' or a dict of arrays, got {weights!r}")


def judge_torch(weights: str | dict[str, np.ndarray] = "pinned", *, device="cpu"):
    """The judge as a frozen ``torch.nn.Module`` in evaluation mode on ``device``.

    ``model(x)`` takes a float tensor (N, 784) in [0, 1] and returns logits (N, 10).
    ``weights``: ``"pinned"`` (the trained judge) or a dict of arrays in the file's layout.
    """
    import torch
    from torch import nn

    arrays = _resolve(weights)

    class JudgeMLP(nn.Module):
        def __init__(self):
            super().__init__()
            for layer, (n_in, n_out) in zip(LAYERS, zip(WIDTHS, WIDTHS[1:])):
                setattr(self, layer, nn.Linear(n_in, n_out))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            _check_images(tuple(x.shape), x.is_floating_point(),
                          bool(((x >= 0) & (x <= 1)).all()))
            x = x.to(self.dense1.weight.dtype)
            x = torch.relu(self.dense1(x))  # (N, 784) -> (N, 512)
            x = torch.relu(self.dense2(x))  # (N, 512) -> (N, 256)
            return self.dense3(x)           # (N, 256) -> (N, 10)

    model = JudgeMLP()
    with torch.no_grad():
        for layer in LAYERS:
            # (in, out) -> (out, in), the layout of nn.Linear.
            getattr(model, layer).weight.copy_(torch.from_numpy(arrays[f"{layer}.kernel"]).T)
            getattr(model, layer).bias.copy_(torch.from_numpy(arrays[f"{layer}.bias"]))
    return model.requires_grad_(False).eval().to(device)


def judge_tf(weights: str | dict[str, np.ndarray] = "pinned"):
    """The same judge as a ``keras.Model``; ``model(x)`` as in :func:`judge_torch`.

    Accepts NumPy arrays or tensors (N, 784) in [0, 1]. Values are checked when called
    eagerly; inside a ``tf.function`` only the shape and the type are.
    """
    import keras
    import tensorflow as tf
    from keras import layers

    arrays = _resolve(weights)

    class JudgeMLP(keras.Model):
        def __init__(self):
            super().__init__(name="mnist_judge_mlp")
            self.dense = [layers.Dense(n, activation=activation, name=name)
                          for n, activation, name in zip(WIDTHS[1:], ("relu", "relu", None),
                                                         LAYERS)]

        def __call__(self, x, *args, **kwargs):
            x = tf.convert_to_tensor(x)
            eager = tf.executing_eagerly()
            _check_images(tuple(x.shape), x.dtype.is_floating,
                          bool(tf.reduce_all((x >= 0) & (x <= 1))) if eager else None)
            return super().__call__(tf.cast(x, "float32"), *args, **kwargs)

        def call(self, x):
            for dense in self.dense:  # 784 -> 512 -> 256 -> 10
                x = dense(x)
            return x

    model = JudgeMLP()
    for dense, n_in in zip(model.dense, WIDTHS):
        dense.build((None, n_in))
        dense.set_weights([arrays[f"{dense.name}.kernel"], arrays[f"{dense.name}.bias"]])
    model.trainable = False
    model.built = True
    return model


@functools.lru_cache(maxsize=None)
def _pinned_torch(device: str):
    return judge_torch("pinned", device=device)


@functools.lru_cache(maxsize=1)
def _pinned_tf():
    return judge_tf("pinned")


def label_images_judge_torch(images, *, device="cpu", batch_size: int = 2000) -> DigitReport:
    """:func:`~helpers.digits.label_digits` of float images (N, 784) in [0, 1] (NumPy or a
    torch tensor), labelled by the judge in PyTorch on ``device`` (built once per device)."""
    import torch

    from .evaluate import predict_torch

    _check_batch(images)
    device = str(torch.device(device))  # "cpu" and torch.device("cpu") share one network
    return label_digits(predict_torch(_pinned_torch(device), images, batch_size=batch_size))


def label_images_judge_tf(images, *, batch_size: int = 2000) -> DigitReport:
    """:func:`~helpers.digits.label_digits` of float images (N, 784) in [0, 1] (NumPy or a
    ``tf.Tensor``), labelled by the judge in Keras (built once)."""
    from .evaluate import predict_tf

    _check_batch(images)
    return label_digits(predict_tf(_pinned_tf(), images, batch_size=batch_size))
