"""Simulated pool-based active learning: the oracle is a held-back label vector.

One run = one strategy, one seed: a random initial labeled set, then rounds of
query -> oracle labels -> retrain, with accuracy after every round.  Rows
are tidy dictionaries (one per round) with the columns of :data:`COLUMNS`.
The run itself is :func:`skdfal.learners._loop.simulate_run`, shared with
``ActiveLearningClassifier`` and the benchmark harness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..learners._learner import ActiveLearner
from ..learners._loop import COLUMNS, initial_indices, simulate_run
from ..learners._loop import strategy_name as name_of
from ..utils._validation import renamed_parameter

__all__ = ["COLUMNS", "simulate", "initial_indices"]


@renamed_parameter("query_size", "n_instances")
def simulate(
    make_estimator: Callable[[int], object],
    query_strategy: Callable[..., Any],
    X_pool: np.ndarray,
    y_pool: np.ndarray,
    X_eval: np.ndarray,
    y_eval: np.ndarray,
    *,
    n_initial: int = 20,
    n_instances: int = 10,
    n_rounds: int = 10,
    subsample: int | None = None,
    adversarial_augmentation: bool = False,
    random_state: int = 0,
    strategy_name: str | None = None,
    on_round: Callable[[dict[str, Any]], None] | None = None,
    stopping: Any = None,
    stop_early: bool = False,
    learn_from_pool: bool = False,
) -> list[dict[str, Any]]:
    """Run one active learning simulation and return its learning curve.

    Parameters
    ----------
    make_estimator : callable
        ``make_estimator(seed)`` returns an unfitted classifier.
    query_strategy : callable
        modAL-protocol strategy.  A strategy with a ``random_state`` gets a
        fresh seed every round, drawn from ``(random_state, round)``.
    X_pool, y_pool : ndarray
        Unlabeled pool and the oracle's answers.
    X_eval, y_eval : ndarray
        Held-out evaluation set.
    n_initial, n_instances, n_rounds : int
        Initial labels, labels per query, number of queries.
    subsample : int, optional
        Score only this many random unlabeled candidates per round (the
        benchmark's 1,000 candidates); ``None`` scores the whole pool.
    adversarial_augmentation : bool
        DFAL's free adversarial copies.
    random_state : int
        Seeds the initial set, the estimator and every round's draws.
    strategy_name : str, optional
        Name written in the rows (default: the strategy's name).
    on_round : callable, optional
        Called with each row as soon as it exists (progress bars, journals).
    stopping : stopping rule or list of rules, optional
        :class:`~skdfal.StabilizingPredictions`, :class:`~skdfal.MarginPlateau`,
        :class:`~skdfal.LabelBudget`: updated after every round, each row
        then has ``stop`` (why labeling may stop, or ``""``).
    stop_early : bool, default=False
        End the run at the first round a rule says stop.
    learn_from_pool : bool, default=False
        Hand ``X_pool`` to every fit as ``X_unlabeled`` (an estimator with a
        :class:`~skdfal.models.SemiSupervised` callback learns from it).

    Returns
    -------
    list of dict
        One row per round with the keys of :data:`COLUMNS` (and ``queried``).

    Examples
    --------
    >>> from skdfal import RandomSampling, load_digits_images, make_classifier
    >>> from skdfal.experiments import simulate
    >>> X, y = load_digits_images()
    >>> rows = simulate(
    ...     lambda seed: make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=seed),
    ...     RandomSampling(), X[:300], y[:300], X[300:400], y[300:400],
    ...     n_initial=10, n_instances=5, n_rounds=2)
    >>> [row["n_labels"] for row in rows]
    [10, 15, 20]
    """
    name = strategy_name or name_of(query_strategy)
    learner = ActiveLearner(
        make_estimator(random_state),
        query_strategy,
        adversarial_augmentation=adversarial_augmentation,
        X_unlabeled=X_pool if learn_from_pool else None,
    )
    return simulate_run(
        learner, X_pool, y_pool, X_eval, y_eval, seed=random_state, strategy_name=name,
        n_initial=n_initial, n_instances=n_instances, n_rounds=n_rounds, subsample=subsample, on_row=on_round,
        stopping=stopping, stop_early=stop_early,
    )
