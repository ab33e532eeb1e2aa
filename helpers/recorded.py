"""The one reader of recorded results: what the labs' full-mode runs and the scripts in
``experiments/`` wrote to ``results/``.

A chapter's results may come in several files: ``NN_topic.json`` from its labs (written by
:func:`helpers.results.save_results`) and ``NN_topic.<name>.json`` from a script. Each holds
one entry per framework (``{"torch": {metric: value}, "tensorflow": {...}}``); a script may
keep its raw records beside them. The scoreboard, the ``{measured}`` role of the book's
pages, the figures and the tests all read through here; a lab reads none of it (it prints
only what its own run computed).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

FRAMEWORKS = ("torch", "tensorflow")


class RecordedError(ValueError):
    """A results file that is missing, or two files that record the same number."""


def _directory(directory: str | Path | None) -> Path:
    from .results import results_dir

    return Path(directory) if directory is not None else results_dir()


def read_file(name: str, directory: str | Path | None = None) -> dict:
    """The whole of ``results/<name>.json`` (``"04_vae.long"``), raw records included."""
    path = _directory(directory) / f"{name}.json"
    if not path.exists():
        raise RecordedError(f"no results/{name}.json: nothing recorded under that name")
    return json.loads(path.read_text())


def load_recorded(directory: str | Path | None = None) -> dict[str, dict]:
    """``{chapter: {framework: {metric: value}}}`` of every ``NN_*.json``, a chapter's
    supplementary files merged into it.

    Only framework entries are read; a metric that two files record for the same framework
    is an error, since a page could show only one of them.
    """
    recorded: dict[str, dict] = {}
    sources: dict[tuple[str, str, str], str] = {}  # (chapter, framework, metric) -> file name
    for path in sorted(_directory(directory).glob("*.json")):
        if not re.match(r"\d+_", path.name):
            continue
        chapter = path.name.split(".", 1)[0]
        merged = recorded.setdefault(chapter, {})
        for framework, values in json.loads(path.read_text()).items():
            if framework not in FRAMEWORKS:
                continue
            for metric, value in values.items():
                first = sources.setdefault((chapter, framework, metric), path.name)
                if first != path.name:
                    raise RecordedError(f"{chapter}/{metric} is recorded for {framework} in "
                                        f"both {first} and {path.name}")
                merged.setdefault(framework, {})[metric] = value
    return recorded
