"""Shared by the tests that read the results the labs' full-mode runs recorded."""
import pytest

from helpers.results import load_results, results_dir


def recorded_results(chapter: str) -> dict:
    """The chapter's recorded results; skips the calling test when none are recorded yet."""
    if not (results_dir() / f"{chapter}.json").exists():
        pytest.skip(f"{chapter} has no recorded full-mode results yet")
    return load_results(chapter)
