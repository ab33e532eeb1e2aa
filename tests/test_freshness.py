"""Freshness: a lab's stamp against the current code (tools/freshness.py, tools/reach.py).

Each kind of staleness is caught; edits that change nothing (comments, docstrings, layout, an
unreached function, a new module, a reformatted lab) leave every lab fresh; an edit stales
exactly the labs that reach it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.freshness import (KEY, cell_tree, code_hash, fingerprint, report_stale,  # noqa: E402
                             restamp, restamp_from, stale_reasons, text_hash, version_notes,
                             whole_files)
from tools.reach import package_sources  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` as nbformat v4."""
    return nbformat.read(path, as_version=4)

FAKE_MODULE = '''"""A fake helpers module."""
VALUE = 1


def used():
    """Reached by the lab."""
    return VALUE + 1


def unused():
    return 0
'''

def stamped(tmp_path: Path, source: str = "import helpers.fake\nx = helpers.fake.used()"
            ) -> tuple[Path, Path]:
    """A notebook stamped as if executed, using one function of a fake helpers package."""
    package = tmp_path / "helpers"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    helper = package / "fake.py"
    helper.write_text(FAKE_MODULE)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    reached = fingerprint(nb, package_sources(tmp_path))
    nb.metadata[KEY] = {"mode": "full", "code_tree_sha256": code_hash(nb), "reached": reached,
                        "whole_files": {}}
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    return path, helper

def test_freshness_check_catches_each_kind_of_staleness(tmp_path: Path) -> None:
    path, helper = stamped(tmp_path)
    assert stale_reasons(path, root=tmp_path) == []

    nb = read(path)
    nb.cells[0].source += "\ny = 2"
    nbformat.write(nb, path)
    assert stale_reasons(path, root=tmp_path) == ["code cells changed since the outputs were made"]

    path, helper = stamped(tmp_path)
    helper.write_text(FAKE_MODULE.replace("VALUE + 1", "VALUE + 2"))
    assert stale_reasons(path, root=tmp_path) == [
        "used in helpers/fake.py changed since the outputs were made"]
    helper.write_text(FAKE_MODULE.replace("VALUE = 1", "VALUE = 3"))
    assert stale_reasons(path, root=tmp_path) == [
        "the top-level statements of helpers/fake.py changed since the outputs were made"]
    helper.write_text(FAKE_MODULE.replace("def used", "def renamed"))
    assert stale_reasons(path, root=tmp_path) == [
        "used in helpers/fake.py is no longer reached (removed or renamed)"]
    helper.write_text(FAKE_MODULE.replace("return VALUE + 1", "return unused()"))
    assert stale_reasons(path, root=tmp_path) == [
        "unused in helpers/fake.py: the lab now reaches it",
        "used in helpers/fake.py changed since the outputs were made"]

    path, _ = stamped(tmp_path)
    nb = read(path)
    nb.metadata[KEY]["mode"] = "fast"
    nb.cells[0].outputs = []
    nbformat.write(nb, path)
    assert stale_reasons(path, root=tmp_path) == ["outputs are from 'fast' mode, not full",
                                                  "no stored outputs"]
    nb.metadata.pop(KEY)
    nbformat.write(nb, path)
    assert stale_reasons(path, root=tmp_path) == ["never executed with tools/execute.py"]

def test_edits_that_change_nothing_leave_the_lab_fresh(tmp_path: Path) -> None:
    path, helper = stamped(tmp_path)
    for edited in (
        FAKE_MODULE.replace("Reached by the lab.", "Reached by the lab, documented better."),
        FAKE_MODULE.replace("    return VALUE + 1", "    # a comment\n    return (VALUE\n            + 1)"),
        FAKE_MODULE.replace("return 0", "return 42"),  # a function the lab does not reach
        FAKE_MODULE + "\n\ndef added():\n    return VALUE\n",
    ):
        helper.write_text(edited)
        assert stale_reasons(path, root=tmp_path) == [], edited

def test_a_loaded_module_the_analysis_missed_is_hashed_whole(tmp_path: Path) -> None:
    path, helper = stamped(tmp_path)
    dynamic = tmp_path / "helpers" / "dynamic.py"
    dynamic.write_text("def f():\n    return 1\n")
    nb = read(path)
    package = package_sources(tmp_path)
    loaded = [str(helper), str(dynamic)]  # what the kernel reported
    nb.metadata[KEY]["whole_files"] = whole_files(loaded, nb.metadata[KEY]["reached"], package,
                                                  root=tmp_path)
    assert list(nb.metadata[KEY]["whole_files"]) == ["helpers/dynamic.py"]
    nbformat.write(nb, path)
    assert stale_reasons(path, root=tmp_path) == []
    dynamic.write_text("def f():\n    # only a comment, but the whole file counts\n    return 1\n")
    assert stale_reasons(path, root=tmp_path) == [
        "helpers/dynamic.py changed since the outputs were made"]

def test_a_text_hash_stamp_is_converted_only_while_the_text_is_what_ran(tmp_path: Path) -> None:
    path, _ = stamped(tmp_path)
    nb = read(path)
    stamp = nb.metadata[KEY]
    del stamp["code_tree_sha256"]
    stamp["code_sha256"] = text_hash(nb)  # what stamps held before syntax-tree hashes
    nbformat.write(nb, tmp_path / "old.ipynb")
    assert any("predates syntax-tree hashes" in r
               for r in stale_reasons(tmp_path / "old.ipynb", root=tmp_path))
    nb.cells[0].source += "  # only a comment, but not the text that ran"
    nbformat.write(nb, tmp_path / "edited.ipynb")
    assert not restamp(tmp_path / "edited.ipynb"), "a changed text must not be restamped"
    assert restamp(tmp_path / "old.ipynb")
    assert stale_reasons(tmp_path / "old.ipynb", root=tmp_path) == []
    assert "code_sha256" not in read(tmp_path / "old.ipynb").metadata[KEY]

def reformatted(source: str) -> str:
    """``source`` as a formatter with other habits might leave it: every statement written
    anew by ``ast.unparse`` (other quotes, spacing and line breaks, no comments), and a
    comment added."""
    import ast

    return "# reformatted\n" + ast.unparse(ast.parse(source)) + "\n"

def test_a_reformat_keeps_every_lab_fresh_and_a_changed_constant_stales_it(tmp_path: Path) -> None:
    for path in NOTEBOOKS:
        nb = read(path)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = reformatted(cell.source)
        nbformat.write(nb, tmp_path / path.name)
        assert stale_reasons(tmp_path / path.name) == [], path.name
    nb = read(NOTEBOOKS[0])
    cell = next(c for c in nb.cells if c.cell_type == "code" and "= 0" in c.source)
    cell.source = cell.source.replace("= 0", "= 1", 1)
    nbformat.write(nb, tmp_path / "changed.ipynb")
    assert stale_reasons(tmp_path / "changed.ipynb") == [
        "code cells changed since the outputs were made"]

def test_a_cell_tree_ignores_comments_and_layout_but_not_magics_or_literals() -> None:
    trees = {cell_tree(s) for s in ("x = f(1, 'a')", "x = f(1,\n      'a')  # why",
                                    'x = f(1, "a")')}
    assert len(trees) == 1
    assert cell_tree("def g():\n    return 1") == cell_tree(
        'def g():\n    """A docstring a formatter may rewrap."""\n    return 1')
    for other in ("x = f(2, 'a')", "x = f(1, 'b')", "x = g(1, 'a')", "%time x = f(1, 'a')",
                  "!ls\nx = f(1, 'a')", "'shown as the output'\nx = f(1, 'a')"):
        assert cell_tree(other) not in trees, other
    assert cell_tree("x = (") == "text:x = ("  # no syntax tree: the text counts

def test_a_run_under_another_python_is_rehashed_only_on_unchanged_files(tmp_path: Path) -> None:
    path, helper = stamped(tmp_path)
    nb = read(path)
    stamp = nb.metadata[KEY]
    stamp.update(loaded=["helpers/fake.py"], versions={"python": "3.99.0"},
                 reached={key: "hashed by another Python" for key in stamp["reached"]})
    nbformat.write(nb, path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "the tree the lab ran on"], check=True)
    assert any("changed since" in r for r in stale_reasons(path, root=tmp_path))

    helper.write_text(FAKE_MODULE + "# edited after the run\n")
    assert restamp_from(path, "HEAD", root=tmp_path) == ["helpers/fake.py changed since HEAD"]
    helper.write_text(FAKE_MODULE)
    nb = read(path)
    nb.cells[0].source += "\ny = 1"
    nbformat.write(nb, tmp_path / "edited.ipynb")
    assert restamp_from(tmp_path / "edited.ipynb", "HEAD", root=tmp_path) == [
        "code cells changed since the outputs were made"]

    assert restamp_from(path, "no-such-commit", root=tmp_path)[0].startswith(
        "git cannot compare with 'no-such-commit'")
    assert restamp_from(path, "HEAD", root=tmp_path) == []
    assert stale_reasons(path, root=tmp_path) == []
    assert "3.99.0" in read(path).metadata[KEY]["hashed_by"]

def test_the_hash_of_a_definition_is_the_same_under_pythons_that_add_empty_fields() -> None:
    import ast

    from tools.reach import digest

    source = 'def f(x, y=None):\n    """Docstring."""\n    return [x, y]\n\n\nclass C:\n    pass\n'
    here = ast.parse(source).body
    like_312 = ast.parse(source).body
    for node in like_312:  # what Python 3.12 parses: an empty type_params on every def and class
        node._fields = (*node._fields, "type_params")
        node.type_params = []
    assert digest(here) == digest(like_312)
    assert digest(here) != digest(ast.parse(source.replace("[x, y]", "[y, x]")).body)
    assert digest(here) != digest(ast.parse(source.replace("y=None", "y=0")).body)

def test_a_version_difference_is_reported_not_stale(tmp_path: Path) -> None:
    path, _ = stamped(tmp_path)
    nb = read(path)
    nb.metadata[KEY]["versions"] = {"numpy": "1.0.0", "torch": "2.13.0+cpu"}
    nbformat.write(nb, path)
    assert stale_reasons(path, root=tmp_path) == []
    assert version_notes(path, {"numpy": "2.4.6", "torch": "2.13.0"}) == [
        "numpy 1.0.0 when run, 2.4.6 here"]

def copy_of_helpers(tmp_path: Path) -> Path:
    """The repository's helpers package, copied to ``tmp_path/helpers``."""
    shutil.copytree(ROOT / "helpers", tmp_path / "helpers",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path

def stale_labs(root: Path) -> list[str]:
    """The stored labs that are stale against the helpers under ``root``."""
    return [p.name for p in NOTEBOOKS if stale_reasons(p, root=root)]

def test_the_stored_labs_are_fresh_against_a_copy(tmp_path: Path) -> None:
    assert stale_labs(copy_of_helpers(tmp_path)) == []

def test_edits_no_lab_reaches_stale_no_lab(tmp_path: Path) -> None:
    root = copy_of_helpers(tmp_path)
    data, plots = root / "helpers" / "data.py", root / "helpers" / "plots.py"
    data.write_text(data.read_text() + "\n\ndef unused_helper(x):\n    return x + 1\n")
    text = plots.read_text()
    start = text.index('"""', text.index("def image_grid"))
    plots.write_text(text[:start + 3] + "A grid of images (docstring edited). " + text[start + 3:])
    seed = root / "helpers" / "seed.py"
    seed.write_text(seed.read_text().replace("    seed = int(seed)\n",
                                             "    seed = int(seed)  # a comment\n\n"))
    assert stale_labs(root) == []

def test_an_edit_stales_exactly_the_labs_that_reach_it(tmp_path: Path) -> None:
    root = copy_of_helpers(tmp_path)
    plots = root / "helpers" / "plots.py"
    text = plots.read_text()
    start = text.index("def latent_scatter")
    body = text.index('"""', text.index('"""', start) + 3) + 3  # after its docstring
    plots.write_text(text[:body] + "\n    max_points = int(max_points)" + text[body:])
    users = [p.name for p in NOTEBOOKS if "latent_scatter" in "".join(
        c.source for c in read(p).cells if c.cell_type == "code")]
    assert users, "no lab uses latent_scatter any more: pick another function for this test"
    assert stale_labs(root) == users

def test_a_new_chapter_module_leaves_every_lab_fresh(tmp_path: Path) -> None:
    """The README's way to add a chapter's helpers: a new module, imported by name."""
    root = copy_of_helpers(tmp_path)
    (root / "helpers" / "newchapter.py").write_text(
        '"""A new chapter\'s helpers."""\nfrom .data import load_mnist\n\n\n'
        'def mean_image():\n    x, _ = load_mnist("test", subset=10)\n    return x.mean(0)\n')
    new_lab = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import helpers\nfrom helpers import newchapter\nm = newchapter.mean_image()")])
    reached = fingerprint(new_lab, package_sources(root))
    assert "helpers/newchapter.py::mean_image" in reached
    assert "helpers/data.py::load_mnist" in reached
    assert stale_labs(root) == []

def test_make_stale_lists_reasons_and_cost(tmp_path: Path, capsys) -> None:
    path, helper = stamped(tmp_path)
    nb = read(path)
    nb.metadata[KEY]["wall_time_s"] = 1234.5
    nbformat.write(nb, path)
    helper.write_text(FAKE_MODULE.replace("VALUE + 1", "VALUE + 2"))
    import tools.freshness as freshness
    original = freshness.stale_reasons
    try:
        freshness.stale_reasons = lambda p: original(p, root=tmp_path)
        assert report_stale([path]) == [path]
    finally:
        freshness.stale_reasons = original
    out = capsys.readouterr().out
    assert "STALE lab.ipynb (last full run: 1,234 s" in out
    assert "used in helpers/fake.py changed" in out
    assert "1 of 1 labs stale; re-running them took 1,234 s last time" in out
