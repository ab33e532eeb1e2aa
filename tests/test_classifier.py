"""The book's MNIST classifier: its two networks, their training and prediction, and that it
trains on what the lab's budget says, not on the environment."""
import numpy as np
import pytest
import torch

from helpers import checkpoints, classifier
from helpers.config import ENV_VAR, budget_for
from helpers.metrics import accuracy


@pytest.mark.parametrize("bad", [None, "full", {"mode": "full"}])
def test_the_budget_must_be_a_budget(bad):
    with pytest.raises(TypeError, match="budget must be a helpers Budget"):
        classifier.mnist_classifier("torch", "cpu", budget=bad)


def test_the_budget_argument_decides_not_the_environment(monkeypatch):
    seen = {}

    def train_once(name, model, train, config, code=()):
        seen.update(config)
        return {"test_accuracy": [0.0]}

    monkeypatch.setattr(checkpoints, "train_once", train_once)
    monkeypatch.setattr(classifier, "load_mnist", lambda split, subset=None: (subset, split))
    monkeypatch.setenv(ENV_VAR, "full")
    classifier.mnist_classifier("torch", "cpu", budget=budget_for("fast"))
    assert seen["train_size"] == budget_for("fast").train_size
    assert seen["test_size"] == budget_for("fast").test_size


# --- the networks ------------------------------------------------------------------------------

# conv 3x3 1->16, conv 3x3 16->32, dense 32*7*7->128, dense 128->10, each with its biases
PARAMETERS = (9 * 16 + 16) + (9 * 16 * 32 + 32) + (32 * 7 * 7 * 128 + 128) + (128 * 10 + 10)


def bands(n, seed):
    """A separable stand-in for MNIST: class c lights rows 2c + 2 and 2c + 3 of a 28x28
    image of faint noise. (n, 784) float32 in [0, 1] and labels (n,)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = 0.1 * rng.random((n, 28, 28), dtype=np.float32)
    for image, c in zip(x, y):
        image[2 + 2 * c:4 + 2 * c] = 1.0
    return x.reshape(n, 784), y


def torch_weights_in_keras(torch_model, keras_model):
    """Copy the torch classifier's weights into the Keras one, converting the layouts."""
    import keras

    convs = [m for m in torch_model.body if isinstance(m, torch.nn.Conv2d)]
    dense = [m for m in torch_model.body if isinstance(m, torch.nn.Linear)] + [torch_model.head]
    keras_convs = [k for k in keras_model.layers if isinstance(k, keras.layers.Conv2D)]
    keras_dense = [k for k in keras_model.layers if isinstance(k, keras.layers.Dense)]
    assert len(convs) == len(keras_convs) == 2 and len(dense) == len(keras_dense) == 2
    for conv, layer in zip(convs, keras_convs):  # OIHW -> HWIO
        layer.set_weights([conv.weight.detach().numpy().transpose(2, 3, 1, 0),
                           conv.bias.detach().numpy()])
    # torch flattens (channel, height, width), Keras (height, width, channel)
    w = dense[0].weight.detach().numpy()
    keras_dense[0].set_weights([w.reshape(128, 32, 7, 7).transpose(2, 3, 1, 0).reshape(-1, 128),
                                dense[0].bias.detach().numpy()])
    keras_dense[1].set_weights([dense[1].weight.detach().numpy().T,
                                dense[1].bias.detach().numpy()])


def test_both_frameworks_build_the_same_network():
    """Same parameter count, same shapes and, with the same weights, the same function: the
    logits and the 128-d features the FID chapters use."""
    import keras

    torch.manual_seed(0)
    torch_model, keras_model = classifier.classifier_torch(), classifier.classifier_tf()
    assert sum(p.numel() for p in torch_model.parameters()) == PARAMETERS
    assert keras_model.count_params() == PARAMETERS
    torch_weights_in_keras(torch_model, keras_model)
    x, _ = bands(6, 0)
    with torch.no_grad():
        logits = torch_model(torch.from_numpy(x)).numpy()
        feats = torch_model.features(torch.from_numpy(x)).numpy()
    assert logits.shape == (6, 10) and feats.shape == (6, classifier.FEATURES)
    assert feats.min() >= 0 and feats.std() > 0  # ReLU features, not all dead
    penultimate = keras.Model(keras_model.input, keras_model.get_layer("features").output)
    # float32 sums of up to 1,568 products of O(0.1) terms, in different orders
    np.testing.assert_allclose(np.asarray(keras_model(x)), logits, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(penultimate(x)), feats, rtol=0, atol=1e-5)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_training_learns_a_separable_task(framework):
    """24 Adam steps (768 images, batch 128, 4 epochs) on ten disjoint stripes: a working
    loop reaches (nearly) every test image; an untrained network is at chance, 0.1."""
    x_train, y_train = bands(768, 1)
    x_test, y_test = bands(256, 2)
    if framework == "torch":
        torch.manual_seed(0)
        model, device = classifier.classifier_torch(), "cpu"
        train = classifier.train_classifier_torch
    else:
        import keras

        keras.utils.set_random_seed(0)
        model, device = classifier.classifier_tf(), None
        train = classifier.train_classifier_tf
    history = train(model, x_train, y_train, epochs=4, device=device, x_test=x_test,
                    y_test=y_test)
    assert len(history["loss"]) == len(history["test_accuracy"]) == 4
    assert history["loss"][-1] < history["loss"][0] / 2
    # The stripes do not overlap, so a trained network is perfect; 0.95 leaves room for
    # another initialisation or library version to need a step or two more.
    assert history["test_accuracy"][-1] >= 0.95
    assert accuracy(classifier.predict(model, x_test), y_test) == history["test_accuracy"][-1]


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_the_trained_classifier_is_saved_and_loaded(framework, monkeypatch, tmp_path, capsys):
    """mnist_classifier trains once into the checkpoint folder; the next call loads the same
    weights and history instead of training; other training code trains again."""
    monkeypatch.setenv("BOOK_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv(ENV_VAR, "fast")
    data = {"train": bands(256, 3), "test": bands(64, 4)}
    monkeypatch.setattr(classifier, "load_mnist", lambda split, subset=None: data[split])
    model, history = classifier.mnist_classifier(framework, budget=budget_for("fast"))
    assert len(list(tmp_path.iterdir())) == 1
    assert len(history["test_accuracy"]) == classifier.CONFIG["epochs_fast"]
    capsys.readouterr()

    again, history_again = classifier.mnist_classifier(framework, budget=budget_for("fast"))
    assert capsys.readouterr().out.startswith("loaded classifier-")  # not trained again
    assert history_again == history
    x = data["test"][0]
    np.testing.assert_array_equal(classifier.predict(again, x), classifier.predict(model, x))

    calls = []

    def other_training(model, **kwargs):  # the trainer's code changed: the key covers it
        calls.append(1)
        return history

    monkeypatch.setattr(classifier, "train_classifier_torch", other_training)
    monkeypatch.setattr(classifier, "train_classifier_tf", other_training)
    classifier.mnist_classifier(framework, budget=budget_for("fast"))
    assert calls == [1] and "other code" in capsys.readouterr().out


# --- predict -----------------------------------------------------------------------------------

def dropout_models():
    """The same linear map in each framework, behind dropout that only inference mode skips."""
    import keras

    rng = np.random.default_rng(5)
    kernel, bias = rng.normal(size=(784, 10)).astype(np.float32) / 28, np.ones(10, np.float32)
    linear = torch.nn.Linear(784, 10)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(kernel.T))
        linear.bias.copy_(torch.from_numpy(bias))
    dense = keras.layers.Dense(10)
    keras_model = keras.Sequential([keras.Input((784,)), keras.layers.Dropout(0.5), dense])
    dense.set_weights([kernel, bias])
    return {"torch": torch.nn.Sequential(torch.nn.Dropout(0.5), linear),
            "tensorflow": keras_model}, kernel, bias


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_predict_returns_the_logits_in_inference_mode(framework):
    models, kernel, bias = dropout_models()
    x, _ = bands(23, 6)
    logits = classifier.predict(models[framework], x)
    assert isinstance(logits, np.ndarray) and logits.shape == (23, 10)
    assert logits.dtype == np.float32
    # Dropout skipped: the linear map itself. Logits are O(1) float32 sums of 784 terms,
    # rounded differently by each library and batch shape: 1e-5 is ~100 float32 epsilons.
    np.testing.assert_allclose(logits, x @ kernel + bias, rtol=0, atol=1e-5)
    # Logits, not probabilities: softmax of them sums to 1, they themselves do not
    assert np.abs(logits.sum(1) - 1).max() > 0.1
    # Batches of 5 (the last one of 3) give what one batch gives, in the same order
    batched = classifier.predict(models[framework], x, batch_size=5)
    np.testing.assert_allclose(batched, logits, rtol=0, atol=1e-5)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_predict_batches_the_classifier_without_changing_it(framework):
    x, _ = bands(37, 7)
    if framework == "torch":
        torch.manual_seed(0)
        model = classifier.classifier_torch()
        with torch.no_grad():
            direct = model(torch.from_numpy(x)).numpy()
    else:
        import keras

        keras.utils.set_random_seed(0)
        model = classifier.classifier_tf()
        direct = np.asarray(model(x, training=False))
    # float32 convolutions may sum in another order for another batch shape (as above)
    np.testing.assert_allclose(classifier.predict(model, x), direct, rtol=0, atol=1e-5)
    np.testing.assert_allclose(classifier.predict(model, x, batch_size=8), direct,
                               rtol=0, atol=1e-5)


@pytest.mark.parametrize("x", [np.zeros((4, 28, 28), np.float32), np.zeros((4, 785), np.float32),
                               np.zeros(784, np.float32), [[0.0] * 784]])
def test_predict_refuses_what_is_not_n_by_784(x):
    with pytest.raises(ValueError, match=r"shape \(N, 784\)"):
        classifier.predict(classifier.classifier_torch(), x)
