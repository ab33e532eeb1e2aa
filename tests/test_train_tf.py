import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers.loop import NonFiniteLossError
from helpers.train_tf import train


def regression_problem(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)


def make_model_and_step(lr=0.1):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.SGD(lr)
    optimizer.build(model.trainable_variables)

    def step(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return {"loss": loss}

    return model, optimizer, step


def test_loss_falls_and_history_matches_torch_format():
    _, _, step = make_model_and_step()
    history = train(step, regression_problem(), epochs=5, batch_size=32, progress=False)
    assert set(history) == {"loss", "epoch_time"}
    assert len(history["loss"]) == 5
    assert history["loss"][-1] < 0.01 * history["loss"][0]


def test_epoch_mean_and_order_without_shuffle():
    seen = []

    def step(batch):
        seen.append(float(tf.reduce_sum(batch[0])))
        return {"value": tf.reduce_sum(batch[0])}

    history = train(step, (np.arange(10.0),), epochs=1, batch_size=4, shuffle=False,
                    compile=False, progress=False)
    assert seen == [6.0, 22.0, 17.0]
    assert history["value"] == [pytest.approx(15.0)]


def test_same_seed_same_result():
    results = []
    for _ in range(2):
        _, _, step = make_model_and_step()
        results.append(train(step, regression_problem(), epochs=2, batch_size=16, seed=3,
                             progress=False)["loss"])
    assert results[0] == results[1]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_loss_names_epoch_step_and_metric(bad):
    counter = tf.Variable(0)

    def step(batch):
        counter.assign_add(1)
        value = tf.where(counter == 6, tf.constant(bad), tf.constant(0.0))
        return {"loss": tf.constant(1.0), "kl": value}

    with pytest.raises(NonFiniteLossError, match=r"kl became (nan|inf) at epoch 2, step 2"):
        train(step, (np.zeros(16, np.float32),), epochs=3, batch_size=4, shuffle=False,
              check_every=3, progress=False)


def test_checkpoint_resume_continues_identically(tmp_path):
    def run(epochs, path):
        model, optimizer, step = make_model_and_step(lr=0.05)
        history = train(step, regression_problem(), epochs=epochs, batch_size=16, seed=1,
                        state={"model": model, "optimizer": optimizer}, checkpoint=path,
                        progress=False)
        return model, history

    straight, h_straight = run(4, tmp_path / "a.npz")
    run(2, tmp_path / "b.npz")
    resumed, h_resumed = run(4, tmp_path / "b.npz")
    np.testing.assert_allclose(h_resumed["loss"], h_straight["loss"], rtol=1e-6)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(data=[np.zeros(3), np.zeros(4)]), ValueError, "differ in length"),
    (dict(data=[[1, 2, 3]]), TypeError, "numpy arrays or tf tensors"),
    (dict(data=(np.zeros(0),)), ValueError, "empty"),
    (dict(epochs=-1), ValueError, "epochs must be a positive int"),
    (dict(checkpoint="x.npz"), ValueError, "checkpoint needs state"),
])
def test_bad_arguments(kwargs, error, message):
    arguments = dict(data=(np.zeros(4, np.float32),), epochs=1, batch_size=2, progress=False)
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        train(lambda b: {"loss": tf.constant(0.0)}, **arguments)
