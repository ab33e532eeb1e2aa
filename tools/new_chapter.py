"""Scaffold a new chapter: every file it owns, in the shape the book's tests ask for.

    python tools/new_chapter.py NN topic [--title "Title"] [--no-execute]

writes

- ``book/NN_topic.md``: the theory page, marked "In preparation" (the front page lists the
  chapter so until the mark is removed), with the sections a finished chapter has;
- ``notebooks/NN_topic_pytorch.ipynb`` and ``..._tensorflow.ipynb``: twin labs with the
  FRAMEWORK cell, the generated setup cell, the same headings, two exercises with self-checks
  and solutions, and headline numbers recorded with ``helpers.save_results``;
- ``helpers/topic.py`` and ``tests/test_topic.py``: the chapter's own helpers module (imported
  by name, so every other lab stays fresh) and its test against a reference;
- the chapter's part in ``_toc.yml`` (before the scoreboard) and its entry in
  ``results/scoreboard.json``;

then runs both labs in full mode (``tools/execute.py``: seconds, they only read MNIST), so
that their outputs are stored and stamped and ``make test`` passes at once. Every file is
a starting point to replace: the labs compute one real number (the mean pixel of the training
digits, in each framework) so that every mechanism is exercised. Nothing is overwritten: an
existing file, chapter number or topic is refused.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, only tools/ is on the path
from tools.format_labs import format_lab  # noqa: E402
from tools.setup_cell import TAG, setup_cell_source  # noqa: E402

FRAMEWORKS = {"pytorch": ("torch", "PyTorch"), "tensorflow": ("tensorflow", "TensorFlow")}

PAGE = '''# {title}

:::{{admonition}} In preparation
This chapter was scaffolded by `tools/new_chapter.py`: its labs run and record a number, but
its theory and experiments are still to be written. Remove this box when the chapter is
finished (the README's "Adding a chapter" says what that takes).
:::

## In one minute

:::{{container}} one-minute
What the chapter shows, its key figure, and its verdicts, one line each.
:::

Its two labs, [PyTorch](../notebooks/{stem}_pytorch.ipynb) and
[TensorFlow](../notebooks/{stem}_tensorflow.ipynb), share their headings, hyperparameters and
metric names.

## The idea

The math, derived rather than asserted.

## What the labs measure

The lab's mean training pixel, {{measured}}`{stem}/mean_pixel:4` (PyTorch / TensorFlow), is
inserted from `results/{stem}.json` when the book is built, as every number a run produced is.
'''

MODULE = '''"""Chapter {number}'s own helpers: {title}.

Labs import this module by name (``from helpers import {topic}``); the list in
``helpers/__init__.py`` does not grow, so adding this module leaves every other lab fresh.
"""
from __future__ import annotations

import numpy as np


def pixel_mean(images: np.ndarray) -> float:
    """The mean pixel of ``images`` (any shape), in float64 whatever their dtype.

    Raises ``ValueError`` for an empty array.
    """
    images = np.asarray(images)
    if images.size == 0:
        raise ValueError("pixel_mean needs at least one pixel")
    return float(images.mean(dtype=np.float64))
'''

TEST = '''"""helpers.{topic}: chapter {number}'s own helpers, against a reference and bad input."""
import numpy as np
import pytest

from helpers import {topic}


def test_pixel_mean_matches_the_sum_over_the_count() -> None:
    images = np.random.default_rng(0).random((7, 28, 28), dtype=np.float32)
    assert {topic}.pixel_mean(images) == pytest.approx(
        float(images.astype(np.float64).sum()) / images.size, rel=1e-12)


def test_pixel_mean_refuses_an_empty_array() -> None:
    with pytest.raises(ValueError, match="at least one pixel"):
        {topic}.pixel_mean(np.zeros((0, 28, 28)))
'''

FRAMEWORK_MEAN = {
    "torch": "import torch\n\nmean_pixel = float(torch.as_tensor(x_train).mean())",
    "tensorflow": "import tensorflow as tf\n\nmean_pixel = float(tf.reduce_mean(x_train))",
}


def lab_cells(stem: str, number: int, topic: str, title: str, suffix: str) -> list:
    """The cells of the ``suffix`` lab (``pytorch`` or ``tensorflow``) of a new chapter."""
    framework, name = FRAMEWORKS[suffix]
    other = "tensorflow" if suffix == "pytorch" else "pytorch"
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    setup = code(setup_cell_source())
    setup.metadata["tags"] = [TAG]
    return [
        md(f"# {title} ({name})\n\n*This is the {name} lab of chapter {number}; its twin, the "
           f"[{FRAMEWORKS[other][1]} lab]({stem}_{other}.ipynb), has the same headings, "
           "hyperparameters and metric names.*"),
        code(f'FRAMEWORK = "{framework}"  # this lab\'s framework; the setup cell below reads it'),
        setup,
        md("## The data\n\nA stratified subset in fast mode, all 60,000 training digits in "
           "full mode (`BUDGET` says which)."),
        code("import numpy as np\n\n"
             f"from helpers import {topic}\n\n"
             'x_train, y_train = helpers.load_mnist("train", subset=BUDGET.train_size)\n'
             'print(f"training digits: {len(x_train):,}")'),
        md(f"## The measurement\n\nThe mean pixel, computed by {name} and checked against "
           f"`helpers.{topic}.pixel_mean` (float64 NumPy)."),
        code(FRAMEWORK_MEAN[framework] + "\n"
             f"reference = {topic}.pixel_mean(x_train)\n"
             "# float32 sums of up to 47 million pixels: agreement to 1e-4 relative\n"
             "assert abs(mean_pixel - reference) <= 1e-4 * reference, (mean_pixel, reference)\n"
             'print(f"mean pixel {mean_pixel:.4f} (float64 reference {reference:.4f})")'),
        md("## Results\n\nRecorded in full mode; the theory page and the scoreboard read them."),
        code(f'helpers.save_results("{stem}", "{framework}", {{"mean_pixel": mean_pixel}})'),
        md("## Exercises\n\n**Exercise 1.** The share of training digits that are zeros, as a "
           "fraction."),
        code("share_of_zeros = None  # your code"),
        code("# Self-check: against a count of the labels.\n"
             "if share_of_zeros is None:\n"
             '    print("Exercise 1: your turn (the cell above)")\n'
             "else:\n"
             "    assert abs(share_of_zeros - np.mean(y_train == 0)) < 1e-12, share_of_zeros\n"
             '    print("correct")'),
        md(":::{admonition} Solution\n:class: dropdown\n```python\n"
           "share_of_zeros = float((y_train == 0).mean())\n```\n:::\n\n"
           "**Exercise 2.** The mean pixel of the digit 1 alone, which is lower: a 1 has few "
           "ink pixels."),
        code("mean_of_ones = None  # your code"),
        code("# Self-check: against the chapter's helper on the ones.\n"
             "if mean_of_ones is None:\n"
             '    print("Exercise 2: your turn (the cell above)")\n'
             "else:\n"
             f"    assert abs(mean_of_ones - {topic}.pixel_mean(x_train[y_train == 1])) < 1e-6\n"
             "    assert mean_of_ones < mean_pixel\n"
             '    print("correct")'),
        md(":::{admonition} Solution\n:class: dropdown\n```python\n"
           "mean_of_ones = float(x_train[y_train == 1].mean())\n```\n:::"),
    ]


def toc_part(stem: str, number: int, title: str) -> str:
    """The chapter's part of ``_toc.yml``."""
    return (f"  - caption: {number} {title}\n"
            f"    chapters:\n"
            f"      - file: book/{stem}\n"
            f"        sections:\n"
            f"          - file: notebooks/{stem}_pytorch\n"
            f"          - file: notebooks/{stem}_tensorflow\n")


def scoreboard_entry(title: str) -> dict:
    """The chapter's entry in ``results/scoreboard.json``: the scaffold's one metric."""
    return {"metrics": {"mean_pixel": {
        "label": f"{title}: mean pixel of the training digits (to replace)",
        "unit": "", "lower_is_better": None, "paper": None,
        "no_paper": "a scaffold's number: replace it with the chapter's own",
        "parity_tolerance": None,
        "no_parity": "a scaffold's number: the chapter's own rows say how close the two labs "
                     "must be, and why"}}}


def scaffold(number: int, topic: str, title: str, root: Path = ROOT) -> list[Path]:
    """Write the new chapter's files under ``root``; return them. Refuses, changing nothing,
    when the number or topic is taken or the topic is not a Python module name."""
    if not 0 <= number <= 99:
        raise SystemExit(f"a chapter number is 0 to 99, not {number}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", topic) or topic in {"helpers", "tests"}:
        raise SystemExit(f"the topic names a module: lower-case letters, digits and _, "
                         f"not {topic!r}")
    stem = f"{number:02d}_{topic}"
    taken = sorted(p.name for p in (root / "book").glob(f"{number:02d}_*.md"))
    if taken:
        raise SystemExit(f"chapter {number:02d} exists already: {', '.join(taken)}")
    files = {root / "book" / f"{stem}.md": PAGE.format(title=title, stem=stem),
             root / "helpers" / f"{topic}.py": MODULE.format(number=number, title=title,
                                                             topic=topic),
             root / "tests" / f"test_{topic}.py": TEST.format(number=number, topic=topic)}
    labs = {root / "notebooks" / f"{stem}_{suffix}.ipynb": suffix for suffix in FRAMEWORKS}
    existing = [str(p.relative_to(root)) for p in [*files, *labs] if p.exists()]
    if existing:
        raise SystemExit(f"refusing to overwrite {', '.join(existing)}")
    scoreboard_path = root / "results" / "scoreboard.json"
    scoreboard = json.loads(scoreboard_path.read_text())
    if stem in scoreboard["chapters"]:
        raise SystemExit(f"results/scoreboard.json lists {stem} already")

    for path, text in files.items():
        path.write_text(text)
    for path, suffix in labs.items():
        nb = nbformat.v4.new_notebook(cells=lab_cells(stem, number, topic, title, suffix))
        nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                     "name": "python3"}
        nbformat.write(nb, path)
        format_lab(path)  # to the rendered column, as `make format` leaves every lab
    toc = (root / "_toc.yml").read_text()
    anchor = toc.index("  - caption: Scoreboard")  # the chapter goes before the scoreboard
    (root / "_toc.yml").write_text(toc[:anchor] + toc_part(stem, number, title) + toc[anchor:])
    scoreboard["chapters"][stem] = scoreboard_entry(title)
    scoreboard["chapters"] = dict(sorted(scoreboard["chapters"].items()))
    scoreboard_path.write_text(json.dumps(scoreboard, indent=1, ensure_ascii=False) + "\n")
    return [*files, *labs, root / "_toc.yml", scoreboard_path]


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tools/new_chapter.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("number", type=int, help="the chapter's number, 0 to 99")
    parser.add_argument("topic", help="its topic, a module name: the files are NN_topic*")
    parser.add_argument("--title", help="its title (default: the topic in words)")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the files but do not run the labs in full mode")
    args = parser.parse_args(arguments)
    title = args.title or args.topic.replace("_", " ").capitalize()
    written = scaffold(args.number, args.topic, title)
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
    labs = [p for p in written if p.suffix == ".ipynb"]
    if args.no_execute:
        print("not executed: run `make execute NB=...` for each lab before `make test`")
        return
    env = {**os.environ, "BOOK_MODE": "full"}
    subprocess.run([sys.executable, str(ROOT / "tools" / "execute.py"), *map(str, labs)],
                   env=env, check=True)
    print("done: `make test` checks the new chapter with the others; see the README's "
          "\"Adding a chapter\" for what to write next")


if __name__ == "__main__":
    main()
