"""Chapter 5's stored GAN digits judged twice: by the pinned network the design was chosen with,
and by a second judge that played no part in it (``helpers.judge``, an MLP trained with another
seed).

Chapter 5's labs chose the DCGAN's design by how the pinned network labels its digits, so that
network's verdict on the chapter's goals is not an independent one. This script reads the
2,000 digits each lab stored (``results/05_gan_samples_{torch,tensorflow}.npz``, the first
2,000 of the 10,000 the lab scored, each from its own noise) and 2,000 test digits drawn at
random, labels all of them with both networks, and records, per lab whose digits they are, in
``results/05_gans.judges.json``:

- ``stored_{pinned,judge2}_confident_pct``: the share labelled with p >= 0.9, and its binomial
  standard error ``..._confident_se`` (percentage points);
- ``stored_{pinned,judge2}_digits_present`` and ``..._kl_to_uniform``;
- ``stored_judges_agree_pct`` and ``test_judges_agree_pct``: the share of the generated and of
  the test digits that both networks give the same label;
- ``test_{pinned,judge2}_confident_pct``: the same share for the test digits.

Runs in seconds on a CPU::

    python experiments/gan_judges.py [--out results/05_gans.judges.json]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import digits, judge, load_mnist  # noqa: E402
from helpers.data import draw  # noqa: E402

FRAMEWORKS = ("torch", "tensorflow")
TEST_DRAW = dict(n=2_000, seed=0)


def confident_se(report: digits.DigitReport) -> float:
    """Binomial standard error of the confident share, in percentage points."""
    p = report.confident_pct / 100
    return 100 * math.sqrt(p * (1 - p) / report.n)


def judged(images: np.ndarray) -> dict[str, digits.DigitReport]:
    """The two networks' reports on images (N, 784) in [0, 1] (each holds its labels)."""
    return {"pinned": digits.label_images_torch(images),
            "judge2": judge.label_images_judge_torch(images)}


def record(images: np.ndarray, test_images: np.ndarray) -> dict[str, float]:
    """What the file records for one lab's stored digits."""
    reports, test = judged(images), judged(test_images)
    values = {}
    for name, report in reports.items():
        values[f"stored_{name}_confident_pct"] = report.confident_pct
        values[f"stored_{name}_confident_se"] = confident_se(report)
        values[f"stored_{name}_digits_present"] = float(report.digits_present)
        values[f"stored_{name}_kl_to_uniform"] = report.kl_to_uniform
        values[f"test_{name}_confident_pct"] = test[name].confident_pct
    for name, pair in (("stored", reports), ("test", test)):
        values[f"{name}_judges_agree_pct"] = 100 * float(
            np.mean(pair["pinned"].labels == pair["judge2"].labels))
    return values


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "05_gans.judges.json")
    parser.add_argument("--samples", type=Path, default=ROOT / "results",
                        help="folder holding 05_gan_samples_{torch,tensorflow}.npz")
    args = parser.parse_args(argv)
    x_test, _ = load_mnist("test")
    test_images = draw(TEST_DRAW["n"], x_test, seed=TEST_DRAW["seed"])
    out = {"about": __doc__.split("\n\n")[0].replace("\n", " ")}
    for framework in FRAMEWORKS:
        path = args.samples / f"05_gan_samples_{framework}.npz"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run chapter 5's {framework} lab in full mode")
        pixels, _ = digits.load_samples(path)
        out[framework] = record(digits.as_float(pixels), test_images)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in out[framework].items())
        print(f"{path.name}: {shown}")
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written to {args.out}")
    return out


if __name__ == "__main__":
    main()
