"""What the setup cell of every lab calls once helpers is importable."""
from __future__ import annotations

from .config import Budget, current_budget
from .device import FRAMEWORKS, get_device
from .seed import seed_everything


def setup_lab(framework: str, seed: int = 0) -> tuple[Budget, object]:
    """Import ``framework``, seed everything, pick and print the device and the mode.

    In fast mode a second line says how to get the book's runs. Returns ``(budget, device)``.
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    if framework == "tensorflow":   # imported before seeding, so that it gets seeded
        import tensorflow  # noqa: F401
    else:
        import torch  # noqa: F401
    seed_everything(seed)
    budget = current_budget()
    device = get_device(framework)
    sizes = f"train {budget.train_size or 'all'}, test {budget.test_size or 'all'}"
    print(f"mode: {budget.mode} ({sizes}) · seed {seed}")
    if not budget.full:
        print("BOOK_MODE=full gives the book's runs")
    return budget, device
