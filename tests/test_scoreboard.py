"""The scoreboard page and the status list: built from the files, on the real book and on
small books written to a temporary folder."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import tools.scoreboard as scoreboard  # noqa: E402
from helpers.recorded import RecordedError, load_recorded  # noqa: E402
from tools.scoreboard import (SCOREBOARD, ScoreboardError, build, fmt,  # noqa: E402
                              load_scoreboard, scoreboard_page, status_list,
                              unit_text, verdict)


def spec(**changes) -> dict:
    """A scoreboard entry for one metric, lower is better, no paper, no tolerance."""
    return {"label": "error", "unit": "%", "lower_is_better": True, "paper": None,
            "parity_tolerance": None, **changes}


def write_book(root: Path, toc: dict[str, list[str]], results: dict[str, dict],
               scores: dict[str, dict]) -> Path:
    """A book under ``root``: ``toc`` maps each chapter to its labs; pages say '# <stem>'."""
    parts = [{"caption": stem, "chapters": [{"file": f"book/{stem}", "sections": [
        {"file": f"notebooks/{lab}"} for lab in labs]}]} for stem, labs in toc.items()]
    parts.append({"caption": "Scoreboard", "numbered": False,
                  "chapters": [{"file": "book/results"}]})
    (root / "_toc.yml").write_text(json.dumps({"format": "jb-book", "root": "book/intro",
                                               "parts": parts}))  # JSON is YAML
    (root / "book").mkdir(parents=True, exist_ok=True)
    for stem in toc:
        (root / "book" / f"{stem}.md").write_text(f"# Title of {stem}\n\nText.\n")
    (root / "results").mkdir(exist_ok=True)
    for stem, recorded in results.items():
        (root / "results" / f"{stem}.json").write_text(json.dumps(recorded))
    (root / "results" / SCOREBOARD).write_text(json.dumps({"chapters": scores}))
    return root


def write_lab(path: Path, *, mode: str | None = "full", outputs: bool = True) -> None:
    cell = {"cell_type": "code", "source": "print(1)", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}] if outputs else []}
    metadata = {"dropout_to_fid": {"mode": mode}} if mode else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [cell], "metadata": metadata, "nbformat": 4,
                                "nbformat_minor": 5}))


def row(page: str, label: str) -> str:
    """The table row of the metric ``label`` (its unit may follow the label in parentheses)."""
    return next(line for line in page.splitlines()
                if line.startswith((f"| {label} |", f"| {label} (")))


def section(page: str, heading: str) -> str:
    """The text of the chapter whose heading starts with ``heading``, up to the next one."""
    return page.split(f"\n## {heading}")[1].split("\n## ")[0]


# ---- the real book ----------------------------------------------------------------------

def test_page_shows_every_recorded_headline_number():
    """Each metric's row shows both frameworks' values (with a verdict where there is a paper
    number), their parity and the paper's number with its source; its unit is in the row or
    stated above the chapter's table."""
    page = scoreboard_page(ROOT, ROOT / "results")
    scores = load_scoreboard(ROOT / "results" / SCOREBOARD)
    checked = 0
    every = load_recorded(ROOT / "results")
    for chapter, entry in scores.items():
        if chapter not in every:
            continue
        recorded = every[chapter]
        text = section(page, str(int(chapter.split("_")[0])) + " ")
        for metric, metric_spec in entry["metrics"].items():
            line = row(text, metric_spec["label"])
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            assert len(cells) == 5, line  # metric, PyTorch, TensorFlow, parity, paper
            unit = unit_text(metric_spec)
            assert f"({unit})" in cells[0] or f"\nUnit: {unit}" in text, (chapter, metric)
            for framework, shown in zip(("torch", "tensorflow"), cells[1:3]):
                value = recorded.get(framework, {}).get(metric)
                if value is None:  # a longer run in one framework only (experiments/)
                    assert shown == "not recorded", (chapter, metric, framework)
                    continue
                assert shown.startswith(fmt(value, metric_spec["unit"])), (chapter, metric)
                if metric_spec["paper"] is not None:
                    se = recorded.get(framework, {}).get(
                        (metric_spec.get("goal") or {}).get("se"))
                    mark = {"match": "✓", "miss": "✗", "undecided": "≈"}[
                        verdict(value, metric_spec, se)]
                    assert shown.endswith(f" {mark}"), (chapter, metric)
                checked += 1
            if metric_spec["parity_tolerance"] is not None:
                parity, _, note = cells[3].partition(" (note ")
                assert parity.endswith(("✓", "✗")), (chapter, metric)
                number = int(note.rstrip(")"))   # the tolerance's derivation, under the table
                assert f"\n{number}. Parity tolerance " in text, (chapter, metric)
                assert metric_spec["parity_basis"] in text, (chapter, metric)
            else:  # no tolerance: blank but for the note that says why, if there is one
                assert cells[3] == "" or cells[3].startswith(("(note ", "not checked")), \
                    (chapter, metric)
                if metric_spec.get("no_parity"):
                    assert metric_spec["no_parity"] in text, (chapter, metric)
                    assert "(note " in cells[3], (chapter, metric)
            paper = metric_spec["paper"]
            if paper is not None:
                assert cells[4].startswith(f"**{fmt(paper['value'], metric_spec['unit'])}**, "
                                           f"{paper['source']} (note "), (chapter, metric)
                number = int(cells[4].rsplit("(note ", 1)[1].rstrip(")"))
                assert f"\n{number}. Conditions: " in text, (chapter, metric)
                assert scoreboard.rule(metric_spec) in text, (chapter, metric)
            else:
                assert cells[4] == "" or cells[4].startswith("(note "), (chapter, metric)
    assert checked > 0


def test_every_recorded_chapter_has_scoreboard_entries():
    scores = load_scoreboard(ROOT / "results" / SCOREBOARD)
    recorded = set(load_recorded(ROOT / "results"))  # 04_vae.long.json counts as 04_vae
    assert recorded <= set(scores), f"no scoreboard entry for {sorted(recorded - set(scores))}"


def test_every_toc_chapter_is_on_the_page():
    page = scoreboard_page(ROOT, ROOT / "results")
    for stem in ("01_dropout", "07_fid"):
        assert f"]({stem}.md)" in page


# ---- small books in tmp_path ------------------------------------------------------------

def test_a_new_chapter_appears_without_code_changes(tmp_path):
    write_book(tmp_path, {"01_old": [], "09_new": [], "10_later": []},
               results={"09_new": {"torch": {"fid": 12.345}, "tensorflow": {"fid": 12.5}}},
               scores={"09_new": {"metrics": {"fid": spec(
                   label="FID of the generator", unit="FID",
                   paper={"value": 13.0, "source": "Someone (2030)", "conditions": "their net"},
                   parity_tolerance=0.5, parity_basis="2 × the seeds' spread.")}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert "## 9 Title of 09_new" in page and "[Title of 09_new](09_new.md)" in page
    line = row(page, "FID of the generator")
    assert line == ("| FID of the generator (FID ↓) | 12.35 ✓ | 12.50 ✓ "
                    "| 0.15 ≤ 0.5 ✓ (note 1) | **13.00**, Someone (2030) (note 2) |")
    assert ("\n1. Parity tolerance 0.5: 2 × the seeds' spread.\n"
            "2. Conditions: their net. Verdict: ✓ (paper matched) when a value is not above "
            "the paper's 13.00, ✗ (paper missed) when it is above it.\n") in page
    later = page.split("## 10 Title of 10_later")[1]
    assert "No measured results yet." in later
    assert "No measured results yet." in page.split("## 1 Title of 01_old")[1].split("## 9")[0]


def test_parity_miss_is_flagged(tmp_path):
    scores = {"01_a": {"metrics": {"err": spec(parity_tolerance=0.2, parity_basis="Derived.")}}}
    write_book(tmp_path, {"01_a": []}, {"01_a": {"torch": {"err": 1.5}, "tensorflow": {"err": 1.2}}},
               scores)
    assert "| 0.30 > 0.2 ✗ (note 1) |" in row(scoreboard_page(tmp_path, tmp_path / "results"), "error")


def test_units_tolerances_and_notes(tmp_path):
    paper = {"value": 1.0, "source": "X (2001)", "conditions": "their net"}
    metrics = {"a": spec(no_paper="Why not."),
               "b": spec(label="paper error", paper=paper, goal={"within": 0.1, "text": "near it"},
                         parity_tolerance={"relative": 0.1}, parity_basis="A rounding bound."),
               "c": spec(label="entropy", unit="nats", lower_is_better=None, no_paper="Why not.")}
    write_book(tmp_path, {"01_a": [], "02_b": []},
               {"01_a": {"torch": {"a": 1.0, "b": 1.05, "c": 0.5},
                         "tensorflow": {"a": 1.1, "b": 1.2, "c": 0.25}},
                "02_b": {"torch": {"a": 2.0, "b": 3.0}, "tensorflow": {"a": 2.0, "b": 3.0}}},
               {"01_a": {"metrics": metrics},
                "02_b": {"metrics": {"a": spec(), "b": spec(label="other error")}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    first, second = section(page, "1 "), section(page, "2 ")
    assert "\nUnit: % ↓, unless a row names another.\n" in first
    assert row(first, "error") == "| error | 1.00 | 1.10 |  | (note 1) |"
    assert row(first, "paper error") == ("| paper error | 1.05 ✓ | 1.20 ✗ "
                                         "| 0.15 > 0.1 relative ✗ (note 2) "
                                         "| **1.00**, X (2001) (note 3) |")
    assert row(first, "entropy").startswith("| entropy (nats) | 0.500 | 0.250 |  | (note 1) |")
    assert ("\n1. Why not.\n2. Parity tolerance 0.1 relative: A rounding bound.\n"
            "3. Conditions: their net. Goal: near it. Verdict: ✓ (goal met) when a value is at "
            "most 0.1 above the paper's 1.00 or better, ✗ (goal missed) when it is more than 0.1 "
            "above it.\n") in first
    assert "\nUnit: % ↓.\n" in second and row(second, "other error").startswith("| other error |")


def test_one_framework_only(tmp_path):
    write_book(tmp_path, {"01_a": []}, {"01_a": {"torch": {"err": 1.5}}},
               {"01_a": {"metrics": {"err": spec(parity_tolerance=0.2, parity_basis="Derived.")}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert "| 1.50 | not recorded | not checked (one framework) (note 1) |" in row(page, "error")
    assert "Only PyTorch has recorded results so far." in page


def test_a_listed_metric_nobody_recorded_is_an_error(tmp_path):
    write_book(tmp_path, {"01_a": []}, {"01_a": {"torch": {"err": 1.0}, "tensorflow": {"err": 1.0}}},
               {"01_a": {"metrics": {"err": spec(), "typo_err": spec(label="typo")}}})
    with pytest.raises(ScoreboardError, match="01_a/typo_err.*record it for no framework"):
        scoreboard_page(tmp_path, tmp_path / "results")


def test_a_recorded_metric_without_entry_is_noted(tmp_path):
    write_book(tmp_path, {"01_a": [], "02_b": []},
               {"01_a": {"torch": {"err": 1.0, "extra": 2.0}, "tensorflow": {"err": 1.0, "extra": 2.0}},
                "02_b": {"torch": {"loss": 3.0}, "tensorflow": {"loss": 3.0}}},
               {"01_a": {"metrics": {"err": spec()}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    first, second = section(page, "1 "), section(page, "2 ")
    for text, name in ((first, "extra"), (second, "loss")):
        assert (":::{dropdown} Also recorded: 1 metric\n\nRecorded by the labs, with no entry "
                f"in `results/scoreboard.json`: `{name}`.\n\n:::\n") in text


def test_a_scripts_results_join_their_chapter(tmp_path):
    """results/01_a.long.json (a script in experiments/) adds its framework entries to chapter
    01_a; its raw records ("runs") are not metrics."""
    write_book(tmp_path, {"01_a": []},
               {"01_a": {"torch": {"err": 1.0}, "tensorflow": {"err": 1.1}},
                "01_a.long": {"torch": {"long_err": 0.5}, "runs": {"x": {"evaluations": []}}}},
               {"01_a": {"metrics": {"err": spec(), "long_err": spec(label="long error")}}})
    assert load_recorded(tmp_path / "results") == {
        "01_a": {"torch": {"err": 1.0, "long_err": 0.5}, "tensorflow": {"err": 1.1}}}
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert "| 0.50 | not recorded | not checked (one framework) |" in row(page, "long error")
    assert "Only PyTorch" not in page and "## 1 " in page and "01_a.long" not in page


def test_a_metric_recorded_in_two_files_is_an_error(tmp_path):
    write_book(tmp_path, {"01_a": []},
               {"01_a": {"torch": {"err": 1.0}}, "01_a.long": {"torch": {"err": 0.5}}}, {})
    with pytest.raises(RecordedError, match=r"01_a/err is recorded for torch in both "
                                            r"01_a\.json and 01_a\.long\.json"):
        load_recorded(tmp_path / "results")
    with pytest.raises(ScoreboardError, match="recorded for torch in both"):
        scoreboard_page(tmp_path, tmp_path / "results")
    # the same name for another framework is no collision
    (tmp_path / "results" / "01_a.long.json").write_text(json.dumps({"tensorflow": {"err": 0.5}}))
    assert load_recorded(tmp_path / "results")["01_a"] == {"torch": {"err": 1.0},
                                                           "tensorflow": {"err": 0.5}}


def test_a_paper_number_needs_a_direction(tmp_path):
    paper = {"value": 1.0, "source": "X", "conditions": "Y"}
    write_book(tmp_path, {}, {}, {"01_a": {"metrics": {"m": spec(lower_is_better=None, paper=paper)}}})
    with pytest.raises(ScoreboardError, match="needs a direction"):
        load_scoreboard(tmp_path / "results" / SCOREBOARD)


def test_a_tolerance_needs_its_basis(tmp_path):
    """A parity tolerance is derived, and its derivation is written beside it (parity_basis);
    a row without a tolerance may say why in no_parity, and the two do not mix."""
    cases = [(spec(parity_tolerance=0.2), r"01_a/m: parity_tolerance 0\.2 needs a parity_basis"),
             (spec(parity_tolerance={"relative": 1e-3}, parity_basis="  "),
              r"01_a/m: parity_tolerance 0\.001 relative needs a parity_basis"),
             (spec(parity_tolerance=0.2, parity_basis="Derived.", no_parity="Why not."),
              "a row with a parity_tolerance has no no_parity"),
             (spec(parity_basis="Derived."), "parity_basis without a parity_tolerance")]
    for metric_spec, message in cases:
        write_book(tmp_path, {}, {}, {"01_a": {"metrics": {"m": metric_spec}}})
        with pytest.raises(ScoreboardError, match=message):
            load_scoreboard(tmp_path / "results" / SCOREBOARD)
    write_book(tmp_path, {}, {}, {"01_a": {"metrics": {
        "m": spec(parity_tolerance=0.2, parity_basis="Derived."), "n": spec(no_parity="Why not.")}}})
    assert load_scoreboard(tmp_path / "results" / SCOREBOARD)["01_a"]["metrics"]["n"]["no_parity"]


def test_a_row_without_a_parity_check_says_why(tmp_path):
    write_book(tmp_path, {"01_a": []}, {"01_a": {"torch": {"err": 1.0}, "tensorflow": {"err": 1.0}}},
               {"01_a": {"metrics": {"err": spec(no_parity="The same NumPy code in both labs.")}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert row(page, "error") == "| error (% ↓) | 1.00 | 1.00 | (note 1) |  |"
    assert "\n1. No parity tolerance. The same NumPy code in both labs.\n" in page


def test_status_is_read_from_the_files(tmp_path):
    labs = {"01_done": ["01_done_pytorch", "01_done_tensorflow"],
            "02_fast": ["02_fast_pytorch", "02_fast_tensorflow"],
            "03_empty": ["03_empty_pytorch"], "04_theory": [], "05_soon": [], "06_missing": ["06_x"]}
    write_book(tmp_path, labs, {}, {})
    for stem in ("01_done", "02_fast"):
        write_lab(tmp_path / "notebooks" / f"{stem}_pytorch.ipynb")
    write_lab(tmp_path / "notebooks" / "01_done_tensorflow.ipynb")
    write_lab(tmp_path / "notebooks" / "02_fast_tensorflow.ipynb", mode="fast")
    write_lab(tmp_path / "notebooks" / "03_empty_pytorch.ipynb", outputs=False)
    (tmp_path / "book" / "05_soon.md").write_text(
        "# Soon\n\n:::{admonition} In preparation\n:class: warning\nNot yet.\n:::\n")
    groups = dict(line[2:].split(": ", 1) for line in
                  status_list(tmp_path, tmp_path / "book").splitlines() if line.startswith("- "))
    assert list(groups) == ["**Complete** (theory page and both labs, with stored full-mode outputs)",
                            "**Theory page only** (labs in preparation)", "**In preparation**"]
    complete, theory, preparation = groups.values()
    assert complete == "[1 Title of 01_done](01_done.md)"
    for stem in ("02_fast", "03_empty", "04_theory", "06_missing"):
        assert f"({stem}.md)" in theory
    assert preparation == "[5 Soon](05_soon.md)"


def test_build_writes_both_files(tmp_path):
    write_book(tmp_path, {"01_a": []}, {"01_a": {"torch": {"err": 1.0}, "tensorflow": {"err": 1.1}}},
               {"01_a": {"metrics": {"err": spec()}}})
    page, listing = build(tmp_path)
    assert page == tmp_path / "book" / "results.md" and page.read_text().startswith("# Scoreboard")
    assert listing == tmp_path / "book" / "_generated" / "status.md"
    assert "Theory page only" in listing.read_text()


# ---- rules --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, changes, expected", [
    (1.30, {}, "miss"),                                        # no goal: must not be worse
    (1.25, {}, "match"),
    (1.18000004, {"goal": {"within": 0.1}}, "match"),          # better than the paper
    (1.35000004, {"goal": {"within": 0.1}}, "match"),          # worse by the allowed 0.1
    (1.36, {"goal": {"within": 0.1}}, "miss"),
    (1.10, {"goal": {"within": 0.1, "two_sided": True}}, "miss"),  # to reproduce, not to beat
    (1.20, {"goal": {"within": 0.1, "two_sided": True}}, "match"),
    (1.30, {"lower_is_better": False}, "match"),
    (1.20, {"lower_is_better": False}, "miss"),
])
def test_verdict_rules(value, changes, expected):
    paper = {"value": 1.25, "source": "X", "conditions": "Y"}
    assert verdict(value, spec(paper=paper, **changes)) == expected


@pytest.mark.parametrize("value, se, expected", [
    (87.0, 0.2, "match"),       # 88 - 87 = 1.0 > 2 se
    (87.7, 0.2, "undecided"),   # 0.3 better than 88: within 2 se
    (88.17, 0.24, "undecided"),  # chapter 4's long VAE
    (88.5, 0.2, "miss"),        # 0.5 worse: beyond 2 se
    (88.5, None, "miss"),       # no standard error recorded: the value alone
    (87.9, None, "match"),
])
def test_a_goal_with_a_standard_error(value, se, expected):
    paper = {"value": 86.76, "source": "X", "conditions": "Y"}
    goal = {"within": 1.24, "se": "nll_se", "text": "88 or less"}
    assert verdict(value, spec(paper=paper, goal=goal), se) == expected
    higher = spec(paper={"value": 90.0, "source": "X", "conditions": "Y"}, lower_is_better=False,
                  goal={"within": 0.0, "se": "s"})
    assert verdict(91.0, higher, 0.4) == "match" and verdict(89.0, higher, 0.4) == "miss"
    assert verdict(90.5, higher, 0.4) == "undecided"


def test_an_undecided_goal_is_marked_and_counted(tmp_path):
    paper = {"value": 86.76, "source": "X", "conditions": "Y"}
    write_book(tmp_path, {"01_a": []},
               {"01_a": {"torch": {"nll": 88.17, "nll_se": 0.24},
                         "tensorflow": {"nll": 87.0, "nll_se": 0.2}}},
               {"01_a": {"metrics": {"nll": spec(label="long run", paper=paper, goal={
                   "within": 1.24, "se": "nll_se", "text": "88 or less"})}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert summary_rows(page) == {"1 Title of 01_a": ["1", "0", "1", "", ""]}
    assert "88.17 ≈" in page and "87.00 ✓" in page
    assert "≈ (undecided) in between" in page


def test_no_paper_number():
    assert verdict(1.0, spec()) == "no paper number"


@pytest.mark.parametrize("value, unit, shown", [
    (1.1800000444, "%", "1.18"), (0.0200000444, "%", "0.02"), (11.6899997, "points", "11.69"),
    (0.000490157, "p-value", "0.000490"), (0.0643, "p-value", "0.0643"), (0.0783366, "nats", "0.0783"),
    (13.866266, "squared error per test image", "13.87"), (45534.2, "nats", "45,534.20"),
])
def test_rounding(value, unit, shown):
    assert fmt(value, unit) == shown


def test_each_lab_run_is_described_from_its_stamp(tmp_path):
    lab = tmp_path / "notebooks" / "09_x_pytorch.ipynb"
    lab.parent.mkdir(parents=True)
    stamp = {"mode": "full", "wall_time_s": 754.0, "device_name": "Some CPU, 2 cores",
             "executed_at": "2026-01-02T03:04:05Z", "versions": {"torch": "9.9.9"}}
    lab.write_text(json.dumps({"cells": [], "metadata": {scoreboard.STAMP: stamp}}))
    (tmp_path / "notebooks" / "09_x_tensorflow.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {scoreboard.STAMP: {"mode": "fast"}}}))
    text = scoreboard.runs_section(sorted((tmp_path / "notebooks").glob("*.ipynb")),
                                   tmp_path / "book")
    row = next(line for line in text.splitlines() if "09_x_pytorch" in line)
    for shown in ("Some CPU, 2 cores", "12.6 min", "2 Jan 2026 03:04:05", "torch 9.9.9"):
        assert shown in row, (shown, row)
    assert "09_x_tensorflow" not in text, "a lab without full-mode outputs has no run to show"


def test_a_run_that_loaded_networks_says_how_many(tmp_path, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    from helpers.checkpoints import train_once

    monkeypatch.setenv("BOOK_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    model = torch.nn.Linear(2, 1)
    train_once("net", model, lambda m: {"loss": [1.0]}, {"lr": 0.1})
    train_once("net", model, lambda m: {"loss": [1.0]}, {"lr": 0.1})  # now loaded
    printed = capsys.readouterr().out
    cell = {"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout",
                                              "text": printed}]}
    assert len(scoreboard.loaded_checkpoints({"cells": [cell]})) == 1

    lab = tmp_path / "notebooks" / "09_x_pytorch.ipynb"
    lab.parent.mkdir(parents=True)
    stamp = {"mode": "full", "wall_time_s": 60.0, "device_name": "Some CPU"}
    lab.write_text(json.dumps({"cells": [cell, cell], "metadata": {scoreboard.STAMP: stamp}}))
    text = scoreboard.runs_section([lab], tmp_path / "book")
    assert "2 networks loaded, not trained" in text
    lab.write_text(json.dumps({"cells": [], "metadata": {scoreboard.STAMP: stamp}}))
    assert "loaded" not in scoreboard.runs_section([lab], tmp_path / "book").split("|---|")[-1]


def test_a_network_train_once_loaded_is_counted_too(tmp_path, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    from helpers.checkpoints import train_once

    monkeypatch.setenv("BOOK_CHECKPOINT_DIR", str(tmp_path))
    model = torch.nn.Linear(2, 1)
    for _ in range(2):  # trained, then loaded
        train_once("net", model, lambda m: {"loss": [1.0]}, {"lr": 0.1})
    printed = capsys.readouterr().out
    cell = {"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout",
                                              "text": printed}]}
    assert scoreboard.loaded_checkpoints({"cells": [cell]}) == ["net-fast.pt"]


def test_a_square_root_tolerance_grows_like_the_root_of_the_values(tmp_path):
    assert scoreboard.within(100.0, 100.045, {"sqrt": 0.0046})      # 0.046 allowed at 100
    assert not scoreboard.within(100.0, 100.05, {"sqrt": 0.0046})
    assert scoreboard.within(1.0, 1.0046, {"sqrt": 0.0046})
    assert not scoreboard.within(1.0, 1.005, {"sqrt": 0.0046})
    assert scoreboard.show_tolerance({"sqrt": 0.0046}) == "0.0046√value"
    write_book(tmp_path, {"01_a": []},
               {"01_a": {"torch": {"err": 100.0}, "tensorflow": {"err": 100.01}}},
               {"01_a": {"metrics": {"err": spec(parity_tolerance={"sqrt": 0.0046},
                                                 parity_basis="A rounding bound.")}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert "| 0.01 ≤ 0.046 ✓ (note 1) |" in row(page, "error")       # the allowed difference
    assert "\n1. Parity tolerance 0.0046√value: A rounding bound.\n" in page
    write_book(tmp_path, {}, {}, {"01_a": {"metrics": {"m": spec(parity_tolerance={"root": 0.1},
                                                                  parity_basis="Derived.")}}})
    with pytest.raises(ScoreboardError, match="must be a number"):
        load_scoreboard(tmp_path / "results" / SCOREBOARD)


def test_a_relative_tolerance_scales_with_the_values():
    assert scoreboard.within(100.0, 100.09, {"relative": 1e-3})
    assert not scoreboard.within(100.0, 100.2, {"relative": 1e-3})
    assert not scoreboard.within(1.0, 1.002, {"relative": 1e-3})
    assert scoreboard.show_tolerance({"relative": 1e-3}) == "0.001 relative"


# ---- what the reader sees first -----------------------------------------------------------

def summary_rows(page: str) -> dict[str, list[str]]:
    """The summary table's rows: chapter -> [goals met, missed, paper matched, missed]."""
    text = page.split("\n## Summary\n")[1].split("\n## ")[0]
    rows = [line.strip("|").split(" | ") for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| chapter |")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


def test_the_page_starts_with_a_summary_per_chapter(tmp_path):
    """Goals met and missed, paper numbers matched and missed: each framework's value counts
    once, a row with a goal under goals, a paper number without one under paper."""
    paper = {"value": 1.0, "source": "X (2001)", "conditions": "their net"}
    write_book(tmp_path, {"01_a": [], "02_b": [], "03_c": [], "04_d": []},
               {"01_a": {"torch": {"g": 1.05, "p": 0.9, "q": 5.0},
                         "tensorflow": {"g": 1.2, "p": 1.1, "q": 5.0}},
                "02_b": {"torch": {"p": 0.5}},
                "03_c": {"torch": {"q": 1.0}, "tensorflow": {"q": 1.0}}},
               {"01_a": {"metrics": {"g": spec(label="goal error", paper=paper,
                                               goal={"within": 0.1, "text": "near it"}),
                                     "p": spec(label="paper error", paper=paper),
                                     "q": spec(label="other")}},
                "02_b": {"metrics": {"p": spec(paper=paper)}},
                "03_c": {"metrics": {"q": spec()}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert page.index("\n## Summary\n") < page.index("\n## How to read the tables\n") \
        < page.index("\n## 1 Title of 01_a\n")
    assert ("| chapter | goals met | goals missed | goals undecided | paper matched "
            "| paper missed |") in page
    assert summary_rows(page) == {
        "1 Title of 01_a": ["1", "1", "0", "1", "1"],
        "2 Title of 02_b": ["", "", "", "1", "0"],      # no goal in the chapter: blank, not 0
        "**all chapters**": ["**1**", "**1**", "**0**", "**2**", "**1**"]}  # 03_c, 04_d: none
    summary = page.split("\n## Summary\n")[1].split("\n## ")[0]
    for rule in ("at most *d* worse than the paper's number or better", "within *d* either way",
                 "at least as good as the paper's"):
        assert rule in summary, rule


def test_a_summary_with_nothing_to_judge(tmp_path):
    write_book(tmp_path, {"01_a": []}, {"01_a": {"torch": {"err": 1.0}, "tensorflow": {"err": 1.0}}},
               {"01_a": {"metrics": {"err": spec()}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert "## Summary\n\nNo recorded value has a goal or a paper number yet.\n" in page
    assert "**all chapters**" not in page


def test_one_chapter_has_no_total_row(tmp_path):
    paper = {"value": 1.0, "source": "X", "conditions": "Y"}
    write_book(tmp_path, {"01_a": []}, {"01_a": {"torch": {"err": 1.0}, "tensorflow": {"err": 2.0}}},
               {"01_a": {"metrics": {"err": spec(paper=paper)}}})
    assert summary_rows(scoreboard_page(tmp_path, tmp_path / "results")) == {
        "1 Title of 01_a": ["", "", "", "1", "1"]}


@pytest.mark.parametrize("changes, rule", [
    ({}, "Verdict: ✓ (paper matched) when a value is not above the paper's 1.25, "
         "✗ (paper missed) when it is above it."),
    ({"lower_is_better": False}, "Verdict: ✓ (paper matched) when a value is not below the "
                                 "paper's 1.25, ✗ (paper missed) when it is below it."),
    ({"goal": {"within": 0.1}}, "Verdict: ✓ (goal met) when a value is at most 0.1 above the "
                                "paper's 1.25 or better, ✗ (goal missed) when it is more than "
                                "0.1 above it."),
    ({"goal": {"within": 0.1}, "lower_is_better": False},
     "Verdict: ✓ (goal met) when a value is at most 0.1 below the paper's 1.25 or better, "
     "✗ (goal missed) when it is more than 0.1 below it."),
    ({"goal": {"within": 0.005, "two_sided": True}},
     "Verdict: ✓ (goal met) when a value is within 0.005 of the paper's 1.25 either way, "
     "✗ (goal missed) when it is farther."),
])
def test_each_verdict_states_its_rule(changes, rule):
    paper = {"value": 1.25, "source": "X", "conditions": "Y"}
    assert scoreboard.rule(spec(paper=paper, **changes)) == rule


def test_a_verdict_is_a_mark_with_its_rule_in_the_paper_note(tmp_path):
    paper = {"value": 1.0, "source": "X (2001)", "conditions": "their net"}
    write_book(tmp_path, {"01_a": []}, {"01_a": {"torch": {"err": 0.95}, "tensorflow": {"err": 1.3}}},
               {"01_a": {"metrics": {"err": spec(paper=paper)}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert row(page, "error") == "| error (% ↓) | 0.95 ✓ | 1.30 ✗ |  | **1.00**, X (2001) (note 1) |"
    assert ("\n1. Conditions: their net. Verdict: ✓ (paper matched) when a value is not above "
            "the paper's 1.00, ✗ (paper missed) when it is above it.\n") in page
    assert "*match*" not in page and "*miss*" not in page


@pytest.mark.parametrize("value, unit, shown", [
    (8.0, "count", "8"), (10.0, "count", "10"), (0.0, "count", "0"), (3.4, "count", "3.4"),
    (9.666666666666666, "count", "9.67"), (16.0, "units", "16"), (1.0, "yes/no", "1"),
    (1234.0, "count", "1,234"), (8.0, "%", "8.00"),
])
def test_counts_are_whole_numbers(value, unit, shown):
    assert fmt(value, unit) == shown


def test_a_count_row_shows_whole_numbers(tmp_path):
    paper = {"value": 7.8, "source": "X", "conditions": "Y"}
    write_book(tmp_path, {"01_a": []},
               {"01_a": {"torch": {"modes": 8.0, "seeds": 5.0}, "tensorflow": {"modes": 7.0, "seeds": 5.0}}},
               {"01_a": {"metrics": {
                   "modes": spec(label="modes captured", unit="count", lower_is_better=False,
                                 paper=paper),
                   "seeds": spec(label="seeds with every mode", unit="count",
                                 lower_is_better=False)}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert row(page, "modes captured") == "| modes captured | 8 ✓ | 7 ✗ |  | **7.8**, X (note 1) |"
    assert row(page, "seeds with every mode") == "| seeds with every mode | 5 | 5 |  |  |"
    assert "\nUnit: count ↑.\n" in page


def test_cells_without_a_tolerance_or_paper_number_are_blank(tmp_path):
    write_book(tmp_path, {"01_a": []},
               {"01_a": {"torch": {"a": 1.0, "b": 2.0, "c": 3.0},
                         "tensorflow": {"a": 1.1, "b": 2.1, "c": 3.1}}},
               {"01_a": {"no_paper": "Nobody measured these.", "metrics": {
                   "a": spec(label="plain"),
                   "b": spec(label="said why", no_parity="Same code.", no_paper="No paper."),
                   "c": spec(label="why no paper", no_paper="No paper.")}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    assert row(page, "plain") == "| plain | 1.00 | 1.10 |  |  |"
    assert row(page, "said why") == "| said why | 2.00 | 2.10 | (note 1) | (note 2) |"
    assert row(page, "why no paper") == "| why no paper | 3.00 | 3.10 |  | (note 2) |"
    assert "\n1. No parity tolerance. Same code.\n2. No paper.\n" in page
    table = section(page, "1 ")
    assert "no tolerance" not in table and "| none" not in table
    assert "Paper numbers: Nobody measured these." in table


def test_each_chapters_table_folds_away(tmp_path):
    """A dropdown, open by default, holds the unit line, the table and its notes; the heading
    stays outside it, and the list of metrics without a row is a closed dropdown of its own."""
    write_book(tmp_path, {"01_a": [], "02_b": []},
               {"01_a": {"torch": {"err": 1.0, "x": 1.0, "y": 2.0},
                         "tensorflow": {"err": 1.1, "x": 1.0, "y": 2.0}},
                "02_b": {"torch": {"err": 1.0, "other": 2.0}, "tensorflow": {"err": 1.0, "other": 2.0}}},
               {"01_a": {"metrics": {"err": spec(no_paper="Why not.")}},
                "02_b": {"metrics": {"err": spec(), "other": spec(label="other")}}})
    page = scoreboard_page(tmp_path, tmp_path / "results")
    first, second = section(page, "1 "), section(page, "2 ")
    assert (":::{dropdown} Table: 1 metric\n:open:\n\n| metric | PyTorch | "
            "TensorFlow | parity | paper |\n") in first
    assert "\n1. Why not.\n\n:::\n" in first
    assert (":::{dropdown} Also recorded: 2 metrics\n\nRecorded by the labs, with no entry in "
            "`results/scoreboard.json`: `x`, `y`.\n\n:::\n") in first
    assert ":::{dropdown} Table: 2 metrics\n:open:\n\nUnit: % ↓.\n\n| metric |" in second
    assert "Also recorded" not in second
    assert "| other | 2.00 | 2.00 |  |  |\n\n:::\n" in second
    for text in (first, second):  # every fence closed within its chapter
        fences = [line for line in text.splitlines() if line.startswith(":::")]
        assert len(fences) % 2 == 0 and all(f == ":::" for f in fences[1::2]), fences
