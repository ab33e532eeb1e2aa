"""Format every lab's code cells, and the setup cell's template, to the rendered column.

    python tools/format_labs.py [notebook or folder ...]   (default: notebooks/)
    python tools/format_labs.py --check [...]              list the lines that are too long

The code box of a lab's page shows :data:`COLUMN` characters at 1,280 px. Comments that run
past it are wrapped (a trailing comment moves above its code), Black formats each code cell to
that width (its string processing splits long strings into implicit concatenations), and
docstrings still too long are rewrapped. A cell's syntax tree must come out unchanged
(checked, cell by cell): stamps hash code cells by their trees, so formatting leaves every lab
fresh. ``make format`` installs Black (pinned there) and runs this.
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import textwrap
import tokenize
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, only tools/ is on the path
from tools.execute import targets  # noqa: E402
from tools.freshness import cell_tree  # noqa: E402

COLUMN = 80


def too_long(source: str, column: int = COLUMN) -> list[str]:
    """The lines of ``source`` longer than ``column`` characters."""
    return [line for line in source.splitlines() if len(line) > column]


def wrap_comments(source: str, column: int = COLUMN) -> str:
    """``source`` with each comment that ends past ``column`` wrapped: a full-line comment over
    as many lines as it needs, a trailing comment moved, wrapped, above the code it follows."""
    lines = source.splitlines()
    comments = [token for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT]
    for token in reversed(comments):  # from the end, so earlier line numbers stay valid
        row, start = token.start[0] - 1, token.start[1]
        line = lines[row]
        if len(line) <= column:
            continue
        before = line[:start]
        indent = before if not before.strip() else line[:len(line) - len(line.lstrip())]
        text = token.string.lstrip("#").strip()
        wrapped = [f"{indent}# {part}" for part in
                   textwrap.wrap(text, width=max(column - len(indent) - 2, 20),
                                 break_long_words=False, break_on_hyphens=False)]
        if not before.strip():
            lines[row:row + 1] = wrapped
        else:
            lines[row:row + 1] = [*wrapped, before.rstrip()]
    return "\n".join(lines)


def wrap_docstrings(source: str, column: int = COLUMN) -> str:
    """``source`` with each docstring of a function or class that runs past ``column``
    rewrapped; its paragraphs (blank-line separated) that fit are kept as they are. A
    docstring whose source holds a backslash is left for a hand (its value would not
    round-trip)."""
    import ast
    import inspect

    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                found.append(first)
    for doc in sorted(found, key=lambda n: -n.lineno):  # from the end: line numbers hold
        start, end = doc.lineno - 1, doc.end_lineno
        segment = lines[start:end]
        if all(len(line) <= column for line in segment) or "\\" in "\n".join(segment):
            continue
        indent = segment[0][:len(segment[0]) - len(segment[0].lstrip())]
        if not segment[0].lstrip().startswith('"""') or not segment[-1].rstrip().endswith('"""'):
            continue
        text = inspect.cleandoc(doc.value.value)  # relative indentation kept
        out = []
        for paragraph in text.split("\n\n"):
            kept = paragraph.splitlines()
            width = column - len(indent) - (3 if not out else 0)
            if all(len(indent) + len(line) + 6 <= column for line in kept):
                out += kept
            else:
                out += textwrap.wrap(" ".join(line.strip() for line in kept), width=width,
                                     break_long_words=False, break_on_hyphens=False)
            out.append("")
        out = out[:-1]
        rebuilt = [f'{indent}"""{out[0]}'] + [f"{indent}{line}" if line else "" for line in out[1:]]
        if len(rebuilt[-1]) + 3 <= column:
            rebuilt[-1] += '"""'
        else:
            rebuilt.append(f'{indent}"""')
        lines[start:end] = rebuilt
    return "\n".join(lines)


def format_cell(source: str, column: int = COLUMN) -> str:
    """One code cell formatted to ``column``; raises ``ValueError`` if its syntax tree would
    change (then the cell needs a hand)."""
    import black

    mode = black.Mode(line_length=column, preview=True,
                      enabled_features={black.Preview.string_processing})
    # Comments that overflow go above their code first: Black would split the code instead.
    formatted = wrap_comments(source, column)
    try:
        formatted = black.format_str(formatted, mode=mode).rstrip("\n")
    except black.InvalidInput:  # magics Black cannot parse: leave the code, wrap comments
        pass
    formatted = wrap_docstrings(wrap_comments(formatted, column), column)
    if cell_tree(formatted) != cell_tree(source):
        raise ValueError(f"formatting would change the program of the cell:\n{source[:300]}")
    return formatted


CODE_BLOCK = re.compile(r"(```python\n)(.*?)(\n```)", re.S)


def code_lines(nb) -> list[str]:
    """Every line of code a lab's page shows: its code cells and the ```python blocks of its
    markdown (the exercises' solutions)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            lines += cell.source.splitlines()
        elif cell.cell_type == "markdown":
            for block in CODE_BLOCK.finditer(cell.source):
                lines += block.group(2).splitlines()
    return lines


def format_lab(path: Path, column: int = COLUMN) -> list[str]:
    """Format the code of ``path`` in place: its code cells (the setup cell is the
    template's, see ``tools/setup_cell.py``) and the ```python blocks of its markdown;
    return the lines still too long."""
    from tools.setup_cell import is_setup_cell

    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_setup_cell(cell):
            cell.source = format_cell(cell.source, column)
        elif cell.cell_type == "markdown":
            cell.source = CODE_BLOCK.sub(
                lambda m: m.group(1) + format_cell(m.group(2), column) + m.group(3),
                cell.source)
    if nbformat.writes(nb) != before:
        nbformat.write(nb, path)
    return [line for line in code_lines(nb) if len(line) > column]


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/format_labs.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks or folders (default: notebooks/)")
    parser.add_argument("--check", action="store_true", help="only list the lines too long")
    args = parser.parse_args(arguments)
    status = 0
    for path in targets(args.notebooks):
        if args.check:
            left = too_long("\n".join(code_lines(nbformat.read(path, as_version=4))))
        else:
            left = format_lab(path)
        for line in left:
            print(f"{path.name}: {len(line)} characters: {line.strip()[:100]}")
        status = status or bool(left)
    return status


if __name__ == "__main__":
    sys.exit(main())
