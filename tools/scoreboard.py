"""The scoreboard page and the chapter-status list, written when the book is built.

    python tools/scoreboard.py [--root DIR]

Reads the headline numbers the labs' full-mode runs recorded (``results/NN_*.json``, with the
supplementary ``NN_*.<name>.json`` that scripts in ``experiments/`` write), the one table of
paper numbers and parity tolerances (``results/scoreboard.json``) and ``_toc.yml``, and writes
``book/results.md`` and ``book/_generated/status.md`` (both generated, not committed). A
chapter appears as soon as its results file or its scoreboard entry exists; nothing here
names a chapter or a number.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, only tools/ is on the path
from tools.freshness import KEY as STAMP  # noqa: E402  the key a lab's stamp is stored under
from helpers.recorded import RecordedError, load_recorded  # noqa: E402  the one reader

SCOREBOARD = "scoreboard.json"
FRAMEWORKS = {"torch": "PyTorch", "tensorflow": "TensorFlow"}
PLACEHOLDER = re.compile(r"^(:::|```)\{admonition\}\s+In preparation\s*$", re.M)
SLACK = 1e-6  # recorded values passed through float32: compare up to that relative rounding
# Units whose values are counts, whole by their meaning (a mean over seeds need not be).
COUNT_UNITS = {"count", "units", "yes/no"}
MARK = {"match": "✓", "miss": "✗", "undecided": "≈"}


class ScoreboardError(ValueError):
    """results/scoreboard.json and the recorded results do not fit together."""


@dataclass(frozen=True)
class Chapter:
    stem: str                     # "01_dropout": the theory page's name and the results file's
    page: Path | None             # the theory page; None for a chapter _toc.yml does not list
    labs: tuple[Path, ...] = ()   # the notebooks the contents list under it


# ---- what the book holds ----------------------------------------------------------------

def toc_chapters(root: Path) -> list[Chapter]:
    """Chapters of _toc.yml in order; parts marked ``numbered: false`` hold no chapters."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    chapters = []
    for part in toc.get("parts", []):
        if part.get("numbered", True) is False:
            continue
        for entry in part.get("chapters", []):
            labs = tuple(source(root, s["file"]) for s in entry.get("sections", []))
            chapters.append(Chapter(Path(entry["file"]).name, source(root, entry["file"]),
                                    tuple(lab for lab in labs if lab.suffix == ".ipynb")))
    return chapters


def source(root: Path, entry: str) -> Path:
    """The file a contents entry names (entries may leave out .md or .ipynb)."""
    path = root / entry
    if path.suffix in (".md", ".ipynb"):
        return path
    return next((p for p in (path.with_suffix(".md"), path.with_suffix(".ipynb")) if p.exists()),
                path.with_suffix(".md"))


def title(chapter: Chapter) -> str:
    """'3 Autoencoders and dropout': the number of the file name and the page's heading."""
    heading = chapter.stem
    if chapter.page is not None and chapter.page.exists():
        heading = next((line[2:].strip() for line in chapter.page.read_text().splitlines()
                        if line.startswith("# ")), heading)
    number = re.match(r"(\d+)_", chapter.stem)
    return f"{int(number.group(1))} {heading}" if number else heading


def link(chapter: Chapter, base: Path) -> str:
    if chapter.page is None or not chapter.page.exists():
        return title(chapter)
    return f"[{title(chapter)}]({os.path.relpath(chapter.page, base)})"


def lab_is_full(notebook: Path) -> bool:
    """The lab exists, has stored outputs, and its stamp says a full-mode run made them."""
    if not notebook.exists():
        return False
    nb = json.loads(notebook.read_text())
    outputs = any(cell.get("outputs") for cell in nb.get("cells", []) if cell["cell_type"] == "code")
    return outputs and nb.get("metadata", {}).get(STAMP, {}).get("mode") == "full"


def status(chapter: Chapter) -> str:
    """'complete', 'theory' (theory page only) or 'preparation'."""
    if chapter.page is None or not chapter.page.exists() or PLACEHOLDER.search(chapter.page.read_text()):
        return "preparation"
    return "complete" if chapter.labs and all(map(lab_is_full, chapter.labs)) else "theory"


def status_list(root: Path, base: Path) -> str:
    groups = {"complete": "**Complete** (theory page and both labs, with stored full-mode outputs)",
              "theory": "**Theory page only** (labs in preparation)",
              "preparation": "**In preparation**"}
    found: dict[str, list[str]] = {key: [] for key in groups}
    for chapter in toc_chapters(root):
        found[status(chapter)].append(link(chapter, base))
    lines = ["% Generated by tools/scoreboard.py from _toc.yml and the files it lists.", ""]
    lines += [f"- {groups[key]}: {', '.join(names)}" for key, names in found.items() if names]
    return "\n".join(lines) + "\n"


# ---- numbers --------------------------------------------------------------------------

def load_scoreboard(path: Path) -> dict[str, dict]:
    """``{chapter: {"no_paper": str, "metrics": {metric: spec}}}``, checked for what the page needs."""
    chapters = json.loads(path.read_text())["chapters"]
    for chapter, entry in chapters.items():
        for metric, spec in entry["metrics"].items():
            where = f"{path.name}: {chapter}/{metric}"
            missing = {"label", "unit", "lower_is_better", "paper", "parity_tolerance"} - set(spec)
            if missing:
                raise ScoreboardError(f"{where} lacks {', '.join(sorted(missing))}")
            check_parity(where, spec)
            paper, goal = spec["paper"], spec.get("goal", {})
            if paper is not None and not {"value", "source", "conditions"} <= set(paper):
                raise ScoreboardError(f"{where}: paper needs value, source and conditions")
            if paper is not None and spec["lower_is_better"] is None and not goal.get("two_sided"):
                raise ScoreboardError(f"{where}: a paper number needs a direction (lower_is_better)"
                                      " or a two-sided goal to be judged against")
    return chapters


def check_parity(where: str, spec: dict) -> None:
    """A tolerance comes with ``parity_basis``, the derivation of its value (a seed spread, a
    standard error, a rounding bound, with the numbers); a row without one may say why in
    ``no_parity``. Neither text belongs to the other kind of row."""
    tolerance, basis, reason = spec["parity_tolerance"], spec.get("parity_basis"), spec.get("no_parity")
    forms = {"relative", "sqrt"}
    if isinstance(tolerance, dict) and not (len(tolerance) == 1 and set(tolerance) <= forms and
                                            isinstance(*tolerance.values(), (int, float))):
        raise ScoreboardError(f"{where}: parity_tolerance must be a number, {{\"relative\": r}} or "
                              f"{{\"sqrt\": c}}, not {tolerance}")
    if tolerance is not None and not (isinstance(basis, str) and basis.strip()):
        raise ScoreboardError(f"{where}: parity_tolerance {show_tolerance(tolerance)} needs a "
                              "parity_basis: how the value was derived from the spread two correct "
                              "implementations can show (seed spread, standard error, rounding), "
                              "with the numbers; a tolerance that cannot be derived is null, with "
                              "the reason in no_parity")
    if tolerance is not None and reason is not None:
        raise ScoreboardError(f"{where}: a row with a parity_tolerance has no no_parity")
    if tolerance is None and basis is not None:
        raise ScoreboardError(f"{where}: parity_basis without a parity_tolerance; say why the "
                              "row has none in no_parity")


def parity_tolerances(path: Path) -> list[tuple[str, str, float | dict]]:
    """(chapter, metric, tolerance) of every metric the frameworks are held to agree on."""
    return [(chapter, metric, spec["parity_tolerance"])
            for chapter, entry in load_scoreboard(path).items()
            for metric, spec in entry["metrics"].items() if spec["parity_tolerance"] is not None]


def allowed(a: float, b: float, tolerance: float | dict) -> float:
    """The difference ``tolerance`` allows between a and b: a number (absolute, in the
    metric's unit), ``{"relative": r}`` (r times the larger magnitude) or ``{"sqrt": c}``
    (c times the square root of the larger magnitude: a rounding bound that grows like the
    square root of the value, as an FID's does)."""
    if isinstance(tolerance, dict):
        if "relative" in tolerance:
            return tolerance["relative"] * max(abs(a), abs(b))
        return tolerance["sqrt"] * math.sqrt(max(abs(a), abs(b)))
    return tolerance


def within(a: float, b: float, tolerance: float | dict) -> bool:
    """|a - b| within ``tolerance`` (see :func:`allowed`)."""
    return abs(a - b) <= allowed(a, b, tolerance) + SLACK * max(1.0, abs(a), abs(b))


def show_tolerance(tolerance: float | dict) -> str:
    if isinstance(tolerance, dict):
        if "relative" in tolerance:
            return f"{tolerance['relative']:g} relative"
        return f"{tolerance['sqrt']:g}√value"
    return f"{tolerance:g}"


def verdict(value: float, spec: dict, se: float | None = None) -> str:
    """'match', 'miss', 'undecided' or 'no paper number', by the rules the page states.

    A goal that names a standard error (``goal["se"]``, a metric the chapter records) is
    judged with ``se``, that metric's value: met when the value is better than the goal's
    bound by more than two standard errors, missed when worse by more than two, undecided in
    between; without a recorded ``se`` it is judged on the value alone."""
    paper = spec["paper"]
    if paper is None:
        return "no paper number"
    goal, target = spec.get("goal", {}), paper["value"]
    allowed = goal.get("within", 0.0)
    if goal.get("two_sided"):
        return "match" if within(value, target, allowed) else "miss"
    if goal.get("se") and se is not None:
        sign = 1 if spec["lower_is_better"] else -1
        margin = sign * (target + sign * allowed - value)  # > 0: better than the bound
        if margin > 2 * se:
            return "match"
        return "miss" if margin < -2 * se else "undecided"
    better = value <= target if spec["lower_is_better"] else value >= target
    return "match" if better or within(value, target, allowed) else "miss"


def fmt(value: float, unit: str) -> str:
    """Counts as whole numbers (a mean of counts to the decimals it needs, at most 2);
    percentages and points to 2 decimals, p-values and numbers below 1 to 3 significant digits."""
    if unit in COUNT_UNITS:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if unit in ("%", "points") or (unit != "p-value" and (abs(value) >= 1 or value == 0)):
        return f"{value:,.2f}"
    return f"{value:#.3g}"


def judged_as(spec: dict) -> str | None:
    """'goal' (the row states a goal against the paper's number), 'paper' (a paper number
    without a goal) or None (nothing to judge a value against)."""
    if spec["paper"] is None:
        return None
    return "goal" if spec.get("goal") else "paper"


def rule(spec: dict) -> str:
    """The rule :func:`verdict` applies to a row, in words: what earns ✓ and what ✗."""
    goal, unit = spec.get("goal") or {}, spec["unit"]
    paper = fmt(spec["paper"]["value"], unit)
    d = f"{goal.get('within', 0.0):g}"
    if goal.get("two_sided"):
        return (f"Verdict: ✓ (goal met) when a value is within {d} of the paper's {paper} "
                "either way, ✗ (goal missed) when it is farther.")
    worse = "above" if spec["lower_is_better"] else "below"
    if goal.get("se"):
        return (f"Verdict, with the standard error the row records as `{goal['se']}`: ✓ (goal "
                f"met) when a value is better than the paper's {paper} with {d} allowed by more "
                f"than two standard errors, ✗ (goal missed) when it is worse than that by more "
                f"than two, ≈ (undecided) in between.")
    if goal:
        return (f"Verdict: ✓ (goal met) when a value is at most {d} {worse} the paper's {paper} "
                f"or better, ✗ (goal missed) when it is more than {d} {worse} it.")
    return (f"Verdict: ✓ (paper matched) when a value is not {worse} the paper's {paper}, "
            f"✗ (paper missed) when it is {worse} it.")


def fmt_difference(a: float, b: float, unit: str) -> str:
    """|a - b| to as many decimals as the two values are shown with."""
    decimals = max(len(fmt(v, unit).partition(".")[2]) for v in (a, b))
    return f"{abs(a - b):,.{decimals}f}"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def unit_text(spec: dict) -> str:
    """'% ↓': the unit, and an arrow for the better direction (none when neither is)."""
    return spec["unit"] + {True: " ↓", False: " ↑", None: ""}[spec["lower_is_better"]]


def common_unit(metrics: dict[str, dict]) -> str | None:
    """The unit (with its arrow) that most of a chapter's rows share, stated once above the
    table; None when no two rows share one."""
    units = [unit_text(spec) for spec in metrics.values()]
    most = max(units, key=units.count, default=None)
    return most if most is not None and units.count(most) >= 2 else None


def parity_text(values: dict[str, float | None], spec: dict) -> str:
    """'0.02 ≤ 0.2 ✓' (parity ok), '0.30 > 0.2 ✗' (parity miss), '' where there is no
    tolerance; a square-root tolerance is shown as the difference it allows for these two
    values."""
    if None in values.values():
        return "not checked (one framework)"
    a, b = values.values()
    difference, tolerance = fmt_difference(a, b, spec["unit"]), spec["parity_tolerance"]
    if tolerance is None:
        return ""
    ok = within(a, b, tolerance)
    shown = (f"{allowed(a, b, tolerance):.2g}" if isinstance(tolerance, dict) and "sqrt" in tolerance
             else show_tolerance(tolerance))
    return f"{difference} {'≤' if ok else '>'} {shown} {'✓' if ok else '✗'}"


def metric_row(spec: dict, values: dict[str, float | None], notes: list[str],
               unit: str | None = None, ses: dict[str, float | None] | None = None) -> str:
    """One table row: the metric, each framework's value with its verdict (✓ or ✗), their
    parity and the paper's number.

    The unit goes into the metric's cell unless it is ``unit``, the one stated above the
    table. The paper's conditions with the rule of the verdict, or why there is no paper
    number, and how the parity tolerance was derived, or why there is none, go to ``notes``
    (numbered under the table, one number per distinct text) so that the table stays narrow.
    A cell with nothing to show (no tolerance, no paper number) is blank but for its note.
    """
    paper = spec["paper"]

    def note(text: str) -> str:
        if text not in notes:
            notes.append(text)
        return f" (note {notes.index(text) + 1})"

    metric = spec["label"] + ("" if unit_text(spec) == unit else f" ({unit_text(spec)})")
    parity = parity_text(values, spec)
    if spec.get("parity_basis"):
        parity += note(f"Parity tolerance {show_tolerance(spec['parity_tolerance'])}: "
                       f"{spec['parity_basis']}")
    elif spec.get("no_parity"):
        parity += note(f"No parity tolerance. {spec['no_parity']}")
    ses = ses or {}
    shown = [("not recorded" if v is None else fmt(v, spec["unit"])
              + (f" {MARK[verdict(v, spec, ses.get(fw))]}" if paper is not None else ""))
             for fw, v in values.items()]
    if paper is None:
        reference = note(spec["no_paper"]) if spec.get("no_paper") else ""
    else:
        goal = spec.get("goal", {}).get("text")
        reference = f"**{fmt(paper['value'], spec['unit'])}**, {paper['source']}" + note(
            f"Conditions: {paper['conditions']}." + (f" Goal: {goal}." if goal else "")
            + f" {rule(spec)}")
    return "| " + " | ".join(cell(c.strip()) for c in [metric, *shown, parity, reference]) + " |"


def chapter_section(chapter: Chapter, base: Path, recorded: dict | None, entry: dict | None) -> str:
    lines = [f"## {title(chapter)}", ""]
    if chapter.page is not None and chapter.page.exists():
        name = title(chapter).split(" ", 1)[-1] if re.match(r"\d+_", chapter.stem) else title(chapter)
        lines += [f"Theory page: [{name}]({os.path.relpath(chapter.page, base)}).", ""]
    elif chapter.page is None:
        lines += ["This chapter is not in the book's contents (_toc.yml).", ""]
    if not recorded:
        return "\n".join(lines + ["No measured results yet.", ""])
    entry = entry or {"metrics": {}}
    metrics = entry["metrics"]
    names = {metric for values in recorded.values() for metric in values}
    for metric in metrics:
        if metric not in names:
            raise ScoreboardError(f"{SCOREBOARD} lists {chapter.stem}/{metric}, but "
                                  f"results/{chapter.stem}*.json record it for no framework "
                                  f"(recorded: {', '.join(sorted(names))})")
    if "no_paper" in entry:
        lines += [f"Paper numbers: {entry['no_paper']}", ""]
    if metrics:
        lines += [f":::{{dropdown}} Table: {plural(len(metrics), 'metric')}", ":open:", ""]
        unit = common_unit(metrics)
        if unit is not None:
            every = all(unit_text(spec) == unit for spec in metrics.values())
            lines += [f"Unit: {unit}" + ("." if every else ", unless a row names another."), ""]
        lines += ["| metric | " + " | ".join(FRAMEWORKS.values()) + " | parity | paper |",
                  "|---" * (len(FRAMEWORKS) + 3) + "|"]
        notes: list[str] = []
        lines += [metric_row(spec, {fw: recorded.get(fw, {}).get(metric) for fw in FRAMEWORKS},
                             notes, unit, standard_errors(recorded, spec))
                  for metric, spec in metrics.items()]
        lines += [""] + [f"{i}. {text}" for i, text in enumerate(notes, 1)] + [""] * bool(notes)
        lines += [":::", ""]
    present = [name for fw, name in FRAMEWORKS.items() if fw in recorded]
    if len(present) < len(FRAMEWORKS):
        lines += [f"Only {' and '.join(present)} has recorded results so far.", ""]
    unlisted = sorted(names - set(metrics))
    if unlisted:
        lines += [f":::{{dropdown}} Also recorded: {plural(len(unlisted), 'metric')}", "",
                  "Recorded by the labs, with no entry in `results/scoreboard.json`: "
                  + ", ".join(f"`{m}`" for m in unlisted) + ".", "", ":::", ""]
    return "\n".join(lines)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def standard_errors(recorded: dict | None, spec: dict) -> dict[str, float | None]:
    """Each framework's recorded value of the standard error a row's goal names, if any."""
    name = (spec.get("goal") or {}).get("se")
    return {fw: (recorded or {}).get(fw, {}).get(name) if name else None for fw in FRAMEWORKS}


def tally(recorded: dict | None, entry: dict | None) -> dict[str, list[int]]:
    """``{"goal": [met, missed, undecided], "paper": [matched, missed, 0]}`` over a chapter's
    rows: each framework's recorded value counts once, judged by :func:`verdict`; a row with a
    goal counts under "goal", a paper number without one under "paper"."""
    counts = {"goal": [0, 0, 0], "paper": [0, 0, 0]}
    slot = {"match": 0, "miss": 1, "undecided": 2}
    for metric, spec in ((entry or {}).get("metrics") or {}).items():
        kind = judged_as(spec)
        if kind is None:
            continue
        ses = standard_errors(recorded, spec)
        for fw, values in (recorded or {}).items():
            if values.get(metric) is not None:
                counts[kind][slot[verdict(values[metric], spec, ses.get(fw))]] += 1
    return counts


KINDS = (("goal", 3), ("paper", 2))  # the columns of the summary: counts shown per kind


def summary_section(chapters: list[Chapter], recorded: dict, scores: dict) -> str:
    """One row per chapter with judged rows: goals met and missed, paper numbers matched and
    missed, and the total; the rules under the table."""
    lines = ["## Summary", "",
             "Each framework's recorded value counts once, judged as in the chapter's table.", "",
             "| chapter | goals met | goals missed | goals undecided | paper matched | paper missed |",
             "|---|---|---|---|---|---|"]
    total = {"goal": [0, 0, 0], "paper": [0, 0, 0]}
    shown = 0
    for chapter in chapters:
        counts = tally(recorded.get(chapter.stem), scores.get(chapter.stem))
        if not any(map(sum, counts.values())):
            continue
        shown += 1
        for kind in total:
            total[kind] = [t + c for t, c in zip(total[kind], counts[kind])]
        numbers = [str(n) if sum(counts[kind]) else "" for kind, used in KINDS
                   for n in counts[kind][:used]]
        lines.append("| " + " | ".join(cell(c) for c in [title(chapter), *numbers]) + " |")
    if not shown:
        return "\n".join(lines[:2] + ["No recorded value has a goal or a paper number yet.", ""])
    if shown > 1:
        lines.append("| **all chapters** | " + " | ".join(
            f"**{n}**" for kind, used in KINDS for n in total[kind][:used]) + " |")
    lines += ["",
              "- **goals**: rows of `results/scoreboard.json` that state a goal against the "
              "paper's number. A value meets a goal \"within *d*\" when it is at most *d* worse "
              "than the paper's number or better; where the paper's number is to be reproduced "
              "(a closed form), when it is within *d* either way. A goal that names a standard "
              "error is met only when the value is better than its bound by more than two of "
              "them, missed only when worse by more than two, and undecided (≈) in between.",
              "- **paper**: the other rows with a paper number. A value matches it when it is at "
              "least as good as the paper's: not above it when lower is better, not below it "
              "when higher is better.",
              "- Values are compared as recorded, up to float32 rounding. Each row's rule is "
              "in the note beside its paper number.", ""]
    return "\n".join(lines)


HEAD = """\
# Scoreboard

% Generated by tools/scoreboard.py from results/*.json and results/scoreboard.json.
"""

INTRO = """\
## How to read the tables

Every headline number that the labs' full-mode runs recorded, PyTorch beside TensorFlow, and
beside the paper's number where a paper reports one; where a script in `experiments/` ran a
lab's model longer than the lab can, its numbers appear in the chapter's table too, in the
framework it ran in. The paper numbers, their conditions and
the tolerances are typed in one place, `results/scoreboard.json`; the measured numbers come
from the files the labs wrote, and this page is rebuilt from both with the book.

Each chapter's table, with its numbered notes, folds away under its heading (click the bar
above it); so do the names of the metrics a chapter recorded that have no row.

- **metric**: what the labs measured. The unit is stated above the table, or in parentheses
  after the metric where it is another; an arrow after the unit says which direction is
  better (↓ lower, ↑ higher), and there is none when neither is.
- **PyTorch**, **TensorFlow**: the value each framework recorded (counts as whole numbers,
  a mean of counts to the decimals it needs) and, where a paper reports a number, its
  verdict: ✓ or ✗ against the paper's number, by the rule in the note beside that number.
  Where the metric states a goal "within *d*", a value meets it (✓) when it is at most *d*
  worse than the paper's or better; where the paper's number is to be reproduced (a closed
  form), when it is within *d* either way; where the goal names a standard error the run
  recorded, it is met only beyond two standard errors, missed only beyond two the other way,
  and undecided (≈) in between. Without a goal, a value matches (✓) only when it
  is at least as good as the paper's (not above it when lower is better, not below it when
  higher is better).
- **parity**: how far apart the two frameworks are, |PyTorch − TensorFlow|, against the
  tolerance where one is set: ✓ (parity ok) when the difference is within it, ✗ (parity miss)
  when it is not; the tests fail on a miss. Blank where the frameworks are not held to
  agree. Values are compared as recorded, up to float32 rounding. A numbered note under
  the table gives each tolerance's derivation from the spread two correct implementations can
  show (the spread over seeds, a standard error, a rounding bound), or why a row has none:
  its two values come from the same code on the same data, or nothing recorded bounds their
  spread. A note that begins *NOT DERIVED* marks a tolerance kept from before because the
  derived one is smaller than the recorded difference.
- **paper**: the paper's number and its source, with a numbered note under the table giving
  the conditions under which the paper measured it and the rule of the verdict. Blank where
  no paper reports a number; the note above the chapter's table, or the numbered note under
  it, says why.
"""


def show_time(stamp: str) -> str:
    """'2026-11-23T17:45:07Z' as '23 Nov 2026 17:45:07': no hyphen for a narrow column to
    break the date at."""
    try:
        when = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return stamp
    month = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()[when.month - 1]
    return f"{when.day} {month} {when.year} {when:%H:%M:%S}"


# What helpers.checkpoints.train_once (and load_or_train, which keys by config alone) prints
# when it loads a network instead of training it.
LOADED = re.compile(r"^loaded (\S+) \((?:this code, this config|trained earlier with this config)\)$",
                    re.M)


def loaded_checkpoints(nb: dict) -> list[str]:
    """The checkpoints a lab's stored run loaded instead of training, read from its outputs."""
    return [name for c in nb.get("cells", []) if c.get("cell_type") == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "stream"
            for name in LOADED.findall("".join(o.get("text", "")))]


def runs_section(labs: list[Path], base: Path) -> str:
    """Where and how long each lab's stored outputs ran, and with which libraries: read from
    the stamp tools/execute.py wrote into the notebook."""
    lines = ["## How the stored outputs were made", "",
             "Read from the stamp each lab's full-mode run left in its notebook. A run that "
             "loaded networks trained by an earlier full-mode run of the same code (same "
             "configuration and training code, `helpers.checkpoints.train_once`) takes less "
             "time than one that "
             "trains them; the count of loaded networks is shown, and each lab prints which.", "",
             "| lab | device; wall time; run on (UTC) | libraries |", "|---|---|---|"]
    for lab in labs:
        nb = json.loads(lab.read_text())
        stamp = nb.get("metadata", {}).get(STAMP) or {}
        if stamp.get("mode") != "full":
            continue
        seconds = stamp.get("wall_time_s")
        minutes = f"{seconds / 60:,.1f} min" if seconds is not None else "?"
        versions = ", ".join(f"{k} {v}" for k, v in sorted(stamp.get("versions", {}).items()))
        when = show_time(str(stamp.get("executed_at", "?")))
        name = f"[{lab.stem}]({os.path.relpath(lab, base)})"
        device = stamp.get("device_name", "?")
        if stamp.get("threads"):  # the kernel was limited: tools/execute.py --threads N
            device += f" ({stamp['threads']} thread{'s' if stamp['threads'] != 1 else ''})"
        run = f"{device}; {minutes}; {when}"
        loaded = len(loaded_checkpoints(nb))
        if loaded:
            run += f"; {loaded} network{'s' if loaded != 1 else ''} loaded, not trained"
        lines.append("| " + " | ".join(cell(c) for c in [name, run, versions]) + " |")
    return "\n".join(lines) + "\n"


def scoreboard_page(root: Path, results: Path) -> str:
    try:
        recorded = load_recorded(results)
    except RecordedError as error:
        raise ScoreboardError(str(error)) from error
    scores = load_scoreboard(results / SCOREBOARD)
    chapters = toc_chapters(root)
    known = {c.stem for c in chapters}
    base = root / "book"
    runs = runs_section(sorted((root / "notebooks").glob("*.ipynb")), base)
    chapters += [Chapter(stem, None) for stem in sorted((set(recorded) | set(scores)) - known)]
    return "\n".join([HEAD, summary_section(chapters, recorded, scores), INTRO]
                     + [chapter_section(c, base, recorded.get(c.stem), scores.get(c.stem))
                                for c in chapters] + [runs])


def write_if_changed(path: Path, text: str) -> None:
    """Leave an unchanged file alone, so that Sphinx does not rebuild the pages that use it."""
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def build(root: Path, results: Path | None = None) -> tuple[Path, Path]:
    """Write book/results.md and book/_generated/status.md under ``root``."""
    book = root / "book"
    page, listing = book / "results.md", book / "_generated" / "status.md"
    write_if_changed(page, scoreboard_page(root, results or root / "results"))
    write_if_changed(listing, status_list(root, book))
    return page, listing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's root folder")
    args = parser.parse_args()
    for path in build(args.root.resolve()):
        print(f"wrote {path.relative_to(args.root.resolve())}")


if __name__ == "__main__":
    main()
