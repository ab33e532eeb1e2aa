"""Tables that a lab's page renders as tables, not as text cut at the column's edge."""
from __future__ import annotations

from typing import Sequence


def table(header: Sequence[str], rows: Sequence[Sequence[object]]):
    """A Markdown table for the notebook to display: ``display(table(["a", "b"], [[1, 2]]))``.

    Cells are shown with ``str``; a ``|`` inside a cell is escaped so it cannot split a column.
    Every row needs as many cells as ``header``.
    """
    from IPython.display import Markdown

    if not header:
        raise ValueError("a table needs at least one column")
    lines = [_row(header), "|" + "---|" * len(header)]
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {i} has {len(row)} cells, the header {len(header)}: {list(row)!r}")
        lines.append(_row(row))
    return Markdown("\n".join(lines))


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
