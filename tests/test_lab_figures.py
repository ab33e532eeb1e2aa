"""Every figure a lab stores is drawn narrow enough that its text is readable in the book.

A lab's figure is a PNG drawn at matplotlib's 100 dots per inch; the book shows it at most as
wide as the text column, 612 px at the narrowest desktop layout (tests/test_book_render.py),
shrinking a wider one. Its tick labels (10 pt, 13.9 px at full size) must still show at 9 px
or more, so a figure may be at most 612 * 13.9 / 9 = 944 px wide: 9.4 inches, two panels a
row. The check reads the stored PNGs' widths from their headers, so it needs no browser.
"""
from __future__ import annotations

import base64
import struct
from pathlib import Path

import nbformat
import pytest

from conftest import allowed, check_ratchet

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

COLUMN_PX = 612        # the narrowest text column
TICK_PX = 10 * 100 / 72  # a 10-pt tick label at 100 dpi
SMALLEST_PX = 9
WIDEST_PX = int(COLUMN_PX * TICK_PX / SMALLEST_PX)

def png_width(data: str) -> int:
    """The width in pixels of a base64-encoded PNG, from its IHDR chunk."""
    raw = base64.b64decode(data)
    if raw[:8] != b"\x89PNG\r\n\x1a\n" or raw[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">I", raw[16:20])[0]


def wide_figures(path: Path) -> list[str]:
    """'cell N: W px' for each stored PNG of the lab wider than WIDEST_PX."""
    nb = nbformat.read(path, as_version=4)
    return [f"cell {i}: {png_width(output.data['image/png'])} px"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for output in cell.outputs
            if "image/png" in output.get("data", {})
            and png_width(output.data["image/png"]) > WIDEST_PX]


def test_the_rule_is_two_panels_a_row():
    assert WIDEST_PX == 944
    one_pixel = base64.b64encode(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 946, 10) + b"\x08\x06\x00\x00\x00"
    ).decode()
    assert png_width(one_pixel) == 946
    with pytest.raises(ValueError):
        png_width(base64.b64encode(b"GIF89a" + bytes(30)).decode())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lab_figures_are_readable_in_the_column(path):
    check_ratchet(wide_figures(path), allowed(path.name, "wide figures"), lab=path.name,
                  problem=f"shows figures wider than {WIDEST_PX} px, whose text would show "
                          f"under {SMALLEST_PX} px in the column",
                  fix="draw at most two panels a row", table="BEFORE_THE_RULES")
