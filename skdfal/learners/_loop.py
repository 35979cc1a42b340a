"""The one pool-based active learning loop: query -> oracle labels -> retrain.

``ActiveLearningClassifier.fit``, ``experiments.simulate`` and the benchmark
harness all drive :func:`run_rounds`; they differ only in what they record
and in the hooks they pass (candidate sub-sampling, per-round query
arguments, epochs for the coming fit).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["COLUMNS", "Round", "run_rounds", "curve_row", "initial_indices"]

#: Columns of a learning-curve row (one per round, round 0 = initial set).
COLUMNS = (
    "strategy",
    "seed",
    "round",
    "n_labels",  # labels paid to the oracle so far
    "n_train",  # training-set size (adversarial copies included)
    "accuracy",  # on the evaluation set
    "query_time",  # seconds spent choosing this round's samples
    "fit_time",  # seconds spent retraining
)


@dataclass
class Round:
    """What one round bought: pool positions, and the time spent."""

    index: int
    chosen: np.ndarray
    query_time: float
    fit_time: float


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


def run_rounds(
    learner,
    X_pool,
    y_pool,
    labeled,
    *,
    query_size: int,
    budget: int | None = None,
    n_rounds: int | None = None,
    first_round: int = 1,
    candidates: Callable[[int, np.ndarray], np.ndarray] | None = None,
    query_kwargs: Callable[[int], dict] | None = None,
    before_teach: Callable[[int], None] | None = None,
) -> Iterator[Round]:
    """Run query/teach rounds on a fitted learner, yielding after each one.

    Parameters
    ----------
    learner : ActiveLearner
        Already fitted on the initial labels.
    X_pool, y_pool : ndarray
        The pool and the oracle's answers.
    labeled : ndarray of bool
        Which pool positions are already labeled; updated in place.
    query_size : int
        Labels bought per round (fewer in a last round that meets ``budget``).
    budget : int or None
        Stop once ``learner.n_labels_paid_`` reaches it.
    n_rounds : int or None
        Stop after this many rounds.
    first_round : int, default=1
        Index of the first round (for resumed runs).
    candidates : callable, optional
        ``candidates(round, unlabeled) -> positions`` to score this round
        (default: every unlabeled position).
    query_kwargs : callable, optional
        ``query_kwargs(round) -> dict`` passed to ``learner.query``.
    before_teach : callable, optional
        ``before_teach(n_train_after)`` runs before retraining (e.g. to set epochs).

    Yields
    ------
    Round
    """
    rnd = first_round
    while n_rounds is None or rnd < first_round + n_rounds:
        size = query_size
        if budget is not None:
            size = min(size, budget - learner.n_labels_paid_)
        unlabeled = np.flatnonzero(~labeled)
        size = min(size, len(unlabeled))
        if size < 1:
            return
        start = time.perf_counter()
        pool = unlabeled if candidates is None else np.asarray(candidates(rnd, unlabeled))
        picked, _ = learner.query(X_pool[pool], size, **(query_kwargs(rnd) if query_kwargs else {}))
        chosen = pool[np.asarray(picked, dtype=np.int64)]
        query_time = time.perf_counter() - start
        if len(np.unique(chosen)) != size or labeled[chosen].any():
            raise ValueError(
                f"the query strategy returned {len(chosen)} positions ({len(np.unique(chosen))} "
                f"distinct, some already labeled: {bool(labeled[chosen].any())}); expected {size} "
                "distinct unlabeled pool positions"
            )
        if before_teach is not None:
            extra = 2 if learner.adversarial_augmentation else 1
            before_teach(learner.n_training_samples_ + extra * size)
        start = time.perf_counter()
        learner.teach(X_pool[chosen], y_pool[chosen])
        fit_time = time.perf_counter() - start
        labeled[chosen] = True
        yield Round(rnd, chosen, query_time, fit_time)
        rnd += 1


def curve_row(learner, strategy, seed, rnd, X_eval, y_eval, query_time, fit_time) -> dict:
    """A learning-curve row (keys of :data:`COLUMNS`) for the learner's current state."""
    return {
        "strategy": strategy,
        "seed": seed,
        "round": int(rnd),
        "n_labels": int(learner.n_labels_paid_),
        "n_train": int(learner.n_training_samples_),
        "accuracy": float(learner.score(X_eval, y_eval)),
        "query_time": float(query_time),
        "fit_time": float(fit_time),
    }
