import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers.checkpoints import load_arrays, save_arrays
from helpers.loop import NonFiniteLossError
from helpers.train_tf import train


def regression_problem(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)


def make_model_and_step(lr=0.1, optimizer=keras.optimizers.SGD):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = optimizer(lr)
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


def test_every_example_visited_once_per_epoch():
    visits = []

    def step(batch):
        visits.append(batch[0].numpy())
        return {"n": float(len(batch[0]))}

    train(step, (np.arange(50),), epochs=2, batch_size=8, compile=False, progress=False)
    first, second = np.concatenate(visits[:7]), np.concatenate(visits[7:])
    assert sorted(first.tolist()) == list(range(50)) == sorted(second.tolist())
    assert first.tolist() != second.tolist()  # reshuffled


def test_same_seed_same_result():
    results = []
    for _ in range(2):
        _, _, step = make_model_and_step()
        results.append(train(step, regression_problem(), epochs=2, batch_size=16, seed=3,
                             progress=False)["loss"])
    assert results[0] == results[1]


def test_evaluate_runs_after_each_epoch_and_joins_history():
    steps = tf.Variable(0)

    def step(batch):
        steps.assign_add(1)
        return {"loss": tf.constant(1.0)}

    def evaluate():  # a tensor and a float, as an evaluation may return either
        return {"test_loss": tf.constant(2.0), "steps_done": float(steps.numpy())}

    history = train(step, (np.zeros(8, np.float32),), epochs=3, batch_size=4,
                    evaluate=evaluate, progress=False)
    assert set(history) == {"loss", "test_loss", "steps_done", "epoch_time"}
    assert history["steps_done"] == [2.0, 4.0, 6.0]  # once per epoch, after its two steps
    assert history["test_loss"] == [2.0, 2.0, 2.0]
    assert all(type(v) is float for v in history["test_loss"])  # plain floats, for JSON
    with pytest.raises(ValueError, match="both return 'loss'"):
        train(lambda b: {"loss": tf.constant(1.0)}, (np.zeros(8, np.float32),), epochs=1,
              batch_size=4, evaluate=lambda: {"loss": 2.0}, progress=False)


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
    # Adam, not plain SGD: its moments and step count are state, so a resume that restores
    # the model but not the optimizer takes different steps after the restart.
    def run(epochs, path):
        model, optimizer, step = make_model_and_step(lr=0.05, optimizer=keras.optimizers.Adam)
        history = train(step, regression_problem(), epochs=epochs, batch_size=16, seed=1,
                        state={"model": model, "optimizer": optimizer}, checkpoint=path,
                        progress=False)
        return model, history

    straight, h_straight = run(4, tmp_path / "a.npz")
    run(2, tmp_path / "b.npz")
    resumed, h_resumed = run(4, tmp_path / "b.npz")
    # Both runs do the same float32 operations in the same order on one machine, so they
    # agree to the bit in practice; rtol=1e-6 (eight float32 ulps) only leaves room for a
    # kernel's thread-dependent reduction order. Restarting Adam's state changes the last
    # epochs' losses by over 10%.
    np.testing.assert_allclose(h_resumed["loss"], h_straight["loss"], rtol=1e-6)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_checkpoint_every_n_epochs_and_after_the_last(tmp_path, monkeypatch):
    saved = []

    def recording_save(path, arrays, meta):
        saved.append(meta["epoch"])
        save_arrays(path, arrays, meta)

    monkeypatch.setattr("helpers.train_tf.save_arrays", recording_save)
    model, optimizer, step = make_model_and_step()
    path = tmp_path / "c.npz"
    history = train(step, regression_problem(n=32), epochs=5, batch_size=16,
                    state={"model": model, "optimizer": optimizer}, checkpoint=path,
                    checkpoint_every=2, progress=False)
    assert saved == [2, 4, 5]
    arrays, meta = load_arrays(path)
    assert meta["epoch"] == 5 and meta["history"] == history
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(arrays[f"model/{i}"], weight)


def test_jit_compile_asks_xla_and_matches_eager():
    def unsupported_by_xla(batch):
        return {"loss": tf.py_function(tf.reduce_sum, [batch[0]], tf.float32)}

    data = (np.zeros(8, np.float32),)
    train(unsupported_by_xla, data, epochs=1, batch_size=4, progress=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported operations"):
        train(unsupported_by_xla, data, epochs=1, batch_size=4, jit_compile=True,
              progress=False)

    runs = []
    for kwargs in (dict(compile=False), dict(jit_compile=True)):
        model, _, step = make_model_and_step(lr=0.05)
        # 256 = 10 * 24 + 16: the short last batch makes XLA compile a second shape
        history = train(step, regression_problem(), epochs=3, batch_size=24, seed=2,
                        progress=False, **kwargs)
        runs.append((history, model.get_weights()))
    (eager, eager_weights), (jit, jit_weights) = runs
    # XLA fuses and reorders float32 arithmetic, so each operation may round differently
    # (by an ulp, 1.2e-7 relative). The last epoch's loss, about 0.01, is a mean of squared
    # residuals of about 0.1 left from predictions of order 2: the 20x cancellation and the
    # squaring (which doubles a relative error) turn a few ulps into a few 1e-6 relative.
    # One step more, fewer or different would change the loss by percent, not 1e-5.
    np.testing.assert_allclose(jit["loss"], eager["loss"], rtol=1e-5)
    # the weights are of order 1 and each step moves them by a few rounding errors of that
    # size (2.4e-7 at 2), which SGD on this problem damps rather than amplifies
    for a, b in zip(jit_weights, eager_weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


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


# -- added with mutation testing (make mutation) ------------------------------------------------
def constant_step(batch):
    return {"loss": tf.constant(1.0)}


def test_checkpoint_cadence_and_resume_message(tmp_path, monkeypatch, capsys):
    saved = []
    monkeypatch.setattr("helpers.train_tf.save_arrays",
                        lambda path, arrays, meta: (saved.append(meta["epoch"]),
                                                    save_arrays(path, arrays, meta)))
    model, _, _ = make_model_and_step()
    state = {"model": model}
    data = np.zeros((6, 3), np.float32)
    train(constant_step, data, epochs=7, batch_size=2, state=state, checkpoint=tmp_path / "a.npz",
          checkpoint_every=3, progress=False)
    assert saved == [3, 6, 7]  # every third epoch, and after the last
    saved.clear()
    train(constant_step, data, epochs=3, batch_size=2, state=state, checkpoint=tmp_path / "b.npz",
          progress=False)
    assert saved == [1, 2, 3]  # by default after every epoch
    capsys.readouterr()
    saved.clear()
    train(constant_step, data, epochs=4, batch_size=2, state=state, checkpoint=tmp_path / "b.npz")
    out, err = capsys.readouterr()
    assert out == f"resumed from {tmp_path / 'b.npz'} after epoch 3\n" and saved == [4]
    assert re.search(r"(^|\r)train: .* 3/3 ", err) and "loss=1" in err  # one epoch of 3 steps


def test_progress_bar_defaults_and_epoch_times(capsys):
    data = np.zeros((6, 3), np.float32)
    history = train(constant_step, data, epochs=2, batch_size=2)
    err = capsys.readouterr().err
    assert re.search(r"(^|\r)train: 100%.* 6/6 ", err) and "loss=1" in err
    assert all(type(t) is float and 0 <= t < 60 for t in history["epoch_time"])
    train(constant_step, data, epochs=2, batch_size=2, desc="fit")
    assert re.search(r"(^|\r)fit: ", capsys.readouterr().err)
    train(constant_step, data, epochs=2, batch_size=2, progress=False)
    assert capsys.readouterr().err == ""


def test_nan_is_found_at_the_default_check_every_50_steps():
    steps = tf.Variable(0)

    def step(batch):
        steps.assign_add(1)
        return {"loss": tf.where(steps == 1, tf.constant(math.nan), tf.constant(1.0))}

    with pytest.raises(NonFiniteLossError, match=r"^loss became nan at epoch 1, step 1: "):
        train(step, np.zeros((100, 1), np.float32), epochs=1, batch_size=1, progress=False)
    assert int(steps.numpy()) == 50  # the first check comes after 50 steps


def test_defaults_seed_zero_and_a_single_array():
    seen = []

    def step(batch):
        seen.append(batch[0].numpy().tolist())
        return {"loss": 0.0}

    data = np.arange(8.0)  # one array, not a tuple
    train(step, data, epochs=1, batch_size=8, compile=False, progress=False)
    assert seen == [np.random.default_rng(0).permutation(8).astype(float).tolist()]


def test_short_last_batch_is_traced_once_with_a_free_batch_dimension():
    traced = []

    def step(batch):
        traced.append(batch[0].shape.as_list())  # runs when tf.function traces, not per call
        return {"loss": tf.reduce_sum(batch[0])}

    history = train(step, np.arange(10.0, dtype=np.float32), epochs=2, batch_size=4,
                    shuffle=False, progress=False)
    # reduce_retracing: the second shape seen (the last 2 rows) is traced as any number of
    # rows, not as exactly 2, and serves the second epoch too
    assert traced == [[4], [None]]
    assert history["loss"] == [pytest.approx(15.0)] * 2  # (6 + 22 + 17) / 3 steps


def test_runs_on_the_device_asked_for_else_the_gpu_when_one_is_listed(monkeypatch):
    real_list, real_device = tf.config.list_physical_devices, tf.device
    gpus, devices = [], []

    def list_physical_devices(device_type=None):  # the machine's, with the GPUs of gpus
        return list(gpus) if device_type == "GPU" else real_list(device_type)

    def device(name):  # as TensorFlow reads the name: "/cpu:0" and "/CPU:0" are one device
        devices.append(name and tf.DeviceSpec.from_string(name).to_string())
        return real_device(name)

    monkeypatch.setattr(tf.config, "list_physical_devices", list_physical_devices)
    monkeypatch.setattr(tf, "device", device)
    cpu, gpu = "/device:CPU:0", "/device:GPU:0"
    fake_gpu = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")
    # soft placement (TensorFlow's default) runs a step asked onto a missing GPU on the CPU
    for listed, asked, expected in [([], None, cpu), ([fake_gpu], None, gpu),
                                    ([fake_gpu], "/CPU:0", cpu)]:
        gpus[:], devices[:] = listed, []
        train(constant_step, np.zeros((4, 1), np.float32), epochs=2, batch_size=2,
              device=asked, progress=False)
        assert devices == [expected] * 3  # the data's conversion, then each epoch's steps


def test_data_and_argument_messages(tmp_path):
    for data, error, message in [
        ([], TypeError, r"^data must be an array or a non-empty tuple of arrays$"),
        ((np.zeros(2), [1, 2]), TypeError,
         r"^data must hold numpy arrays or tf tensors, got list$"),
        ((np.zeros((0, 3)),), ValueError, r"^data is empty$"),
    ]:
        with pytest.raises(error, match=message):
            train(constant_step, data, epochs=1, batch_size=2, progress=False)
    for name in ("batch_size", "checkpoint_every", "check_every"):
        arguments = dict(epochs=1, batch_size=2, progress=False) | {name: 0}
        with pytest.raises(ValueError, match=f"^{name} must be a positive int, got 0$"):
            train(constant_step, np.zeros((2, 1)), **arguments)
    with pytest.raises(ValueError, match=r"^checkpoint needs state=\{'model': \.\.\., "
                                         r"'optimizer': \.\.\.\} to save$"):
        train(constant_step, np.zeros((2, 1)), epochs=1, batch_size=2,
              checkpoint=tmp_path / "c.npz")
