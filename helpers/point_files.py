"""Generated 2-D points stored with their benchmarks, so that anyone can score them again.

:func:`save_points` writes a compressed ``.npz`` without pickle: the points of each benchmark
and method, each benchmark's means and σ (from :mod:`helpers.mixtures`) and JSON metadata;
:func:`load_points` reads it back, rebuilding the benchmarks from the stored means and σ.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .mixtures import Benchmark, resolve

__all__ = ["load_points", "save_points"]


def save_points(path, points: dict[tuple[str, str], np.ndarray], **meta) -> Path:
    """Write generated points to a compressed ``.npz`` that anyone can re-score.

    ``points[(benchmark, method)]``: (S, n, 2), one row of points per seed. The file holds
    ``"<benchmark>/<method>"`` arrays (float32), each benchmark's ``"<benchmark>/means"`` and
    ``"<benchmark>/sigma"``, and ``meta`` (JSON-serialisable keyword arguments) as one JSON
    string, so that it loads without pickle. Returns the path.
    """
    import json

    arrays = {}
    for key, value in points.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            raise ValueError(f"keys must be (benchmark, method) pairs of str, got {key!r}")
        name, method = key
        bench = resolve(name)
        if "/" in method or not method:
            raise ValueError(f"method must be a non-empty name without '/', got {method!r}")
        array = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
        if array.ndim != 3 or array.shape[2] != 2 or not np.all(np.isfinite(array)):
            raise ValueError(f"{key}: points must be finite, of shape (S, n, 2), got {array.shape}")
        arrays[f"{name}/{method}"] = array.astype(np.float32)
        arrays[f"{name}/means"] = bench.means.astype(np.float64)
        arrays[f"{name}/sigma"] = np.array(bench.sigma)
    if not arrays:
        raise ValueError("no points to save")
    try:
        text = json.dumps(meta, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"meta must be JSON-serialisable: {error}") from error
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:  # a file object: NumPy would append ".npz" to a name
        np.savez_compressed(file, meta=np.array([text]), **arrays)
    return path


def load_points(path) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, Benchmark], dict]:
    """Read a file of :func:`save_points`, without pickle.

    Returns ``(points, benchmarks, meta)``: ``points[(benchmark, method)]`` (S, n, 2) float32,
    the benchmarks rebuilt from the stored means and σ (so a reader's evaluator needs nothing
    else), and the metadata.
    """
    import json

    points, benchmarks = {}, {}
    with np.load(path, allow_pickle=False) as npz:
        files = set(npz.files)
        if "meta" not in files:
            raise ValueError(f"{path} is not a file of save_points: no meta")
        meta = json.loads(str(npz["meta"][0]))
        for key in sorted(files - {"meta"}):
            name, _, method = key.partition("/")
            if method in ("means", "sigma"):
                continue
            points[(name, method)] = npz[key]
            if name not in benchmarks:
                benchmarks[name] = Benchmark(name, npz[f"{name}/means"], float(npz[f"{name}/sigma"]))
    return points, benchmarks, meta
