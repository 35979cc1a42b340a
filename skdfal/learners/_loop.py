"""The one simulated active learning run: initial set, fit, rounds of query -> oracle -> retrain.

``ActiveLearningClassifier.fit``, ``experiments.simulate`` and the benchmark
harness all call :func:`simulate_run`, so they share one per-round seed rule
(:func:`round_seed`): every random choice of round ``r`` of a run seeded
``s`` (the candidate subset, the strategy's own draws) comes from
``(s, r)`` alone, and a resumed run takes the decisions an uninterrupted
one would have.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.utils import check_random_state

from ..utils._pool import take_rows
from ..utils._typing import RandomStateLike
from ..utils._validation import resolve_size
from ._labeled import LabeledSet

__all__ = [
    "COLUMNS",
    "Round",
    "curve_row",
    "initial_indices",
    "round_seed",
    "run_rounds",
    "simulate_run",
    "strategy_name",
]

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
    "eval_time",  # seconds spent measuring the accuracy
)


@dataclass
class Round:
    """What one round bought: pool positions, the labeled set after it, and the time spent."""

    index: int
    chosen: np.ndarray
    query_time: float
    fit_time: float
    labeled: LabeledSet


def validation_split(n_samples, validation_size, rng) -> tuple[np.ndarray, np.ndarray]:
    """``(validation positions, pool positions)``, both sorted: ``validation_size`` samples held out at random.

    ``validation_size`` is a count, a share or ``None`` (nothing held out);
    it must leave a pool.
    """
    order = rng.permutation(n_samples)
    n_val = 0 if validation_size is None else resolve_size(
        validation_size, n_samples, "validation_size", fraction_max_inclusive=False
    )
    if n_val >= n_samples:
        raise ValueError(f"validation_size={validation_size!r} leaves no pool: {n_val} of {n_samples} samples")
    return np.sort(order[:n_val]).astype(np.int64), np.sort(order[n_val:]).astype(np.int64)


def initial_indices(
    y: npt.ArrayLike, n_initial: int, random_state: RandomStateLike = None, stratified: bool = True
) -> npt.NDArray[np.int64]:
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
    n_instances: int,
    budget: int | None = None,
    n_rounds: int | None = None,
    first_round: int = 1,
    subset: Callable[[int, np.ndarray], np.ndarray] | None = None,
    query_kwargs: Callable[[int], dict] | None = None,
    before_teach: Callable[[int], None] | None = None,
) -> Iterator[Round]:
    """Run query/teach rounds on a fitted learner, yielding after each one.

    Parameters
    ----------
    learner : ActiveLearner
        Already fitted on the initial labels.
    X_pool, y_pool : ndarray
        The pool (any container :func:`~skdfal.utils.take_rows` reads: a
        DataFrame stays one) and the oracle's answers.
    labeled : LabeledSet
        The pool rows already labeled (:meth:`LabeledSet.from_pool`); each
        :class:`Round` carries the set extended by its purchase.
    n_instances : int
        Labels bought per round (fewer in a last round that meets ``budget``).
    budget : int or None
        Stop once ``learner.n_labels_paid_`` reaches it.
    n_rounds : int or None
        Stop after this many rounds.
    first_round : int, default=1
        Index of the first round (for resumed runs).
    subset : callable, optional
        ``subset(round, unlabeled) -> positions``: the candidates to score this round
        (default: every unlabeled position).
    query_kwargs : callable, optional
        ``query_kwargs(round) -> dict`` passed to ``learner.query``.
    before_teach : callable, optional
        ``before_teach(n_labels_after)`` runs before retraining, with the labels
        paid once this round's are (e.g. to set the training budget).

    Yields
    ------
    Round
    """
    rnd = first_round
    while n_rounds is None or rnd < first_round + n_rounds:
        size = n_instances
        if budget is not None:
            size = min(size, budget - learner.n_labels_paid_)
        unlabeled = labeled.unlabeled(len(y_pool))
        size = min(size, len(unlabeled))
        if size < 1:
            return
        start = time.perf_counter()
        pool = unlabeled if subset is None else np.asarray(subset(rnd, unlabeled))
        picked, _ = learner.query(take_rows(X_pool, pool), size, **(query_kwargs(rnd) if query_kwargs else {}))
        chosen = pool[np.asarray(picked, dtype=np.int64)]
        query_time = time.perf_counter() - start
        again = labeled.holds(chosen).any()
        if len(np.unique(chosen)) != size or again:
            raise ValueError(
                f"the query strategy returned {len(chosen)} positions ({len(np.unique(chosen))} "
                f"distinct, some already labeled: {bool(again)}); expected {size} "
                "distinct unlabeled pool positions"
            )
        if before_teach is not None:
            before_teach(learner.n_labels_paid_ + size)
        new = LabeledSet.from_pool(X_pool, y_pool, chosen)
        start = time.perf_counter()
        learner.teach(new.X, new.y)
        fit_time = time.perf_counter() - start
        labeled = labeled.extend(new)
        yield Round(rnd, chosen, query_time, fit_time, labeled)
        rnd += 1


def curve_row(learner, strategy, seed, rnd, X_eval, y_eval, query_time, fit_time) -> dict:
    """A learning-curve row (keys of :data:`COLUMNS`) for the learner's current state."""
    start = time.perf_counter()
    accuracy = float(learner.score(X_eval, y_eval))
    return {
        "strategy": strategy,
        "seed": seed,
        "round": int(rnd),
        "n_labels": int(learner.n_labels_paid_),
        "n_train": int(learner.n_training_samples_),
        "accuracy": accuracy,
        "query_time": float(query_time),
        "fit_time": float(fit_time),
        "eval_time": time.perf_counter() - start,
    }


def strategy_name(strategy) -> str:
    """Readable name of a strategy object or function, for learning-curve rows.

    Examples
    --------
    >>> from skdfal import DFALMargin, dfal_margin
    >>> from skdfal.learners._loop import strategy_name
    >>> strategy_name(dfal_margin), strategy_name(DFALMargin())
    ('dfal_margin', 'DFALMargin')
    """
    name = getattr(strategy, "__name__", None)
    return name if isinstance(name, str) else type(strategy).__name__


def round_seed(seed, rnd, stream) -> int:
    """An int seed for one random stream of one round of one run.

    Stream 0 draws the round's candidate subset, stream 1 seeds the
    strategy; any ``(seed, round, stream)`` gives its own independent seed.

    Examples
    --------
    >>> from skdfal.learners._loop import round_seed
    >>> round_seed(0, 1, 0) == round_seed(0, 1, 0) != round_seed(0, 1, 1)
    True
    """
    return int(np.random.SeedSequence([int(seed), int(rnd), int(stream)]).generate_state(1)[0])


def simulate_run(
    learner,
    X_pool,
    y_pool,
    X_eval,
    y_eval,
    *,
    seed: int,
    n_instances: int,
    n_initial: int | None = None,
    initial: np.ndarray | None = None,
    stratified: bool = True,
    budget: int | None = None,
    n_rounds: int | None = None,
    subsample: int | None = None,
    strategy_name: str = "strategy",
    resume: list | None = None,
    before_fit: Callable[[object, int], None] | None = None,
    on_row: Callable[[dict], None] | None = None,
    stopping=None,
    stop_early: bool = False,
) -> list[dict]:
    """One simulated run: the oracle is ``y_pool``; returns its learning-curve rows.

    Parameters
    ----------
    learner : ActiveLearner
        Not fitted yet; its strategy and estimator are the run's.
    X_pool, y_pool : ndarray
        The pool and the oracle's answers.
    X_eval, y_eval : ndarray
        Where accuracy is measured after every round.
    seed : int
        The run's seed: the initial set (unless ``initial`` is given) and,
        through :func:`round_seed`, every round's random draws.
    n_instances : int
        Labels bought per round.
    n_initial : int, optional
        Size of a random initial set (one per class first when ``stratified``).
    initial : array of int, optional
        The initial pool positions instead.
    budget, n_rounds : int, optional
        Stop at this many labels paid / after this many rounds.
    subsample : int, optional
        Score only this many random unlabeled candidates per round.
    strategy_name : str
        Written in the rows.
    resume : list of arrays of int, optional
        Pool positions bought by the finished rounds of an interrupted run
        (round 0 first): the learner is refitted on them, in that order, and
        the run goes on from the next round; their rows are not re-emitted.
    before_fit : callable, optional
        ``before_fit(estimator, n_labels)`` before every fit, with the labels
        paid that the fit learns from (e.g. to set its training budget).
    on_row : callable, optional
        Called with each row as soon as it exists.
    stopping : stopping rule or list of rules, optional
        Updated after every round (its stop set drawn from ``X_pool``); each
        row then also has ``stop``: the reason labeling may stop, or ``""``.
    stop_early : bool, default=False
        End the run at the first round a rule says stop (else the rules are
        only recorded, to compare them with the whole curve).

    Returns
    -------
    list of dict
        Rows with the keys of :data:`COLUMNS` plus ``queried`` (the pool
        positions bought that round, space-separated).
    """
    from ._stopping import as_rules, update_stopping

    rules = as_rules(stopping)
    rows = []
    takes_seed = "random_state" in getattr(learner.query_strategy, "get_params", dict)()

    def emit(rnd, queried, query_time, fit_time):
        row = curve_row(learner, strategy_name, int(seed), rnd, X_eval, y_eval, query_time, fit_time)
        row["queried"] = " ".join(str(int(i)) for i in queried)
        if rules:
            decision = update_stopping(rules, learner, X_pool)
            row["stop"] = decision.reason if decision.stop else ""
        rows.append(row)
        if on_row is not None:
            on_row(row)

    if resume:
        # The same rows in the same order as the interrupted run trained on,
        # so a seeded network comes out identical.
        bought = np.concatenate([np.asarray(r, dtype=np.int64) for r in resume])
        first_round = len(resume)
    else:
        if initial is None:
            initial = initial_indices(y_pool, n_initial, seed, stratified=stratified)
        bought = np.sort(np.asarray(initial, dtype=np.int64))
        first_round = 1
    labeled = LabeledSet.from_pool(X_pool, y_pool, bought)
    if before_fit is not None:
        before_fit(learner.get_params(deep=False)["estimator"], len(bought))
    start = time.perf_counter()
    learner.fit(labeled.X, labeled.y)
    if not resume:
        emit(0, bought, 0.0, time.perf_counter() - start)
        if stop_early and rows[-1].get("stop"):
            return rows

    def subset_of(rnd, unlabeled):
        if subsample is None or subsample >= len(unlabeled):
            return unlabeled
        rng = np.random.RandomState(round_seed(seed, rnd, 0))
        return np.sort(rng.choice(unlabeled, size=max(subsample, n_instances), replace=False))

    def query_kwargs(rnd):
        return {"random_state": round_seed(seed, rnd, 1)} if takes_seed else {}

    def before_teach(n_labels_after):
        if before_fit is not None:
            before_fit(learner.estimator_, n_labels_after)

    for done in run_rounds(
        learner, X_pool, y_pool, labeled, n_instances=n_instances, budget=budget, n_rounds=n_rounds,
        first_round=first_round, subset=subset_of, query_kwargs=query_kwargs, before_teach=before_teach,
    ):
        emit(done.index, done.chosen, done.query_time, done.fit_time)
        if stop_early and rows[-1].get("stop"):
            break
    return rows


def simulate_run_with_progress(learner, X_pool, y_pool, X_eval, y_eval, *, verbose, desc, initial, n_instances,
                               budget, **kw):
    """:func:`simulate_run`, with a progress bar over its rounds when ``verbose``."""
    from tqdm.auto import tqdm

    rounds = 1 + math.ceil(max(budget - len(initial), 0) / n_instances)
    with tqdm(total=rounds, disable=not verbose, desc=desc, unit="round") as bar:

        def on_row(row):
            bar.update(1)
            bar.set_postfix_str(f"{row['n_labels']} labels, accuracy {row['accuracy']:.3f}")

        return simulate_run(
            learner, X_pool, y_pool, X_eval, y_eval, initial=initial, n_instances=n_instances,
            budget=budget, on_row=on_row, **kw,
        )
