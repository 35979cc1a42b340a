"""Simulated pool-based active learning: the oracle is a held-back label vector.

One run = one strategy, one seed: a random initial labeled set, then rounds of
query -> oracle labels -> retrain, with test accuracy after every round.  Rows
are tidy dictionaries (one per round) with the columns of :data:`COLUMNS`.
The loop itself is :func:`skdfal.learners._loop.run_rounds`, shared with
``ActiveLearningClassifier`` and the benchmark harness.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..learners._learner import ActiveLearner
from ..learners._loop import COLUMNS, curve_row, initial_indices, run_rounds

__all__ = ["COLUMNS", "simulate", "initial_indices"]


def simulate(
    make_estimator: Callable[[int], object],
    query_strategy,
    X_pool,
    y_pool,
    X_test,
    y_test,
    *,
    n_initial: int = 20,
    query_size: int = 10,
    n_rounds: int = 10,
    adversarial_augmentation: bool = False,
    random_state: int = 0,
    strategy_name: str | None = None,
    on_round: Callable[[dict], None] | None = None,
):
    """Run one active learning simulation and return its learning curve.

    Parameters
    ----------
    make_estimator : callable
        ``make_estimator(seed)`` returns an unfitted classifier.
    query_strategy : callable
        modAL-protocol strategy.
    X_pool, y_pool : ndarray
        Unlabeled pool and the oracle's answers.
    X_test, y_test : ndarray
        Held-out evaluation set.
    n_initial, query_size, n_rounds : int
        Initial labels, labels per query, number of queries.
    adversarial_augmentation : bool
        DFAL's free adversarial copies.
    random_state : int
        Seeds the initial set and the estimator.
    strategy_name : str, optional
        Name written in the rows (default: the strategy's name).
    on_round : callable, optional
        Called with each row as soon as it exists (progress bars, journals).

    Returns
    -------
    list of dict
        One row per round with the keys of :data:`COLUMNS`.

    Examples
    --------
    >>> from skdfal import RandomSampling, load_digits_images, make_classifier
    >>> from skdfal.experiments import simulate
    >>> X, y = load_digits_images()
    >>> rows = simulate(
    ...     lambda seed: make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=seed),
    ...     RandomSampling(random_state=0), X[:300], y[:300], X[300:400], y[300:400],
    ...     n_initial=10, query_size=5, n_rounds=2)
    >>> [row["n_labels"] for row in rows]
    [10, 15, 20]
    """
    name = strategy_name or getattr(query_strategy, "__name__", type(query_strategy).__name__)
    learner = ActiveLearner(
        make_estimator(random_state),
        query_strategy,
        adversarial_augmentation=adversarial_augmentation,
    )
    rows = []

    def record(row):
        rows.append(row)
        if on_round is not None:
            on_round(row)

    initial = initial_indices(y_pool, n_initial, random_state)
    labeled = np.zeros(len(y_pool), dtype=bool)
    labeled[initial] = True
    start = time.perf_counter()
    learner.fit(X_pool[initial], y_pool[initial])
    record(curve_row(learner, name, random_state, 0, X_test, y_test, 0.0, time.perf_counter() - start))
    for step in run_rounds(learner, X_pool, y_pool, labeled, query_size=query_size, n_rounds=n_rounds):
        record(
            curve_row(learner, name, random_state, step.index, X_test, y_test,
                      step.query_time, step.fit_time)
        )
    return rows
