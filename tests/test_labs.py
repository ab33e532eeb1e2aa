"""The labs as files: one shared setup cell, twin headings and titles, outputs fresh for their
code, and no reading of recorded results or machine paths in what they store."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from conftest import allowed, check_ratchet  # noqa: E402
from tools.format_labs import COLUMN, code_lines  # noqa: E402
from tools.freshness import stale_reasons  # noqa: E402
from tools.setup_cell import TAG, is_setup_cell, setup_cell_source  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FRAMEWORK_OF = {"pytorch": "torch", "tensorflow": "tensorflow"}


def read(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` as nbformat v4."""
    return nbformat.read(path, as_version=4)

def test_there_are_labs() -> None:
    assert NOTEBOOKS, "no notebooks found"

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_is_the_shared_one(path: Path) -> None:
    suffix = path.stem.rsplit("_", 1)[-1]
    assert suffix in FRAMEWORK_OF, f"{path.name}: a lab's name ends in _pytorch or _tensorflow"
    nb = read(path)
    setups = [c for c in nb.cells if is_setup_cell(c)]
    assert len(setups) == 1, f"{path.name}: {len(setups)} setup cells"
    assert setups[0].source == setup_cell_source(), (
        f"{path.name}: setup cell differs from tools/setup_cell.py; run "
        "`.venv/bin/python tools/setup_cell.py`")
    assert TAG in setups[0].metadata.get("tags", []), (
        f"{path.name}: the setup cell is not collapsed on the page; run "
        "`.venv/bin/python tools/setup_cell.py`")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.startswith(f'FRAMEWORK = "{FRAMEWORK_OF[suffix]}"'), code[0].source
    assert code[1] is setups[0], "the setup cell must follow the FRAMEWORK cell"

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_fresh(path: Path) -> None:
    reasons = stale_reasons(path)
    assert not reasons, (f"{path.name} needs `make execute NB=notebooks/{path.name}`: "
                         + "; ".join(reasons))

TITLE_SUFFIX = {"pytorch": " (PyTorch)", "tensorflow": " (TensorFlow)"}

def headings(path: Path) -> list[str]:
    """The markdown heading lines of ``path``, in order, the title without its framework."""
    lines = [line for cell in read(path).cells if cell.cell_type == "markdown"
             for line in cell.source.splitlines() if line.startswith("#")]
    return [lines[0].removesuffix(TITLE_SUFFIX[path.stem.rsplit("_", 1)[1]]), *lines[1:]]

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_lab_title_names_its_framework(path: Path) -> None:
    """Twin labs show distinct titles in the sidebar, the browser tab and search."""
    title = read(path).cells[0].source.splitlines()[0]
    suffix = TITLE_SUFFIX[path.stem.rsplit("_", 1)[1]]
    assert title.startswith("# ") and title.endswith(suffix), (path.name, title)

def twin_of(path: Path) -> Path:
    """The other framework's version of lab ``path``."""
    stem, suffix = path.stem.rsplit("_", 1)
    other = "tensorflow" if suffix == "pytorch" else "pytorch"
    return path.with_name(f"{stem}_{other}.ipynb")

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_labs_come_in_pairs(path: Path) -> None:
    assert twin_of(path).exists(), f"{path.name} has no twin {twin_of(path).name}"

RESULTS_READ = re.compile(r"load_results\(|load_recorded\(|results[/\\\w\"' (),]*\.json")

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_lab_prints_only_what_its_own_run_computed(path: Path) -> None:
    """No lab reads recorded results (its own or its twin's): a number read from a results
    file is printed by no code beside it, and goes stale when the other lab re-runs.
    Comparisons between the frameworks belong to the scoreboard page and the parity tests.
    Stored samples (``results/*.npz``) may be read: they are data, re-scored by the lab."""
    nb = nbformat.read(path, as_version=4)
    found = [(i, m.group(0)) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             for m in RESULTS_READ.finditer(cell.source)]
    assert not found, f"{path.name} reads recorded results in cells {found}"

@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem.endswith("_pytorch")
                                  and twin_of(p).exists()], ids=lambda p: p.name)
def test_twin_labs_have_the_same_headings(path: Path) -> None:
    assert headings(path) == headings(twin_of(path)), (
        f"{path.name} and {twin_of(path).name} must have the same headings in the same order")

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_name_no_machine_path(path: Path) -> None:
    nb = read(path)
    text = "\n".join(json.dumps(output) for cell in nb.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []))
    found = [pattern for pattern in (str(ROOT), "ipykernel_", "/tmp/", "/home/", "/root/", "/content/")
             if pattern in text]
    assert found == [], f"{path.name} stores machine paths"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_fits_the_column(path: Path) -> None:
    """The code box of a lab's page shows 80 characters at 1,280 px: code cells and solution
    blocks fit it (`make format` wraps them, keeping every lab's syntax trees)."""
    wide = [line for line in code_lines(read(path)) if len(line) > COLUMN]
    assert not wide, (f"{path.name}: {len(wide)} code lines over {COLUMN} characters (run "
                      "`make format`):\n" + "\n".join(wide[:5]))


def printed_lines(nb: nbformat.NotebookNode) -> list[str]:
    """The lines a lab's stored outputs show as text: what it printed (stdout) and the plain
    text of values shown without a richer form. Tables and figures are left out (HTML and
    Markdown wrap; figures have their own test), and so is stderr, which the book hides."""
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "stream":
                if output.get("name") == "stdout":
                    lines += output["text"].splitlines()
            elif "data" in output:
                data = output["data"]
                if "text/plain" in data and not {"image/png", "text/html", "text/markdown"} & set(data):
                    lines += data["text/plain"].splitlines()
    return lines


def test_printed_lines_counts_only_what_the_page_shows_as_text() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="a\n" + "b" * 90),
        nbformat.v4.new_output("stream", name="stderr", text="c" * 90),
        nbformat.v4.new_output("display_data", data={"text/plain": "d" * 90,
                                                     "text/markdown": "| t |"}),
        nbformat.v4.new_output("execute_result", data={"text/plain": "e"}, execution_count=1),
    ])])
    assert printed_lines(nb) == ["a", "b" * 90, "e"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_printed_lines_fit_the_column(path: Path) -> None:
    """What a lab prints fits the 80 characters the page shows without scrolling."""
    wide = [f"{line[:60]}... ({len(line)} characters)" for line in printed_lines(read(path))
            if len(line) > COLUMN]
    check_ratchet(wide, allowed(path.name, "long printed lines"), lab=path.name,
                  problem="prints lines wider than the column",
                  fix=f"print at most {COLUMN} characters a line (a table, or one item a line)",
                  table="BEFORE_THE_RULES")
