"""One function that seeds every random number generator a lab touches."""
from __future__ import annotations

import os
import random
import sys

import numpy as np


def seed_everything(seed: int = 0, *, deterministic: bool = True) -> int:
    """Seed Python, NumPy, and PyTorch and TensorFlow where imported.

    With ``deterministic`` the frameworks are also asked for deterministic kernels, so two
    runs with one seed give identical numbers on the CPU (GPUs may still differ in the last
    bits). A framework is seeded only when it is already imported: importing one costs
    seconds and memory, so a lab of the other framework does not pay for it. A lab imports
    its framework first (:func:`helpers.setup_lab` does).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
        if deterministic:
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
    return seed
