"""No lab scores the first rows of a loaded split (tools/slices.py finds them)."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.slices import lab_slices, prefix_slices  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("source, expected", [
    ("x, y = helpers.load_mnist('test')\nf(x[:500])", ["x[:500]"]),
    ("x, y = load_mnist('test')\nf(y[0:n])", ["y[0:n]"]),
    ("(x, y) = helpers.load_mnist('train', subset=10)\nshow(x[:8], y[:8])", ["x[:8]", "y[:8]"]),
    ("x, _ = helpers.load_mnist('test')\nf(x[5:10], x[::2], x[n:], x[:10:2])", []),
    ("x = other('test')\nf(x[:500])", []),
    ("x, _ = helpers.load_mnist('test')\nz = x\nf(z[:5])", []),  # aliases are not followed
    ("x, y = helpers.load_mnist('test')\nf(x[rows], draw(5, x, seed=0))", []),
])
def test_prefix_slices_of_loaded_names(source, expected):
    assert prefix_slices(source) == expected


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_lab_scores_a_prefix_of_a_loaded_split(path):
    slices = lab_slices(path)
    assert not slices, (
        f"{path.name} slices the first rows of a loaded split: {', '.join(slices)}; take a "
        "seeded random draw (helpers.data.draw) instead")
