"""tools/new_chapter.py: a scaffolded chapter passes the book's checks at once, and leaves
every other lab fresh; a taken number, a taken file or a bad topic is refused."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from conftest import copy_of_the_working_tree  # noqa: E402
from tools.new_chapter import scaffold  # noqa: E402


def test_a_scaffolded_chapter_passes_the_checks_and_leaves_the_others_fresh(tmp_path: Path) -> None:
    copy = copy_of_the_working_tree(tmp_path / "book")
    env = {**os.environ, "BOOK_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
           "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1"}
    made = subprocess.run([sys.executable, "tools/new_chapter.py", "98", "scaffold"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-3000:]
    assert (copy / "results" / "98_scaffold.json").exists(), "the full runs recorded nothing"
    checks = ["tests/test_labs.py", "tests/test_scoreboard.py", "tests/test_scaffold.py",
              "tests/test_exercises.py::test_every_lab_has_exercises_with_runnable_solutions",
              "notebooks/98_scaffold_pytorch.ipynb",
              "notebooks/98_scaffold_tensorflow.ipynb"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:xdist", "-rA", "--nbval-lax", "--nbval-current-env",
                          *checks],
                         cwd=copy, env={**env, "BOOK_MODE": "fast"}, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:]
    assert " failed" not in run.stdout and " passed" in run.stdout
    # the labs' run checked both exercises of each: a solution item and a second self-check
    passed = [line for line in run.stdout.splitlines() if line.startswith("PASSED notebooks/")]
    assert sum(line.endswith("(solution)") for line in passed) == 4, run.stdout[-4000:]
    assert sum(line.endswith("(with the solution)") for line in passed) == 4


def test_taken_numbers_files_and_bad_topics_are_refused(tmp_path: Path) -> None:
    root = tmp_path
    for folder in ("book", "helpers", "tests", "notebooks", "results"):
        (root / folder).mkdir()
    (root / "book" / "03_taken.md").write_text("# Taken\n")
    (root / "helpers" / "clash.py").write_text("")
    (root / "results" / "scoreboard.json").write_text('{"chapters": {}}')
    with pytest.raises(SystemExit, match="chapter 03 exists already: 03_taken.md"):
        scaffold(3, "other", "Other", root)
    with pytest.raises(SystemExit, match="refusing to overwrite helpers/clash.py"):
        scaffold(4, "clash", "Clash", root)
    for topic in ("Bad", "9lives", "with-dash", "helpers"):
        with pytest.raises(SystemExit, match="the topic names a module"):
            scaffold(5, topic, "T", root)
    with pytest.raises(SystemExit, match="0 to 99"):
        scaffold(100, "fine", "Fine", root)
    assert sorted(p.name for p in (root / "book").iterdir()) == ["03_taken.md"], "nothing written"
