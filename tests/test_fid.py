"""helpers.fid against scipy's sqrtm, torchmetrics, brute force and closed forms."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch
from torchmetrics.image.fid import _compute_fid
from torchmetrics.image.kid import KernelInceptionDistance, poly_mmd

from helpers import fid

FIDS = [fid.frechet_distance, fid.frechet_distance_torch]


def random_spd(rng, d, scale=1.0):
    """Random eigenvectors, eigenvalues decaying over 3 decades like a network's features."""
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (q * (scale * np.logspace(0, -3, d))) @ q.T


def sqrtm_fid(mu1, sigma1, mu2, sigma2):
    """The textbook formula, with scipy's matrix square root."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def torchmetrics_fid(mu1, sigma1, mu2, sigma2):
    return float(_compute_fid(*(torch.from_numpy(a) for a in (mu1, sigma1, mu2, sigma2))))


def relative(a, b):
    return abs(a - b) / abs(b)


# --- Fréchet distance ------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 64, 256])
def test_matches_sqrtm_and_torchmetrics(d):
    rng = np.random.default_rng(d)
    args = rng.normal(size=d), random_spd(rng, d), rng.normal(size=d) / 4, random_spd(rng, d, 1.5)
    ours = fid.frechet_distance(*args)
    assert relative(ours, sqrtm_fid(*args)) <= 1e-6
    assert relative(ours, torchmetrics_fid(*args)) <= 1e-6


def rotate(x, qa, qb):
    """kron(qa, qb) @ x for x of shape (d,) or (d, m), without forming the d x d matrix."""
    y = qb @ x.reshape(len(qa), len(qb), -1)  # qb on the inner index of x = (outer, inner)
    return (qa @ y.reshape(len(qa), -1)).reshape(x.shape)  # qa on the outer index


def test_matches_references_at_d_2048():
    """FID is unchanged when both Gaussians are rotated by the same orthogonal Q. So the
    references run block by block on block-diagonal covariances (32 blocks of 64, a second
    instead of half a minute), and ours on the rotated, dense 2048 x 2048 matrices."""
    rng = np.random.default_rng(7)
    blocks, size = 32, 64
    parts = [(rng.normal(size=size), random_spd(rng, size), rng.normal(size=size) / 4,
              random_spd(rng, size, 1.5)) for _ in range(blocks)]
    mu1, mu2 = (np.concatenate([p[i] for p in parts]) for i in (0, 2))
    sigma1, sigma2 = (scipy.linalg.block_diag(*[p[i] for p in parts]) for i in (1, 3))
    # Q = kron(qa, qb) is a random orthogonal matrix that mixes every coordinate
    qa, qb = (np.linalg.qr(rng.normal(size=(n, n)))[0] for n in (blocks, size))
    mu1, mu2 = rotate(mu1, qa, qb), rotate(mu2, qa, qb)
    sigma1, sigma2 = (rotate(rotate(s, qa, qb).T, qa, qb) for s in (sigma1, sigma2))  # Q s Q^T
    assert np.mean(np.abs(sigma1) > 1e-9) > 0.99  # dense now
    ours = fid.frechet_distance(mu1, sigma1, mu2, sigma2)
    assert relative(ours, sum(sqrtm_fid(*p) for p in parts)) <= 1e-6
    assert relative(ours, sum(torchmetrics_fid(*p) for p in parts)) <= 1e-6


@pytest.mark.parametrize("frechet", FIDS)
def test_closed_forms(frechet):
    rng = np.random.default_rng(0)
    mu1, mu2, sigma = rng.normal(size=16), rng.normal(size=16), random_spd(rng, 16)
    assert frechet(mu1, sigma, mu1, sigma) == pytest.approx(0, abs=1e-9)
    assert frechet(mu1, sigma, mu2, sigma) == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-9)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s
    assert frechet([1.0], [[4.0]], [-2.0], [[9.0]]) == pytest.approx(9 + 1, rel=1e-12)
    # commuting (diagonal) covariances: sum (sqrt a - sqrt b)^2
    a, b = rng.uniform(0, 3, size=16), rng.uniform(0, 3, size=16)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("n1, n2", [(20, 30), (20, 200), (200, 20)])
@pytest.mark.parametrize("frechet", FIDS)
def test_singular_covariances(frechet, n1, n2):
    """Fewer samples than features: with sigma = A A^T, tr sqrt(sigma1 sigma2) is the sum of the
    singular values of A1^T A2, a small matrix. Each path is exercised: both singular (eigh),
    only sigma1 singular (Cholesky of sigma2), only sigma2 singular (Cholesky of sigma1)."""
    rng = np.random.default_rng(n1 + n2)
    d = 64
    x1, x2 = rng.normal(size=(n1, d)), 1.5 * rng.normal(size=(n2, d)) + 0.3
    (mu1, s1), (mu2, s2) = fid.feature_stats(x1), fid.feature_stats(x2)
    a1, a2 = ((x - x.mean(0)).T / np.sqrt(len(x) - 1) for x in (x1, x2))
    trace_sqrt = np.linalg.svd(a1.T @ a2, compute_uv=False).sum()
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert relative(frechet(mu1, s1, mu2, s2), expected) <= 1e-9
    assert frechet(mu1, s1, mu1, s1) == pytest.approx(0, abs=1e-9 * np.trace(s1))


def test_torch_equals_numpy():
    rng = np.random.default_rng(1)
    args = rng.normal(size=64), random_spd(rng, 64), rng.normal(size=64), random_spd(rng, 64, 2.0)
    tensors = [torch.from_numpy(a).float() for a in args]  # float32 in, float64 inside
    ours = fid.frechet_distance(*tensors)
    assert fid.frechet_distance_torch(*tensors) == pytest.approx(ours, rel=1e-12)
    assert relative(ours, fid.frechet_distance(*args)) <= 1e-6  # only float32 rounding of inputs


# --- streaming statistics --------------------------------------------------------------------

def test_streaming_stats_equal_numpy_with_large_offset():
    rng = np.random.default_rng(2)
    d = 12
    x = 1e8 + rng.normal(size=(1000, d)) @ rng.normal(size=(d, d))
    cuts = np.sort(rng.choice(np.arange(1, len(x)), size=40, replace=False))
    stats = fid.FeatureStats()
    for batch in np.split(x, cuts):  # 41 batches of unequal sizes
        stats.update(batch)
    stats.update(x[:0])  # an empty batch changes nothing
    expected = np.cov(x, rowvar=False)
    assert stats.count == len(x)
    exact_mean = np.array([math.fsum(column) / len(column) for column in x.T])
    np.testing.assert_allclose(stats.mean, exact_mean, rtol=0, atol=2 * np.spacing(1e8))
    np.testing.assert_allclose(stats.cov, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    # Uncentred sums, as in E[xx^T] - mean mean^T, lose every digit at this offset:
    naive = (x.T @ x - len(x) * np.outer(x.mean(0), x.mean(0))) / (len(x) - 1)
    assert np.abs(naive - expected).max() > 1e-3 * np.abs(expected).max()


def test_streaming_stats_of_tensors_and_generators():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(301, 5)).astype(np.float32) + 3
    expected = np.cov(x.astype(np.float64), rowvar=False)
    stats = fid.FeatureStats()
    for i, batch in enumerate(np.array_split(x, 7)):  # torch and NumPy batches, mixed
        stats.update(torch.from_numpy(batch).requires_grad_() if i % 2 else batch)
    np.testing.assert_allclose(stats.cov, expected, rtol=1e-12, atol=1e-14)
    torch_first = fid.FeatureStats().update(torch.from_numpy(x[:100])).update(x[100:])
    np.testing.assert_allclose(torch_first.cov, expected, rtol=1e-12, atol=1e-14)
    mean, cov = fid.feature_stats(torch.from_numpy(b) for b in np.array_split(x, 3))
    np.testing.assert_allclose(mean, x.mean(0, dtype=np.float64), rtol=1e-12)
    np.testing.assert_allclose(cov, expected, rtol=1e-12, atol=1e-14)
    assert isinstance(cov, np.ndarray) and cov.dtype == np.float64
    np.testing.assert_array_equal(cov, cov.T)


def test_fid_from_features():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(500, 8)), rng.normal(size=(400, 8)) + 0.5
    expected = fid.frechet_distance(x.mean(0), np.cov(x, rowvar=False),
                                    y.mean(0), np.cov(y, rowvar=False))
    assert fid.fid_from_features(x, np.array_split(y, 4)) == pytest.approx(expected, rel=1e-10)


# --- KID -------------------------------------------------------------------------------------

def brute_force_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_matches_brute_force_and_torchmetrics():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(7, 3)) + 0.4
    assert fid.polynomial_mmd2(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-12)
    x, y = rng.normal(size=(50, 8)), rng.normal(size=(50, 8)) * 1.2
    reference = float(poly_mmd(torch.from_numpy(x), torch.from_numpy(y)))  # needs equal sizes
    assert fid.polynomial_mmd2(x, y) == pytest.approx(reference, rel=1e-10)
    # subsets larger than the sets are clipped: every subset is then the whole set
    mean, std = fid.kernel_inception_distance(x, torch.from_numpy(y), subsets=3, subset_size=1000)
    assert mean == pytest.approx(reference, rel=1e-10) and std < 1e-12


def kid_subsets(x, y, subsets, size, seed):
    """The rows kernel_inception_distance draws: x's subset, then y's, once per round."""
    rng = np.random.default_rng(seed)
    return [(rng.choice(len(x), size, replace=False), rng.choice(len(y), size, replace=False))
            for _ in range(subsets)]


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_kid_mean_and_spread_match_torchmetrics_on_the_same_subsets(monkeypatch):
    """torchmetrics' KernelInceptionDistance, given the features themselves (an identity as
    its feature network), takes each subset as the first subset_size entries of a
    torch.randperm, real set first. Handing it permutations that begin with the rows
    helpers.fid draws makes both score the same subsets. The docstring promises the spread
    of torchmetrics and torch-fidelity: the standard deviation that divides by the number of
    subsets (ddof=0); with 10 subsets ddof=1 would be sqrt(10/9), 5 %, larger."""
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(120, 6)), 1.1 * rng.normal(size=(90, 6)) + 0.2
    subsets, size, seed = 10, 40, 3
    permutations = []
    for chosen_x, chosen_y in kid_subsets(x, y, subsets, size, seed):
        for n, chosen in ((len(x), chosen_x), (len(y), chosen_y)):
            rest = np.setdiff1d(np.arange(n), chosen)
            permutations.append(torch.from_numpy(np.concatenate([chosen, rest])))
    queue = iter(permutations)
    metric = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=subsets,
                                     subset_size=size)
    metric.update(torch.from_numpy(x), real=True)
    metric.update(torch.from_numpy(y), real=False)
    monkeypatch.setattr(torch, "randperm", lambda n, *args, **kwargs: next(queue))
    reference_mean, reference_std = (float(t) for t in metric.compute())
    monkeypatch.undo()
    assert next(queue, None) is None  # torchmetrics drew exactly the subsets handed to it
    mean, std = fid.kernel_inception_distance(x, y, subsets=subsets, subset_size=size, seed=seed)
    # float64 throughout; the two sum the kernel matrices in different orders
    assert mean == pytest.approx(reference_mean, rel=1e-10)
    assert std == pytest.approx(reference_std, rel=1e-10)
    # Two subsets: the ddof=0 spread is half their distance (ddof=1 would be 1/sqrt(2) of it)
    (ax, ay), (bx, by) = kid_subsets(x, y, 2, size, seed)
    a, b = fid.polynomial_mmd2(x[ax], y[ay]), fid.polynomial_mmd2(x[bx], y[by])
    mean, std = fid.kernel_inception_distance(x, y, subsets=2, subset_size=size, seed=seed)
    assert mean == pytest.approx((a + b) / 2, rel=1e-12)
    assert std == pytest.approx(abs(a - b) / 2, rel=1e-12)


def test_mmd2_is_unbiased_and_kid_sees_a_shift():
    rng = np.random.default_rng(6)
    same = [fid.polynomial_mmd2(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)))
            for _ in range(400)]
    standard_error = np.std(same) / np.sqrt(len(same))
    assert abs(np.mean(same)) < 3 * standard_error  # expectation 0 for one distribution
    x, y = rng.normal(size=(600, 4)), rng.normal(size=(600, 4))
    kid_same, _ = fid.kernel_inception_distance(x, y, subsets=20, subset_size=200)
    kid_shifted, std = fid.kernel_inception_distance(x, y + 0.5, subsets=20, subset_size=200)
    assert kid_shifted > 3 * std > 0 and kid_shifted > 20 * abs(kid_same)
    again = fid.kernel_inception_distance(x, y + 0.5, subsets=20, subset_size=200)
    assert again == (kid_shifted, std)  # seeded


# --- bad input -------------------------------------------------------------------------------

def gaussians(**changes):
    args = {"mu1": np.zeros(3), "sigma1": np.eye(3), "mu2": np.ones(3), "sigma2": 2 * np.eye(3)}
    args.update(changes)
    return args


@pytest.mark.parametrize("frechet", FIDS)
@pytest.mark.parametrize("changes, message", [
    ({"mu1": np.zeros((3, 1))}, r"mu1 must have shape \(d,\)"),
    ({"mu1": np.zeros(0), "sigma1": np.zeros((0, 0))}, "d >= 1"),
    ({"sigma2": np.eye(3)[:2]}, "sigma2 must be a square"),
    ({"sigma1": np.eye(4)}, r"mu1 has shape \(3,\) but sigma1 has \(4, 4\)"),
    ({"mu2": np.zeros(4), "sigma2": np.eye(4)}, "different dimensions"),
    ({"sigma2": np.diag([1.0, np.nan, 1.0])}, "sigma2 contains NaN or inf"),
    ({"mu1": np.array([0.0, np.inf, 0.0])}, "mu1 contains NaN or inf"),
    ({"sigma1": np.triu(np.ones((3, 3)))}, "sigma1 is not symmetric"),
    ({"sigma2": np.diag([1.0, -0.5, 1.0])}, "not positive semi-definite"),
    ({"sigma1": np.diag([1.0, -0.5, 0.0]), "sigma2": np.diag([1.0, 1.0, 0.0])},
     "sigma1 has an eigenvalue"),  # both singular: the eigh route checks sigma1 itself
])
def test_frechet_bad_input(frechet, changes, message):
    with pytest.raises(ValueError, match=message):
        frechet(**gaussians(**changes))


def test_stats_bad_input():
    stats = fid.FeatureStats()
    with pytest.raises(ValueError, match="a mean needs at least 1 sample, got 0"):
        stats.mean
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        stats.update(np.zeros(5))
    stats.update(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="batch has 4 features per sample, earlier batches 5"):
        stats.update(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="a covariance needs at least 2 samples, got 1"):
        stats.cov
    stats.update(np.full((2, 5), np.nan))
    with pytest.raises(ValueError, match="NaN or inf"):
        stats.cov
    with pytest.raises(ValueError, match="f2: a covariance needs at least 2 samples"):
        fid.fid_from_features(np.zeros((3, 2)), np.zeros((1, 2)))


@pytest.mark.parametrize("f1, f2, kwargs, message", [
    (np.zeros((1, 3)), np.zeros((5, 3)), {}, "at least 2 samples in each set, got 1 in f1"),
    (np.zeros((5, 3)), np.zeros((5, 4)), {}, "f1 has 3 features per sample, f2 has 4"),
    (np.zeros(5), np.zeros((5, 3)), {}, r"f1 must be an \(N, d\) array"),
    (np.zeros((5, 3)), np.full((5, 3), np.inf), {}, "f2 contains NaN or inf"),
    (np.zeros((5, 3)), np.zeros((5, 3)), {"subsets": 0}, "subsets >= 1"),
])
def test_kid_bad_input(f1, f2, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fid.kernel_inception_distance(f1, f2, **kwargs)


# --- added with mutation testing (make mutation) ---------------------------------------------

@pytest.mark.parametrize("frechet", FIDS)
def test_point_masses_and_large_scales(frechet):
    # Zero covariances are point masses: FID is the squared distance of the means.
    assert frechet(np.zeros(2), np.zeros((2, 2)), np.array([3.0, 4.0]), np.zeros((2, 2))) == 25.0
    # The symmetry and PSD tolerances are relative to the largest entry: at 1e6, an asymmetry
    # of 1e-3 and an eigenvalue of -1e-4 (1e-9 and 1e-10 of it) are rounding, not errors.
    sigma = np.diag([1e6, -1e-4])
    assert frechet(np.zeros(2), sigma, np.zeros(2), sigma) == pytest.approx(0.0, abs=1e-6)
    lopsided = np.array([[1e6, 1.0], [1.0 + 1e-3, 1e6]])
    assert frechet(np.zeros(2), lopsided, np.zeros(2), lopsided) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("frechet", FIDS)
@pytest.mark.parametrize("first", [True, False])
def test_product_that_is_not_psd_is_named(frechet, first):
    # One of them is I, whose Cholesky factor B is used: B^T diag(1, -1) B fails the check,
    # under the product's name, whichever of the two is not PSD.
    pair = (np.eye(2), np.diag([1.0, -1.0]))
    sigma1, sigma2 = pair if first else pair[::-1]
    with pytest.raises(ValueError, match=r"^sigma1 @ sigma2 has an eigenvalue -1, below -1e-06 x "
                                         r"its largest 1: the covariances are not positive "
                                         r"semi-definite\. Covariances from float32 sums cancel "
                                         r"badly; compute them in float64, e\.g\. with "
                                         r"FeatureStats\.$"):
        frechet(np.zeros(2), sigma1, np.zeros(2), sigma2)


def test_torch_fid_with_the_first_leading_minor_zero():
    # sigma1 = diag(0, 1): its Cholesky factorisation fails at the first column; sigma2 = I's
    # factor is used, and tr sqrt(sigma1 sigma2) = 1, so FID = 1 + 2 - 2 = 1.
    value = fid.frechet_distance_torch(np.zeros(2), np.diag([0.0, 1.0]), np.zeros(2), np.eye(2))
    assert value == pytest.approx(1.0, abs=1e-12)


def test_streaming_stats_mixed_inputs_empty_batches_and_different_offsets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2)) + np.array([1e6, -1e6])  # offsets of opposite sign
    stats = fid.FeatureStats().update(np.zeros((0, 2)))     # an empty first batch is skipped
    stats.update(x[:100]).update(torch.from_numpy(x[100:]))  # arrays first, then tensors
    assert stats.count == 300
    assert np.allclose(stats.mean, x.mean(0), rtol=0, atol=1e-9)
    assert np.allclose(stats.cov, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-9)
    stats.update(np.full((1, 2), np.inf))
    with pytest.raises(ValueError, match=r"^the features contain NaN or inf \(or values too "
                                         r"large to square\)$"):
        stats.cov
    with pytest.raises(ValueError, match="^f1: a covariance needs at least 2 samples"):
        fid.fid_from_features(np.zeros((1, 2)), np.zeros((3, 2)))


def test_mmd2_with_two_samples_each_and_named_errors():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    expected = 2 * k(x[0], x[1]) / 2 + 2 * k(y[0], y[1]) / 2 \
        - 2 * sum(k(a, b) for a in x for b in y) / 4
    assert fid.polynomial_mmd2(x, y) == pytest.approx(expected, rel=1e-12)
    for args, message in [((np.zeros(3), y), r"^x must be an \(N, d\) array or batches of shape "
                                             r"\(n, d\), got \[\(3,\)\]$"),
                          ((x, np.zeros(3)), r"^y must be an \(N, d\)"),
                          ((x, np.zeros((2, 4))), r"^x has 3 features per sample, y has 4$"),
                          ((x[:1], y), r"got 1 in x and 2 in y$"),
                          ((x, [np.zeros((2, 3)), np.zeros((2, 4))]),
                           r"^y: batches have different numbers of features per sample$")]:
        with pytest.raises(ValueError, match=message):
            fid.polynomial_mmd2(*args)


def test_kid_defaults_and_subset_size_clipping(monkeypatch):
    rng = np.random.default_rng(2)
    f1, f2 = rng.normal(size=(1_001, 2)), rng.normal(size=(1_001, 2)) + 0.5
    calls = []

    def cheap_mmd2(x, y):  # which rows each subset drew, in place of the kernel sums
        calls.append((len(x), len(y)))
        return float(x[:, 0].sum() - y[:, 0].sum())

    with monkeypatch.context() as m:
        m.setattr(fid, "_mmd2", cheap_mmd2)
        explicit = fid.kernel_inception_distance(f1, f2, subsets=100, subset_size=1000, seed=0)
        assert calls == [(1000, 1000)] * 100
        assert fid.kernel_inception_distance(f1, f2) == explicit  # the KID paper's defaults
    # The smallest of subset_size and the two set sizes, whichever set is smaller.
    small, large = rng.normal(size=(5, 2)), rng.normal(size=(50, 2))
    for a, b in ((small, large), (large, small)):
        mean, std = fid.kernel_inception_distance(a, b, subsets=3, subset_size=100)
        assert math.isfinite(mean) and std >= 0
    # The smallest allowed arguments: one subset of two samples.
    mean, std = fid.kernel_inception_distance(small, large, subsets=1, subset_size=2)
    assert math.isfinite(mean) and std == 0.0


def test_sums_live_on_the_first_batchs_device():
    # The "meta" device holds shapes only, so where the sums went can be seen on any machine.
    meta = torch.device("meta")
    assert fid._zeros((2,), meta).device == meta and fid._zeros((2,), meta).dtype == torch.float64
    assert fid._to_torch(np.zeros(2), meta).device == meta
    stats = fid.FeatureStats().update(torch.zeros((3, 2), device=meta))
    stats.update(np.zeros((3, 2)))  # later batches are moved there
    assert stats.count == 6 and stats._sum.device == meta and stats._outer.device == meta
