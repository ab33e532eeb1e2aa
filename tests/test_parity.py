"""The two labs of a chapter agree, checked from the results their full-mode runs recorded."""
import pytest

from helpers.results import load_results, results_dir

# chapter, headline metric, tolerance (absolute, in the metric's unit), as each issue names it
PARITY = [
    ("01_dropout", "dropout_test_error_pct", 0.2),
    ("02_autoencoders", "deep_ae_sq_err_k30", 0.5),
    ("03_autoencoders_dropout", "large_none_test_sq_err", 0.5),
    ("03_autoencoders_dropout", "small_hidden_test_sq_err", 1.0),
]


@pytest.mark.parametrize("chapter, metric, tolerance", PARITY)
def test_frameworks_agree(chapter, metric, tolerance):
    results = load_results(chapter)
    if not (results_dir() / f"{chapter}.json").exists():
        pytest.skip(f"{chapter} has no recorded full-mode results yet")
    assert set(results) == {"torch", "tensorflow"}, f"{chapter}: only {sorted(results)} recorded"
    a, b = results["torch"][metric], results["tensorflow"][metric]
    assert abs(a - b) <= tolerance, f"{chapter} {metric}: PyTorch {a} vs TensorFlow {b}"
