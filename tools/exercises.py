"""The exercises of a lab: the cell a reader fills in, its self-check, and its solution.

An exercise is the code cell just before a self-check cell (a code cell that starts with
``# Self-check``); its solution is the first ```python block of the next ``Solution`` toggle
(``:::{admonition} Solution``) after it. An exercise not attempted yet makes its self-check
print a line with :data:`YOUR_TURN` ("Exercise 2: your turn (...)"); a solution makes it
print a line that starts with :data:`CORRECT`. Labs not yet moved to that wording print
:data:`NOT_ATTEMPTED`, which is accepted too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

SELF_CHECK = "# Self-check"
SOLUTION = ":::{admonition} Solution"
YOUR_TURN = "your turn"
NOT_ATTEMPTED = "not attempted yet"
CORRECT = "correct"
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@dataclass(frozen=True)
class Exercise:
    """Cell indices into ``nb.cells`` and the solution's code (None when it has none)."""

    cell: int
    check: int
    solution: str | None


def exercises(nb) -> list[Exercise]:
    """The exercises of notebook ``nb`` (nbformat v4), in order."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        check = next((j for j in range(i + 1, len(nb.cells)) if nb.cells[j].cell_type == "code"),
                     None)
        if check is None or not nb.cells[check].source.startswith(SELF_CHECK):
            continue
        toggle = next((c.source for c in nb.cells[i + 1:] if c.cell_type == "markdown"
                       and c.source.startswith(SOLUTION)), "")
        block = CODE_BLOCK.search(toggle.split("\n:::", 1)[0])
        found.append(Exercise(i, check, block.group(1) if block else None))
    return found


def verdict_problem(printed: str, attempted: bool) -> str | None:
    """What is wrong with the text a self-check printed to stdout, or None if nothing.

    Unattempted, it must say so; with the solution in place, it must start with "correct"."""
    if attempted:
        return None if printed.startswith(CORRECT) else (
            f"the solution fails its self-check, which printed:\n{printed}")
    return None if YOUR_TURN in printed or NOT_ATTEMPTED in printed else (
        f"the self-check of the unattempted exercise does not print {YOUR_TURN!r} "
        f"(or {NOT_ATTEMPTED!r}); it printed:\n{printed}")
