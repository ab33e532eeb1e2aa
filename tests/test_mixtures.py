"""helpers/mixtures.py: the ring and the grid against their closed forms, sampling against
its laws, and bad input."""
import numpy as np
import pytest
from scipy import stats

from helpers.mixtures import (BENCHMARKS, Benchmark, _grid, _ring, as_points, resolve,
                              sample)


NAMES = list(BENCHMARKS)


TAIL = 1e-6  # chance per check that a correct implementation fails a statistical test


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


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "10"])
def test_sample_bad_n(n):
    with pytest.raises(ValueError, match="positive int"):
        sample("ring", n, np.random.default_rng(0))


def test_sample_bad_rng():
    with pytest.raises(TypeError, match="Generator"):
        sample("ring", 10, 0)


def test_ring_and_grid_builders_against_closed_forms():
    # BENCHMARKS is built when the module is imported; the builders are checked on their own.
    k = np.arange(8)
    np.testing.assert_allclose(_ring(), np.stack([np.cos(2 * np.pi * k / 8),
                                                        np.sin(2 * np.pi * k / 8)], axis=1),
                               rtol=0, atol=1e-15)
    np.testing.assert_allclose(_ring(4, 2.0), [[2, 0], [0, 2], [-2, 0], [0, -2]],
                               rtol=0, atol=1e-15)
    grid = _grid()
    assert grid.shape == (25, 2)
    assert grid[:6].tolist() == [[-4, -4], [-4, -2], [-4, 0], [-4, 2], [-4, 4], [-2, -4]]
    assert _grid((0, 1)).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_sample_is_means_plus_sigma_times_the_generators_normals():
    b = BENCHMARKS["grid"]
    rng = np.random.default_rng(7)
    component, noise = rng.integers(25, size=6), rng.standard_normal((6, 2))
    expected = (b.means[component] + 0.05 * noise).astype(np.float32)
    np.testing.assert_array_equal(sample(b, 6, np.random.default_rng(7)), expected)
    assert sample(b, 1, rng).shape == (1, 2)  # one point is a sample too


@pytest.mark.parametrize("points, message", [
    (np.zeros((10, 3)), r"shape \(n, 2\)"),
    (np.zeros(10), r"shape \(n, 2\)"),
    (np.zeros((2, 5, 2)), r"shape \(n, 2\)"),
    (np.zeros((0, 2)), r"^points must hold at least one point, got shape \(0, 2\)$"),
    (np.array([[0.0, 0.0], [np.nan, 1.0]]), "finite.*row 1"),
    (np.array([[np.inf, 0.0]]), "finite"),
    (np.zeros((3, 2), dtype=bool), "real numbers"),
    (np.zeros((3, 2), dtype=complex), "real numbers"),
    (np.array([["a", "b"]]), "real numbers"),
])
def test_bad_points_raise(points, message):
    with pytest.raises(ValueError, match=message):
        as_points(points)


def test_as_points_gives_float64_and_leaves_the_graph_and_the_device():
    class FakeTensor:  # what a torch tensor on a GPU that needs a gradient offers
        def __init__(self, array):
            self.array = array

        def detach(self):
            return self

        def cpu(self):
            return self.array

    ints = np.array([[0, 1], [2, 3]])
    out = as_points(FakeTensor(ints))
    assert out.dtype == np.float64 and out.tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_resolve_takes_a_benchmark_or_a_name_and_lists_the_names():
    ring = BENCHMARKS["ring"]
    assert resolve("ring") is ring and resolve(ring) is ring
    for call in (lambda: resolve("spiral"), lambda: sample("spiral", 10, np.random.default_rng(0))):
        with pytest.raises(ValueError, match="^unknown benchmark 'spiral'; known: ring, grid$"):
            call()
    with pytest.raises(TypeError, match="^benchmark must be a Benchmark or a name, got int$"):
        resolve(8)


def test_type_errors_name_the_type_given():
    with pytest.raises(TypeError, match="got int$"):
        sample("ring", 10, 0)


def test_benchmark_stores_its_own_dtypes():
    b = Benchmark("b", [[0, 1], [2, 3]], 1)
    assert b.means.dtype == np.float64 and isinstance(b.sigma, float)
    with pytest.raises(ValueError, match="^means must be finite$"):
        Benchmark("b", [[0.0, np.nan]], 1.0)
