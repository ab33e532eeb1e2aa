"""helpers.report: tables rendered as Markdown."""
import pytest

from helpers.report import table


def test_a_table_is_markdown_with_a_header_rule():
    text = table(["model", "FID"], [["AE, code 2", 12.5], ["floor", "0.81"]]).data
    assert text.splitlines() == ["| model | FID |", "|---|---|", "| AE, code 2 | 12.5 |",
                                 "| floor | 0.81 |"]


def test_pipes_and_newlines_cannot_break_a_row():
    text = table(["a"], [["x | y\nz"]]).data
    assert text.splitlines()[-1] == "| x \\| y z |"


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="at least one column"):
        table([], [])
    with pytest.raises(ValueError, match="row 1 has 1 cells, the header 2"):
        table(["a", "b"], [[1, 2], [3]])
