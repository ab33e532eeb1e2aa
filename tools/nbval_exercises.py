"""A pytest plugin: nbval's run of a lab also proves its exercises (the root conftest.py
loads it).

nbval runs each code cell of a lab as a test item, in order, in one kernel. After the
self-check of each exercise (see ``tools/exercises.py``) this adds two items: the solution,
run in place of the exercise cell, and the self-check again. The first run of the
self-check must print that the exercise is not attempted yet, the second that it is correct;
the cells after an exercise then run with its solution in place. So one run of a lab shows
that it runs as a reader gets it, that every unattempted exercise says so, and that every
solution passes its self-check.
"""
from __future__ import annotations

import nbformat
import pytest
from nbval.plugin import IPyNbCell

from tools.exercises import exercises, verdict_problem


class ExerciseCell(IPyNbCell):
    """A cell whose printed verdict is checked: ``attempted`` None for a solution cell (run
    only), False for the self-check of an unattempted exercise, True for one with its
    solution in place."""

    def __init__(self, *args, attempted: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.attempted = attempted

    def runtest(self) -> None:
        super().runtest()
        if self.attempted is None:
            return
        printed = "".join(o.get("text", "") for o in self.test_outputs or []
                          if o.get("name") == "stdout")  # progress bars go to stderr
        problem = verdict_problem(printed, self.attempted)
        if problem:
            self.raise_cell_error(problem)


def _with_exercises(cells: list[IPyNbCell]) -> list[IPyNbCell]:
    """The items of one notebook, each exercise's self-check checked and followed by its
    solution and the self-check again."""
    parent = cells[0].parent
    by_cell = {id(item.cell): item for item in cells}
    out = {id(item.cell): [item] for item in cells}
    for exercise in exercises(parent.nb):
        stub, check = (by_cell[id(parent.nb.cells[i])] for i in (exercise.cell, exercise.check))
        if exercise.solution is None:
            raise pytest.UsageError(f"{parent.path.name}: the exercise in code cell "
                                    f"{stub.cell_num} has no solution with a python block")
        made = [ExerciseCell.from_parent(parent, name=check.name, cell_num=check.cell_num,
                                         cell=check.cell, options=check.options,
                                         attempted=False),
                ExerciseCell.from_parent(parent, name=f"{stub.name} (solution)",
                                         cell_num=stub.cell_num,
                                         cell=nbformat.v4.new_code_cell(exercise.solution),
                                         options=stub.options),
                ExerciseCell.from_parent(parent, name=f"{check.name} (with the solution)",
                                         cell_num=check.cell_num,
                                         cell=nbformat.v4.new_code_cell(check.cell.source),
                                         options=check.options, attempted=True)]
        out[id(check.cell)] = made
    return [item for cell in cells for item in out[id(cell.cell)]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    groups: dict[int, list[IPyNbCell]] = {}
    for item in items:
        if isinstance(item, IPyNbCell):
            groups.setdefault(id(item.parent), []).append(item)
    replaced = {id(group[0].parent): _with_exercises(group) for group in groups.values()}
    new, done = [], set()
    for item in items:
        if not isinstance(item, IPyNbCell):
            new.append(item)
        elif id(item.parent) not in done:
            done.add(id(item.parent))
            new += replaced[id(item.parent)]
    items[:] = new
