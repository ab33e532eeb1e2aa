"""Numbers a theory page quotes from the labs are the ones the labs' full-mode runs recorded.

A page quotes each listed metric of both frameworks, rounded to two decimals, as
"PyTorch / TensorFlow". When a re-run changes a result, this test names the page to update.
"""
from pathlib import Path

import pytest

from conftest import recorded_results

ROOT = Path(__file__).resolve().parent.parent

# chapter -> metrics its theory page quotes
QUOTED = {
    "01_dropout": ["no_dropout_test_error_pct", "dropout_test_error_pct",
                   "small_gap_p0_pp", "small_gap_p05_pp"],
    "02_autoencoders": ["ae_sq_err_k30", "deep_ae_sq_err_k30", "plain_ae_noisy_sq_err",
                        "denoising_ae_noisy_sq_err", "noise_ae_train_sq_err", "noise_ae_test_sq_err"],
    "03_autoencoders_dropout": ["small_none_train_sq_err", "small_none_test_sq_err", "small_input_test_sq_err",
                                "small_hidden_test_sq_err", "small_every_layer_test_sq_err",
                                "large_none_test_sq_err", "large_input_test_sq_err", "large_hidden_test_sq_err",
                                "large_every_layer_test_sq_err", "masked_none_sq_err", "masked_input_sq_err",
                                "source_plain_sq_err", "source_dropout_sq_err"],
    "07_fid": ["fid_real_floor", "fid_gaussian_noise_half", "fid_gaussian_blur_half",
               "fid_black_rectangles_half", "fid_salt_and_pepper_half", "fid_swirl_half",
               "fid_elastic_half", "fid_drop_classes_half", "fid_infinity_floor",
               "random_features_spearman"],
}


def quoted(results: dict, metric: str) -> str:
    return f"{results['torch'][metric]:.2f} / {results['tensorflow'][metric]:.2f}"


@pytest.mark.parametrize("chapter", sorted(QUOTED))
def test_theory_page_quotes_recorded_results(chapter):
    results = recorded_results(chapter)
    page = (ROOT / "book" / f"{chapter}.md").read_text()
    missing = [f"{metric} ({quoted(results, metric)})" for metric in QUOTED[chapter]
               if quoted(results, metric) not in page]
    assert not missing, f"book/{chapter}.md does not quote the recorded " + ", ".join(missing)


def test_quote_format():
    results = {"torch": {"m": 1.234}, "tensorflow": {"m": 1.2}}
    assert quoted(results, "m") == "1.23 / 1.20"
