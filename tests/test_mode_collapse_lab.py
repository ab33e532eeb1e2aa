"""Chapter 6's TensorFlow lab: its compiled steps draw their data and noise from the seed
they are given.

XLA ignores ``tf.random.set_seed`` in compiled functions: two processes seeded 1 and 1,000
drew the same noise. The lab's steps therefore draw from a ``tf.random.Generator`` made from
the run's seed. The test runs the lab's own definitions (the cells of its hyperparameters,
its imports, its stacked MLP and its ``make_gan``) in fast mode and compiles the steps.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "notebooks" / "06_mode_collapse_tensorflow.ipynb"
DEFINITIONS = ("HP = dict(", "from helpers import collapse", "def mlp(", "def make_gan(")


@pytest.fixture(scope="module")
def lab() -> dict:
    """The namespace of the lab's cells that define its GAN steps, run in fast mode."""
    from helpers.config import budget_for

    cells = [c.source for c in nbformat.read(LAB, as_version=4).cells if c.cell_type == "code"]
    namespace = {"BUDGET": budget_for("fast"), "FRAMEWORK": "tensorflow"}
    for marker in DEFINITIONS:  # each in one cell
        (source,) = [s for s in cells if marker in s]
        exec(compile(source, f"<{LAB.name}: {marker}>", "exec"), namespace)
    return namespace


def drawn(lab: dict, method: str, seed: int) -> np.ndarray:
    """The losses of two compiled steps and a snapshot of ``method`` on the ring."""
    step, snapshot = lab["make_gan"](method, "ring", seed, steps=4, jit=True)
    losses = [step(i)[name].numpy() for i in range(2) for name in ("d_loss", "g_loss")]
    return np.concatenate([*losses, np.asarray(snapshot()).ravel()])


@pytest.mark.parametrize("method", ["dropout", "wgan_gp"])
def test_compiled_steps_repeat_with_one_seed_and_differ_with_another(lab, method):
    first = drawn(lab, method, 1)
    np.testing.assert_array_equal(drawn(lab, method, 1), first)
    assert not np.allclose(drawn(lab, method, 1_000), first)
