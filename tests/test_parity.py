"""The two labs of a chapter agree, checked from the results their full-mode runs recorded."""
import pytest

from conftest import recorded_results

# chapter, headline metric, tolerance (absolute, in the metric's unit), as each issue names it
PARITY = [
    ("01_dropout", "dropout_test_error_pct", 0.2),
    ("02_autoencoders", "deep_ae_sq_err_k30", 0.5),
    ("03_autoencoders_dropout", "large_none_test_sq_err", 0.5),
    ("03_autoencoders_dropout", "small_hidden_test_sq_err", 1.0),
]


@pytest.mark.parametrize("chapter, metric, tolerance", PARITY)
def test_frameworks_agree(chapter, metric, tolerance):
    results = recorded_results(chapter)
    assert set(results) == {"torch", "tensorflow"}, f"{chapter}: only {sorted(results)} recorded"
    a, b = results["torch"][metric], results["tensorflow"][metric]
    assert abs(a - b) <= tolerance, f"{chapter} {metric}: PyTorch {a} vs TensorFlow {b}"
