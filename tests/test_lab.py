"""helpers.lab: what the setup cell of every lab prints fits the page's 80-character column."""
import warnings

import pytest

from helpers import setup_lab
from helpers.device import get_device
from tools.outputs import without_root

COLUMN = 80
# The file name IPython gives a cell, as a warning raised in the setup cell prints it; a stored
# output shows it as "this cell, line 128" (tools/outputs.py).
CELL = "/tmp/ipykernel_4242/1234567890.py"


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
@pytest.mark.parametrize("mode", ["fast", "full"])
def test_setup_prints_the_device_mode_and_seed_within_the_column(framework, mode, monkeypatch,
                                                                 capsys):
    monkeypatch.setenv("BOOK_MODE", mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # full mode on a CPU warns: the next test reads that
        budget, _ = setup_lab(framework, seed=4_294_967_295)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{framework} device: ")
    sizes = "train 2000, test 1000" if mode == "fast" else "train all, test all"
    assert lines[1] == f"mode: {mode} ({sizes}) · seed 4294967295"
    assert lines[2:] == (["BOOK_MODE=full gives the book's runs"] if mode == "fast" else [])
    assert budget.mode == mode
    assert max(len(line) for line in lines) <= COLUMN


def test_the_cpu_warning_fits_the_column_as_a_stored_output_shows_it(monkeypatch):
    monkeypatch.setenv("BOOK_MODE", "full")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        device = get_device("torch", verbose=False)
    if device.type != "cpu":
        pytest.skip("this machine has a GPU: no warning")
    [warning] = caught
    shown = warnings.formatwarning(warning.message, warning.category, CELL, 128,
                                   line="BUDGET, DEVICE = helpers.setup_lab(FRAMEWORK)")
    lines = without_root(shown).splitlines()
    assert lines[0].startswith("this cell, line 128: RuntimeWarning: full mode on a CPU")
    assert "stored wall time" in shown
    assert max(len(line) for line in lines) <= COLUMN, lines
