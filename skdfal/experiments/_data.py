"""Data for a benchmark: a named dataset split into pool and test set."""

from __future__ import annotations

import os

import numpy as np

from ..datasets import VARIATIONS
from ..datasets._idx import BothSplits

__all__ = ["DATASETS", "load_benchmark_data"]

#: The names :func:`load_benchmark_data` (and ``skdfal benchmark --dataset``) know.
DATASETS = ("digits", "mnist", "fashion-mnist") + tuple(f"mnist-{name}" for name in VARIATIONS)


def check_validation_size(validation_size, n_pool, dataset="the dataset") -> None:
    """Refuse a validation set that leaves no pool (``ValueError`` naming ``validation_size``)."""
    if not 0 < validation_size < n_pool:
        raise ValueError(
            f"validation_size must be in [1, {n_pool - 1}] (the pool of {dataset} has {n_pool} "
            f"samples), got {validation_size!r}"
        )


def load_benchmark_data(
    dataset: str = "digits",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    pool_size: int | None = None,
    test_size: int | None = None,
    validation_size: int | None = None,
    random_state: int = 0,
) -> BothSplits:
    """``(X_pool, y_pool, X_eval, y_eval)`` for a named dataset.

    The evaluation set is the dataset's test set, or the validation samples
    held out of the pool with ``validation_size``.

    Parameters
    ----------
    dataset : one of :data:`DATASETS`
        ``digits`` is split 70/30 (stratified); the others use their own
        train (pool) and test files from ``data_dir``.  ``mnist-rot``,
        ``mnist-bg-rand``, ``mnist-bg-img`` and ``mnist-rot-bg-img`` are the
        MNIST variations made from MNIST's files
        (:func:`~skdfal.datasets.load_mnist_variation`, seed 0).
    data_dir : str or Path, optional
        Folder with the IDX files (needed for every dataset but digits).
    pool_size, test_size : int, optional
        Keep a random subset of that many pool / test samples.
    validation_size : int, optional
        Hold that many random samples out of the pool and return them in
        place of the test set: choices (a trainer, a strategy's parameters)
        are made on them, never on the test set.
    random_state : int, default=0
        Draws the subsets (the same for every strategy and seed).
    """
    from ..datasets import load_digits_images, load_fashion_mnist, load_mnist, load_mnist_variation

    if dataset == "digits":
        from sklearn.model_selection import train_test_split

        X, y = load_digits_images()
        X_pool, X_eval, y_pool, y_eval = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=random_state
        )
    elif dataset in DATASETS:
        if data_dir is None:
            raise ValueError(f"{dataset} needs data_dir (the folder that holds its IDX files)")
        if dataset.startswith("mnist-"):
            X_pool, y_pool, X_eval, y_eval = load_mnist_variation(dataset[len("mnist-"):], data_dir, "both")
        else:
            load = load_mnist if dataset == "mnist" else load_fashion_mnist
            X_pool, y_pool, X_eval, y_eval = load(data_dir, "both")
    else:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    rng = np.random.RandomState(random_state)
    if validation_size is not None:
        check_validation_size(validation_size, len(y_pool), dataset)
        held = np.zeros(len(y_pool), dtype=bool)
        held[rng.choice(len(y_pool), validation_size, replace=False)] = True
        X_pool, y_pool, X_eval, y_eval = X_pool[~held], y_pool[~held], X_pool[held], y_pool[held]
    if pool_size is not None and pool_size < len(y_pool):
        keep = np.sort(rng.choice(len(y_pool), pool_size, replace=False))
        X_pool, y_pool = X_pool[keep], y_pool[keep]
    if test_size is not None and test_size < len(y_eval):
        keep = np.sort(rng.choice(len(y_eval), test_size, replace=False))
        X_eval, y_eval = X_eval[keep], y_eval[keep]
    return X_pool, y_pool, X_eval, y_eval
