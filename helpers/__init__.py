"""Shared code of the labs of *From Dropout to FID*.

The names below are the core of every lab (data, budgets, devices, seeding, the training
loops, plots). This list does not grow: a chapter's own helpers live in a module of their own
that its labs import by name (``from helpers import fid``), so adding one leaves the stored
outputs of every other lab fresh (see the README's layout section).

Framework-specific names load their framework on first use, so a PyTorch lab never pays
for importing TensorFlow and the other way round.
"""
from __future__ import annotations

import importlib

from .checkpoints import load_or_train
from .config import Budget, current_budget
from .data import bernoulli_like, load_mnist, stratified_indices, to_torch
from .device import get_device
from .lab import setup_lab
from .loop import History, NonFiniteLossError
from .results import load_results, save_results
from .seed import seed_everything

_LAZY = {
    "fit_torch": ("train_torch", "train"),
    "fit_tf": ("train_tf", "train"),
    "image_grid": ("plots", "image_grid"),
    "plot_history": ("plots", "plot_history"),
    "latent_scatter": ("plots", "latent_scatter"),
    "classifier_torch": ("classifier", "classifier_torch"),
    "classifier_tf": ("classifier", "classifier_tf"),
    "mnist_classifier": ("classifier", "mnist_classifier"),
    "train_classifier_torch": ("classifier", "train_classifier_torch"),
    "train_classifier_tf": ("classifier", "train_classifier_tf"),
    "predict": ("classifier", "predict"),
    "accuracy": ("metrics", "accuracy"),
}

__all__ = ["Budget", "History", "NonFiniteLossError", "bernoulli_like", "current_budget",
           "get_device", "load_mnist", "load_or_train", "load_results", "save_results", "seed_everything", "setup_lab",
           "stratified_indices", "to_torch", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
