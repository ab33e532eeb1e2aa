"""Checkpoints that are written atomically, and load-or-train.

A checkpoint is written to a temporary file in the same folder and renamed over the old
one, so an interrupted run leaves the previous checkpoint intact, never half a file.
PyTorch checkpoints are read with ``weights_only=True``; Keras ones are NumPy archives plus
a JSON header, read without pickle.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .config import current_budget


def checkpoint_dir() -> Path:
    """``$BOOK_CHECKPOINT_DIR``, else ``checkpoints/`` at the repository root."""
    default = Path(__file__).resolve().parent.parent / "checkpoints"
    return Path(os.environ.get("BOOK_CHECKPOINT_DIR") or default)


def _atomic_write(path: str | Path, write: Callable[[Any], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_torch(path: str | Path, payload: dict) -> None:
    """Save ``payload`` (tensors, numbers, strings, lists and dicts of them) atomically."""
    import torch

    _atomic_write(path, lambda f: torch.save(payload, f))


def load_torch(path: str | Path) -> dict:
    """Load a checkpoint written by :func:`save_torch`, refusing pickled code."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def save_arrays(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Save named arrays and a JSON-serialisable ``meta`` dict to one ``.npz``, atomically."""
    if "__meta__" in arrays:
        raise ValueError("'__meta__' is reserved")
    payload = {**arrays, "__meta__": np.array(json.dumps(meta))}
    _atomic_write(path, lambda f: np.savez(f, **payload))


def load_arrays(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Inverse of :func:`save_arrays`."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
        meta = json.loads(str(npz["__meta__"]))
    return arrays, meta


def keras_state(objects: dict[str, Any]) -> dict[str, np.ndarray]:
    """The variables of Keras models and optimizers as ``{"name/i": array}``."""
    return {f"{name}/{i}": np.asarray(v) for name, obj in objects.items()
            for i, v in enumerate(obj.variables)}


def restore_keras_state(objects: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Assign arrays saved by :func:`keras_state` back to built models and optimizers."""
    for name, obj in objects.items():
        variables = obj.variables
        saved = sorted((k for k in arrays if k.startswith(name + "/")),
                       key=lambda k: int(k.rsplit("/", 1)[1]))
        if len(saved) != len(variables):
            raise ValueError(f"checkpoint has {len(saved)} variables for {name!r}, the object "
                             f"has {len(variables)}: was it built the same way?")
        for var, key in zip(variables, saved):
            if tuple(var.shape) != arrays[key].shape:
                raise ValueError(f"{key}: checkpoint shape {arrays[key].shape}, "
                                 f"variable shape {tuple(var.shape)}")
            var.assign(arrays[key])


def _is_torch_module(model) -> bool:
    return type(model).__module__.startswith("torch") or any(
        c.__module__.startswith("torch.nn") for c in type(model).__mro__)


def load_or_train(name: str, model, train_fn: Callable[[Any], dict], config: dict, *,
                  directory: str | Path | None = None, verbose: bool = True) -> dict:
    """The former name of :func:`train_once`, without its ``code`` argument; it keys a
    checkpoint by the code that trains the model as :func:`train_once` does, so a checkpoint
    written by other code is never loaded. New code calls :func:`train_once`."""
    return train_once(name, model, train_fn, config, directory=directory, verbose=verbose)


def train_once(name: str, model, train_fn: Callable[[Any], dict], config: dict, *,
               code: tuple = (), directory: str | Path | None = None,
               verbose: bool = True) -> dict:
    """Train ``model`` once with ``train_fn(model)``; later runs of the same code and
    configuration load its weights from checkpoint ``name`` instead.

    A checkpoint is loaded only if it was written with the same ``config`` and the same code:
    :func:`helpers.code.code_key` of ``train_fn`` (and everything of the notebook's and of
    ``helpers``' it calls, the training loop included), of ``model``'s own classes, and of
    ``code``, further functions or classes that shape the weights without being called by
    ``train_fn`` (an initialiser, a builder). Otherwise the model is trained and the
    checkpoint rewritten, and a message says which of the two differed.

    Args:
        name: file stem; the mode (fast/full) is added, so the two never overwrite each other.
        model: a ``torch.nn.Module`` or a built ``keras.Model``.
        train_fn: trains ``model`` in place and returns its history.
        config: JSON-serialisable hyperparameters.

    Returns:
        The history of the training run that produced the weights.
    """
    from .code import code_key

    if not isinstance(name, str) or not name or os.sep in name or (os.altsep or os.sep) in name:
        raise ValueError(f"name must be a plain file stem, got {name!r}")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    if not callable(train_fn):
        raise TypeError(f"train_fn must be callable, got {type(train_fn).__name__}")
    if not isinstance(code, (tuple, list)):
        raise TypeError(f"code must be a tuple of functions or classes, got {type(code).__name__}")
    key = {"config": json.loads(json.dumps(config)),  # normalised; odd types fail early
           "code": code_key(train_fn, model, *code)}
    is_torch = _is_torch_module(model)
    path = Path(directory or checkpoint_dir()) / (
        f"{name}-{current_budget().mode}{'.pt' if is_torch else '.npz'}")
    if path.exists():
        saved = None
        try:
            if is_torch:
                payload = load_torch(path)
                saved = {"config": payload["config"], "code": payload.get("code")}
                history = payload["history"]
                if saved == key:
                    model.load_state_dict(payload["model"])
            else:
                arrays, meta = load_arrays(path)
                saved = {"config": meta["config"], "code": meta.get("code")}
                history = meta["history"]
                if saved == key:
                    restore_keras_state({"model": model}, arrays)
        except Exception as error:  # unreadable, or weights that do not fit: train again
            saved = None
            if verbose:
                print(f"ignoring checkpoint {path.name} ({error})")
        if saved == key:
            if verbose:
                print(f"loaded {path.name} (this code, this config)")
            return history
        if verbose and saved is not None:
            differs = ("another config" if saved["config"] != key["config"] else "other code")
            print(f"{path.name} was trained with {differs}; training again")
    history = train_fn(model)
    if is_torch:
        save_torch(path, {**key, "history": history, "model": model.state_dict()})
    else:
        save_arrays(path, keras_state({"model": model}), {**key, "history": history})
    return history
