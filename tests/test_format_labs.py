"""tools/format_labs.py: code formatted to the rendered column without changing its program."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.format_labs import (COLUMN, format_cell, too_long, wrap_comments,  # noqa: E402
                               wrap_docstrings)
from tools.freshness import cell_tree  # noqa: E402

LONG_CELL = '''x = dict(alpha=1, beta=2, gamma=3, delta=4, epsilon=5, zeta=6, eta=7, theta=8, iota=9)
y = compute(x)  # a trailing comment long enough to push this line past the column of the page
# a full-line comment that goes on and on, well past the eighty characters the page can show
message = f"first part of a long message {x['alpha']:.3f} and then a second part that is long"


def f(a):
    """A docstring whose single line is far longer than the column that the rendered page shows."""
    return a
'''


def test_a_cell_comes_out_within_the_column_with_the_same_program() -> None:
    formatted = format_cell(LONG_CELL)
    assert too_long(LONG_CELL) and not too_long(formatted), formatted
    assert cell_tree(formatted) == cell_tree(LONG_CELL)
    assert "# a trailing comment long enough" in formatted  # moved, not dropped
    assert format_cell(formatted) == formatted  # a second run changes nothing


def test_a_trailing_comment_moves_above_its_code_and_a_long_one_wraps() -> None:
    source = "    value = 1  # " + "word " * 20
    wrapped = wrap_comments(source).splitlines()
    assert wrapped[-1] == "    value = 1"
    assert all(line.startswith("    # ") and len(line) <= COLUMN for line in wrapped[:-1])
    assert " ".join(line[6:] for line in wrapped[:-1]).split() == ["word"] * 20


def test_a_long_docstring_is_rewrapped_and_a_fitting_paragraph_kept() -> None:
    source = ('def f():\n    """' + "long " * 25 + '\n\n    Args:\n        a: kept as it is.\n    """'
              "\n    return 1")
    wrapped = wrap_docstrings(source)
    assert not too_long(wrapped), wrapped
    assert "\n    Args:\n        a: kept as it is." in wrapped, wrapped
    assert cell_tree(wrapped) == cell_tree(source)


def test_a_change_to_the_program_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.format_labs as format_labs

    monkeypatch.setattr(format_labs, "wrap_comments", lambda source, column: source + "\nz = 1")
    with pytest.raises(ValueError, match="would change the program"):
        format_cell("x = 1")
