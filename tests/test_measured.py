"""The {measured} role: numbers a page quotes come from the recorded results at build time."""
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from measured import MeasuredError, render  # noqa: E402

ROLE = re.compile(r"\{measured\}`([^`]*)`")


@pytest.fixture
def results(tmp_path):
    (tmp_path / "09_x.json").write_text(json.dumps(
        {"torch": {"nll": 89.914, "units": 21.0}, "tensorflow": {"nll": 1234.5, "units": 22.0}}))
    return tmp_path


def test_both_frameworks_one_framework_and_decimals(results):
    assert render("09_x/nll", results) == "89.91 / 1,234.50"
    assert render("09_x/nll/torch", results) == "89.91"
    assert render("09_x/units:0", results) == "21 / 22"
    assert render(" 09_x/nll/tensorflow:1 ", results) == "1,234.5"


def test_a_scripts_results_file_is_its_own_chapter_name(results):
    """results/09_x.long.json (a script in experiments/, PyTorch only, with its raw records
    under "runs") is read as chapter 09_x.long."""
    (results / "09_x.long.json").write_text(json.dumps(
        {"torch": {"long_nll": 88.1686, "long_epochs": 1727.0},
         "runs": {"vae": {"evaluations": [{"nll": 88.1686}]}}}))
    assert render("09_x.long/long_nll/torch", results) == "88.17"
    assert render("09_x.long/long_epochs/torch:0", results) == "1,727"
    with pytest.raises(MeasuredError, match="records no 'long_nll' for tensorflow"):
        render("09_x.long/long_nll", results)
    with pytest.raises(MeasuredError, match="framework must be one of"):
        render("09_x.long/vae/runs", results)


@pytest.mark.parametrize("reference, message", [
    ("09_x", "expected chapter/metric"),
    ("08_missing/nll", "no results/08_missing.json"),
    ("09_x/loss", "records no 'loss'"),
    ("09_x/nll/jax", "framework must be one of"),
])
def test_a_reference_to_nothing_recorded_is_an_error(results, reference, message):
    with pytest.raises(MeasuredError, match=message):
        render(reference, results)


PAGES = sorted((ROOT / "book").glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_reference_on_a_page_resolves(page):
    for reference in ROLE.findall(page.read_text()):
        render(reference)  # raises, naming the reference, if it is not recorded
