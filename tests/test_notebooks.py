"""The labs as files: one shared setup cell, twin headings, and outputs fresh for their code."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.execute import (KEY, cell_tree, code_hash, collapse_carriage_returns,  # noqa: E402
                           fingerprint, text_hash,
                           lean, main, report_stale, restamp, restamp_from, sha256_bytes,
                           stale_reasons, version_notes, whole_files)
from tools.execute import core_slots, execute, kernel_env, parse_threads  # noqa: E402
from tools.reach import package_sources  # noqa: E402
from tools.setup_cell import TAG, is_setup_cell, repo_url, setup_cell_source  # noqa: E402

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
    import tools.execute as execute
    original = execute.stale_reasons
    try:
        execute.stale_reasons = lambda p: original(p, root=tmp_path)
        assert report_stale([path]) == [path]
    finally:
        execute.stale_reasons = original
    out = capsys.readouterr().out
    assert "STALE lab.ipynb (last full run: 1,234 s" in out
    assert "used in helpers/fake.py changed" in out
    assert "1 of 1 labs stale; re-running them took 1,234 s last time" in out


def test_outputs_are_made_lean() -> None:
    assert collapse_carriage_returns("a\r 50%\r100%\nnext\r\n") == "100%\nnext\n"
    assert collapse_carriage_returns("done\r") == "done"
    cell = nbformat.v4.new_code_cell("run()")
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="0%\r"),
                    nbformat.v4.new_output("stream", name="stderr", text="50%\r100%\n"),
                    nbformat.v4.new_output("stream", name="stdout", text=f"{ROOT}/helpers/a.py:1\n"),
                    nbformat.v4.new_output("stream", name="stdout",
                                           text="/tmp/ipykernel_10514/4274618077.py:22: RuntimeWarning: w\n"),
                    nbformat.v4.new_output("display_data", data={
                        "text/plain": "bar", "application/vnd.jupyter.widget-view+json": {}})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    lean(nb)
    assert "execution" not in cell.metadata
    assert [o.get("text") for o in cell.outputs] == [
        "100%\n", "helpers/a.py:1\nthis cell, line 22: RuntimeWarning: w\n", None]
    assert cell.outputs[2]["data"] == {"text/plain": "bar"}

    font = "findfont: Font family ['cmr10'] not found. Falling back to DejaVu Sans.\n"
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=font * 3),
                    nbformat.v4.new_output("stream", name="stdout", text="x = 1\n"),
                    nbformat.v4.new_output("stream", name="stderr", text=font + "UserWarning: real\n")]
    lean(nb)
    assert [(o["name"], o["text"]) for o in cell.outputs] == [("stdout", "x = 1\n"),
                                                             ("stderr", "UserWarning: real\n")]

    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 1_100_000)]
    with pytest.raises(SystemExit, match="over the 1,000,000-byte limit"):
        lean(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_name_no_machine_path(path: Path) -> None:
    nb = read(path)
    text = "\n".join(json.dumps(output) for cell in nb.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []))
    found = [pattern for pattern in (str(ROOT), "ipykernel_", "/tmp/", "/home/", "/root/", "/content/")
             if pattern in text]
    assert found == [], f"{path.name} stores machine paths"


def test_executors_run_one_at_a_time(tmp_path: Path) -> None:
    from tools.execute import one_at_a_time

    lock = tmp_path / "execute.lock"
    holder = ("import sys, time; sys.path.insert(0, sys.argv[1]); from pathlib import Path\n"
              "from tools.execute import one_at_a_time\n"
              "with one_at_a_time(Path(sys.argv[2])):\n    print('held', flush=True); time.sleep(2)\n")
    other = subprocess.Popen([sys.executable, "-c", holder, str(ROOT), str(lock)],
                             stdout=subprocess.PIPE, text=True)
    assert other.stdout.readline().strip() == "held"
    import time
    began = time.perf_counter()
    with one_at_a_time(lock):
        waited = time.perf_counter() - began
    other.wait(timeout=30)
    assert waited > 1.0, f"the second executor did not wait ({waited:.2f} s)"


def free_slots(lock: Path, slots: int = 2) -> int:
    """How many of the core slot files ``lock``.i no executor holds."""
    free = 0
    for i in range(slots):
        with open(f"{lock}.{i}", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                free += 1
            except BlockingIOError:
                pass
    return free


class SlotHolder:
    """An executor's ``core_slots(threads, lock, slots)``, held in a thread until released."""

    def __init__(self, threads: int | None, lock: Path, slots: int = 2) -> None:
        self.held, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(threads, lock, slots),
                                        daemon=True)
        self._thread.start()

    def _hold(self, threads: int | None, lock: Path, slots: int) -> None:
        with core_slots(threads, lock, slots):
            self.held.set()
            self._release.wait(30)

    def release(self) -> None:
        self._release.set()
        self._thread.join(5)


def test_two_one_thread_executors_share_two_core_slots(tmp_path: Path) -> None:
    lock = tmp_path / "execute.lock"
    first = SlotHolder(1, lock)
    second = SlotHolder(1, lock)
    try:
        assert first.held.wait(5) and second.held.wait(5), "one-slot executors did not coexist"
        assert free_slots(lock) == 0
    finally:
        first.release()
        second.release()
    assert free_slots(lock) == 2


def test_a_full_executor_excludes_one_slot_executors(tmp_path: Path, capsys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.execute
    monkeypatch.setattr(tools.execute, "POLL_S", 0.05)
    lock = tmp_path / "execute.lock"
    full = SlotHolder(None, lock)
    assert full.held.wait(5)
    one = SlotHolder(1, lock)
    try:
        assert not one.held.wait(0.5), "a one-slot executor ran beside a full one"
        assert "waiting for 1 of the 2 to be free" in capsys.readouterr().out
        full.release()
        assert one.held.wait(5)
        again = SlotHolder(None, lock)  # and the other way round
        assert not again.held.wait(0.5), "a full executor ran beside a one-slot one"
        one.release()
        assert again.held.wait(5)
        again.release()
    finally:
        full.release()
        one.release()
    assert free_slots(lock) == 2


def test_threads_beyond_the_cores_take_every_slot(tmp_path: Path) -> None:
    lock = tmp_path / "execute.lock"
    with core_slots(8, lock, slots=2):
        assert free_slots(lock) == 0


def test_threads_option_is_parsed_and_validated() -> None:
    assert parse_threads(["--threads", "1", "a.ipynb"]) == (1, ["a.ipynb"])
    assert parse_threads(["a.ipynb", "--threads=2"]) == (2, ["a.ipynb"])
    assert parse_threads(["a.ipynb"]) == (None, ["a.ipynb"])
    for value in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(SystemExit, match=f"positive whole number, not '{value}'"):
            main(["--threads", value, "notebooks"])
    with pytest.raises(SystemExit, match="--threads needs a number"):
        main(["notebooks", "--threads"])
    with pytest.raises(SystemExit, match="--threads applies to executing notebooks"):
        main(["--threads", "1", "--stale"])


def test_thread_variables_reach_the_kernel_env() -> None:
    env = kernel_env(1, {"PATH": "/bin", "OMP_NUM_THREADS": "8"})
    assert env == {"PATH": "/bin", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
                   "TF_NUM_INTEROP_THREADS": "1"}
    env = kernel_env(3)
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "3"
    assert env["TF_NUM_INTEROP_THREADS"] == "1" and env["PATH"] == os.environ["PATH"]


class FakeClient:
    """A NotebookClient that runs nothing: it records how the kernel would start and answers
    the probe."""
    started_with: dict = {}

    def __init__(self, nb, **kwargs) -> None:
        pass

    @contextlib.contextmanager
    def setup_kernel(self, **kwargs):
        FakeClient.started_with = kwargs
        yield

    def execute(self, **kwargs) -> None:
        pass

    def execute_cell(self, cell, index) -> None:
        info = {"helpers": [], "versions": {"python": "3"}, "prefix": sys.prefix,
                "device": "cpu", "device_name": "Some CPU, 2 cores"}
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=json.dumps(info))]


def test_execute_starts_the_kernel_on_the_threads_and_stamps_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbclient
    monkeypatch.setattr(nbclient, "NotebookClient", FakeClient)
    path = tmp_path / "lab.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    execute(path, threads=1)
    assert FakeClient.started_with["env"]["OMP_NUM_THREADS"] == "1"
    assert read(path).metadata[KEY]["threads"] == 1
    execute(path)
    assert "env" not in FakeClient.started_with, "without --threads the kernel inherits the env"
    assert "threads" not in read(path).metadata[KEY]


def test_runs_table_shows_the_thread_count(tmp_path: Path) -> None:
    from tools import scoreboard
    lab = tmp_path / "09_x_pytorch.ipynb"
    stamp = {"mode": "full", "wall_time_s": 60.0, "device_name": "Some CPU, 2 cores", "threads": 1}
    lab.write_text(json.dumps({"cells": [], "metadata": {scoreboard.STAMP: stamp}}))
    assert "Some CPU, 2 cores (1 thread);" in scoreboard.runs_section([lab], tmp_path)
    stamp["threads"] = 2
    lab.write_text(json.dumps({"cells": [], "metadata": {scoreboard.STAMP: stamp}}))
    assert "Some CPU, 2 cores (2 threads);" in scoreboard.runs_section([lab], tmp_path)


def test_execute_refuses_fast_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOK_MODE", "fast")
    with pytest.raises(SystemExit, match="BOOK_MODE=full"):
        main([])


def test_setup_cell_takes_the_colab_path_offline(tmp_path: Path) -> None:
    """Run the setup cell as Colab would: a fake google.colab module, a git URL, no network."""
    # The working tree as it is (uncommitted files included), as a repository of its own.
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    source = tmp_path / "origin"
    for name in files:
        if name and (ROOT / name).is_file():  # -c lists deleted files too
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    git = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *command], cwd=source, check=True, env={**os.environ, **git})

    fake = tmp_path / "fake"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "__init__.py").write_text("")
    content = tmp_path / "content"
    content.mkdir()
    script = ("import google.colab\n"
              'FRAMEWORK = "torch"\n'
              + setup_cell_source()
              + "\nprint('helpers from', helpers.__file__)\n")
    # Only the fake google package on the path, and a cwd outside the repository: the cell
    # can find helpers nowhere but in its own clone.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(fake), BOOK_REPO_URL=f"file://{source}", BOOK_MODE="fast")
    result = subprocess.run([sys.executable, "-c", script], cwd=content, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    clone = content / repo_url().rstrip("/").rsplit("/", 1)[1]
    assert (clone / "helpers" / "__init__.py").exists(), "the repository was not cloned"
    assert f"helpers from {clone / 'helpers' / '__init__.py'}" in result.stdout
    assert "torch device:" in result.stdout
    assert re.search(r"mode: fast", result.stdout)


def test_setup_cell_outside_the_repository_says_where_to_run_it(tmp_path: Path) -> None:
    script = 'FRAMEWORK = "torch"\n' + setup_cell_source()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "RuntimeError: run this notebook from inside the book's repository" in result.stderr
    assert "StopIteration" not in result.stderr
