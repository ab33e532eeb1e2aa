"""The ``{measured}`` role: a number a lab recorded, inserted into a page when the book is built.

    {measured}`04_vae/vae_test_nll`          -> "89.91 / 90.12"  (PyTorch / TensorFlow)
    {measured}`04_vae/vae_test_nll/torch`    -> "89.91"
    {measured}`04_vae/vae_active_units:0`    -> "21 / 22"         (decimals after the colon)

The numbers come from ``results/<chapter>.json``, written by the labs' full-mode runs (or from
``results/<chapter>.<name>.json``, written by a script in ``experiments/``: ``04_vae.long``),
read by ``helpers.recorded``, so a page quotes what the code beside it printed and a re-run
updates the page. A reference to a chapter, metric or framework that is not recorded fails
the build.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from helpers.recorded import FRAMEWORKS, RecordedError, read_file  # noqa: E402

RESULTS = ROOT / "results"
PATTERN = re.compile(r"^(?P<chapter>[\w.-]+)/(?P<metric>\w+)(?:/(?P<framework>\w+))?"
                     r"(?::(?P<decimals>\d))?$")


class MeasuredError(ValueError):
    """A ``{measured}`` reference that names no recorded number."""


def render(reference: str, results: Path = RESULTS) -> str:
    """The text that replaces ``{measured}`reference```."""
    match = PATTERN.match(reference.strip())
    if not match:
        raise MeasuredError(f"{reference!r}: expected chapter/metric[/framework][:decimals]")
    chapter, metric = match["chapter"], match["metric"]
    decimals = int(match["decimals"]) if match["decimals"] else 2
    try:
        recorded = read_file(chapter, results)
    except RecordedError:
        raise MeasuredError(f"{reference!r}: no results/{chapter}.json") from None
    frameworks = [match["framework"]] if match["framework"] else list(FRAMEWORKS)
    values = []
    for framework in frameworks:
        if framework not in FRAMEWORKS:
            raise MeasuredError(f"{reference!r}: framework must be one of {FRAMEWORKS}")
        if metric not in recorded.get(framework, {}):
            raise MeasuredError(f"{reference!r}: results/{chapter}.json records no "
                                f"{metric!r} for {framework}")
        values.append(f"{recorded[framework][metric]:,.{decimals}f}")
    return " / ".join(values)


def measured_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    from docutils import nodes

    env = getattr(inliner.document.settings, "env", None)
    chapter = text.strip().split("/", 1)[0]
    if env is not None:  # rebuild the page when the recorded numbers change
        env.note_dependency(str(RESULTS / f"{chapter}.json"))
    try:
        return [nodes.Text(render(text))], []
    except MeasuredError as error:
        message = inliner.reporter.error(str(error), line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]


def setup(app):
    app.add_role("measured", measured_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
