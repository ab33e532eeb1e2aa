import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from helpers.evaluate import (cross_entropy, cross_entropy_per_image,  # noqa: E402
                              cross_entropy_with_logits_per_image, predict_tf, predict_torch,
                              sq_err, squared_error_per_image)
from helpers.plots import plot_sweep  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def images_and_reconstructions(n=6, d=784, seed=0):
    """Grey images in [0, 1] with some exact 0s and 1s, logits, and sigmoid(logits)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)).astype(np.float32)
    x[:, :50], x[:, 50:80] = 0.0, 1.0
    logits = (3 * rng.normal(size=(n, d))).astype(np.float32)
    return x, logits, 1 / (1 + np.exp(-logits.astype(np.float64)))


# -- measures -------------------------------------------------------------------------------------
def test_squared_error_matches_mse_loss_summed_per_image():
    x, _, x_hat = images_and_reconstructions()
    reference = [F.mse_loss(torch.tensor(a), torch.tensor(b, dtype=torch.float64), reduction="sum")
                 for a, b in zip(x_hat, x)]
    np.testing.assert_allclose(squared_error_per_image(x_hat, x), reference, rtol=1e-12)
    keras_mean = keras.losses.mean_squared_error(x.astype(np.float64), x_hat)  # mean over pixels
    np.testing.assert_allclose(squared_error_per_image(x_hat, x), 784 * np.asarray(keras_mean),
                               rtol=1e-12)


def test_sq_err_is_the_labs_formula_bit_for_bit():
    x, _, x_hat = images_and_reconstructions()
    x_hat32 = x_hat.astype(np.float32)
    lab = float(((x_hat32.astype(np.float64) - x) ** 2).sum(axis=1).mean())
    assert sq_err(x_hat32, x) == lab
    assert sq_err(x, x) == 0.0
    # image-shaped input, and tensors of either framework, give the same number
    assert sq_err(x_hat32.reshape(-1, 28, 28), x.reshape(-1, 28, 28)) == pytest.approx(lab, rel=1e-12)
    assert sq_err(torch.tensor(x_hat32), tf.constant(x)) == lab


def test_cross_entropy_matches_torch_and_keras():
    x, _, x_hat = images_and_reconstructions()
    reference = [F.binary_cross_entropy(torch.tensor(a), torch.tensor(b, dtype=torch.float64),
                                        reduction="sum") for a, b in zip(x_hat, x)]
    np.testing.assert_allclose(cross_entropy_per_image(x_hat, x), reference, rtol=1e-10)
    # Keras clips at the same epsilon, so exact 0s and 1s agree too
    x_hat[:, :20], x_hat[:, 20:40] = 0.0, 1.0
    keras_mean = keras.losses.binary_crossentropy(x.astype(np.float64), x_hat)
    np.testing.assert_allclose(cross_entropy_per_image(x_hat, x), 784 * np.asarray(keras_mean),
                               rtol=1e-6)


def test_cross_entropy_is_the_labs_formula_and_clips():
    x, _, x_hat = images_and_reconstructions()
    x64, clipped = x.astype(np.float64), np.clip(x_hat, 1e-7, 1 - 1e-7)
    lab = float(-(x64 * np.log(clipped) + (1 - x64) * np.log(1 - clipped)).sum(axis=1).mean())
    assert cross_entropy(x_hat, x) == pytest.approx(lab, rel=1e-14)
    # a confident wrong pixel costs -log(eps), not infinity; a right one costs about eps
    one = np.zeros((1, 784))
    one[0, 0] = 1.0
    assert cross_entropy(np.zeros_like(one), one) == pytest.approx(-np.log(1e-7) + 783 * 1e-7, rel=1e-9)


def test_cross_entropy_with_logits_matches_references_and_probabilities():
    x, logits, x_hat = images_and_reconstructions()
    logits64 = torch.tensor(logits, dtype=torch.float64)
    reference = F.binary_cross_entropy_with_logits(logits64, torch.tensor(x, dtype=torch.float64),
                                                   reduction="none").sum(dim=1)
    np.testing.assert_allclose(cross_entropy_with_logits_per_image(logits, x), reference, rtol=1e-12)
    keras_mean = keras.losses.binary_crossentropy(x.astype(np.float64), logits.astype(np.float64),
                                                  from_logits=True)
    np.testing.assert_allclose(cross_entropy_with_logits_per_image(logits, x),
                               784 * np.asarray(keras_mean), rtol=1e-6)
    # no clipping is active for these logits, so both forms agree
    np.testing.assert_allclose(cross_entropy_with_logits_per_image(logits, x),
                               cross_entropy_per_image(x_hat, x), rtol=1e-9)
    # large logits neither overflow nor lose the answer: softplus(1000) - 1000 = 0
    assert cross_entropy_with_logits_per_image(np.full((1, 4), 1e3), np.ones((1, 4)))[0] == 0.0


@pytest.mark.parametrize("measure", [squared_error_per_image, cross_entropy_per_image,
                                     cross_entropy_with_logits_per_image])
@pytest.mark.parametrize("x_hat, x, message", [
    (np.zeros((3, 784)), np.zeros((3, 783)), "same shape"),
    (np.zeros(784), np.zeros(784), r"shape \(N, pixels"),
    (np.zeros((0, 784)), np.zeros((0, 784)), "no images"),
])
def test_measures_refuse_bad_shapes(measure, x_hat, x, message):
    with pytest.raises(ValueError, match=message):
        measure(x_hat, x)


def test_cross_entropy_refuses_values_outside_the_unit_interval():
    x, logits, _ = images_and_reconstructions(n=2)
    with pytest.raises(ValueError, match="x_hat must lie in .*logits"):
        cross_entropy(logits, x)
    with pytest.raises(ValueError, match="x must lie in"):
        cross_entropy(x, x + 0.5)
    with pytest.raises(TypeError, match="array of numbers"):
        sq_err([["a"]], [["b"]])


# -- inference, PyTorch ---------------------------------------------------------------------------
class Recorder(nn.Module):
    """Remembers whether gradients were on while it ran."""

    def forward(self, x):
        self.grad_enabled = torch.is_grad_enabled()
        return x


def torch_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.5), Recorder(), nn.Linear(16, 3))


def test_predict_torch_equals_one_full_batch_in_eval_mode():
    model, x = torch_net(), np.random.default_rng(0).normal(size=(50, 12)).astype(np.float32)
    out = predict_torch(model, x, batch_size=7)  # 7 batches, the last of 1 row
    assert model.training and all(m.training for m in model)  # dropout back on
    assert model[3].grad_enabled is False
    with torch.no_grad():
        reference = model.eval()(torch.tensor(x)).numpy()
    assert isinstance(out, np.ndarray) and out.shape == (50, 3)
    np.testing.assert_allclose(out, reference, atol=1e-6)
    np.testing.assert_allclose(predict_torch(model, torch.tensor(x), batch_size=64), reference, atol=1e-6)


def test_predict_torch_restores_every_flag_as_it_was():
    model = torch_net().eval()
    model[2].train()  # a mixed state: only the dropout layer in training mode
    predict_torch(model, np.zeros((4, 12), np.float32))
    assert [m.training for m in model.modules()] == [False, False, False, True, False, False]


def test_predict_torch_methods_submodules_output_and_tuples():
    class Autoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = nn.Linear(12, 2), nn.Sequential(nn.Dropout(0.9), nn.Linear(2, 12))

        def forward(self, x):
            return self.decoder(self.encoder(x))

        def reconstruct(self, x):
            return torch.sigmoid(self(x))

        def both(self, x):
            return self.encoder(x), self(x)

    torch.manual_seed(0)
    model, x = Autoencoder(), torch.rand(20, 12)
    with torch.no_grad():
        model.eval()
        code, logits = model.encoder(x).numpy(), model(x).numpy()
        model.train()
    np.testing.assert_allclose(predict_torch(model.reconstruct, x, batch_size=6), 1 / (1 + np.exp(-logits)),
                               atol=1e-6)
    np.testing.assert_allclose(predict_torch(model, x, output=torch.sigmoid), 1 / (1 + np.exp(-logits)),
                               atol=1e-6)
    np.testing.assert_allclose(predict_torch(model.encoder, x, batch_size=3), code, atol=1e-6)
    assert (predict_torch(model, x, output=lambda y: y.argmax(1)) == logits.argmax(1)).all()
    parts = predict_torch(model.both, x, batch_size=8)
    assert isinstance(parts, tuple) and [p.shape for p in parts] == [(20, 2), (20, 12)]
    assert model.training and model.decoder[0].training


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, None])
def test_predict_torch_refuses_bad_batch_sizes(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        predict_torch(torch_net(), np.zeros((4, 12), np.float32), batch_size=batch_size)


def test_predict_torch_refuses_bad_input():
    model = torch_net()
    with pytest.raises(ValueError, match="empty"):
        predict_torch(model, np.zeros((0, 12), np.float32))
    with pytest.raises(ValueError, match="scalar"):
        predict_torch(model, np.array(1.0, dtype=np.float32))
    with pytest.raises(TypeError, match="NumPy array or a torch tensor"):
        predict_torch(model, [[0.0] * 12])
    with pytest.raises(TypeError, match="Module or a method of one"):
        predict_torch(lambda b: model(b), np.zeros((4, 12), np.float32))
    with pytest.raises(ValueError, match="one row per input row"):
        predict_torch(model, np.zeros((4, 12), np.float32), output=lambda y: y.sum())
    assert model.training  # restored after the failure too


# -- inference, TensorFlow ------------------------------------------------------------------------
def keras_net():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dropout(0.5), keras.layers.Dense(3)])


def test_predict_tf_equals_one_full_batch_in_inference_mode():
    model, x = keras_net(), np.random.default_rng(0).normal(size=(50, 12)).astype(np.float32)
    reference = np.asarray(model(x, training=False))
    out = predict_tf(model, x, batch_size=7)
    assert isinstance(out, np.ndarray) and out.shape == (50, 3)
    np.testing.assert_allclose(out, reference, atol=1e-6)
    np.testing.assert_allclose(predict_tf(model, tf.constant(x), batch_size=64, device="/CPU:0"),
                               reference, atol=1e-6)
    np.testing.assert_allclose(predict_tf(model, x, output=tf.sigmoid), 1 / (1 + np.exp(-reference)),
                               atol=1e-6)


def test_predict_tf_methods_with_and_without_a_training_argument():
    class Autoencoder(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = keras.Sequential([keras.Input((12,)), keras.layers.Dense(2)])
            self.drop, self.decoder = keras.layers.Dropout(0.9), keras.layers.Dense(12)

        def call(self, x, training=False):
            return self.decoder(self.drop(self.encoder(x), training=training))

        def reconstruct(self, x):  # no training argument: Keras defaults to inference
            return tf.sigmoid(self(x))

        def both(self, x, training=False):
            return self.encoder(x), self(x, training=training)

    keras.utils.set_random_seed(0)
    model, x = Autoencoder(), np.random.default_rng(1).random((20, 12)).astype(np.float32)
    logits = np.asarray(model(x, training=False))
    np.testing.assert_allclose(predict_tf(model.reconstruct, x, batch_size=6), 1 / (1 + np.exp(-logits)),
                               atol=1e-6)
    np.testing.assert_allclose(predict_tf(model.encoder, x, batch_size=3), np.asarray(model.encoder(x)),
                               atol=1e-6)
    parts = predict_tf(model.both, x, batch_size=8)
    assert isinstance(parts, tuple) and [p.shape for p in parts] == [(20, 2), (20, 12)]
    np.testing.assert_allclose(parts[1], logits, atol=1e-6)


def test_predict_tf_refuses_bad_input():
    model = keras_net()
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        predict_tf(model, np.zeros((4, 12), np.float32), batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        predict_tf(model, np.zeros((0, 12), np.float32))
    with pytest.raises(TypeError, match="NumPy array or a tf.Tensor"):
        predict_tf(model, torch.zeros(4, 12))
    with pytest.raises(TypeError, match="Keras model or layer"):
        predict_tf(lambda b: model(b), np.zeros((4, 12), np.float32))


# -- the sweep plot -------------------------------------------------------------------------------
def test_plot_sweep_one_series():
    fig = plot_sweep({0.5: 3.3, 0.0: 3.7, 0.1: 3.1}, xlabel="hidden dropout rate p",
                     ylabel="test error (%)", title="1,000 images")
    (ax,) = fig.get_axes()
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [0.0, 0.1, 0.5]  # joined in order of rate
    assert list(line.get_ydata()) == [3.7, 3.1, 3.3]
    assert ax.get_legend() is None
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("hidden dropout rate p",
                                                                  "test error (%)", "1,000 images")


def test_plot_sweep_one_line_per_series():
    fig = plot_sweep({"PyTorch": {0.0: 3.70, 0.2: 2.99}, "TensorFlow": {0.0: 3.68, 0.2: 3.10, 0.7: 4.1}},
                     xlabel="p", ylabel="test error (%)")
    (ax,) = fig.get_axes()
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["PyTorch", "TensorFlow"]


@pytest.mark.parametrize("bad, error", [
    ({}, TypeError), ([(0.1, 2.0)], TypeError), ({"a": {}}, ValueError),
    ({0.1: "x"}, ValueError), ({"a": {0.1: None}}, ValueError),
])
def test_plot_sweep_bad_input(bad, error):
    with pytest.raises(error):
        plot_sweep(bad, xlabel="p", ylabel="error")


# -- added with mutation testing (make mutation) ------------------------------------------------
def test_unit_interval_and_eps_messages():
    x = np.array([[-0.5, 0.5]])
    with pytest.raises(ValueError, match=r"^x must lie in \[0, 1\], got values in \[-0\.5, 0\.5\]$"):
        cross_entropy_per_image(np.full((1, 2), 0.5), x)
    with pytest.raises(ValueError, match=r"^x must lie in \[0, 1\], got values in \[-0\.5, 0\.5\]$"):
        cross_entropy_with_logits_per_image(np.zeros((1, 2)), x)
    with pytest.raises(ValueError, match=r"^x_hat must lie in \[0, 1\], got values in \[0, 2\] "
                                         r"\(for logits use cross_entropy_with_logits_per_image\)$"):
        cross_entropy_per_image(np.array([[0.0, 2.0]]), np.full((1, 2), 0.5))
    with pytest.raises(ValueError, match=r"^eps must be in \[0, 0\.5\), got 0\.5$"):
        cross_entropy_per_image(np.full((1, 2), 0.5), np.full((1, 2), 0.5), eps=0.5)


def test_cross_entropy_eps_zero_and_eps_passed_through():
    x_hat, x = np.array([[0.25, 0.5]]), np.array([[1.0, 0.0]])
    expected = -np.log(0.25) - np.log(0.5)
    assert cross_entropy_per_image(x_hat, x, eps=0)[0] == pytest.approx(expected, abs=1e-15)
    # A pixel predicted as exactly 0 that is 1 costs -log(eps), with the eps given.
    assert cross_entropy(np.zeros((1, 1)), np.ones((1, 1)), eps=1e-3) == pytest.approx(-np.log(1e-3))


def test_predict_torch_default_batches_and_its_message():
    sizes = []

    class Sizes(nn.Module):
        def forward(self, x):
            sizes.append(len(x))
            return x

    predict_torch(Sizes(), np.zeros((4_001, 1), np.float32))
    assert sizes == [2_000, 2_000, 1]
    with pytest.raises(TypeError, match=r"^model must be a torch.nn.Module or a method of one "
                                        r"\(so that its dropout can be switched off\), got "
                                        r"function; pass post-processing as output=$"):
        predict_torch(lambda b: b, np.zeros((4, 1), np.float32))


class DeviceRecorder(nn.Module):
    """Records the device of each batch it gets and returns zeros on the CPU; its parameter
    or buffer, if any, lives on ``where``."""

    def __init__(self, where=None, kind="parameter"):
        super().__init__()
        self.seen = []
        if kind == "parameter":
            self.w = nn.Parameter(torch.zeros(1, device=where))
        elif kind == "buffer":
            self.register_buffer("b", torch.zeros(1, device=where))

    def forward(self, x):
        self.seen.append(x.device.type)
        return torch.zeros(len(x), 1)


def test_predict_torch_computes_where_it_is_told_else_where_the_module_is():
    # The "meta" device holds shapes only, so where each batch went can be seen on any machine.
    x = np.zeros((3, 1), np.float32)
    for kind in ("parameter", "buffer"):
        model = DeviceRecorder("meta", kind)
        assert predict_torch(model, x).shape == (3, 1) and model.seen == ["meta"]
    model = DeviceRecorder(None, "parameter")  # on the CPU, told to use "meta"
    predict_torch(model, x, device="meta")
    assert model.seen == ["meta"]
    model = DeviceRecorder(None, "none")  # no parameters or buffers: the CPU
    predict_torch(model, x)
    assert model.seen == ["cpu"]
    with pytest.raises(TypeError, match=r"^x must be a NumPy array or a torch tensor, got list$"):
        predict_torch(model, [[0.0]])


class HasNumpy:
    """A stand-in for a tensor type that NumPy cannot read directly, only via .numpy()."""

    def __init__(self, a):
        self.a = a

    def numpy(self):
        return self.a


def test_measures_read_tensors_that_need_grad_bfloat16_and_numpy_methods():
    x = np.array([[0.0, 1.0]])
    grad = torch.tensor([[0.5, 0.5]], requires_grad=True)
    assert squared_error_per_image(grad, x)[0] == 0.5
    assert squared_error_per_image(grad.to(torch.bfloat16), x)[0] == 0.5
    assert squared_error_per_image(HasNumpy(np.array([[1.0, 1.0]])), x)[0] == 1.0


def test_pair_messages_name_the_argument():
    ragged = np.empty(2, dtype=object)
    ragged[:] = [[0.0], [0.0, 1.0]]
    for args, name in (((ragged, np.zeros(2)), "x_hat"), ((np.zeros(2), ragged), "x")):
        with pytest.raises(TypeError, match=f"^{name} must be an array of numbers, got ndarray$"):
            squared_error_per_image(*args)
    with pytest.raises(TypeError, match="^x_hat must be an array of numbers, got"):
        squared_error_per_image(HasNumpy(ragged), np.zeros(2))  # read via .numpy() first
    with pytest.raises(ValueError, match=r"^images must have shape \(N, pixels\.\.\.\), got \(3,\); "
                                         r"a single image needs a leading axis: x\[None\]$"):
        sq_err(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="^no images: the mean over an empty set is undefined$"):
        sq_err(np.zeros((0, 3)), np.zeros((0, 3)))


def test_predict_torch_returns_bfloat16_as_float32_and_keeps_other_dtypes():
    class Cast(nn.Module):
        def __init__(self, dtype):
            super().__init__()
            self.dtype = dtype

        def forward(self, x):
            return x.to(self.dtype)

    x = np.array([[0.5], [1.5]], np.float32)
    out = predict_torch(Cast(torch.bfloat16), x)
    assert out.dtype == np.float32 and out.tolist() == [[0.5], [1.5]]
    assert predict_torch(Cast(torch.float64), x).dtype == np.float64


def test_predict_tf_switches_off_dropout_in_a_method_whose_default_is_training():
    class Noisy(keras.Model):
        def __init__(self):
            super().__init__()
            self.drop = keras.layers.Dropout(0.9)

        def call(self, x, training=False):
            return self.drop(x, training=training)

        def noisy(self, x, training=True):  # a default of True: predict_tf must pass False
            return self(x, training=training)

        def anything(self, x, **kwargs):  # **kwargs takes training too
            return self(x, **kwargs)

    model, x = Noisy(), np.ones((50, 12), np.float32)
    np.testing.assert_array_equal(predict_tf(model.noisy, x), x)
    np.testing.assert_array_equal(predict_tf(model.anything, x), x)


def test_predict_tf_default_batches_and_messages():
    sizes = []

    class Sizes(keras.layers.Layer):
        def call(self, x):
            sizes.append(int(x.shape[0]))
            return x

    predict_tf(Sizes(), np.zeros((4_001, 1), np.float32))
    assert sizes == [2_000, 2_000, 1]
    with pytest.raises(TypeError, match=r"^model must be a Keras model or layer, or a method of "
                                        r"one, got function; pass post-processing as output=$"):
        predict_tf(lambda b: b, np.zeros((4, 1), np.float32))
    with pytest.raises(TypeError, match=r"^x must be a NumPy array or a tf.Tensor, got Tensor$"):
        predict_tf(Sizes(), torch.zeros(4, 1))
    with pytest.raises(ValueError, match=r"^the model returned shape \(\) for a batch of 4 rows; "
                                         r"it must return one row per input row$"):
        predict_tf(Sizes(), np.zeros((4, 1), np.float32), output=lambda y: 3.0)


def test_predict_torch_batch_size_one_and_a_scalar():
    out = predict_torch(nn.Identity(), np.arange(3, dtype=np.float32)[:, None], batch_size=1)
    assert out.tolist() == [[0.0], [1.0], [2.0]]
    with pytest.raises(ValueError, match=r"^x must have shape \(N, \.\.\.\), got a scalar$"):
        predict_torch(nn.Identity(), np.array(1.0, dtype=np.float32))
