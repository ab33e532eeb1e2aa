"""experiments/gan_judges.py: chapter 5's stored digits judged by the pinned network and the
second judge, and the file the chapter page reads."""
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from helpers import digits, judge

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("gan_judges",
                                               ROOT / "experiments" / "gan_judges.py")
gan_judges = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gan_judges)


def test_the_standard_error_is_the_binomial_one():
    confident, unsure = np.zeros((80, 10)), np.zeros((20, 10))
    confident[:, 3] = 10.0  # p(3) ~ 0.9989
    report = digits.label_digits(np.concatenate([confident, unsure]))
    assert report.confident_pct == pytest.approx(80.0)
    assert gan_judges.confident_se(report) == pytest.approx(100 * math.sqrt(0.8 * 0.2 / 100))


def test_a_record_is_what_the_two_networks_say(tmp_path):
    x_test, _ = gan_judges.load_mnist("test")
    images, test_images = x_test[:300], x_test[300:500]
    values = gan_judges.record(images, test_images)
    pinned = digits.label_images_torch(images)
    second = judge.label_images_judge_torch(images)
    assert values["stored_pinned_confident_pct"] == pytest.approx(pinned.confident_pct)
    assert values["stored_judge2_confident_pct"] == pytest.approx(second.confident_pct)
    assert values["stored_judge2_kl_to_uniform"] == pytest.approx(second.kl_to_uniform)
    assert values["stored_judges_agree_pct"] == pytest.approx(
        100 * np.mean(pinned.labels == second.labels))
    assert values["test_judge2_confident_pct"] == pytest.approx(
        judge.label_images_judge_torch(test_images).confident_pct)
    assert values["test_judges_agree_pct"] == pytest.approx(100 * np.mean(
        digits.label_images_torch(test_images).labels
        == judge.label_images_judge_torch(test_images).labels))
    # real digits: the two networks agree on almost all of them
    assert values["stored_judges_agree_pct"] > 95


def test_the_script_writes_one_record_per_lab_and_refuses_a_missing_file(tmp_path):
    x_test, _ = gan_judges.load_mnist("test")
    for framework in gan_judges.FRAMEWORKS:
        digits.save_samples(tmp_path / f"05_gan_samples_{framework}.npz", x_test[:50],
                            framework=framework)
    out = tmp_path / "judges.json"
    written = gan_judges.main(["--out", str(out), "--samples", str(tmp_path)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(written))
    assert set(written) == {"about", *gan_judges.FRAMEWORKS}
    (tmp_path / "05_gan_samples_tensorflow.npz").unlink()
    with pytest.raises(SystemExit, match="05_gan_samples_tensorflow.npz is missing"):
        gan_judges.main(["--out", str(out), "--samples", str(tmp_path)])
