"""The setup cell shared by every lab, generated from one template.

The repository URL lives in ``_config.yml`` (``repository.url``) and nowhere else;
``python tools/setup_cell.py`` rewrites the setup cell of every notebook from this template,
and ``tests/test_labs.py`` fails when a notebook's cell differs from it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
MARKER = "# Setup: the same in every lab"
# The rendered page collapses the setup code behind a toggle (its output stays visible), so a
# lab opens with its content.
TAG = "hide-input"

TEMPLATE = '''\
# Setup: the same in every lab (made by tools/setup_cell.py; edit it there).
# On Colab it fetches the book's code; anywhere it seeds, picks the device and
# prints the mode.
import importlib.util, os, subprocess, sys
from pathlib import Path

REPO_URL = os.environ.get(
    "BOOK_REPO_URL", "{repo_url}")
if "google.colab" in sys.modules:
    ROOT = Path.cwd() / "{repo_name}"
    if not ROOT.exists():
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, str(ROOT)],
                       check=True)
    if importlib.util.find_spec("mnist") is None:  # the offline MNIST copy
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-r",
             str(ROOT / "requirements-nodeps.txt")], check=True)
else:
    ROOT = next((p for p in (Path.cwd(), *Path.cwd().parents)
                 if (p / "helpers").is_dir()), None)
    if ROOT is None:
        raise RuntimeError("run this notebook from inside the book's "
                           "repository (a folder above it holds helpers/), "
                           "or open it on Colab")
sys.path.insert(0, str(ROOT))

import helpers
BUDGET, DEVICE = helpers.setup_lab(FRAMEWORK)'''


def repo_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"]


def setup_cell_source() -> str:
    url = repo_url().rstrip("/")
    return TEMPLATE.format(repo_url=url, repo_name=url.rsplit("/", 1)[-1].removesuffix(".git"))


def is_setup_cell(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith(MARKER)


def sync(paths: list[Path]) -> list[Path]:
    """Rewrite the setup cell of each notebook; return those that changed."""
    source, changed = setup_cell_source(), []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if is_setup_cell(c)]
        if len(cells) != 1:
            raise SystemExit(f"{path}: expected one setup cell, found {len(cells)}")
        tags = cells[0].metadata.setdefault("tags", [])
        if cells[0].source != source or TAG not in tags:
            cells[0].source = source
            if TAG not in tags:
                tags.append(TAG)
            nbformat.write(nb, path)
            changed.append(path)
    return changed


if __name__ == "__main__":
    targets = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in sync(targets):
        print(f"updated {path}")
