"""helpers/collapse.py: the scores of points whose scores are known (true samples, points on
chosen modes, off-mode points, the 3σ boundary), the limit of a perfect generator, the
summaries over seeds, and bad input."""
import math

import numpy as np
import pytest
from scipy import stats

from helpers.collapse import (EVAL_POINTS, HELD_SHARE, HQ_RADIUS, TRUE_HQ_PROBABILITY,
                              ModeReport, evaluate, hops, reverse_kl_text, summarise)
from helpers.mixtures import BENCHMARKS, Benchmark, sample


NAMES = list(BENCHMARKS)


TAIL = 1e-6  # chance per check that a correct implementation fails a statistical test


def _directions(n: int) -> np.ndarray:
    """n unit vectors (n, 2) at angles that are not multiples of 45°."""
    angles = 2 * np.pi * (np.arange(n) + 0.3) / n
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _midpoints(benchmark: Benchmark) -> np.ndarray:
    """Points halfway between each mode and its nearest neighbour: (K, 2)."""
    m = benchmark.means
    d = np.linalg.norm(m[:, None] - m[None], axis=2) + np.diag(np.full(len(m), np.inf))
    return (m + m[d.argmin(axis=1)]) / 2


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(5))
def test_true_samples_capture_every_mode_at_the_expected_quality(name, seed):
    b, n = BENCHMARKS[name], EVAL_POINTS
    report = evaluate(sample(b, n, np.random.default_rng(seed)), b)
    assert report.benchmark == name and report.n == n
    assert report.modes == b.n_modes
    # High-quality count ~ Binomial(n, 1 - e^{-4.5}).
    hq = stats.binom(n, TRUE_HQ_PROBABILITY)
    assert hq.ppf(TAIL) <= report.high_quality_pct * n / 100 <= hq.isf(TAIL)
    # With m high-quality points, 2m·KL is the G-statistic of a multinomial against uniform,
    # asymptotically χ²(K - 1).
    m = report.counts.sum()
    assert 0 < report.reverse_kl < stats.chi2(b.n_modes - 1).isf(TAIL) / (2 * m)


def test_true_samples_reverse_kl_averages_to_the_multinomial_floor():
    b = BENCHMARKS["grid"]
    kls = [evaluate(sample(b, 2_500, np.random.default_rng(s)), b).reverse_kl
           for s in range(40)]
    floor = (b.n_modes - 1) / (2 * 2_500 * TRUE_HQ_PROBABILITY)  # E[χ²(K-1)] / 2m
    # 2m·KL has variance ≈ 2(K - 1); the mean of 40 is within 5 standard errors of the floor.
    assert abs(np.mean(kls) - floor) < 5 * floor * math.sqrt(2 / (b.n_modes - 1) / 40)


@pytest.mark.parametrize("name", NAMES)
def test_all_points_on_one_mode(name):
    b = BENCHMARKS[name]
    report = evaluate(np.repeat(b.means[[3]], 100, axis=0), b)
    assert report.modes == 1 and report.high_quality_pct == 100.0
    assert report.reverse_kl == pytest.approx(math.log(b.n_modes), rel=1e-14)
    assert report.counts[3] == 100 and report.counts.sum() == 100


@pytest.mark.parametrize("name, k", [("ring", 1), ("ring", 2), ("ring", 5), ("ring", 8),
                                     ("grid", 3), ("grid", 10), ("grid", 25)])
def test_points_evenly_on_k_modes(name, k):
    b = BENCHMARKS[name]
    chosen = np.random.default_rng(k).choice(b.n_modes, size=k, replace=False)
    report = evaluate(np.repeat(b.means[chosen], 7, axis=0), b)
    assert report.modes == k and report.high_quality_pct == 100.0
    assert report.reverse_kl == pytest.approx(math.log(b.n_modes / k), rel=1e-12, abs=1e-15)
    assert np.flatnonzero(report.counts).tolist() == sorted(chosen.tolist())


def test_uneven_histogram_matches_the_kl_formula():
    b = BENCHMARKS["ring"]
    counts = np.array([5, 0, 1, 0, 0, 2, 0, 0])
    report = evaluate(np.repeat(b.means, counts, axis=0), b)
    q = np.array([5, 1, 2]) / 8
    assert report.modes == 3
    assert report.reverse_kl == pytest.approx(float(np.sum(q * np.log(8 * q))), rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_off_mode_points_are_not_high_quality(name):
    b = BENCHMARKS[name]
    off = np.concatenate([_midpoints(b), b.means + 0.5 * np.array([1.0, 1.0])])
    report = evaluate(off, b)
    assert report.modes == 0 and report.high_quality_pct == 0.0
    assert math.isnan(report.reverse_kl)  # documented: no high-quality point, no histogram
    assert report.counts.sum() == 0 and report.counts.shape == (b.n_modes,)


@pytest.mark.parametrize("name", NAMES)
def test_mix_of_on_and_off_mode_points_gives_the_exact_fraction(name):
    b = BENCHMARKS[name]
    rng = np.random.default_rng(0)
    on = b.means[rng.integers(b.n_modes, size=37)] + 2 * b.sigma * _directions(37)
    off = _midpoints(b)[rng.integers(b.n_modes, size=63)]
    points = rng.permutation(np.concatenate([on, off]))
    report = evaluate(points, b)
    assert report.high_quality_pct == pytest.approx(37.0, abs=1e-12)
    assert report.counts.sum() == 37


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_three_sigma_boundary(name, dtype):
    b = BENCHMARKS[name]
    u = np.tile(_directions(4), (b.n_modes, 1))  # 4 directions around each mode
    centres = np.repeat(b.means, 4, axis=0)
    inside = evaluate((centres + 2.99 * b.sigma * u).astype(dtype), b)
    outside = evaluate((centres + 3.01 * b.sigma * u).astype(dtype), b)
    assert inside.high_quality_pct == 100.0 and inside.modes == b.n_modes
    assert np.all(inside.counts == 4) and inside.reverse_kl == pytest.approx(0, abs=1e-15)
    assert outside.high_quality_pct == 0.0 and outside.modes == 0


def test_evaluate_takes_a_name_or_a_benchmark_and_leaves_points_alone():
    points = sample("ring", 300, np.random.default_rng(1))
    before = points.copy()
    a, b = evaluate(points, "ring"), evaluate(points, BENCHMARKS["ring"])
    np.testing.assert_array_equal(points, before)
    assert a.metrics() == b.metrics()
    np.testing.assert_array_equal(a.counts, b.counts)


def test_evaluate_accepts_integer_points_and_tensors():
    grid = BENCHMARKS["grid"]
    report = evaluate(np.array([[0, 0], [2, 2], [1, 1]]), grid)
    assert report.modes == 2 and report.high_quality_pct == pytest.approx(200 / 3)

    import torch

    x = sample(grid, 200, np.random.default_rng(0))
    tensor = torch.tensor(x, requires_grad=True)  # as a generator returns it
    assert evaluate(tensor, grid).metrics() == evaluate(x, grid).metrics()


def test_report_is_frozen_and_prints_a_line():
    report = evaluate(BENCHMARKS["ring"].means[:4], "ring")
    with pytest.raises(AttributeError):
        report.modes = 8
    with pytest.raises(ValueError):
        report.counts[0] = 3
    assert str(report) == f"ring: 4/8 modes, 100.0% high quality, reverse KL {math.log(2):.4f}"


def test_true_hq_probability_closed_form_and_monte_carlo():
    assert HQ_RADIUS == 3.0
    assert TRUE_HQ_PROBABILITY == pytest.approx(stats.chi2(2).cdf(9), rel=1e-14)
    assert TRUE_HQ_PROBABILITY == pytest.approx(0.98889, abs=1e-5)
    n = 1_000_000
    z = np.random.default_rng(0).standard_normal((n, 2))
    estimate = np.mean(np.hypot(z[:, 0], z[:, 1]) <= 3)
    se = math.sqrt(TRUE_HQ_PROBABILITY * (1 - TRUE_HQ_PROBABILITY) / n)
    assert abs(estimate - TRUE_HQ_PROBABILITY) < 5 * se


def test_many_true_samples_reach_the_limit_through_evaluate():
    n = 200_000
    report = evaluate(sample("grid", n, np.random.default_rng(7)), "grid")
    se = math.sqrt(TRUE_HQ_PROBABILITY * (1 - TRUE_HQ_PROBABILITY) / n)
    assert abs(report.high_quality_pct / 100 - TRUE_HQ_PROBABILITY) < 5 * se


def _report(modes_, hq, kl, benchmark="ring"):
    return ModeReport(benchmark, 100, modes_, hq, kl, np.zeros(8, int))


def test_summarise_known_reports():
    reports = [_report(8, 98.0, 0.25), _report(6, 96.0, 0.5), _report(7, 100.0, 0.75)]
    s = summarise(reports)
    assert list(s) == ["modes_mean", "modes_std", "high_quality_pct_mean",
                       "high_quality_pct_std", "reverse_kl_mean", "reverse_kl_std", "runs",
                       "no_hq_runs"]
    assert s["modes_mean"] == 7.0 and s["modes_std"] == pytest.approx(1.0)
    assert s["high_quality_pct_mean"] == pytest.approx(98.0)
    assert s["high_quality_pct_std"] == pytest.approx(2.0)
    assert s["reverse_kl_mean"] == pytest.approx(0.5) and s["reverse_kl_std"] == pytest.approx(0.25)


def test_summarise_of_evaluated_seeds():
    reports = [evaluate(sample("ring", 500, np.random.default_rng(s)), "ring") for s in range(5)]
    s = summarise(reports)
    hq = [r.high_quality_pct for r in reports]
    assert s["high_quality_pct_mean"] == pytest.approx(np.mean(hq))
    assert s["high_quality_pct_std"] == pytest.approx(np.std(hq, ddof=1))
    assert s["modes_mean"] == 8 and s["modes_std"] == 0


def test_summarise_counts_the_seeds_without_high_quality_points_and_leaves_them_out():
    s = summarise([_report(0, 0.0, math.nan), _report(8, 99.0, 0.25), _report(6, 97.0, 0.75)])
    assert s["runs"] == 3 and s["no_hq_runs"] == 1
    assert s["reverse_kl_mean"] == pytest.approx(0.5) and s["reverse_kl_std"] == pytest.approx(
        math.sqrt(0.125))
    assert s["modes_mean"] == pytest.approx(14 / 3)  # the other scores count every seed
    one = summarise([_report(0, 0.0, math.nan), _report(8, 99.0, 0.01)])
    assert one["reverse_kl_mean"] == 0.01 and math.isnan(one["reverse_kl_std"])
    none = summarise([_report(0, 0.0, math.nan)] * 3)
    assert none["no_hq_runs"] == 3 and math.isnan(none["reverse_kl_mean"])


@pytest.mark.parametrize("kls, text", [
    ([0.25, 0.75], "0.500 ± 0.354"),
    ([math.nan, 0.25, 0.75], "0.500 ± 0.354; 1 of 3 seeds without high-quality points"),
    ([math.nan, 0.25, math.nan], "0.250 (one seed); 2 of 3 seeds without high-quality points"),
    ([math.nan] * 5, "undefined: none of 5 seeds has high-quality points"),
])
def test_reverse_kl_text_never_shows_nan_and_says_which_seeds_are_left_out(kls, text):
    reports = [_report(0 if math.isnan(k) else 8, 0.0 if math.isnan(k) else 99.0, k)
               for k in kls]
    shown = reverse_kl_text(summarise(reports))
    assert shown == text and "nan" not in shown


def test_reverse_kl_text_of_evaluated_seeds_and_its_digits():
    ring = BENCHMARKS["ring"]
    far = ring.means[:1] + 0.5  # no point within 3σ of a mode
    reports = [evaluate(np.repeat(ring.means[:k], 3, axis=0), ring) for k in (1, 2)]
    reports.append(evaluate(np.repeat(far, 10, axis=0), ring))
    s = summarise(reports)
    assert s["no_hq_runs"] == 1
    assert reverse_kl_text(s, digits=2) == (
        f"{(math.log(8) + math.log(4)) / 2:.2f} ± {math.log(2) / math.sqrt(2):.2f}; "
        "1 of 3 seeds without high-quality points")


@pytest.mark.parametrize("reports, message", [
    ([], "at least two"),
    ([_report(8, 99.0, 0.01)], "at least two"),
    ([_report(8, 99.0, 0.01), {"modes": 8}], "ModeReport"),
    ([_report(8, 99.0, 0.01), _report(25, 99.0, 0.01, "grid")], "mix benchmarks"),
])
def test_summarise_bad_input(reports, message):
    with pytest.raises(ValueError, match=message):
        summarise(reports)


def test_a_point_exactly_three_sigma_away_is_high_quality():
    b = Benchmark("b", [[0.0, 0.0], [100.0, 0.0]], 1.0)
    report = evaluate(np.array([[3.0, 0.0], [0.0, -3.0], [100.0, 3.0000001]]), b)
    assert report.counts.tolist() == [2, 0] and report.modes == 1


def test_summarise_names_a_wrong_report():
    with pytest.raises(ValueError, match=r"^reports must all be ModeReport objects \(the "
                                         r"results of evaluate\)$"):
        summarise([evaluate(np.zeros((3, 2)), "ring"), {"modes": 1}])


def test_evaluate_refuses_bad_points_and_unknown_benchmarks():
    # the checks are helpers.mixtures' (tests/test_mixtures.py); evaluate makes them
    with pytest.raises(ValueError, match=r"^points must hold at least one point, got shape "
                                         r"\(0, 2\)$"):
        evaluate(np.zeros((0, 2)), "ring")
    with pytest.raises(ValueError, match="finite.*row 1"):
        evaluate(np.array([[0.0, 0.0], [np.nan, 1.0]]), "ring")
    with pytest.raises(ValueError, match="unknown benchmark 'spiral'; known: ring, grid"):
        evaluate(np.zeros((3, 2)), "spiral")
    with pytest.raises(TypeError, match="Benchmark or a name, got int$"):
        evaluate(np.zeros((3, 2)), 8)


def test_report_stores_its_counts_as_ints():
    report = ModeReport(benchmark="b", n=3, modes=2, high_quality_pct=100.0, reverse_kl=0.0,
                        counts=[1.0, 2.0])
    assert report.counts.dtype == np.int64 and report.counts.tolist() == [1, 2]


# --- modes held, and hops between snapshots ----------------------------------------------------

def _on_modes(benchmark: str, points_per_mode: dict[int, int], n: int) -> ModeReport:
    """A report of n points: points_per_mode[k] exactly on mode k, the rest off every mode."""
    b = BENCHMARKS[benchmark]
    on = np.concatenate([np.repeat(b.means[[k]], c, axis=0) for k, c in points_per_mode.items()])
    off = np.repeat(_midpoints(b)[:1], n - len(on), axis=0)
    return evaluate(np.concatenate([on, off]), b)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(3))
def test_true_samples_hold_every_mode(name, seed):
    report = evaluate(sample(name, EVAL_POINTS, np.random.default_rng(seed)), name)
    assert report.held().tolist() == list(range(BENCHMARKS[name].n_modes))


def test_a_mode_is_held_from_the_stated_share_of_the_points_on():
    assert HELD_SHARE == 0.01
    report = _on_modes("grid", {0: 2_000, 7: 25, 9: 24, 11: 3}, n=2_500)
    assert report.modes == 4  # captured: any high-quality point
    assert report.held().tolist() == [0, 7]  # held: 25 of 2,500 points and more
    assert report.held(0.001).tolist() == [0, 7, 9, 11]
    assert report.held(1.0).tolist() == []
    for share in (0, -0.1, 1.5, True, "1%"):
        with pytest.raises(ValueError, match="share must be a number in"):
            report.held(share)


def test_stray_points_are_capture_noise_not_hops():
    n = 2_500
    snapshots = [
        _on_modes("ring", {0: 2_400}, n),
        _on_modes("ring", {0: 2_400, 5: 3}, n),       # strays pass mode 5: captured, not held
        _on_modes("ring", {0: 2_400, 2: 1}, n),       # ... then mode 2
        _on_modes("ring", {3: 2_300, 0: 10}, n),      # the generator moves to mode 3: a hop
        _on_modes("ring", {3: 2_300, 0: 10, 6: 40}, n),  # and takes mode 6 as well: a hop
    ]
    captured = [set(np.flatnonzero(r.counts)) for r in snapshots]
    assert sum(a != b for a, b in zip(captured[:-1], captured[1:])) == 4
    assert hops(snapshots) == 2
    assert hops(snapshots, share=0.0001) == 4  # a share too small counts the strays again
    assert hops(snapshots[:1]) == 0 and hops([]) == 0


def test_hops_refuses_mixed_or_foreign_reports():
    ring, grid = _on_modes("ring", {0: 10}, 10), _on_modes("grid", {0: 10}, 10)
    with pytest.raises(ValueError, match="one benchmark"):
        hops([ring, grid])
    with pytest.raises(ValueError, match="ModeReport"):
        hops([ring, {"modes": 1}])
