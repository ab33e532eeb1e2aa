"""The setup cell every lab shares (tools/setup_cell.py), run as Colab and as a reader
outside the repository would run it."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from conftest import copy_of_the_working_tree  # noqa: E402
from tools.setup_cell import repo_url, setup_cell_source  # noqa: E402


def test_setup_cell_takes_the_colab_path_offline(tmp_path: Path) -> None:
    """Run the setup cell as Colab would: a fake google.colab module, a git URL, no network."""
    # The working tree as it is (uncommitted files included), as a repository of its own.
    source = copy_of_the_working_tree(tmp_path / "origin")
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
