"""Headline numbers of full-mode runs, kept beside the notebooks for parity checks.

Each chapter's labs store their headline metrics in ``results/<chapter>.json``, one entry per
framework; ``tests/test_parity.py`` compares the frameworks from these files, never from
numbers typed into a test. Fast-mode runs leave the files alone.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from .config import current_budget

FRAMEWORKS = ("torch", "tensorflow")
COLUMN = 80      # characters a line of a lab's page shows
INDENT = "  "    # before each line of a record's items


def results_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "results"


def save_results(chapter: str, framework: str, values: dict[str, float], *,
                 directory: str | Path | None = None) -> Path | None:
    """Record ``values`` of a full-mode run; in fast mode say so and write nothing.

    Prints the file's name on one line and the recorded values, rounded, under it, as many
    "key value" items a line as fit :data:`COLUMN` characters (:func:`wrap_items`).
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    if not isinstance(values, dict) or not values:
        raise ValueError("values must be a non-empty dict of numbers")
    for key, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, got {value!r}")
    if not current_budget().full:
        print("fast mode: results are not recorded (only full-mode runs are)")
        return None
    path = Path(directory or results_dir()) / f"{chapter}.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored[framework] = {k: float(v) for k, v in values.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    print(f"recorded in {path.name} (4 significant digits shown):")
    print(wrap_items([f"{k} {v:.4g}" for k, v in stored[framework].items()]))
    return path


def wrap_items(items: list[str], width: int = COLUMN, indent: str = INDENT) -> str:
    """``items`` joined by ", " over indented lines of at most ``width`` characters, each
    line ending in a comma but the last; an item is never split, so one longer than a line
    stands alone on its line."""
    lines: list[list[str]] = [[]]
    for item in items:
        if lines[-1] and len(indent + ", ".join([*lines[-1], item]) + ",") > width:
            lines.append([])
        lines[-1].append(item)
    return ",\n".join(indent + ", ".join(line) for line in lines)


def load_results(chapter: str, *, directory: str | Path | None = None) -> dict:
    """The recorded results of ``chapter``: ``{framework: {metric: value}}`` (may be empty),
    its supplementary files merged in, as :func:`helpers.recorded.load_recorded` reads them."""
    from .recorded import load_recorded

    return load_recorded(directory).get(chapter, {})
