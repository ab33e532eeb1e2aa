import json

import pytest

from helpers.results import COLUMN, load_results, save_results, wrap_items


def test_full_mode_records_per_framework(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_MODE", "full")
    save_results("01_x", "torch", {"error": 1.2}, directory=tmp_path)
    save_results("01_x", "tensorflow", {"error": 1.3}, directory=tmp_path)
    assert load_results("01_x", directory=tmp_path) == {"torch": {"error": 1.2},
                                                       "tensorflow": {"error": 1.3}}
    assert json.loads((tmp_path / "01_x.json").read_text())["torch"]["error"] == 1.2


def test_the_recorded_line_is_rounded_and_the_file_is_not(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOOK_MODE", "full")
    save_results("01_x", "torch", {"error": 1.3599999999999999, "p": 0.020298406990},
                 directory=tmp_path)
    assert capsys.readouterr().out.splitlines() == [
        "recorded in 01_x.json (4 significant digits shown):", "  error 1.36, p 0.0203"]
    assert load_results("01_x", directory=tmp_path)["torch"]["p"] == 0.020298406990


def test_a_long_record_is_wrapped_to_the_column_one_whole_item_at_a_time(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv("BOOK_MODE", "full")
    values = {f"metric_number_{i}_of_a_long_record": 1234.5678 + i for i in range(60)}
    save_results("07_a_chapter_with_a_long_name", "tensorflow", values, directory=tmp_path)
    first, *lines = capsys.readouterr().out.splitlines()
    assert first == "recorded in 07_a_chapter_with_a_long_name.json (4 significant digits shown):"
    assert len(lines) > 1 and all(len(line) <= COLUMN for line in [first, *lines])
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines)
    assert all(line.endswith(",") for line in lines[:-1]) and not lines[-1].endswith(",")
    items = [item for line in lines for item in line.strip().rstrip(",").split(", ")]
    assert items == [f"{k} {v:.4g}" for k, v in values.items()]


@pytest.mark.parametrize("items, lines", [
    (["a" * 76, "b"], ["  " + "a" * 76 + ",", "  b"]),         # 2 + 76 + ", b" + "," = 81
    (["a" * 74, "b"], ["  " + "a" * 74 + ", b"]),              # 2 + 74 + ", b" + "," = 80
    (["a" * 90, "b", "c"], ["  " + "a" * 90 + ",", "  b, c"]),  # too long for any line: alone
    (["x"], ["  x"]),
])
def test_items_fill_each_line_and_are_never_split(items, lines):
    assert wrap_items(items).splitlines() == lines


def test_fast_mode_writes_nothing_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOOK_MODE", "fast")
    assert save_results("01_x", "torch", {"error": 1.2}, directory=tmp_path) is None
    assert not list(tmp_path.iterdir())
    assert capsys.readouterr().out == (
        "fast mode: results are not recorded (only full-mode runs are)\n")


def test_missing_results_are_empty(tmp_path):
    assert load_results("nothing", directory=tmp_path) == {}


@pytest.mark.parametrize("framework, values", [
    ("jax", {"a": 1.0}), ("torch", {}), ("torch", {"a": float("nan")}), ("torch", {"a": "1"}),
    ("torch", {"a": True}), ("torch", [1.0]),
])
def test_bad_input(tmp_path, framework, values):
    with pytest.raises(ValueError):
        save_results("01_x", framework, values, directory=tmp_path)


def test_one_reader_reads_a_whole_file_and_refuses_a_missing_one(tmp_path):
    from helpers.recorded import RecordedError, read_file

    (tmp_path / "01_x.long.json").write_text('{"torch": {"e": 1.0}, "runs": {"a": [1, 2]}}')
    assert read_file("01_x.long", tmp_path) == {"torch": {"e": 1.0}, "runs": {"a": [1, 2]}}
    assert load_results("01_x", directory=tmp_path) == {"torch": {"e": 1.0}}  # merged, no runs
    with pytest.raises(RecordedError, match="no results/01_y.json"):
        read_file("01_y", tmp_path)
