"""helpers/point_files.py: points written and read back re-score identically; bad input and
other files are refused, pickles never loaded."""
import math

import numpy as np
import pytest

from helpers.collapse import evaluate
from helpers.mixtures import BENCHMARKS, sample
from helpers.point_files import load_points, save_points


def test_points_round_trip_and_rescore_identically(tmp_path):
    rng = np.random.default_rng(0)
    points = {("ring", "gan"): np.stack([sample("ring", 300, rng) for _ in range(2)]),
              ("grid", "pac4"): np.stack([sample("grid", 300, rng) for _ in range(3)])}
    path = save_points(tmp_path / "p.npz", points, framework="torch", seeds=[0, 1])
    assert path == tmp_path / "p.npz" and path.exists()
    loaded, benches, meta = load_points(path)
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
        save_points(tmp_path / "p.npz", points)


def test_load_points_rejects_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, images=np.zeros(3))
    with pytest.raises(ValueError, match="save_points"):
        load_points(path)


def test_save_points_details(tmp_path):
    import torch

    points = {("ring", "gan"): torch.zeros((1, 5, 2), dtype=torch.float64, requires_grad=True),
              ("grid", "gan"): np.zeros((1, 5, 2))}
    path = save_points(tmp_path / "new" / "dir" / "p.npz", points, b=1, a=2)
    loaded, _, meta = load_points(path)
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
            save_points(tmp_path / "bad.npz", bad)
    with pytest.raises(ValueError, match="^meta must be JSON-serialisable: Out of range"):
        save_points(tmp_path / "bad.npz", {("ring", "gan"): np.zeros((1, 5, 2))},
                          loss=math.nan)


def test_load_points_refuses_pickled_arrays(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, meta=np.array(["{}"]), **{"ring/gan": np.array([None, 1], dtype=object)})
    with pytest.raises(ValueError, match="allow_pickle"):
        load_points(path)
