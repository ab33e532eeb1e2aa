"""Shared by the tests: a checkpoint folder of their own, and the reader of the results the
labs' full-mode runs recorded."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
# Before anything imports TensorFlow: torch's compiler stack loads triton's native library
# on first use (torch.use_deterministic_algorithms does), and under Python 3.12 and 3.13 that
# crashes the process once TensorFlow's libraries are loaded. A lab imports one framework;
# a test process imports both, so it loads triton (where installed) first.
import torch._dynamo  # noqa: F401,E402

from helpers.results import results_dir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers.recorded import load_recorded  # noqa: E402  the one reader of every results file


def recorded_results(chapter: str) -> dict:
    """The chapter's recorded results, its supplementary files (results/NN_*.<name>.json)
    merged in; skips the calling test when none are recorded yet."""
    results = load_recorded(results_dir()).get(chapter)
    if not results:
        pytest.skip(f"{chapter} has no recorded full-mode results yet")
    return results


@pytest.fixture(autouse=True, scope="session")
def _checkpoints_of_their_own(tmp_path_factory) -> None:
    """Networks the tests train go to a fresh folder, never the labs' checkpoints/."""
    os.environ["BOOK_CHECKPOINT_DIR"] = str(tmp_path_factory.mktemp("checkpoints"))


def copy_of_the_working_tree(destination: Path) -> Path:
    """The book's working tree as it is (uncommitted files included, ignored ones not),
    copied to ``destination``."""
    root = Path(__file__).resolve().parent.parent
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=root,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in files:
        if name and (root / name).is_file():  # -c lists deleted files too
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, destination / name)
    return destination


def check_ratchet(found: list[str], allowed: int, *, lab: str, problem: str, fix: str,
                  table: str) -> None:
    """A lab written before a rule may keep ``allowed`` of the ``found`` breaches listed in
    ``table``, no more, and the entry must fall as soon as a re-run removes some."""
    assert len(found) <= allowed, f"{lab} {problem}: {', '.join(found)}; {fix}"
    assert len(found) == allowed, (
        f"{lab} now has {len(found)} such case(s), fewer than the {allowed} {table} allows: "
        "lower its entry (or remove it at 0)")
