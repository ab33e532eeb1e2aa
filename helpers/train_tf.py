"""One TensorFlow/Keras training loop for every chapter: the twin of ``train_torch``.

A chapter writes ``step(batch) -> {"name": value}`` with ``tf.GradientTape``; this loop
compiles it with ``tf.function``, batches by index on the device, and keeps the same history,
checks, checkpoints and metric names as the PyTorch loop, so one plot serves both.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from .checkpoints import keras_state, load_arrays, restore_keras_state, save_arrays
from .loop import History, add_checked, check_step_output, end_epoch, positive_int, postfix
from .progress import progress_bar


def _check_data(data) -> tuple[tf.Tensor, ...]:
    if isinstance(data, (np.ndarray, tf.Tensor)):
        data = (data,)
    if not isinstance(data, (tuple, list)) or not data:
        raise TypeError("data must be an array or a non-empty tuple of arrays")
    for t in data:
        if not isinstance(t, (np.ndarray, tf.Tensor)):
            raise TypeError(f"data must hold numpy arrays or tf tensors, got {type(t).__name__}")
    n = len(data[0])
    if any(len(t) != n for t in data):
        raise ValueError(f"arrays in data differ in length: {[len(t) for t in data]}")
    if n == 0:
        raise ValueError("data is empty")
    return tuple(tf.convert_to_tensor(t) for t in data)


def train(step: Callable, data: Sequence, *, epochs: int, batch_size: int,
          device: str | None = None, shuffle: bool = True, seed: int = 0,
          evaluate: Callable[[], Mapping[str, float]] | None = None, compile: bool = True,
          jit_compile: bool = False, state: Mapping[str, object] | None = None,
          checkpoint: str | Path | None = None, checkpoint_every: int = 1,
          check_every: int = 50, progress: bool = True, desc: str = "train") -> History:
    """Run ``step`` over mini-batches of ``data`` for ``epochs`` epochs.

    Same contract as :func:`helpers.train_torch.train`, with these differences:
    ``step`` is wrapped in ``tf.function`` (``compile=False`` runs it eagerly, for
    debugging; ``jit_compile`` asks XLA); ``device`` is a TensorFlow device string such as
    ``"/GPU:0"``; ``state`` holds Keras models and optimizers, which must be built (their
    variables created) before the first checkpoint is restored. Mixed precision in Keras is
    a global policy chosen before the model is built
    (``keras.mixed_precision.set_global_policy("mixed_bfloat16")``), so it is not a flag here.

    Returns:
        History: for every metric, one value per epoch, plus ``epoch_time`` in seconds.
    """
    positive_int("epochs", epochs)
    positive_int("batch_size", batch_size)
    positive_int("checkpoint_every", checkpoint_every)
    positive_int("check_every", check_every)
    if checkpoint is not None and not state:
        raise ValueError("checkpoint needs state={'model': ..., 'optimizer': ...} to save")
    device = device or ("/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0")
    with tf.device(device):
        data = _check_data(data)
    n = int(data[0].shape[0])
    steps_per_epoch = math.ceil(n / batch_size)
    run_step = tf.function(step, jit_compile=jit_compile, reduce_retracing=True) if compile else step

    history: History = {}
    start_epoch = 0
    rng = np.random.default_rng(seed)
    if checkpoint is not None and Path(checkpoint).exists():
        arrays, meta = load_arrays(checkpoint)
        restore_keras_state(dict(state), arrays)
        history = meta["history"]
        start_epoch = int(meta["epoch"])
        rng.bit_generator.state = meta["rng"]
        print(f"resumed from {checkpoint} after epoch {start_epoch}")

    bar = progress_bar(total=(epochs - start_epoch) * steps_per_epoch, desc=desc,
                       disable=not progress)
    for epoch in range(start_epoch, epochs):
        began = time.perf_counter()
        order = rng.permutation(n) if shuffle else np.arange(n)
        sums: dict[str, float] = {}
        pending: list[dict[str, tf.Tensor]] = []
        with tf.device(device):
            for i in range(steps_per_epoch):
                index = tf.constant(order[i * batch_size:(i + 1) * batch_size])
                metrics = run_step(tuple(tf.gather(t, index) for t in data))
                check_step_output(metrics)
                pending.append(dict(metrics))
                if len(pending) == check_every or i == steps_per_epoch - 1:
                    _drain(pending, sums, epoch, i)
                bar.update(1)
        end_epoch(history, sums, steps_per_epoch, time.perf_counter() - began, evaluate)
        bar.set_postfix(postfix(history))
        if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
            save_arrays(checkpoint, keras_state(dict(state)),
                        {"epoch": epoch + 1, "history": history, "rng": rng.bit_generator.state})
    bar.close()
    return history


def _drain(pending: list[dict[str, tf.Tensor]], sums: dict[str, float], epoch: int,
           last_step: int) -> None:
    first = last_step - len(pending) + 1
    for key in pending[0]:
        values = np.array([float(p[key]) for p in pending], dtype=np.float64)
        add_checked(sums, key, values, epoch, first)
    pending.clear()
