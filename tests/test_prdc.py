"""helpers.prdc against the reference package prdc (Naeem et al.), scipy's cdist, closed forms,
hand-counted cases and the published example."""
import contextlib
import io
import math

import numpy as np
import pytest
import torch
from prdc import compute_prdc
from scipy.spatial.distance import cdist

from helpers.prdc import METRICS, knn_radii, memorisation_share, nearest_distances, prdc


def reference(real, fake, k):
    """prdc.compute_prdc, one k for all four metrics, as floats; it prints the set sizes."""
    with contextlib.redirect_stdout(io.StringIO()):
        return {name: float(value) for name, value in compute_prdc(real, fake, k).items()}


def brute_force(real, fake, k):
    """The four definitions written out on scipy's distances (the row itself excluded)."""
    def radii(x):
        own = cdist(x, x)
        np.fill_diagonal(own, np.inf)
        return np.sort(own, axis=1)[:, k - 1]

    r_real, r_fake, dist = radii(real), radii(fake), cdist(real, fake)  # dist: (N, M)
    inside = dist < r_real[:, None]  # inside[i, j]: fake j in real i's ball
    return {"precision": inside.any(axis=0).mean(),
            "recall": (dist < r_fake[None, :]).any(axis=1).mean(),
            "density": inside.sum() / (k * len(fake)), "coverage": inside.any(axis=1).mean()}


def features(seed, n_real=500, n_fake=600, d=16):
    """Real N(0, I) features and fake ones a little wider and shifted, so all four differ."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_real, d)), 1.2 * rng.normal(size=(n_fake, d)) + 0.3


# --- against the reference package and the definitions ---------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_matches_the_reference_package(seed, k):
    real, fake = features(seed)
    ours = prdc(real, fake, k_pr=k, k_dc=k)
    expected = reference(real, fake, k)
    assert list(ours) == list(METRICS) and all(type(v) is float for v in ours.values())
    for name in METRICS:
        assert abs(ours[name] - expected[name]) <= 1e-6, name  # measured: 6e-17 at most


def test_precision_recall_and_density_coverage_take_their_own_k():
    real, fake = features(3)
    ours = prdc(real, fake, k_pr=2, k_dc=7)
    with_2, with_7 = reference(real, fake, 2), reference(real, fake, 7)
    for name in METRICS:
        assert ours[name] == pytest.approx((with_2 if name in ("precision", "recall")
                                            else with_7)[name], abs=1e-12), name
    # the defaults are Kynkäänniemi et al.'s k = 3 and Naeem et al.'s k = 5
    assert prdc(real, fake) == prdc(real, fake, k_pr=3, k_dc=5)
    assert prdc(real, fake) != prdc(real, fake, k_pr=5, k_dc=3)


def test_hand_counted_case_with_points_on_the_boundary():
    """1-D points, k = 1. Real 0, 1, 3, 7, 20 have radii 1, 1, 2, 4, 13 (to 1, 0, 1, 3, 7);
    fake -1, 2, 5, 12, 13 have radii 3, 3, 3, 1, 1. Fake -1 lies exactly on real 0's ball
    (distance 1 = radius), fake 2 on real 1's and fake 5 on real 3's: a ball is open, so
    they are outside, as in prdc. Fake -1 then lies in no real ball, so precision = 4/5; the
    fakes lie in 0, 1 (real 3), 1 (real 7), 1 (real 20), 1 (real 20) balls: density = 4/5;
    reals 0 and 1 hold no fake: coverage = 3/5; real 20 lies in no fake ball: recall = 4/5.
    Integers give exact distances, so the ties are ties."""
    real = np.array([0.0, 1, 3, 7, 20])[:, None]
    fake = np.array([-1.0, 2, 5, 12, 13])[:, None]
    expected = {"precision": 0.8, "recall": 0.8, "density": 0.8, "coverage": 0.6}
    assert prdc(real, fake, k_pr=1, k_dc=1) == expected
    assert reference(real, fake, 1) == expected
    np.testing.assert_array_equal(knn_radii(real, 1), [1, 1, 2, 4, 13])


@pytest.mark.parametrize("k", [1, 2, 4])
def test_ties_and_duplicates_on_a_lattice(k):
    """Points on a small integer grid: many equal distances and repeated points. A duplicate
    is a neighbour at distance 0 (only the row itself is left out), as in prdc."""
    rng = np.random.default_rng(k)
    real = rng.integers(0, 4, size=(60, 2)).astype(float)
    fake = rng.integers(0, 5, size=(70, 2)).astype(float)
    ours = prdc(real, fake, k_pr=k, k_dc=k, chunk=16)
    assert ours == pytest.approx(brute_force(real, fake, k), abs=1e-12)
    assert ours == pytest.approx(reference(real, fake, k), abs=1e-12)


def test_density_and_coverage_have_their_closed_form_expectations():
    """For one distribution, a fake is among the k nearest of a real's N - 1 + M neighbours
    with probability k / (N + M - 1) for each of them, so E[density] = 1 exactly, and a
    real's ball holds no fake when its k nearest are all real: E[coverage] = 1 -
    prod_{i=1..k} (N - i) / (N + M - i) (Naeem et al. 2020). Averages over 300 draws of
    N = M = 40 in 3-D, within 4 standard errors of the mean (measured over the draws)."""
    rng = np.random.default_rng(0)
    n, k = 40, 5
    draws = [prdc(rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), k_dc=k) for _ in range(300)]
    expected = {"density": 1.0,
                "coverage": 1 - math.prod((n - i) / (2 * n - i) for i in range(1, k + 1))}
    for name, mean in expected.items():
        values = np.array([d[name] for d in draws])
        standard_error = values.std(ddof=1) / math.sqrt(len(values))
        assert abs(values.mean() - mean) < 4 * standard_error, (name, values.mean(), mean)


# --- chunks and tensors -----------------------------------------------------------------------

def test_the_chunk_size_changes_nothing():
    real, fake = features(4, n_real=130, n_fake=110, d=5)
    results = [prdc(real, fake, k_pr=3, k_dc=5, chunk=c) for c in (1, 7, 64, 110, 130, 10_000)]
    assert all(r == results[0] for r in results)
    radii = [knn_radii(real, 4, chunk=c) for c in (1, 13, 1000)]
    np.testing.assert_allclose(radii[1], radii[0], rtol=1e-13)
    np.testing.assert_allclose(radii[2], radii[0], rtol=1e-13)
    near = [nearest_distances(fake, real, chunk=c, return_index=True) for c in (1, 13, 1000)]
    for distances, index in near[1:]:
        np.testing.assert_allclose(distances, near[0][0], rtol=1e-13)
        np.testing.assert_array_equal(index, near[0][1])


def test_tensors_give_the_same_result_as_arrays():
    real, fake = features(5, n_real=200, n_fake=150, d=6)
    as_arrays = prdc(real, fake)
    assert prdc(torch.from_numpy(real), torch.from_numpy(fake).requires_grad_()) == as_arrays
    single = real.astype(np.float32), fake.astype(np.float32)  # float32 in: float64 inside
    assert prdc(*(torch.from_numpy(a) for a in single)) == prdc(*single)
    np.testing.assert_array_equal(knn_radii(torch.from_numpy(real), 2), knn_radii(real, 2))
    np.testing.assert_array_equal(nearest_distances(torch.from_numpy(fake), real),
                                  nearest_distances(fake, real))


# --- the published example --------------------------------------------------------------------

# Naeem et al.'s README (prdc 0.2): real and fake features, 10,000 draws each of N(0, I) in
# 1,000 dimensions, k = 5, "may fluctuate due to randomness".
PUBLISHED = {"precision": 0.4772, "recall": 0.4705, "density": 1.0555, "coverage": 0.9735}
# Measured here with this module (equal to prdc.compute_prdc on the first of those draws, to
# the last digit), one draw per seed: the mean and standard deviation of each metric at
# N = M = 10,000 (14 draws) and at N = M = 2,000 (40 draws).
AT_10_000 = {"precision": (0.4746, 0.0090), "recall": (0.4800, 0.0068),
             "density": (0.9769, 0.0462), "coverage": (0.9655, 0.0054)}
AT_2_000 = {"precision": (0.5509, 0.0149), "recall": (0.5543, 0.0133),
            "density": (0.9950, 0.0746), "coverage": (0.9700, 0.0070)}


def test_naeem_et_al_published_example():
    """The published example's law at a fifth of its size: N = M = 2,000 draws of N(0, I) in
    1,000-D, k = 5 (0.3 to 3 s here; 10,000 of each take 10 to 50 s).

    Density and coverage do not depend on the size in expectation (E[density] = 1,
    E[coverage] = 1 - prod_{i=1..5} (N - i) / (2N - i): 0.96887 at 2,000, 0.96877 at 10,000).
    Precision and recall do: fewer points make larger balls, and the mean precision goes from
    0.475 at 10,000 to 0.551 at 2,000 (recall, the same statistic with the roles swapped,
    from 0.480 to 0.554), so the published value is compared after adding that shift. The
    published numbers are one draw and so is ours: the tolerance is 4 standard deviations of
    the difference of the two draws, sqrt(sd_2000^2 + sd_10000^2), from the spreads above;
    the published draw itself lies within 1.7 of its own standard deviations of our means."""
    rng = np.random.default_rng(2020)
    real, fake = rng.normal(size=(2_000, 1_000)), rng.normal(size=(2_000, 1_000))
    ours = prdc(real, fake, k_pr=5, k_dc=5)
    for name in METRICS:
        (mean_10_000, sd_10_000), (mean_2_000, sd_2_000) = AT_10_000[name], AT_2_000[name]
        shift = mean_2_000 - mean_10_000 if name in ("precision", "recall") else 0.0
        tolerance = 4 * math.hypot(sd_2_000, sd_10_000)
        assert abs(ours[name] - (PUBLISHED[name] + shift)) <= tolerance, (name, ours[name])
        assert abs(PUBLISHED[name] - mean_10_000) <= 2 * sd_10_000  # the published draw


# --- building blocks against scipy ------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 3, 8])
def test_knn_radii_match_cdist(k):
    rng = np.random.default_rng(k)
    x = rng.normal(size=(90, 7))
    x[10] = x[20]  # a duplicate pair: each is the other's nearest neighbour, at distance 0
    own = cdist(x, x)
    np.fill_diagonal(own, np.inf)
    expected = np.sort(own, axis=1)[:, k - 1]
    radii = knn_radii(x, k, chunk=32)
    assert radii.dtype == np.float64 and radii.shape == (90,)
    np.testing.assert_allclose(radii, expected, rtol=1e-10, atol=1e-6)
    if k == 1:
        assert radii[10] < 1e-6 and radii[20] < 1e-6


def test_nearest_distances_match_cdist_and_copies_are_at_zero():
    rng = np.random.default_rng(6)
    train = rng.normal(size=(300, 20))
    samples = rng.normal(size=(250, 20))
    samples[[3, 77]] = train[[41, 299]]  # two exact copies of training rows
    distances, index = nearest_distances(samples, train, chunk=64, return_index=True)
    full = cdist(samples, train)
    np.testing.assert_array_equal(index, full.argmin(axis=1))
    np.testing.assert_allclose(distances, full.min(axis=1), rtol=1e-13)
    assert distances.dtype == np.float64 and index.dtype == np.int64
    assert distances[3] == 0.0 and distances[77] == 0.0 and list(index[[3, 77]]) == [41, 299]
    np.testing.assert_array_equal(nearest_distances(samples, train), distances)


def test_a_near_copy_keeps_its_distance():
    # Far from the origin the product form |x|^2 + |y|^2 - 2 x.y loses the small distance to
    # cancellation (1e-6 of |x|^2 = 1e10 is lost in rounding); the difference keeps it.
    train = np.full((3, 4), 1e5) + np.arange(3)[:, None]
    sample = train[1:2] + np.array([[1e-6, 0, 0, 0]])
    gap = sample[0, 0] - train[1, 0]  # 1e-6 as far as 1e5 + 1e-6 can be stored: exact
    assert nearest_distances(sample, train)[0] == pytest.approx(gap, rel=1e-12)
    product_form = 2 * train[1] @ train[1] - 2 * sample[0] @ train[1]  # + rounding of |x|^2
    assert abs(product_form - gap ** 2) > 1e3 * gap ** 2


# --- memorisation -----------------------------------------------------------------------------

def test_memorisation_share_by_hand():
    test = np.arange(101.0)  # 0, 1, ..., 100: the 1 % quantile is 1, the 5 % one 5
    # "closer than" is strict: a sample at exactly the quantile does not count
    assert memorisation_share(np.array([0.0, 0.5, 1.0, 2.0, 50.0]), test) == 2 / 5
    assert memorisation_share(np.array([4.0, 5.0, 6.0]), test, quantile=0.05) == 1 / 3
    assert memorisation_share(torch.tensor([0.5, 3.0]), torch.from_numpy(test)) == 0.5
    # between two test rows the quantile is interpolated: 1 + 0.5 (2 - 1) at 1.5 %
    assert memorisation_share(np.array([1.49, 1.51]), test, quantile=0.015) == 0.5


def test_copies_count_and_unseen_samples_score_about_one_percent():
    """Samples from the test rows' distribution (here: all N(0, I) in 8-D, the training set
    too) are closer than the test rows' 1 % quantile q with probability 1 %: the share has a
    mean of 0.01 and, with q itself estimated from t test rows, a standard error of
    sqrt(0.01 * 0.99 * (1/n + 1/t)) = 0.00099 for n = t = 20,000; the assertion allows 4 of
    them. Replacing 500 of the samples by copies of training rows adds those 500 (distance
    0), less the ~1 % of them that counted already."""
    rng = np.random.default_rng(7)
    train = rng.normal(size=(1_000, 8))
    test_to_train = nearest_distances(rng.normal(size=(20_000, 8)), train)
    sample_to_train = nearest_distances(rng.normal(size=(20_000, 8)), train)
    honest = memorisation_share(sample_to_train, test_to_train)
    standard_error = math.sqrt(0.01 * 0.99 * (1 / 20_000 + 1 / 20_000))
    assert abs(honest - 0.01) < 4 * standard_error  # measured: 0.00965
    copies = nearest_distances(train[rng.choice(1_000, 500, replace=False)], train)
    assert not copies.any()
    copying = memorisation_share(np.concatenate([copies, sample_to_train[500:]]), test_to_train)
    counted_before = np.mean(sample_to_train[500:] < np.quantile(test_to_train, 0.01))
    assert copying == pytest.approx((500 + counted_before * 19_500) / 20_000, abs=1e-12)


# --- bad input --------------------------------------------------------------------------------

GOOD = np.zeros((6, 3)) + np.arange(6)[:, None]


@pytest.mark.parametrize("real, fake, kwargs, message", [
    (np.zeros(6), GOOD, {}, r"^real must be an \(N, d\) array with N, d >= 1, got shape \(6,\)$"),
    (GOOD, np.zeros((6, 3, 1)), {},
     r"^fake must be an \(N, d\) array with N, d >= 1, got shape \(6, 3, 1\)$"),
    (GOOD, np.zeros((0, 3)), {}, r"^fake must be an \(N, d\) array with N, d >= 1, got shape "
                                 r"\(0, 3\)$"),
    (GOOD, np.zeros((6, 4)), {}, r"^real has 3 features per sample, fake has 4$"),
    (np.where(GOOD == 2, np.nan, GOOD), GOOD, {}, r"^real contains NaN or inf$"),
    (GOOD, torch.full((6, 3), math.inf), {}, r"^fake contains NaN or inf$"),
    (GOOD, GOOD, {"k_pr": 0}, r"^k_pr must be a positive int, got 0$"),
    (GOOD, GOOD, {"k_dc": 2.0}, r"^k_dc must be a positive int, got 2\.0$"),
    (GOOD, GOOD, {"k_pr": True}, r"^k_pr must be a positive int, got True$"),
    (GOOD, GOOD, {"k_dc": 6}, r"^k_dc = 6 needs more than 6 rows of real \(the k-th nearest "
                              r"neighbour of a row is another row\), got 6$"),
    (GOOD, GOOD[:3], {}, r"^k_pr = 3 needs more than 3 rows of fake \(the k-th nearest "
                         r"neighbour of a row is another row\), got 3$"),
    (GOOD, GOOD, {"k_dc": 1, "chunk": 0}, r"^chunk must be a positive int \(rows per block\), "
                                          r"got 0$"),
])
def test_prdc_bad_input(real, fake, kwargs, message):
    with pytest.raises(ValueError, match=message):
        prdc(real, fake, **kwargs)


def test_building_blocks_bad_input():
    with pytest.raises(ValueError, match=r"^k = 6 needs more than 6 rows of features \(the k-th "
                                         r"nearest neighbour of a row is another row\), got 6$"):
        knn_radii(GOOD, 6)
    with pytest.raises(ValueError, match=r"^samples have 3 features per row, reference has 2$"):
        nearest_distances(GOOD, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"^reference must be an \(N, d\) array with N, d >= 1, "
                                         r"got shape \(0, 3\)$"):
        nearest_distances(GOOD, np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"^chunk must be a positive int \(rows per block\), "
                                         r"got 1\.5$"):
        nearest_distances(GOOD, GOOD, chunk=1.5)


@pytest.mark.parametrize("samples, test, kwargs, message", [
    (np.zeros((2, 1)), np.ones(5), {},
     r"^sample_to_train must be a non-empty \(n,\) array of distances, got shape \(2, 1\)$"),
    (np.ones(2), np.ones(0), {},
     r"^test_to_train must be a non-empty \(n,\) array of distances, got shape \(0,\)$"),
    (np.array([1.0, np.nan]), np.ones(5), {}, r"^sample_to_train contains NaN or inf$"),
    (np.ones(2), np.array([1.0, -0.5]), {}, r"^test_to_train must hold distances >= 0, "
                                            r"got -0\.5$"),
    (np.ones(2), np.ones(5), {"quantile": 1.0}, r"^quantile must be a number in \(0, 1\), "
                                                r"got 1\.0$"),
    (np.ones(2), np.ones(5), {"quantile": "1%"}, r"^quantile must be a number in \(0, 1\), "
                                                 r"got '1%'$"),
    (np.ones(2), np.array([0.0, 0, 1, 2]), {"quantile": 0.25},
     r"^the 0\.25 quantile of test_to_train is 0: at least that share of the test rows are "
     r"copies of training rows, so no sample can be closer; remove those copies from the "
     r"test set$"),
])
def test_memorisation_share_bad_input(samples, test, kwargs, message):
    with pytest.raises(ValueError, match=message):
        memorisation_share(samples, test, **kwargs)
