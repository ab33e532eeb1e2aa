"""What every figure of the theory pages shares: its size, its smallest text, and the checks
made before it is saved. Imported by tools/figures*.py, one module per group of chapters."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.figure  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "book" / "figures"

# A figure is shown scaled to the width of the text column: 676 px in a 1280-px window, 612 px
# at the narrowest desktop layout. Drawn 6.3 inches wide, a 12-point label then shows at 18 px
# (16 px at the narrowest), no smaller than the 16-px body text. The images are saved at 200 dpi,
# 1,260 px wide, so that a click on a figure, which opens the image itself, shows it larger.
WIDTH = 6.3     # inches
FONT = 12       # points, the smallest text any figure may use
DPI = 200
STYLE = {"font.size": FONT, "axes.titlesize": FONT, "axes.labelsize": FONT,
         "xtick.labelsize": FONT, "ytick.labelsize": FONT, "legend.fontsize": FONT,
         "figure.titlesize": FONT}
plt.rcParams.update(STYLE)


def save(fig: matplotlib.figure.Figure, path: Path) -> None:
    """Save a figure after checking that it is no wider than the column and has no small text."""
    assert fig.get_figwidth() <= WIDTH + 1e-9, f"{path.name} is wider than {WIDTH} inches"
    small = [text.get_text() for text in fig.findobj(matplotlib.text.Text)
             if text.get_visible() and text.get_text().strip() and text.get_fontsize() < FONT]
    assert not small, f"{path.name} has text under {FONT} pt: {small}"
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def draw(figures: dict[str, Callable[[Path], None]]) -> None:
    """Draw each figure into OUT under its file name."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name, function in figures.items():
        function(OUT / name)
        print(f"wrote {(OUT / name).relative_to(ROOT)}")
