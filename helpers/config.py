"""The one fast/full switch.

``BOOK_MODE`` is read here and nowhere else. ``fast`` (the default) runs every lab in
seconds on a laptop CPU; ``full`` is what produced the stored outputs of the rendered book.
Notebooks ask :data:`BUDGET` how much to do; they never read the variable themselves.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

ENV_VAR = "BOOK_MODE"
MODES = ("fast", "full")

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """How much work a lab may do.

    ``train_size``/``test_size`` are ``None`` for the whole split. Chapter-specific amounts
    (epochs of one experiment, points of one sweep) are chosen with :meth:`pick`, so the
    reader sees both numbers next to each other in the lab.
    """

    mode: str
    train_size: int | None
    test_size: int | None

    @property
    def full(self) -> bool:
        return self.mode == "full"

    def pick(self, *, fast: T, full: T) -> T:
        """Return ``fast`` or ``full`` according to the mode."""
        return full if self.full else fast


_BUDGETS = {
    "fast": Budget("fast", train_size=2_000, test_size=1_000),
    "full": Budget("full", train_size=None, test_size=None),
}


def budget_for(mode: str) -> Budget:
    """The budget of ``mode`` (``"fast"`` or ``"full"``)."""
    if not isinstance(mode, str) or mode.strip().lower() not in MODES:
        raise ValueError(f"{ENV_VAR} must be one of {MODES}, got {mode!r}")
    return _BUDGETS[mode.strip().lower()]


def current_budget() -> Budget:
    """The budget selected by the ``BOOK_MODE`` environment variable (default: fast)."""
    return budget_for(os.environ.get(ENV_VAR, "fast") or "fast")
