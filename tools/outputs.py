"""Stored outputs made lean: progress bars collapsed, widget views, timing metadata and
matplotlib's font-cache notes dropped, and no machine's paths."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_OUTPUT_BYTES = 1_000_000


def collapse_carriage_returns(text: str) -> str:
    """Keep what a terminal would show: for each line, the text after its last '\\r'.

    Trailing '\\r's are dropped first, so a Windows line end ('\\r\\n') or a progress bar
    that ends on '\\r' keeps its last text instead of becoming an empty line.
    """
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def merge_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same name (a progress bar sends hundreds)."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous["name"] == output["name"]):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


# The file name IPython gives a cell's code, which a warning raised in the cell prints:
# /tmp/ipykernel_4242/1234567890.py:22 (a temporary path of the machine that ran it).
KERNEL_CELL = re.compile(r"(?:/[^\s/]+)*/ipykernel_\d+/\d+\.py:(\d+)")


def without_root(text: str, root: Path = ROOT) -> str:
    """``text`` with this checkout's absolute path cut from file names (warnings print them)
    and a cell's temporary file name replaced by "this cell, line N", so stored outputs read
    ``helpers/lab.py`` wherever the book was executed and name no machine's paths."""
    return KERNEL_CELL.sub(r"this cell, line \1", text.replace(f"{root}/", ""))


# Matplotlib's note that its font cache lacks a font: a fact about the machine's cache (a damaged
# one lists none of the fonts matplotlib ships), not about the lab, and it falls back on its own.
FONT_FALLBACK = re.compile(
    r"^findfont: Font family \[.*\] not found\. Falling back to .*(?:\n|$)", re.M)


def lean(nb, where: str = "notebook", root: Path = ROOT) -> None:
    """Shrink outputs: collapse progress-bar updates, drop widget views, timing metadata and
    matplotlib's font-cache notes, make file names relative to ``root``.

    Raises ``SystemExit`` naming ``where`` when an output stays over ``MAX_OUTPUT_BYTES``.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        cell.outputs = merge_streams(cell.get("outputs", []))
        for output in cell.outputs:
            if output.get("output_type") == "stream":
                output["text"] = without_root(collapse_carriage_returns(output["text"]), root)
                if output["name"] == "stderr":
                    output["text"] = FONT_FALLBACK.sub("", output["text"])
        cell.outputs = [o for o in cell.outputs if o.get("output_type") != "stream" or o["text"]]
        for output in cell.outputs:
            data = output.get("data", {})
            data.pop("application/vnd.jupyter.widget-view+json", None)
            if isinstance(data.get("text/plain"), str):
                data["text/plain"] = without_root(data["text/plain"], root)
            size = len(json.dumps(output))
            if size > MAX_OUTPUT_BYTES:
                raise SystemExit(f"{where}: an output of {size:,} bytes is over the "
                                 f"{MAX_OUTPUT_BYTES:,}-byte limit; the file is left unchanged. "
                                 f"The cell:\n{cell.source[:300]}")
