"""One PyTorch training loop for every chapter.

A chapter writes ``step(batch) -> {"name": value}`` (forward, loss, backward, optimizer
step); this loop does the rest: batching by index on the device, mixed precision, progress,
history, non-finite-loss detection, atomic checkpoints and resume.
"""
from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch

from .checkpoints import load_torch, save_torch
from .loop import History, add_checked, check_step_output, end_epoch, positive_int, postfix
from .progress import progress_bar

Step = Callable[[tuple[torch.Tensor, ...]], Mapping[str, "torch.Tensor | float"]]


def _check_data(data: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    if isinstance(data, torch.Tensor):
        data = (data,)
    if not isinstance(data, (tuple, list)) or not data:
        raise TypeError("data must be a tensor or a non-empty tuple of tensors")
    for t in data:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"data must hold torch tensors, got {type(t).__name__}")
    n = len(data[0])
    if any(len(t) != n for t in data):
        raise ValueError(f"tensors in data differ in length: {[len(t) for t in data]}")
    if n == 0:
        raise ValueError("data is empty")
    return tuple(data)


def train(step: Step, data: Sequence[torch.Tensor], *, epochs: int, batch_size: int,
          device: torch.device | str | None = None, shuffle: bool = True, seed: int = 0,
          evaluate: Callable[[], Mapping[str, float]] | None = None, amp: bool = False,
          state: Mapping[str, object] | None = None, checkpoint: str | Path | None = None,
          checkpoint_every: int = 1, check_every: int = 50, progress: bool = True,
          desc: str = "train") -> History:
    """Run ``step`` over mini-batches of ``data`` for ``epochs`` epochs.

    Args:
        step: takes a batch, a tuple of tensors of shape (B, ...), one per tensor in
            ``data``; trains on it and returns named scalars (0-d tensors or floats).
        data: tensors sharing their first dimension N. They are moved to ``device`` once and
            batched by indexing, which on a GPU is many times faster than a DataLoader.
        epochs, batch_size: the usual; the last batch of an epoch may be smaller.
        device: where to train; defaults to the device of ``data``.
        evaluate: called after each epoch (e.g. test loss); its metrics join the history.
        amp: autocast the step to bfloat16 on CUDA (no loss scaling needed); ignored
            with a warning elsewhere.
        state: objects with ``state_dict``/``load_state_dict`` (model, optimizer) to save
            in ``checkpoint``.
        checkpoint: file to save ``state`` and the history to every ``checkpoint_every``
            epochs, atomically. If it exists, training resumes after its last epoch.
        check_every: steps between checks for NaN/inf (each check waits for the device).

    Returns:
        History: for every metric, one value per epoch (the mean over that epoch's steps),
        plus ``epoch_time`` in seconds.

    Raises:
        NonFiniteLossError: naming the epoch, step and metric that went NaN or infinite.
    """
    data = _check_data(data)
    positive_int("epochs", epochs)
    positive_int("batch_size", batch_size)
    positive_int("checkpoint_every", checkpoint_every)
    positive_int("check_every", check_every)
    if checkpoint is not None and not state:
        raise ValueError("checkpoint needs state={'model': ..., 'optimizer': ...} to save")
    device = torch.device(device) if device is not None else data[0].device
    data = tuple(t.to(device) for t in data)
    n = len(data[0])
    steps_per_epoch = math.ceil(n / batch_size)

    if amp and device.type != "cuda":
        import warnings

        warnings.warn(f"amp=True has no effect on {device.type}; training in float32",
                      RuntimeWarning, stacklevel=2)
        amp = False
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if amp else contextlib.nullcontext

    history: History = {}
    start_epoch = 0
    generator = torch.Generator(device="cpu").manual_seed(seed)
    if checkpoint is not None and Path(checkpoint).exists():
        saved = load_torch(checkpoint)
        for key, obj in state.items():
            obj.load_state_dict(saved["state"][key])
        history = {k: list(v) for k, v in saved["history"].items()}
        start_epoch = int(saved["epoch"])
        generator.set_state(saved["generator"])
        print(f"resumed from {checkpoint} after epoch {start_epoch}")

    bar = progress_bar(total=(epochs - start_epoch) * steps_per_epoch, desc=desc,
                       disable=not progress)
    for epoch in range(start_epoch, epochs):
        began = time.perf_counter()
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        order = order.to(device)
        sums: dict[str, float] = {}
        pending: list[dict[str, torch.Tensor]] = []
        for i in range(steps_per_epoch):
            index = order[i * batch_size:(i + 1) * batch_size]
            with autocast():
                metrics = step(tuple(t[index] for t in data))
            check_step_output(metrics)
            pending.append({k: torch.as_tensor(v, device=device).detach().float().reshape(())
                            for k, v in metrics.items()})
            if len(pending) == check_every or i == steps_per_epoch - 1:
                _drain(pending, sums, epoch, i)
            bar.update(1)
        end_epoch(history, sums, steps_per_epoch, time.perf_counter() - began, evaluate)
        bar.set_postfix(postfix(history))
        if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
            save_torch(checkpoint, {"epoch": epoch + 1, "history": history,
                                    "generator": generator.get_state(),
                                    "state": {k: obj.state_dict() for k, obj in state.items()}})
    bar.close()
    return history


def _drain(pending: list[dict[str, torch.Tensor]], sums: dict[str, float], epoch: int,
           last_step: int) -> None:
    """Move pending step metrics to the host in one transfer per metric and add them up."""
    first = last_step - len(pending) + 1
    for key in pending[0]:
        values = torch.stack([p[key] for p in pending]).cpu().double().numpy()
        add_checked(sums, key, values, epoch, first)
    pending.clear()
