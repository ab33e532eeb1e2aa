"""The book's MNIST classifier, in both frameworks.

Chapter 0 trains it; chapters 5–7 use it to label generated digits (mode counting) and its
128-unit penultimate layer as the feature space of FID. The two frameworks build the same
architecture with the same hyperparameters, written out here so every chapter gets the very
same network through :func:`mnist_classifier`.
"""
from __future__ import annotations

import numpy as np

from .checkpoints import load_or_train
from .config import Budget
from .data import load_mnist

# Everything that determines the trained weights; load_or_train retrains when it changes.
CONFIG = {"arch": "conv16-conv32-fc128", "optimizer": "adam", "lr": 1e-3, "batch_size": 128,
          "epochs_fast": 2, "epochs_full": 4, "seed": 0}
FEATURES = 128


def classifier_torch():
    """28×28 digit → 10 logits; ``model.features(x)`` gives the 128-d penultimate layer."""
    import torch
    from torch import nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Unflatten(1, (1, 28, 28)),                    # (B, 784) -> (B, 1, 28, 28)
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                nn.MaxPool2d(2),                                 # 28x28 -> 14x14
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                nn.MaxPool2d(2),                                 # 14x14 -> 7x7
                nn.Flatten(),                                    # -> (B, 32*7*7)
                nn.Linear(32 * 7 * 7, FEATURES), nn.ReLU(),
            )
            self.head = nn.Linear(FEATURES, 10)

        def features(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.body(x))

    return Classifier()


def classifier_tf():
    """The same network in Keras; ``model.get_layer("features")`` is the 128-d layer."""
    import keras
    from keras import layers

    inputs = keras.Input((784,))
    x = layers.Reshape((28, 28, 1))(inputs)                      # (B, 784) -> (B, 28, 28, 1)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                                 # 28x28 -> 14x14
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                                 # 14x14 -> 7x7
    x = layers.Flatten()(x)
    x = layers.Dense(FEATURES, activation="relu", name="features")(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs, outputs, name="classifier")


def predict_torch(model, x, batch_size: int = 1000) -> np.ndarray:
    """Logits of ``model`` on ``x`` (N, 784) as a NumPy array, in evaluation mode."""
    import torch

    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = [model(torch.as_tensor(x[i:i + batch_size], device=device)).float().cpu()
               for i in range(0, len(x), batch_size)]
    model.train()
    return torch.cat(out).numpy()


def predict_tf(model, x, batch_size: int = 1000) -> np.ndarray:
    """Logits of a Keras ``model`` on ``x`` (N, 784) as a NumPy array, in inference mode."""
    return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)])


def predict(model, x, batch_size: int = 1000) -> np.ndarray:
    """Logits of a torch or Keras ``model`` on NumPy ``x`` (N, 784), in inference mode."""
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != 784:
        raise ValueError(f"x must be a NumPy array of shape (N, 784), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if type(model).__module__.startswith("keras"):
        return predict_tf(model, x, batch_size)
    return predict_torch(model, x, batch_size)


def train_classifier_torch(model, x_train, y_train, *, epochs: int, device, x_test=None,
                           y_test=None) -> dict:
    """Train with Adam and cross-entropy through :func:`helpers.fit_torch`."""
    import torch
    import torch.nn.functional as F

    from .metrics import accuracy
    from .train_torch import train

    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=CONFIG["lr"])

    def step(batch):
        x, y = batch
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss}

    def evaluate():
        return {"test_accuracy": accuracy(predict_torch(model, x_test), y_test)}

    data = (torch.as_tensor(x_train), torch.as_tensor(y_train))
    return train(step, data, epochs=epochs, batch_size=CONFIG["batch_size"], device=device,
                 seed=CONFIG["seed"], evaluate=evaluate if x_test is not None else None,
                 desc="classifier")


def train_classifier_tf(model, x_train, y_train, *, epochs: int, device=None, x_test=None,
                        y_test=None) -> dict:
    """Train with Adam and cross-entropy through :func:`helpers.fit_tf`."""
    import keras
    import tensorflow as tf

    from .metrics import accuracy
    from .train_tf import train

    optimizer = keras.optimizers.Adam(CONFIG["lr"])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return {"loss": loss}

    def evaluate():
        return {"test_accuracy": accuracy(predict_tf(model, x_test), y_test)}

    return train(step, (x_train, y_train), epochs=epochs, batch_size=CONFIG["batch_size"],
                 device=device, seed=CONFIG["seed"],
                 evaluate=evaluate if x_test is not None else None, desc="classifier")


def mnist_classifier(framework: str = "torch", device=None, *, budget: Budget):
    """The trained book classifier: loaded from its checkpoint, or trained (and saved) now,
    on the data and for the epochs ``budget`` (the lab's ``BUDGET``) allows.

    Returns ``(model, history)``; ``history["test_accuracy"]`` holds its test accuracy.
    """
    if not isinstance(budget, Budget):
        raise TypeError("budget must be a helpers Budget (the lab's BUDGET), "
                        f"got {type(budget).__name__}")
    epochs = budget.pick(fast=CONFIG["epochs_fast"], full=CONFIG["epochs_full"])
    x_train, y_train = load_mnist("train", subset=budget.train_size)
    x_test, y_test = load_mnist("test", subset=budget.test_size)
    data = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, epochs=epochs)
    config = {**CONFIG, "train_size": budget.train_size, "test_size": budget.test_size}
    from .checkpoints import train_once  # keyed by this code, the builder included

    if framework == "torch":
        import torch

        torch.manual_seed(CONFIG["seed"])
        device = device or "cpu"
        model = classifier_torch().to(device)
        history = train_once("classifier-torch", model,
                             lambda m: train_classifier_torch(m, device=device, **data), config,
                             code=(classifier_torch,))
        return model.to(device), history
    if framework == "tensorflow":
        import keras

        keras.utils.set_random_seed(CONFIG["seed"])
        model = classifier_tf()
        history = train_once("classifier-tf", model,
                             lambda m: train_classifier_tf(m, device=device, **data), config,
                             code=(classifier_tf,))
        return model, history
    raise ValueError(f"framework must be 'torch' or 'tensorflow', got {framework!r}")
