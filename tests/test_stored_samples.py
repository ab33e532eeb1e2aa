"""A lab that scores another chapter's stored samples recorded the scores of the files stored
now: chapter 7 ranks chapter 4's VAE samples and chapter 5's GAN samples, and a re-run of
chapter 4 or 5 that rewrites them leaves chapter 7's recorded FIDs stale until chapter 7 runs
again. The stamp of a lab covers
its code and the helpers it reaches, not the data files it reads; this test covers those."""
from pathlib import Path

import numpy as np
import pytest

from conftest import recorded_results
from helpers import digits, evaluate, features, fid, load_mnist

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = dict(subset=10_000, seed=0)   # chapter 7's HP["n"] and HP["seed"], full mode
RANK_N = 2_000                            # chapter 7's HP["rank_n"], full mode


@pytest.fixture(scope="module")
def pinned_features():
    net = features.features_torch("pinned")
    return lambda x: evaluate.predict_torch(net, x)[0].astype(np.float64)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
@pytest.mark.parametrize("stem, key", [("05_gan_samples", "gan"), ("04_vae_samples", "vae4")])
def test_chapter_7_scored_the_samples_stored_now(stem, key, framework, pinned_features):
    recorded = recorded_results("07_fid")["torch"][f"rank_fid_{key}_{framework}"]
    pixels, _ = digits.load_samples(ROOT / "results" / f"{stem}_{framework}.npz")
    x_ref, _ = load_mnist("train", **REFERENCE)
    now = fid.fid_from_features(pinned_features(x_ref),
                                pinned_features(digits.as_float(pixels)[:RANK_N]))
    assert abs(now - recorded) <= 1e-6 * recorded, \
        (f"results/{stem}_{framework}.npz scores FID {now:.6f} now; chapter 7 recorded "
         f"{recorded:.6f}: re-run notebooks/07_fid_pytorch.ipynb and its twin")
