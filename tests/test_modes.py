import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402
from scipy import stats  # noqa: E402

from helpers import modes  # noqa: E402
from helpers.modes import (BENCHMARKS, HQ_RADIUS, TRUE_HQ_PROBABILITY, Benchmark,  # noqa: E402
                           ModeReport, evaluate, plot_points, sample, summarise)

NAMES = list(BENCHMARKS)
TAIL = 1e-6  # chance per check that a correct implementation fails a statistical test


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _directions(n: int) -> np.ndarray:
    """n unit vectors (n, 2) at angles that are not multiples of 45°."""
    angles = 2 * np.pi * (np.arange(n) + 0.3) / n
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _midpoints(benchmark: Benchmark) -> np.ndarray:
    """Points halfway between each mode and its nearest neighbour: (K, 2)."""
    m = benchmark.means
    d = np.linalg.norm(m[:, None] - m[None], axis=2) + np.diag(np.full(len(m), np.inf))
    return (m + m[d.argmin(axis=1)]) / 2


# --- the benchmarks -------------------------------------------------------------------------

def test_ring_has_eight_modes_on_the_unit_circle():
    ring = BENCHMARKS["ring"]
    assert ring.name == "ring" and ring.n_modes == 8 and ring.sigma == 0.01
    k = np.arange(8)
    expected = np.stack([np.cos(2 * np.pi * k / 8), np.sin(2 * np.pi * k / 8)], axis=1)
    np.testing.assert_allclose(ring.means, expected, atol=1e-15)


def test_grid_has_twenty_five_modes_on_even_coordinates():
    grid = BENCHMARKS["grid"]
    assert grid.name == "grid" and grid.n_modes == 25 and grid.sigma == 0.05
    expected = {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(m) for m in grid.means.tolist()} == expected


def test_benchmark_is_frozen_and_keeps_its_own_copy():
    means = np.zeros((2, 2))
    b = Benchmark("two", means, 1)
    means[0] = 5.0
    assert np.all(b.means == 0) and isinstance(b.sigma, float)
    with pytest.raises(ValueError):
        b.means[0, 0] = 1.0  # read-only
    with pytest.raises(AttributeError):
        b.sigma = 2.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="", means=np.zeros((2, 2)), sigma=1.0), "name"),
    (dict(name="b", means=np.zeros((2, 3)), sigma=1.0), r"shape \(K, 2\)"),
    (dict(name="b", means=np.zeros((0, 2)), sigma=1.0), r"shape \(K, 2\)"),
    (dict(name="b", means=np.full((2, 2), np.nan), sigma=1.0), "finite"),
    (dict(name="b", means=np.zeros((2, 2)), sigma=0.0), "sigma"),
    (dict(name="b", means=np.zeros((2, 2)), sigma=-1.0), "sigma"),
    (dict(name="b", means=np.zeros((2, 2)), sigma=float("inf")), "sigma"),
    (dict(name="b", means=np.zeros((2, 2)), sigma=True), "sigma"),
])
def test_bad_benchmark_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Benchmark(**kwargs)


# --- sampling -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_sample_shape_dtype_and_seed(name):
    a = sample(name, 1000, np.random.default_rng(3))
    assert a.shape == (1000, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, sample(name, 1000, np.random.default_rng(3)))
    assert not np.array_equal(a, sample(name, 1000, np.random.default_rng(4)))


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_an_equal_weight_mixture_with_the_right_spread(name):
    b = BENCHMARKS[name]
    x = sample(b, 20_000, np.random.default_rng(0)).astype(np.float64)
    # Modes are > 10σ apart, so the nearest mode is the component drawn.
    nearest = np.linalg.norm(x[:, None] - b.means[None], axis=2).argmin(axis=1)
    counts = np.bincount(nearest, minlength=b.n_modes)
    assert stats.chisquare(counts).pvalue > TAIL
    # Each coordinate of x - mean is N(0, σ²): the sum of squares over 2n of them is σ²χ²(2n).
    squares = (((x - b.means[nearest]) / b.sigma) ** 2).sum()
    dof = 2 * len(x)
    assert stats.chi2(dof).ppf(TAIL) < squares < stats.chi2(dof).isf(TAIL)


# --- evaluation on true samples ---------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(5))
def test_true_samples_capture_every_mode_at_the_expected_quality(name, seed):
    b, n = BENCHMARKS[name], modes.EVAL_POINTS
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


# --- evaluation on constructed points --------------------------------------------------------

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

    class FakeTensor:  # what a torch tensor on a GPU that needs a gradient offers
        def __init__(self, array):
            self.array = array

        def detach(self):
            return self

        def cpu(self):
            return self.array

    x = sample(grid, 200, np.random.default_rng(0))
    assert evaluate(FakeTensor(x), grid).metrics() == evaluate(x, grid).metrics()


def test_report_is_frozen_and_prints_a_line():
    report = evaluate(BENCHMARKS["ring"].means[:4], "ring")
    with pytest.raises(AttributeError):
        report.modes = 8
    with pytest.raises(ValueError):
        report.counts[0] = 3
    assert str(report) == f"ring: 4/8 modes, 100.0% high quality, reverse KL {math.log(2):.4f}"


# --- the limit of a perfect generator --------------------------------------------------------

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


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("points, message", [
    (np.zeros((10, 3)), r"shape \(n, 2\)"),
    (np.zeros(10), r"shape \(n, 2\)"),
    (np.zeros((2, 5, 2)), r"shape \(n, 2\)"),
    (np.zeros((0, 2)), "at least one point"),
    (np.array([[0.0, 0.0], [np.nan, 1.0]]), "finite.*row 1"),
    (np.array([[np.inf, 0.0]]), "finite"),
    (np.zeros((3, 2), dtype=bool), "real numbers"),
    (np.zeros((3, 2), dtype=complex), "real numbers"),
    (np.array([["a", "b"]]), "real numbers"),
])
def test_bad_points_raise(points, message):
    with pytest.raises(ValueError, match=message):
        evaluate(points, "ring")
    with pytest.raises(ValueError, match=message):
        plot_points(points, "ring")


def test_unknown_benchmark_lists_the_names():
    for call in (lambda: evaluate(np.zeros((3, 2)), "spiral"),
                 lambda: sample("spiral", 10, np.random.default_rng(0)),
                 lambda: plot_points(np.zeros((3, 2)), "spiral")):
        with pytest.raises(ValueError, match="unknown benchmark 'spiral'; known: ring, grid"):
            call()
    with pytest.raises(TypeError, match="Benchmark or a name"):
        evaluate(np.zeros((3, 2)), 8)


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "10"])
def test_sample_bad_n(n):
    with pytest.raises(ValueError, match="positive int"):
        sample("ring", n, np.random.default_rng(0))


def test_sample_bad_rng():
    with pytest.raises(TypeError, match="Generator"):
        sample("ring", 10, 0)


# --- summaries over seeds -------------------------------------------------------------------

def _report(modes_, hq, kl, benchmark="ring"):
    return ModeReport(benchmark, 100, modes_, hq, kl, np.zeros(8, int))


def test_summarise_known_reports():
    reports = [_report(8, 98.0, 0.25), _report(6, 96.0, 0.5), _report(7, 100.0, 0.75)]
    s = summarise(reports)
    assert list(s) == ["modes_mean", "modes_std", "high_quality_pct_mean",
                       "high_quality_pct_std", "reverse_kl_mean", "reverse_kl_std"]
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


def test_summarise_keeps_a_nan_reverse_kl_visible():
    s = summarise([_report(0, 0.0, math.nan), _report(8, 99.0, 0.01)])
    assert math.isnan(s["reverse_kl_mean"]) and math.isnan(s["reverse_kl_std"])
    assert s["modes_mean"] == 4.0


@pytest.mark.parametrize("reports, message", [
    ([], "at least two"),
    ([_report(8, 99.0, 0.01)], "at least two"),
    ([_report(8, 99.0, 0.01), {"modes": 8}], "ModeReport"),
    ([_report(8, 99.0, 0.01), _report(25, 99.0, 0.01, "grid")], "mix benchmarks"),
])
def test_summarise_bad_input(reports, message):
    with pytest.raises(ValueError, match=message):
        summarise(reports)


# --- plotting -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_plot_points_draws_samples_modes_and_circles(name):
    b = BENCHMARKS[name]
    points = sample(b, 321, np.random.default_rng(0))
    fig = plot_points(points, b, title="true samples")
    (ax,) = fig.axes
    samples, means = ax.collections
    np.testing.assert_allclose(samples.get_offsets(), points, rtol=1e-6)
    np.testing.assert_allclose(means.get_offsets(), b.means)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == b.n_modes
    assert all(c.get_radius() == pytest.approx(3 * b.sigma) for c in circles)
    assert ax.get_title() == "true samples"


def test_plot_points_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    out = plot_points(np.zeros((5, 2)), "ring", ax=right)
    assert out is fig and len(right.collections[0].get_offsets()) == 5
    assert not left.collections and right.get_title() == "ring"


# -- init_stack ---------------------------------------------------------------------------------
def test_init_stack_shapes_bounds_and_seed_independence():
    params = modes.init_stack([16, 128, 2], [0, 1, 2])
    assert [p.shape for p in params] == [(3, 16, 128), (3, 1, 128), (3, 128, 2), (3, 1, 2)]
    assert all(p.dtype == np.float32 for p in params)
    assert np.abs(params[0]).max() <= 1 / math.sqrt(16) and np.abs(params[2]).max() <= 1 / math.sqrt(128)
    assert not params[1].any() and not params[3].any()
    # member s depends only on its own seed: the same seed in another stack gives the same slice
    other = modes.init_stack([16, 128, 2], [5, 1])
    np.testing.assert_array_equal(other[0][1], params[0][1])
    assert not np.array_equal(params[0][0], params[0][1])
    # a different salt gives a different network for the same seed
    assert not np.array_equal(modes.init_stack([16, 4], [0], salt=1)[0], modes.init_stack([16, 4], [0])[0])


def test_init_stack_matches_the_uniform_law_of_nn_linear():
    w = modes.init_stack([400, 300], [0])[0].ravel().astype(np.float64)
    bound = 1 / math.sqrt(400)
    assert stats.kstest(w, stats.uniform(-bound, 2 * bound).cdf).pvalue > TAIL


@pytest.mark.parametrize("sizes, seeds", [([16], [0]), ([16, 0], [0]), ([16, 4], []),
                                          ([16, 4], [1, 1]), ([16, 4], [-1])])
def test_init_stack_rejects_bad_input(sizes, seeds):
    with pytest.raises(ValueError):
        modes.init_stack(sizes, seeds)


# -- train --------------------------------------------------------------------------------------
def _fake_run(steps=10, every=None, value=1.0):
    bench = BENCHMARKS["ring"]
    calls = []

    def step(i):
        calls.append(i)
        return {"d_loss": np.array([value, 2 * value]), "g_loss": 0.5}

    def snapshot():  # seed 0 on every mode, seed 1 on mode 0 only
        rng = np.random.default_rng(len(calls))
        a = sample(bench, EVAL_POINTS_SMALL, rng)
        b = np.repeat(bench.means[:1], EVAL_POINTS_SMALL, axis=0)
        return np.stack([a, b])

    run = modes.train(step, steps, snapshot=snapshot, benchmark="ring", every=every, progress=False)
    return run, calls


EVAL_POINTS_SMALL = 800


def test_train_records_history_snapshots_and_scores():
    run, calls = _fake_run(steps=10, every=4)
    assert calls == list(range(10))
    assert run.history["d_loss"].shape == (10, 2) and np.all(run.history["d_loss"] == [1, 2])
    assert run.history["g_loss"].shape == (10, 1)
    assert [i for i, _ in run.snapshots] == [4, 8, 10]
    assert run.mode_counts().tolist() == [[8, 1], [8, 1], [8, 1]]
    assert [r.modes for r in run.final] == [8, 1] and run.benchmark == "ring"
    assert run.seconds >= 0
    once, _ = _fake_run(steps=3)
    assert [i for i, _ in once.snapshots] == [3]


def test_train_stops_on_a_non_finite_metric():
    from helpers.loop import NonFiniteLossError

    with pytest.raises(NonFiniteLossError, match=r"d_loss became .* at step 1:"):
        _fake_run(value=float("nan"))
    assert issubclass(NonFiniteLossError, FloatingPointError)


def test_train_takes_numpy_integers_as_budgets():
    run, calls = _fake_run(steps=np.int64(5), every=np.int32(2))
    assert calls == list(range(5)) and [i for i, _ in run.snapshots] == [2, 4, 5]


@pytest.mark.parametrize("steps, every", [(0, None), (2.5, None), (True, None), (5, 0),
                                          (np.float64(3.0), None), (5, np.bool_(True))])
def test_train_rejects_bad_budgets(steps, every):
    with pytest.raises(ValueError):
        modes.train(lambda i: {"d_loss": 0.0}, steps, snapshot=lambda: np.zeros((1, 5, 2)),
                    benchmark="ring", every=every, progress=False)


@pytest.mark.parametrize("returned", [None, {}, 1.0, [("d_loss", 1.0)]])
def test_train_refuses_a_step_that_returns_no_metrics(returned):
    with pytest.raises(TypeError, match="non-empty dict"):
        modes.train(lambda i: returned, 2, snapshot=lambda: np.zeros((1, 5, 2)),
                    benchmark="ring", progress=False)


def test_train_rejects_snapshots_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(S, n, 2\)"):
        modes.train(lambda i: {"d_loss": 0.0}, 2, snapshot=lambda: np.zeros((5, 2)),
                    benchmark="ring", progress=False)


# -- save_points / load_points ------------------------------------------------------------------
def test_points_round_trip_and_rescore_identically(tmp_path):
    rng = np.random.default_rng(0)
    points = {("ring", "gan"): np.stack([sample("ring", 300, rng) for _ in range(2)]),
              ("grid", "pac4"): np.stack([sample("grid", 300, rng) for _ in range(3)])}
    path = modes.save_points(tmp_path / "p.npz", points, framework="torch", seeds=[0, 1])
    assert path == tmp_path / "p.npz" and path.exists()
    loaded, benches, meta = modes.load_points(path)
    assert meta == {"framework": "torch", "seeds": [0, 1]}
    assert set(loaded) == set(points)
    for key, value in points.items():
        np.testing.assert_array_equal(loaded[key], value.astype(np.float32))
    for name in ("ring", "grid"):
        np.testing.assert_array_equal(benches[name].means, BENCHMARKS[name].means)
        assert benches[name].sigma == BENCHMARKS[name].sigma
    # a reader's evaluator with the stored benchmark scores exactly as ours
    a = evaluate(loaded[("grid", "pac4")][1], benches["grid"])
    b = evaluate(points[("grid", "pac4")][1], "grid")
    assert a.metrics() == b.metrics() and a.counts.tolist() == b.counts.tolist()


@pytest.mark.parametrize("points", [{}, {("ring",): np.zeros((1, 5, 2))},
                                    {("ring", "a/b"): np.zeros((1, 5, 2))},
                                    {("ring", "gan"): np.zeros((5, 2))},
                                    {("ring", "gan"): np.full((1, 5, 2), np.nan)},
                                    {("moon", "gan"): np.zeros((1, 5, 2))}])
def test_save_points_rejects_bad_input(tmp_path, points):
    with pytest.raises(ValueError):
        modes.save_points(tmp_path / "p.npz", points)


def test_load_points_rejects_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, images=np.zeros(3))
    with pytest.raises(ValueError, match="save_points"):
        modes.load_points(path)


# -- added with mutation testing (make mutation) ------------------------------------------------
def test_ring_and_grid_builders_against_closed_forms():
    # BENCHMARKS is built when the module is imported; the builders are checked on their own.
    k = np.arange(8)
    np.testing.assert_allclose(modes._ring(), np.stack([np.cos(2 * np.pi * k / 8),
                                                        np.sin(2 * np.pi * k / 8)], axis=1),
                               rtol=0, atol=1e-15)
    np.testing.assert_allclose(modes._ring(4, 2.0), [[2, 0], [0, 2], [-2, 0], [0, -2]],
                               rtol=0, atol=1e-15)
    grid = modes._grid()
    assert grid.shape == (25, 2)
    assert grid[:6].tolist() == [[-4, -4], [-4, -2], [-4, 0], [-4, 2], [-4, 4], [-2, -4]]
    assert modes._grid((0, 1)).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_plot_points_style():
    fig = plot_points(np.zeros((5, 2)), "grid")
    (ax,) = fig.axes
    samples, means = ax.collections
    assert samples.get_label() == "samples" and means.get_label() == "modes"
    assert samples.get_sizes().tolist() == [3] and means.get_sizes().tolist() == [30]
    assert samples.get_alpha() == 0.4 and means.get_alpha() is None
    np.testing.assert_allclose(samples.get_facecolor()[0], matplotlib.colors.to_rgba("C0", 0.4))
    np.testing.assert_allclose(means.get_facecolor()[0], matplotlib.colors.to_rgba("C3"))
    assert samples.get_linewidths().tolist() == [0]
    x_marker = matplotlib.markers.MarkerStyle("x")
    np.testing.assert_array_equal(means.get_paths()[0].vertices,
                                  x_marker.get_path().transformed(x_marker.get_transform()).vertices)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 25 and all(not c.get_fill() for c in circles)
    assert all(c.get_linewidth() == 0.8 for c in circles)
    np.testing.assert_allclose(circles[0].get_edgecolor(), matplotlib.colors.to_rgba("C3"))
    assert ax.get_aspect() == 1.0 and ax.get_title() == "grid"
    assert tuple(fig.get_size_inches()) == (4.5, 4.5)
    assert plot_points(np.zeros((5, 2)), "grid", title="").axes[0].get_title() == ""


def test_benchmark_and_report_store_their_own_dtypes():
    b = Benchmark("b", [[0, 1], [2, 3]], 1)
    assert b.means.dtype == np.float64 and isinstance(b.sigma, float)
    with pytest.raises(ValueError, match="^means must be finite$"):
        Benchmark("b", [[0.0, np.nan]], 1.0)
    report = ModeReport(benchmark="b", n=3, modes=2, high_quality_pct=100.0, reverse_kl=0.0,
                        counts=[1.0, 2.0])
    assert report.counts.dtype == np.int64 and report.counts.tolist() == [1, 2]


def test_a_point_exactly_three_sigma_away_is_high_quality():
    b = Benchmark("b", [[0.0, 0.0], [100.0, 0.0]], 1.0)
    report = evaluate(np.array([[3.0, 0.0], [0.0, -3.0], [100.0, 3.0000001]]), b)
    assert report.counts.tolist() == [2, 0] and report.modes == 1


def test_summarise_names_a_wrong_report():
    with pytest.raises(ValueError, match=r"^reports must all be ModeReport objects \(the "
                                         r"results of evaluate\)$"):
        summarise([evaluate(np.zeros((3, 2)), "ring"), {"modes": 1}])


def test_init_stack_edge_widths_and_messages():
    w, b = modes.init_stack([1, 1], [0])  # one input, one output: bound 1
    assert w.shape == (1, 1, 1) and abs(w[0, 0, 0]) <= 1.0 and b.tolist() == [[[0.0]]]
    with pytest.raises(ValueError, match=r"^sizes must list at least two positive widths, "
                                         r"got \[16\]$"):
        modes.init_stack([16], [0])
    with pytest.raises(ValueError, match=r"^seeds must be distinct non-negative ints, "
                                         r"got \[1, 1\]$"):
        modes.init_stack([16, 4], [1, 1])


def test_train_takes_tensors_that_need_grad_and_counts_step_time(monkeypatch):
    import time

    import torch

    clock = iter(range(0, 1000, 1))  # every reading of the clock one second later
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    bench = BENCHMARKS["ring"]

    def step(i):
        return {"d_loss": torch.tensor([1.0, 2.0], requires_grad=True), "n": 3}

    def snapshot():
        points = np.repeat(bench.means[None, :1], 50, axis=1).astype(np.float64)
        return torch.tensor(points, requires_grad=True)

    run = modes.train(step, 4, snapshot=snapshot, benchmark=bench, progress=False)
    assert run.history["d_loss"].tolist() == [[1.0, 2.0]] * 4
    assert run.history["n"].dtype == np.float64 and run.history["n"].tolist() == [[3.0]] * 4
    assert run.snapshots[0][1].dtype == np.float32
    assert run.final[0].modes == 1
    assert run.seconds == 4.0  # one second a step; snapshots are not counted


def test_train_messages_and_progress_bar(capsys):
    ok = {"step": lambda i: {"d_loss": 0.0}, "snapshot": lambda: np.zeros((1, 5, 2)),
          "benchmark": "ring"}
    with pytest.raises(ValueError, match="^steps must be a positive int"):
        modes.train(steps=0, progress=False, **ok)
    with pytest.raises(ValueError, match="^every must be a positive int"):
        modes.train(steps=2, every=0, progress=False, **ok)
    from helpers.loop import NonFiniteLossError
    with pytest.raises(NonFiniteLossError, match=r"\(lower the learning rate\)$"):
        modes.train(lambda i: {"d_loss": math.inf}, 2, snapshot=ok["snapshot"],
                    benchmark="ring", progress=False)
    capsys.readouterr()
    modes.train(steps=3, **ok)
    shown = capsys.readouterr().err
    assert "training" in shown and "3/3" in shown
    modes.train(steps=3, desc="pacgan", **ok)
    assert "pacgan" in capsys.readouterr().err
    modes.train(steps=3, progress=False, **ok)
    assert capsys.readouterr().err == ""


def test_save_points_details(tmp_path):
    import torch

    points = {("ring", "gan"): torch.zeros((1, 5, 2), dtype=torch.float64, requires_grad=True),
              ("grid", "gan"): np.zeros((1, 5, 2))}
    path = modes.save_points(tmp_path / "new" / "dir" / "p.npz", points, b=1, a=2)
    loaded, _, meta = modes.load_points(path)
    assert list(meta) == ["a", "b"]                       # keys sorted
    assert all(v.dtype == np.float32 for v in loaded.values())
    for bad, message in [({("ring", 5): np.zeros((1, 5, 2))}, r"^keys must be \(benchmark, "
                                                              r"method\) pairs of str, got"),
                         ({"ab": np.zeros((1, 5, 2))}, r"^keys must be"),
                         ({("ring", ""): np.zeros((1, 5, 2))}, r"^method must be a non-empty "
                                                              r"name without '/', got ''$"),
                         ({("ring", "gan"): np.zeros((5, 2))}, r"^\('ring', 'gan'\): points "
                                                              r"must be finite, of shape"),
                         ({}, r"^no points to save$")]:
        with pytest.raises(ValueError, match=message):
            modes.save_points(tmp_path / "bad.npz", bad)
    with pytest.raises(ValueError, match="^meta must be JSON-serialisable: Out of range"):
        modes.save_points(tmp_path / "bad.npz", {("ring", "gan"): np.zeros((1, 5, 2))},
                          loss=math.nan)


def test_load_points_refuses_pickled_arrays(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, meta=np.array(["{}"]), **{"ring/gan": np.array([None, 1], dtype=object)})
    with pytest.raises(ValueError, match="allow_pickle"):
        modes.load_points(path)


def test_sample_is_means_plus_sigma_times_the_generators_normals():
    b = BENCHMARKS["grid"]
    rng = np.random.default_rng(7)
    component, noise = rng.integers(25, size=6), rng.standard_normal((6, 2))
    expected = (b.means[component] + 0.05 * noise).astype(np.float32)
    np.testing.assert_array_equal(sample(b, 6, np.random.default_rng(7)), expected)
    assert sample(b, 1, rng).shape == (1, 2)  # one point is a sample too


def test_type_errors_name_the_type_given():
    with pytest.raises(TypeError, match="got int$"):
        evaluate(np.zeros((3, 2)), 8)
    with pytest.raises(TypeError, match="got int$"):
        sample("ring", 10, 0)
    with pytest.raises(ValueError, match=r"^points must hold at least one point, got shape "
                                         r"\(0, 2\)$"):
        evaluate(np.zeros((0, 2)), "ring")


def test_plot_points_colours_do_not_follow_the_axes_colour_cycle():
    fig, ax = plt.subplots()
    ax.scatter([0], [0])  # takes C0 from the cycle; plot_points still draws samples in C0
    plot_points(np.zeros((5, 2)), "ring", ax=ax)
    np.testing.assert_allclose(ax.collections[1].get_facecolor()[0],
                               matplotlib.colors.to_rgba("C0", 0.4))


def test_train_progress_bar_label(capsys):
    import re

    modes.train(lambda i: {"d_loss": 0.0}, 2, snapshot=lambda: np.zeros((1, 5, 2)),
                benchmark="ring")
    assert re.search(r"(^|\r)training: ", capsys.readouterr().err)
