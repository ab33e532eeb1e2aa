"""Choosing where to compute, for either framework."""
from __future__ import annotations

import os
import sys
import warnings

from .config import current_budget

FRAMEWORKS = ("torch", "tensorflow")

# TensorFlow prints pages of start-up messages unless told not to before it is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _check_framework(framework: str) -> str:
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    return framework


def _caller_outside_package() -> int:
    """The ``stacklevel`` that makes a warning raised by our caller point at the first frame
    outside this package: the reader's cell, not a helpers module."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(2), 2   # level 1 is the function that warns, 2 its caller
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


def get_device(framework: str = "torch", *, verbose: bool = True):
    """Pick the fastest device available to ``framework`` and say which.

    torch: CUDA, then Apple's MPS, then the CPU; returns a ``torch.device``.
    tensorflow: its first GPU, else the CPU; returns a device string such as ``"/GPU:0"``.
    Warns when full mode is about to train on a CPU, which takes much longer.
    """
    _check_framework(framework)
    if framework == "torch":
        import torch

        if torch.cuda.is_available():
            device = torch.device("cuda")
            name = torch.cuda.get_device_name(0)
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device, name = torch.device("mps"), "Apple MPS"
        else:
            device, name = torch.device("cpu"), f"CPU ({os.cpu_count()} cores)"
        on_cpu = device.type == "cpu"
    else:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        device = "/GPU:0" if gpus else "/CPU:0"
        name = gpus[0].name if gpus else f"CPU ({os.cpu_count()} cores)"
        on_cpu = not gpus
    if verbose:
        print(f"{framework} device: {device} — {name}")
    if on_cpu and current_budget().full:
        # Two lines, so that a stored warning ("this cell, line 28: RuntimeWarning: ...")
        # fits the page's 80 characters.
        warnings.warn("full mode on a CPU: expect long training\ntimes (see each lab's "
                      "stored wall time)", RuntimeWarning, stacklevel=_caller_outside_package())
    return device

