"""The labs as files: one shared setup cell, twin headings, and outputs fresh for their code."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.execute import (KEY, code_hash, collapse_carriage_returns, lean, main,  # noqa: E402
                           sha256_bytes, stale_reasons)
from tools.setup_cell import is_setup_cell, repo_url, setup_cell_source  # noqa: E402

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
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.startswith(f'FRAMEWORK = "{FRAMEWORK_OF[suffix]}"'), code[0].source
    assert code[1] is setups[0], "the setup cell must follow the FRAMEWORK cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_fresh(path: Path) -> None:
    reasons = stale_reasons(path)
    assert not reasons, (f"{path.name} needs `make execute NB=notebooks/{path.name}`: "
                         + "; ".join(reasons))


def headings(path: Path) -> list[str]:
    """The markdown heading lines of ``path``, in order."""
    return [line for cell in read(path).cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("#")]


def twin_of(path: Path) -> Path:
    """The other framework's version of lab ``path``."""
    stem, suffix = path.stem.rsplit("_", 1)
    other = "tensorflow" if suffix == "pytorch" else "pytorch"
    return path.with_name(f"{stem}_{other}.ipynb")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_labs_come_in_pairs(path: Path) -> None:
    assert twin_of(path).exists(), f"{path.name} has no twin {twin_of(path).name}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem.endswith("_pytorch")
                                  and twin_of(p).exists()], ids=lambda p: p.name)
def test_twin_labs_have_the_same_headings(path: Path) -> None:
    assert headings(path) == headings(twin_of(path)), (
        f"{path.name} and {twin_of(path).name} must have the same headings in the same order")


def stamped(tmp_path: Path, source: str = "x = 1") -> tuple[Path, Path]:
    """A notebook stamped as if executed, depending on one fake helpers file."""
    helper = tmp_path / "helpers" / "fake.py"
    helper.parent.mkdir(parents=True, exist_ok=True)
    helper.write_text("VALUE = 1\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.metadata[KEY] = {"mode": "full", "code_sha256": code_hash(nb),
                        "helpers": {"helpers/fake.py": sha256_bytes(helper.read_bytes())}}
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    return path, helper


def test_freshness_check_catches_each_kind_of_staleness(tmp_path: Path) -> None:
    path, helper = stamped(tmp_path)
    assert stale_reasons(path, root=tmp_path) == []

    nb = read(path)
    nb.cells[0].source = "x = 2"
    nbformat.write(nb, path)
    assert stale_reasons(path, root=tmp_path) == ["code cells changed since the outputs were made"]

    path, helper = stamped(tmp_path)
    helper.write_text("VALUE = 2\n")
    assert stale_reasons(path, root=tmp_path) == ["helpers/fake.py changed since the outputs were made"]
    helper.unlink()
    assert stale_reasons(path, root=tmp_path) == ["helpers/fake.py no longer exists"]

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


def test_outputs_are_made_lean() -> None:
    assert collapse_carriage_returns("a\r 50%\r100%\nnext\r\n") == "100%\nnext\n"
    assert collapse_carriage_returns("done\r") == "done"
    cell = nbformat.v4.new_code_cell("run()")
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="0%\r"),
                    nbformat.v4.new_output("stream", name="stderr", text="50%\r100%\n"),
                    nbformat.v4.new_output("stream", name="stdout", text=f"{ROOT}/helpers/a.py:1\n"),
                    nbformat.v4.new_output("display_data", data={
                        "text/plain": "bar", "application/vnd.jupyter.widget-view+json": {}})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    lean(nb)
    assert "execution" not in cell.metadata
    assert [o.get("text") for o in cell.outputs] == ["100%\n", "helpers/a.py:1\n", None]
    assert cell.outputs[2]["data"] == {"text/plain": "bar"}

    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 1_100_000)]
    with pytest.raises(SystemExit, match="over the 1,000,000-byte limit"):
        lean(nb)


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
