"""Every lab's exercises have solutions, and nbval's run of a lab checks them.

The run itself is ``tools/nbval_exercises.py``'s (loaded by the root ``conftest.py``): after
each self-check it runs the solution in place of the exercise and the self-check again. The
tests here check the lab files, and run the plugin on small labs with a right solution, a
wrong one and a self-check that says nothing, to see it tell them apart.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.exercises import exercises, verdict_problem  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lab_has_exercises_with_runnable_solutions(path: Path) -> None:
    found = exercises(nbformat.read(path, as_version=4))
    assert len(found) >= 2, f"{path.stem} has {len(found)} exercises with a self-check"
    missing = [e.cell for e in found if e.solution is None]
    assert not missing, f"{path.stem}: the solutions to the exercises in cells {missing} have no python block"


def test_a_verdict_is_judged_by_what_the_self_check_printed() -> None:
    assert verdict_problem("Exercise 2 not attempted yet\n", attempted=False) is None
    assert verdict_problem("Exercise 2: your turn (the cell above)\n", attempted=False) is None
    assert verdict_problem("correct: 42\n", attempted=True) is None
    assert "fails its self-check" in verdict_problem("wrong\n", attempted=True)
    assert "does not print" in verdict_problem("", attempted=False)
    assert verdict_problem("Exercise 2 not attempted yet\n", attempted=True) is not None


SELF_CHECK = '''# Self-check
if answer is None:
    {unattempted}
elif answer == 42:
    print("correct")
else:
    print(f"{{answer}} is not the answer")'''


def small_lab(folder: Path, name: str, solution: str = "answer = 42",
              unattempted: str = 'print("Exercise 1 not attempted yet")') -> None:
    """A lab with one exercise, its self-check, its solution and a cell after them."""
    cells = [nbformat.v4.new_code_cell("answer = None  # your code"),
             nbformat.v4.new_code_cell(SELF_CHECK.format(unattempted=unattempted)),
             nbformat.v4.new_markdown_cell(
                 f":::{{admonition}} Solution\n:class: dropdown\n```python\n{solution}\n```\n:::"),
             nbformat.v4.new_code_cell("print(answer)")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / f"{name}.ipynb")


def test_the_plugin_runs_each_solution_and_checks_both_verdicts(tmp_path: Path) -> None:
    small_lab(tmp_path, "right")
    small_lab(tmp_path, "wrong", solution="answer = 41")
    small_lab(tmp_path, "silent", unattempted="pass")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "tools.nbval_exercises",
                          "-p", "no:cacheprovider", "-p", "no:xdist", "--nbval-lax",
                          "--nbval-current-env", "-rA", str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    report = run.stdout
    outcome = {line[7:].split(" - ")[0]: line[:6] for line in report.splitlines()
               if line.startswith(("PASSED ", "FAILED "))}
    assert outcome == {
        "right.ipynb::Cell 0": "PASSED", "right.ipynb::Cell 1": "PASSED",
        "right.ipynb::Cell 0 (solution)": "PASSED",
        "right.ipynb::Cell 1 (with the solution)": "PASSED", "right.ipynb::Cell 2": "PASSED",
        "wrong.ipynb::Cell 0": "PASSED", "wrong.ipynb::Cell 1": "PASSED",
        "wrong.ipynb::Cell 0 (solution)": "PASSED",
        "wrong.ipynb::Cell 1 (with the solution)": "FAILED", "wrong.ipynb::Cell 2": "PASSED",
        "silent.ipynb::Cell 0": "PASSED", "silent.ipynb::Cell 1": "FAILED",
        "silent.ipynb::Cell 0 (solution)": "PASSED",
        "silent.ipynb::Cell 1 (with the solution)": "PASSED", "silent.ipynb::Cell 2": "PASSED",
    }, report[-3000:]
    assert "the solution fails its self-check" in report
    assert "does not print 'your turn'" in report
