import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from helpers.vae import active_units, iw_bound, log_mean_exp, prior_grid


def test_log_mean_exp_matches_scipy():
    a = np.random.default_rng(0).normal(scale=30, size=(7, 5))
    expected = scipy.special.logsumexp(a, axis=0) - math.log(7)
    assert np.allclose(log_mean_exp(a, axis=0), expected, rtol=0, atol=1e-12)
    assert np.allclose(log_mean_exp(a, axis=1), scipy.special.logsumexp(a, axis=1) - math.log(5))


def test_log_mean_exp_survives_weights_that_underflow():
    a = np.array([-800.0, -801.0, -np.inf])  # exp() of each is 0 in float64
    assert log_mean_exp(a) == pytest.approx(-800 + math.log((1 + math.exp(-1)) / 3), abs=1e-12)
    assert log_mean_exp(np.array([-np.inf, -np.inf])) == -np.inf


def test_log_mean_exp_takes_tensors_and_rejects_nan():
    a = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert np.allclose(log_mean_exp(a), scipy.special.logsumexp(a.numpy(), axis=0) - math.log(2))
    with pytest.raises(ValueError, match="NaN"):
        log_mean_exp(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="at least one"):
        log_mean_exp(np.zeros((0, 3)))


def gaussian_model(x, c, rng):
    """Log-weights of a model whose marginal is known: z ~ N(0, 1), x | z ~ N(z, 1), so
    p(x) = N(x; 0, 2); proposal q(z | x) = N(x / 2, 1), wider than the posterior N(x/2, 1/2)."""
    x = x[:, 0]
    z = x / 2 + rng.normal(size=(c, len(x)))
    log_joint = scipy.stats.norm.logpdf(z) + scipy.stats.norm.logpdf(x, loc=z)
    return log_joint - scipy.stats.norm.logpdf(z, loc=x / 2)


def test_iw_bound_approaches_the_exact_log_likelihood_from_below():
    x = np.linspace(-2, 2, 1200)[:, None]
    exact = scipy.stats.norm.logpdf(x[:, 0], scale=math.sqrt(2))
    rng = np.random.default_rng(0)
    one = iw_bound(lambda b, c: gaussian_model(b, c, rng), x, 1, progress=False)
    few, exact_few = x[::6], exact[::6]  # 200 images for the bound with many codes
    many = iw_bound(lambda b, c: gaussian_model(b, c, rng), few, 20_000, max_samples=3_000,
                    progress=False)
    # The ELBO is log p(x) - KL(q || posterior), the same for every x here. Per image,
    # log p(x) - L_1 = e^2 / 2 - ln(2) / 2 with e ~ N(0, 1): its standard deviation is
    # sqrt(1/2), so 1,200 images give a standard error of 0.02 nats on the mean.
    gap = 0.5 * (1 / 0.5 - 1 - math.log(2))  # KL(N(m, 1) || N(m, 1/2)) = 0.153 nats
    shortfall = exact - one
    standard_error = np.std(shortfall, ddof=1) / math.sqrt(len(shortfall))
    # 4 standard errors: a correct bound misses by more with probability 6e-5. They must stay
    # below the gap, or a bound with no gap at all (L_1 = log p(x)) would pass as well.
    assert 4 * standard_error < gap
    assert abs(np.mean(shortfall) - gap) < 4 * standard_error
    assert np.mean(one - exact) < np.mean(many - exact_few)
    # L_k -> log p(x): per image the standard error here is 0.003 nats, over 200 images 0.0002
    assert np.all(np.abs(many - exact_few) < 0.015)
    assert abs(np.mean(many - exact_few)) < 1e-3


def test_iw_bound_combines_chunks_exactly():
    x = np.arange(5.0)[:, None]
    table = np.random.default_rng(1).normal(size=(12, 5))  # fixed weights, read in order
    position = {"i": 0}

    def read(batch, c):
        rows = table[position["i"]:position["i"] + c, batch[:, 0].astype(int)]
        position["i"] = (position["i"] + c) % 12
        return rows

    chunked = iw_bound(read, x, 12, max_samples=5, progress=False)  # chunks of 5, 5, 2
    expected = scipy.special.logsumexp(table, axis=0) - math.log(12)
    assert np.allclose(chunked, expected, atol=1e-12)


def test_iw_bound_rejects_bad_input():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="k must be"):
        iw_bound(lambda b, c: np.zeros((c, len(b))), x, 0)
    with pytest.raises(ValueError, match="shape"):
        iw_bound(lambda b, c: np.zeros((len(b), c)), x, 4, progress=False)
    with pytest.raises(ValueError, match="NaN"):
        iw_bound(lambda b, c: np.full((c, len(b)), np.nan), x, 2, progress=False)
    with pytest.raises(ValueError, match="non-empty"):
        iw_bound(lambda b, c: np.zeros((c, len(b))), np.zeros((0, 2)), 2)


def test_active_units_counts_units_whose_mean_varies():
    rng = np.random.default_rng(0)
    means = np.concatenate([rng.normal(size=(500, 3)), 0.05 * rng.normal(size=(500, 2))], axis=1)
    count, variances = active_units(means)
    assert count == 3
    assert np.allclose(variances, np.var(means, axis=0))
    assert active_units(torch.from_numpy(means), threshold=1e-4)[0] == 5
    with pytest.raises(ValueError, match="shape"):
        active_units(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        active_units(np.full((3, 2), np.nan))


def test_prior_grid_is_quantiles_laid_out_like_a_plot():
    grid = prior_grid(3, low=0.1, high=0.9)
    q = scipy.stats.norm.ppf([0.1, 0.5, 0.9])
    assert grid.shape == (9, 2) and grid.dtype == np.float32
    assert np.allclose(grid[:3, 0], q, atol=1e-6)           # first row: z1 left to right
    assert np.allclose(grid[::3, 1], q[::-1], atol=1e-6)    # first column: z2 top to bottom
    with pytest.raises(ValueError):
        prior_grid(0)
    with pytest.raises(ValueError):
        prior_grid(4, low=0.5, high=0.5)


# Tests added with mutation testing (make mutation): each pins down a behaviour that a
# surviving mutant of helpers/vae.py changed.

def test_log_mean_exp_shifts_each_slice_by_its_own_maximum():
    # Column 1's weights underflow next to column 0's unless each column keeps its own shift.
    a = np.array([[0.0, -800.0], [0.0, -801.0]])
    out = log_mean_exp(a, axis=0)
    assert out[0] == 0.0
    assert out[1] == pytest.approx(-800 + math.log((1 + math.exp(-1)) / 2), abs=1e-12)


def test_log_mean_exp_is_float64_keeps_other_axes_and_warns_not():
    a = np.array([[0.5], [1.5], [2.5]], dtype=np.float32)
    out = log_mean_exp(a, axis=0)
    assert out.dtype == np.float64 and out.shape == (1,)  # only the averaged axis goes
    assert out[0] == pytest.approx(scipy.special.logsumexp([0.5, 1.5, 2.5]) - math.log(3),
                                   abs=1e-12)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log(0) of an all -inf slice is expected, not warned
        assert log_mean_exp(np.array([-np.inf, -np.inf])) == -np.inf
    with pytest.raises(ValueError, match=r"^log-weights contain NaN or \+inf$"):
        log_mean_exp(np.array([0.0, np.inf]))


def test_iw_bound_fills_each_call_up_to_max_samples():
    calls = []

    def record(batch, c):
        calls.append((len(batch), c))
        return np.zeros((c, len(batch)))

    # k = 3 with the default 20,000 codes a call: 6,666 images a call (20,001 // 3 would be
    # 6,667, one code over the limit).
    assert np.all(iw_bound(record, np.zeros(7_000), 3, progress=False) == 0.0)
    assert calls == [(6_666, 3), (334, 3)]
    calls.clear()
    # k above max_samples: one image a call, its codes in chunks of max_samples.
    iw_bound(record, np.zeros((3, 2)), 10, max_samples=4, progress=False)
    assert calls == [(1, 4), (1, 4), (1, 2)] * 3


def test_iw_bound_checks_its_arguments_by_name():
    zeros = lambda b, c: np.zeros((c, len(b)))  # noqa: E731
    x = np.zeros((3, 2))
    for bad in (True, 2.0):
        with pytest.raises(ValueError, match=r"^k must be a positive int"):
            iw_bound(zeros, x, bad, progress=False)
    with pytest.raises(ValueError, match=r"^max_samples must be a positive int"):
        iw_bound(zeros, x, 2, max_samples=0, progress=False)
    with pytest.raises(ValueError, match=r"^x must be a non-empty NumPy array of images \(N, \.\.\.\)$"):
        iw_bound(zeros, [[0.0], [1.0]], 2, progress=False)
    assert iw_bound(zeros, np.zeros(3), 2, progress=False).shape == (3,)  # (N,) images are fine


def test_iw_bound_progress_bar(capsys):
    zeros = lambda b, c: np.zeros((c, len(b)))  # noqa: E731
    iw_bound(zeros, np.zeros((3, 2)), 2)
    shown = capsys.readouterr().err
    assert "L_2" in shown and "3/3" in shown
    iw_bound(zeros, np.zeros((3, 2)), 2, desc="test images")
    assert "test images" in capsys.readouterr().err
    iw_bound(zeros, np.zeros((3, 2)), 2, progress=False)
    assert capsys.readouterr().err == ""


def test_active_units_edge_cases():
    count, variances = active_units(np.array([[0.0, 1.0], [2.0, 1.0]], dtype=np.float32))
    assert count == 1 and variances.dtype == np.float64  # two images are enough
    assert np.array_equal(variances, [1.0, 0.0])
    # Active means a variance above the threshold: a constant unit is never active.
    assert active_units(np.array([[0.0, 1.0], [2.0, 1.0]]), threshold=0)[0] == 1
    assert active_units(np.array([[0.0], [2.0]]), threshold=1.0)[0] == 0
    with pytest.raises(ValueError, match=r"^threshold must be a number >= 0, got -1"):
        active_units(np.zeros((3, 2)), threshold=-1)
    with pytest.raises(ValueError, match=r"^posterior_means contain NaN or inf$"):
        active_units(np.full((3, 2), np.inf))


def test_prior_grid_defaults_and_small_grids():
    q = scipy.stats.norm.ppf([0.05, 0.5, 0.95])
    assert np.allclose(prior_grid(3)[:3, 0], q, atol=1e-6)       # low 0.05, high 0.95
    assert np.allclose(prior_grid(2)[:2, 0], q[[0, 2]], atol=1e-6)
    assert np.array_equal(prior_grid(1), [[0.0, 0.0]])           # one code: the prior's median
    with pytest.raises(ValueError, match=r"^n must be a positive int"):
        prior_grid(0)
    for low, high in ((0.0, 0.9), (0.1, 1.0)):
        with pytest.raises(ValueError, match=r"^need 0 < low < high < 1"):
            prior_grid(3, low=low, high=high)
