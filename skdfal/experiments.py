"""Simulated pool-based active learning: the oracle is a held-back label vector.

One run = one strategy, one seed: a random initial labeled set, then rounds of
query -> oracle labels -> retrain, with test accuracy after every round.  Rows
are tidy dictionaries (one per round) with the columns of :data:`COLUMNS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from sklearn.utils import check_random_state

from .learner import ActiveLearner

__all__ = ["COLUMNS", "simulate", "initial_indices"]

#: Columns of a learning-curve row (one per round, round 0 = initial set).
COLUMNS = (
    "strategy",
    "seed",
    "round",
    "n_labels",  # labels paid to the oracle so far
    "n_train",  # training-set size (adversarial copies included)
    "accuracy",  # on the test set
    "query_time",  # seconds spent choosing this round's samples
    "fit_time",  # seconds spent retraining
)


def initial_indices(y, n_initial, random_state=None, stratified=True):
    """A random initial labeled set; one sample per class first when ``stratified``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.experiments import initial_indices
    >>> y = np.repeat(np.arange(3), 5)
    >>> sorted(set(y[initial_indices(y, 3, random_state=0)].tolist()))
    [0, 1, 2]
    """
    rng = check_random_state(random_state)
    y = np.asarray(y)
    if not 1 <= n_initial <= len(y):
        raise ValueError(f"n_initial must be in [1, {len(y)}], got {n_initial}")
    chosen = []
    if stratified:
        classes = rng.permutation(np.unique(y))[:n_initial]
        chosen = [int(rng.choice(np.flatnonzero(y == c))) for c in classes]
    rest = np.setdiff1d(np.arange(len(y)), chosen)
    extra = rng.choice(rest, size=n_initial - len(chosen), replace=False)
    return np.concatenate([np.asarray(chosen, dtype=np.int64), extra.astype(np.int64)])


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
        Seeds the initial set, the estimator and the strategy.
    strategy_name : str, optional
        Name written in the rows (default: the strategy's name).
    on_round : callable, optional
        Called with each row as soon as it exists (progress bars, journals).

    Returns
    -------
    list of dict
        One row per round with the keys of :data:`COLUMNS`.
    """
    name = strategy_name or getattr(query_strategy, "__name__", type(query_strategy).__name__)
    labeled = initial_indices(y_pool, n_initial, random_state)
    unlabeled = np.setdiff1d(np.arange(len(y_pool)), labeled)
    learner = ActiveLearner(
        make_estimator(random_state),
        query_strategy,
        adversarial_augmentation=adversarial_augmentation,
    )
    rows = []

    def record(rnd, query_time, fit_time):
        row = {
            "strategy": name,
            "seed": random_state,
            "round": rnd,
            "n_labels": int(learner.n_labels_paid_),
            "n_train": int(learner.n_training_samples_),
            "accuracy": float(learner.score(X_test, y_test)),
            "query_time": float(query_time),
            "fit_time": float(fit_time),
        }
        rows.append(row)
        if on_round is not None:
            on_round(row)

    start = time.perf_counter()
    learner.fit(X_pool[labeled], y_pool[labeled])
    record(0, 0.0, time.perf_counter() - start)
    for rnd in range(1, n_rounds + 1):
        if len(unlabeled) < query_size:
            break
        start = time.perf_counter()
        picked, _ = learner.query(X_pool[unlabeled], query_size)
        query_time = time.perf_counter() - start
        chosen = unlabeled[picked]
        start = time.perf_counter()
        learner.teach(X_pool[chosen], y_pool[chosen])
        fit_time = time.perf_counter() - start
        unlabeled = np.setdiff1d(unlabeled, chosen)
        record(rnd, query_time, fit_time)
    return rows
