"""The two labs of a chapter agree, checked from the results their full-mode runs recorded.

The tolerances live in results/scoreboard.json, beside the paper numbers; the scoreboard page
judges parity with the same rule.
"""
import sys
from pathlib import Path

import pytest

from conftest import recorded_results

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.scoreboard import SCOREBOARD, parity_tolerances, within  # noqa: E402

PARITY = parity_tolerances(ROOT / "results" / SCOREBOARD)


def test_some_tolerances_are_set():
    assert PARITY, f"results/{SCOREBOARD} sets no parity tolerance"


@pytest.mark.parametrize("chapter, metric, tolerance", PARITY,
                         ids=[f"{chapter}/{metric}" for chapter, metric, _ in PARITY])
def test_frameworks_agree(chapter, metric, tolerance):
    results = recorded_results(chapter)
    assert set(results) == {"torch", "tensorflow"}, f"{chapter}: only {sorted(results)} recorded"
    a, b = results["torch"][metric], results["tensorflow"][metric]
    assert within(a, b, tolerance), \
        f"{chapter} {metric}: PyTorch {a} vs TensorFlow {b}, tolerance {tolerance}"
