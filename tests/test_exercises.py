"""Every exercise's solution runs in its own lab and passes the lab's self-check.

An exercise is a code cell holding ``# your code``, followed by its self-check cell and a
solution behind a toggle (``:::{admonition} Solution``). A solution written as a ```python
block is run in place of the exercise cell, in a fast-mode run of the lab in its own kernel:
a TensorFlow lab's solution that calls torch fails here. Labs whose solutions are still
prose are listed in PROSE_ONLY, and the list is checked to be true.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
# Solutions given in words and inline code only: no block to run yet.
PROSE_ONLY = {"00_getting_started_pytorch", "00_getting_started_tensorflow",
              "01_dropout_pytorch", "01_dropout_tensorflow",
              "02_autoencoders_pytorch", "02_autoencoders_tensorflow",
              "03_autoencoders_dropout_pytorch", "03_autoencoders_dropout_tensorflow"}


def exercises(nb) -> list[tuple[int, int, str | None]]:
    """(exercise cell, self-check cell, solution code or None) for each exercise of ``nb``."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "# your code" not in cell.source:
            continue
        check = next(j for j in range(i + 1, len(nb.cells)) if nb.cells[j].cell_type == "code")
        solution = next((c.source for c in nb.cells[i + 1:] if c.cell_type == "markdown"
                         and c.source.startswith(":::{admonition} Solution")), "")
        block = CODE_BLOCK.search(solution.split("\n:::", 1)[0])
        found.append((i, check, block.group(1) if block else None))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_only_list_is_true(path: Path) -> None:
    found = exercises(nbformat.read(path, as_version=4))
    has_code = bool(found) and all(code is not None for _, _, code in found)
    if path.stem in PROSE_ONLY:
        assert not has_code, f"{path.stem} has runnable solutions now: take it off PROSE_ONLY"
    else:
        assert found, f"{path.stem} has no exercises"
        missing = [i for i, _, code in found if code is None]
        assert not missing, f"{path.stem}: the solutions to the exercises in cells {missing} have no python block"


RUNNABLE = [p for p in NOTEBOOKS if p.stem not in PROSE_ONLY]


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.stem)
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
        printed = "".join(o.get("text", "") for o in nb.cells[check].outputs)
        assert printed.startswith("correct"), (
            f"{path.stem}: the solution in cell {exercise} fails its self-check:\n{printed}")
