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


def png_chunk(data: bytes, kind: bytes) -> bytes | None:
    """The payload of the first ``kind`` chunk (b"IHDR", b"pHYs", ...) of the PNG ``data``,
    or None when none comes before the image data; ValueError when ``data`` is no PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    at = 8
    while at + 8 <= len(data):
        length, found = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        if found == kind:
            return data[at + 8:at + 8 + length]
        if found == b"IDAT":
            break  # the header chunks come before the image data
        at += 12 + length
    return None


def check_ratchet(found: list[str], allowed: int, *, lab: str, problem: str, fix: str,
                  table: str) -> None:
    """A lab written before a rule may keep ``allowed`` of the ``found`` breaches listed in
    ``table``, no more, and the entry must fall as soon as a re-run removes some."""
    assert len(found) <= allowed, f"{lab} {problem}: {', '.join(found)}; {fix}"
    assert len(found) == allowed, (
        f"{lab} now has {len(found)} such case(s), fewer than the {allowed} {table} allows: "
        "lower its entry (or remove it at 0)")


# Labs whose stored outputs were made before a rule, with the breaches of it each still shows:
# (figures wider than 944 px, printed lines over 80 characters, elements of its page that
# overflow the column in the browser). The digit grids of helpers.image_grid, the one-row
# panels of helpers.plot_history and helpers.save_results' one-line record are most of them.
# An entry falls when its lab is re-run with outputs that keep the rule; counts may only fall.
BEFORE_THE_RULES = {
    "00_getting_started_pytorch.ipynb": (0, 8, 3),
    "00_getting_started_tensorflow.ipynb": (0, 7, 3),
    "04_vae_pytorch.ipynb": (0, 2, 2),
    "04_vae_tensorflow.ipynb": (0, 2, 2),
    "05_gans_pytorch.ipynb": (0, 11, 6),
    "05_gans_tensorflow.ipynb": (0, 10, 6),
    "06_mode_collapse_pytorch.ipynb": (0, 0, 1),
    "06_mode_collapse_tensorflow.ipynb": (0, 0, 1),
}
RULES = ("wide figures", "long printed lines", "overflowing elements")


def allowed(lab: str, rule: str) -> int:
    """How many breaches of ``rule`` (one of RULES) the stored outputs of ``lab`` may keep."""
    return BEFORE_THE_RULES.get(lab, (0, 0, 0))[RULES.index(rule)]
