"""experiments/vae_long.py: Burda et al.'s schedule, the summary of a run's record, and a
run of a few seconds on the CPU that writes the results file the book reads."""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("vae_long", ROOT / "experiments" / "vae_long.py")
vae_long = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vae_long)


def test_burda_schedule_is_3280_epochs_in_eight_stages():
    schedule = vae_long.burda_schedule(8)
    assert [epochs for epochs, _ in schedule] == [1, 3, 9, 27, 81, 243, 729, 2187]
    assert sum(epochs for epochs, _ in schedule) == 3280
    rates = [lr for _, lr in schedule]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-4)
    # each stage divides the rate by the same factor, 10 ** (1/7)
    assert all(a / b == pytest.approx(10 ** (1 / 7)) for a, b in zip(rates, rates[1:]))
    assert vae_long.burda_schedule(2) == schedule[:2]


@pytest.mark.parametrize("stages", [0, 9, -1])
def test_burda_schedule_rejects_other_stage_counts(stages):
    with pytest.raises(ValueError, match="stages must be 1..8"):
        vae_long.burda_schedule(stages)


def evaluation(epoch: int, nll: float, **changes) -> dict:
    return {"epoch": epoch, "nll": nll, "nll_se": 0.25, "neg_elbo": nll + 4.0,
            "active_units": 20, "train_seconds": 6.0 * epoch, **changes}


def test_summarise_takes_the_last_evaluation_and_the_first_below_88():
    record = {"objective": "iwae", "evaluations": [
        evaluation(40, 93.0), evaluation(121, 88.0), evaluation(364, 87.5),
        evaluation(992, 86.9, active_units=21, train_seconds=285.0)]}
    assert vae_long.summarise(record) == {
        "long_iwae_nll": 86.9, "long_iwae_nll_se": 0.25, "long_iwae_neg_elbo": 90.9,
        "long_iwae_active_units": 21.0, "long_iwae_epochs": 992.0,
        "long_iwae_train_minutes": 4.75, "long_iwae_prev_nll": 87.5,
        "long_iwae_prev_epochs": 364.0,
        "long_iwae_reached_88_epochs": 121.0, "long_iwae_reached_88_nll": 88.0}


def test_summarise_leaves_out_what_did_not_happen():
    one = vae_long.summarise({"objective": "vae", "evaluations": [evaluation(1, 175.0)]})
    assert set(one) == {"long_vae_" + key for key in (
        "nll", "nll_se", "neg_elbo", "active_units", "epochs", "train_minutes")}
    with pytest.raises(ValueError, match="no evaluation"):
        vae_long.summarise({"objective": "vae", "evaluations": []})


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_short_run_writes_runs_and_metrics(tmp_path, one_thread):
    out = tmp_path / "04_vae.long.json"
    tiny = ["--train", "500", "--test", "100", "--eval-k", "10", "--out", str(out)]
    record = vae_long.main([*tiny, "--stages", "2"])
    vae_long.main([*tiny, "--stages", "1", "--objective", "iwae"])
    stored = json.loads(out.read_text())
    assert set(stored) == {"torch", "runs"} and set(stored["runs"]) == {"vae", "iwae"}
    assert stored["runs"]["vae"] == json.loads(json.dumps(record))
    evaluations = record["evaluations"]
    assert [(e["stage"], e["epoch"]) for e in evaluations] == [(0, 1), (1, 4)]
    assert record["finished"] and record["test_images"] == 100 and record["device"] == "cpu"
    for e in evaluations + stored["runs"]["iwae"]["evaluations"]:
        assert math.isfinite(e["nll"]) and e["nll"] < e["neg_elbo"], e  # L_10 above the ELBO
    assert stored["torch"] == {**vae_long.summarise(record),
                               **vae_long.summarise(stored["runs"]["iwae"])}

    # a new run of one objective replaces all of its numbers and keeps the other's
    vae_long.main([*tiny, "--stages", "1"])
    again = json.loads(out.read_text())
    assert "long_vae_prev_nll" not in again["torch"]
    assert again["runs"]["iwae"] == stored["runs"]["iwae"]
    assert {k: v for k, v in again["torch"].items() if k.startswith("long_iwae_")} == \
        vae_long.summarise(stored["runs"]["iwae"])
