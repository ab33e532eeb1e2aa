"""Every exercise's solution runs in its own lab and passes the lab's self-check.

An exercise is the code cell just before a self-check cell (one that starts with
``# Self-check``), with its solution behind a toggle (``:::{admonition} Solution``) further on.
The solution's ```python block is run in place of the exercise cell, in a fast-mode run of
the lab in its own kernel: a TensorFlow lab's solution that calls torch fails here.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def exercises(nb) -> list[tuple[int, int, str | None]]:
    """(exercise cell, self-check cell, solution code or None) for each exercise of ``nb``."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        check = next((j for j in range(i + 1, len(nb.cells)) if nb.cells[j].cell_type == "code"), None)
        if check is None or not nb.cells[check].source.startswith("# Self-check"):
            continue
        solution = next((c.source for c in nb.cells[i + 1:] if c.cell_type == "markdown"
                         and c.source.startswith(":::{admonition} Solution")), "")
        block = CODE_BLOCK.search(solution.split("\n:::", 1)[0])
        found.append((i, check, block.group(1) if block else None))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lab_has_exercises_with_runnable_solutions(path: Path) -> None:
    found = exercises(nbformat.read(path, as_version=4))
    assert len(found) >= 2, f"{path.stem} has {len(found)} exercises with a self-check"
    missing = [i for i, _, code in found if code is None]
    assert not missing, f"{path.stem}: the solutions to the exercises in cells {missing} have no python block"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_pass_their_self_checks(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("BOOK_MODE", "fast")
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    for exercise, _, code in found:
        nb.cells[exercise].source = code
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for exercise, check, _ in found:
        # the verdict is printed to stdout; progress bars on stderr are not part of it
        printed = "".join(o.get("text", "") for o in nb.cells[check].outputs if o.get("name") == "stdout")
        assert printed.startswith("correct"), (
            f"{path.stem}: the solution in cell {exercise} fails its self-check:\n{printed}")
