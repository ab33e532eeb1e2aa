"""Prefix slices of loaded MNIST splits in a lab: ``x_test[:500]`` where ``x_test`` came from
``load_mnist``.

A split's order is not random (MNIST's test set holds one group of writers, then another), so a
subset taken for scoring or comparison is a seeded random draw (``helpers.data.draw``), never
the first rows. This finds the slices statically: the names a lab binds to ``load_mnist``'s
output (``x, y = helpers.load_mnist(...)``, any target), then every subscript of such a name
whose slice starts at the beginning and has an end (``x[:n]``, ``x[0:n]``). It reads the code
cells in order, as IPython runs them, and the solutions of the exercises are code cells too.
A name rebound to something else later still counts: the check errs towards reporting.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat

LOADER = "load_mnist"


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def loaded_names(tree: ast.AST) -> set[str]:
    """Names bound, anywhere in ``tree``, by an assignment from a ``load_mnist(...)`` call."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and _called_name(node.value) == LOADER:
            for target in node.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names - {"_"}


def _is_prefix(index: ast.AST) -> bool:
    if not isinstance(index, ast.Slice) or index.upper is None or index.step is not None:
        return False
    lower = index.lower
    return lower is None or (isinstance(lower, ast.Constant) and lower.value == 0)


def prefix_slices(source: str) -> list[str]:
    """The prefix slices of loaded names in ``source`` (Python), as code, in source order."""
    tree = ast.parse(source)
    names = loaded_names(tree)
    found = [node for node in ast.walk(tree)
             if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
             and node.value.id in names and _is_prefix(node.slice)]
    return [ast.unparse(node) for node in sorted(found, key=lambda n: (n.lineno, n.col_offset))]


def lab_source(path: str | Path) -> str:
    """A lab's code cells, each as IPython turns it into Python, joined in order."""
    from IPython.core.inputtransformer2 import TransformerManager

    nb = nbformat.read(str(path), as_version=4)
    return "\n".join(TransformerManager().transform_cell(cell.source)
                     for cell in nb.cells if cell.cell_type == "code")


def lab_slices(path: str | Path) -> list[str]:
    """The prefix slices of loaded splits in the lab at ``path``."""
    return prefix_slices(lab_source(path))


def main(paths: list[str]) -> int:
    for path in paths:
        slices = lab_slices(path)
        print(f"{Path(path).name}: {len(slices)} prefix slice(s)"
              + (f": {', '.join(slices)}" if slices else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or sorted(str(p) for p in Path("notebooks").glob("*.ipynb"))))
