"""``ActiveLearningClassifier``: a whole simulated active learning run as one estimator.

``fit(X, y)`` treats ``y`` as an oracle: it starts from a small labeled set,
then lets the query strategy choose which labels to reveal, round after round,
until the label budget is spent.  Only revealed labels train the model, so a
``GridSearchCV`` or ``cross_validate`` over this estimator compares *active
learning strategies at a fixed labeling cost* with scikit-learn's own tools.
The loop itself is :class:`skdfal.ActiveLearner`'s ``query``/``teach``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from numbers import Integral
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..strategies._context import QueryContext
from ..utils._pool import take_rows
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    InvalidParameterError,
    RealNotInt,
    StrOptions,
)
from ..utils._typing import RandomStateLike
from ._inputs import check_label_types
from ._learner import ActiveLearner
from ._loop import initial_indices, simulate_run_with_progress, strategy_name, validation_split
from ._stopping import as_rules

__all__ = ["ActiveLearningClassifier"]


def meta_query_context(self) -> QueryContext:
    """A strategy's view of a meta-estimator: its fitted ``learner_``'s context (unfitted: the estimator)."""
    learner = self.__dict__.get("learner_")
    return QueryContext(estimator=self.estimator) if learner is None else learner.query_context()


class ActiveLearningClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Simulated pool-based active learning as a scikit-learn classifier.

    ``fit(X, y)`` uses ``y`` as the oracle: an initial labeled set is drawn
    from ``X``, then ``query_strategy`` picks ``n_instances`` samples per round
    and only their labels are revealed, until ``budget`` labels are paid.  The
    model trained on the last labeled set is kept for ``predict``.

    Parameters
    ----------
    estimator : classifier
        The model to train (cloned).  DFAL needs a skorch net or a
        ``Pipeline`` ending in one (see :func:`skdfal.make_classifier`);
        model-free or probability-based strategies work with any classifier.
    query_strategy : callable or "auto", default="auto"
        modAL-protocol strategy ``(learner, X_pool, n) -> (indices, scores)``.
        ``"auto"``, the same default as :class:`ActiveLearner`: DFAL
        (:func:`~skdfal.dfal_margin`) for a torch net, least confidence for
        any other classifier.  Strategy *objects*
        (``DFALMargin()`` ...) can be tuned with
        nested parameters (``query_strategy__overshoot``).  A strategy with
        a ``random_state`` draws afresh every round, seeded from the run's
        ``random_state`` and the round (the rule every simulated run in
        skdfal follows), so the run repeats.
    n_initial : int, default=20
        Labels drawn at random before the first query (one per class first).
        Capped by ``budget`` and by the size of the pool.
    n_instances : int, default=10
        Labels bought per round (the last round may buy fewer to stay within
        ``budget``).
    budget : int or None, default=100
        Total labels the oracle answers, initial ones included; ``None``
        labels the whole pool eventually.
    adversarial_augmentation : bool, default=False
        DFAL's free labels: every queried sample's DeepFool copy joins the
        training set with the oracle's label (needs a torch model).
    augmentation_params : dict or None, default=None
        DeepFool parameters for the copies (see :class:`skdfal.DFALMargin`).
    warm_start : bool, default=False
        Continue training after each round instead of retraining from scratch
        (see :class:`skdfal.ActiveLearner`'s ``warm_start``).
    stratify_initial : bool, default=True
        Draw one initial sample per class first (as
        :func:`skdfal.experiments.initial_indices` does), which peeks at ``y``
        to choose positions; ``False`` draws them uniformly, so that no unpaid
        label has any effect.
    validation_size : int, float or None, default=None
        Samples of ``X`` held out from the pool (never queried, never trained
        on) to score the learning curve.  ``None`` scores it on the whole
        pool, where the labels not yet paid for are used for reporting only.
    random_state : int, RandomState or None, default=None
        Seeds the validation split, the initial set, the strategy and (when
        theirs is ``None``) the estimator.
    verbose : int, default=0
        ``0``: silent; ``1`` or more: a progress bar over the rounds of ``fit``
        (tqdm), with the labels paid and the accuracy of the last round.
        It changes nothing else: the same ``random_state`` gives the same run.
    stopping : stopping rule, list of rules or None, default=None
        :class:`~skdfal.learners.StabilizingPredictions`,
        :class:`~skdfal.learners.MarginPlateau` or
        :class:`~skdfal.learners.LabelBudget` (cloned for each fit): the run
        ends at the first round a rule says labeling may stop (``budget``
        still caps it); ``stop_reason_`` says why.
    learn_from_pool : bool, default=False
        Every fit also learns from the whole pool, its labels unseen (passed
        as ``X_unlabeled``; the validation rows stay out): for an estimator
        built with ``make_classifier(semi_supervised=...)``.  A grid search
        can compare ``[False, True]`` at the same labeling cost.

    Attributes
    ----------
    learner_ : ActiveLearner
        The learner at the end of the run (training set, adversarial flags).
    estimator_ : classifier
        The final fitted model.
    classes_ : ndarray
        Classes of ``y``.
    initial_indices_ : ndarray of int
        Rows of ``X`` labeled before the first query.
    queried_indices_ : ndarray of int
        Rows of ``X`` chosen by the strategy, in the order they were queried.
    query_round_ : ndarray of int
        Round (1, 2, ...) in which each of ``queried_indices_`` was queried.
    validation_indices_ : ndarray of int
        Rows of ``X`` held out for the learning curve (empty without
        ``validation_size``).
    learning_curve_ : list of dict
        One row per round (round 0 is the initial set) with the keys of
        :data:`skdfal.experiments.COLUMNS`; ``accuracy`` is measured on the
        validation rows, or on the whole pool without ``validation_size``.
        ``pandas.DataFrame(clf.learning_curve_)`` gives a tidy table.
    n_labels_paid_ : int
        Labels revealed by the oracle.
    n_training_samples_ : int
        Rows of the final training set (adversarial copies included).
    n_rounds_ : int
        Query rounds run.
    stop_reason_ : str or None
        Why a stopping rule ended the run (``None``: the budget or the pool did).
    n_features_in_ : int
        As scikit-learn defines it (the channel count for images).
    input_shape_ : tuple
        Shape of one sample.

    Notes
    -----
    A pandas DataFrame ``X`` stays a DataFrame: the estimator sees the rows
    of ``X`` with their column names (a ``ColumnTransformer`` selecting
    columns by name works), as :class:`ActiveLearner` gives them.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_digits
    >>> from skdfal import ActiveLearningClassifier, RandomSampling
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ActiveLearningClassifier(
    ...     LogisticRegression(max_iter=500), RandomSampling(),
    ...     n_initial=20, n_instances=10, budget=50, random_state=0,
    ... ).fit(X / 16, y)
    >>> clf.n_labels_paid_, len(clf.queried_indices_), len(clf.learning_curve_)
    (50, 30, 4)
    """

    def __init__(
        self,
        estimator: Any,
        query_strategy: Callable[..., Any] | Literal["auto"] = "auto",
        *,
        n_initial: int = 20,
        n_instances: int = 10,
        budget: int | None = 100,
        adversarial_augmentation: bool = False,
        augmentation_params: dict[str, Any] | None = None,
        warm_start: bool = False,
        stratify_initial: bool = True,
        validation_size: int | float | None = None,
        random_state: RandomStateLike = None,
        verbose: int = 0,
        stopping: Any = None,
        learn_from_pool: bool = False,
    ):
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.n_initial = n_initial
        self.n_instances = n_instances
        self.budget = budget
        self.adversarial_augmentation = adversarial_augmentation
        self.augmentation_params = augmentation_params
        self.warm_start = warm_start
        self.stratify_initial = stratify_initial
        self.validation_size = validation_size
        self.random_state = random_state
        self.verbose = verbose
        self.stopping = stopping
        self.learn_from_pool = learn_from_pool

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "query_strategy": [callable, StrOptions({"auto"})],
        "n_initial": [Interval(Integral, 1, None, closed="left")],
        "n_instances": [Interval(Integral, 1, None, closed="left")],
        "budget": [None, Interval(Integral, 1, None, closed="left")],
        "adversarial_augmentation": ["boolean"],
        "augmentation_params": [None, dict],
        "warm_start": ["boolean"],
        "stratify_initial": ["boolean"],
        "validation_size": [None, Interval(Integral, 1, None, closed="left"), Interval(RealNotInt, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "stopping": "no_validation",
        "learn_from_pool": ["boolean"],
    }

    # ------------------------------------------------------------------ helpers
    def _check_counts(self):
        # scikit-learn's Interval(Integral) takes True as 1: a flag passed for a count.
        for name in ("n_initial", "n_instances", "budget", "validation_size"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be an integer, not a "
                    f"bool; got {value!r}"
                )

    def _make_strategy(self):
        # Strategies with a random_state are reseeded every round by the run
        # (skdfal.learners._loop.round_seed); a clone keeps the user's intact.
        strategy = self.query_strategy
        return clone(strategy) if hasattr(strategy, "get_params") else strategy

    def _make_stopping(self):
        rules = as_rules(self.stopping)
        return [clone(rule) for rule in rules] or None

    def _make_estimator(self, rng):
        estimator = clone(self.estimator)
        params = estimator.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            estimator.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
        return estimator

    # ------------------------------------------------------------------ fitting
    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> ActiveLearningClassifier:
        """Run the active learning loop with ``y`` as the oracle.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The pool (images may be n-dimensional, e.g. ``(n, 1, 8, 8)``).
        y : array-like of shape (n_samples,)
            The oracle's labels; only those the loop queries train the model.

        Returns
        -------
        self : ActiveLearningClassifier
        """
        self._validate_params()
        self._check_counts()
        n_instances = self.n_instances
        frame = X if _is_frame(X) else None
        X, y = validate_data(self, X, y, allow_nd=True, dtype=None, ensure_all_finite=True)
        check_label_types(y)
        check_classification_targets(y)
        # The checks ran on an array; the model gets the DataFrame's own rows
        # (a ColumnTransformer selects columns by name).
        X_rows = X if frame is None else frame
        rng = check_random_state(self.random_state)
        n_samples = len(y)
        self.input_shape_ = tuple(X.shape[1:])
        self.classes_ = np.unique(y)

        self.validation_indices_, pool_idx = validation_split(n_samples, self.validation_size, rng)
        X_pool, y_pool = take_rows(X_rows, pool_idx), y[pool_idx]
        X_eval, y_eval = (
            (take_rows(X_rows, self.validation_indices_), y[self.validation_indices_])
            if len(self.validation_indices_) else (X_pool, y_pool)
        )

        budget = len(y_pool) if self.budget is None else min(self.budget, len(y_pool))
        labeled = initial_indices(
            y_pool, min(self.n_initial, budget), rng, stratified=self.stratify_initial
        )
        learner = ActiveLearner(
            self._make_estimator(rng),
            self._make_strategy(),
            adversarial_augmentation=self.adversarial_augmentation,
            augmentation_params=self.augmentation_params,
            warm_start=self.warm_start,
            # The whole pool, its labels unseen (validation rows stay out of training).
            X_unlabeled=X_pool if self.learn_from_pool else None,
        )
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else None
        run_seed = seed if seed is not None else int(rng.randint(np.iinfo(np.int32).max))
        # X and y were checked once, above: the rounds take rows of them, known finite.
        with config_context(assume_finite=True):
            curve = simulate_run_with_progress(
                learner, X_pool, y_pool, X_eval, y_eval, verbose=self.verbose, desc=type(self).__name__,
                seed=run_seed,
                strategy_name=strategy_name(learner._strategy()), initial=labeled,
                n_instances=n_instances, budget=budget,
                stopping=self._make_stopping(), stop_early=True,
            )
        self.stop_reason_ = (curve[-1].pop("stop", "") or None) if curve else None
        for row in curve:
            row.pop("stop", None)
        rounds = [np.asarray(row.pop("queried").split(), dtype=np.int64) for row in curve]
        for row in curve:
            row["seed"] = seed
        queried = rounds[1:]

        self.learner_ = learner
        self.estimator_ = learner.estimator_
        self.initial_indices_ = pool_idx[rounds[0]]
        self.queried_indices_ = pool_idx[np.concatenate(queried)] if queried else np.empty(0, np.int64)
        self.query_round_ = (
            np.concatenate([np.full(len(q), r, dtype=np.int64) for r, q in enumerate(queried, start=1)])
            if queried else np.empty(0, np.int64)
        )
        self.learning_curve_ = curve
        self.n_labels_paid_ = int(learner.n_labels_paid_)
        self.n_training_samples_ = int(learner.n_training_samples_)
        self.n_rounds_ = len(curve) - 1
        model_classes = getattr(self.estimator_, "classes_", None)
        if model_classes is not None and not np.isin(model_classes, self.classes_).all():
            # Nets built with a fixed class list know classes y may not hold.
            self.classes_ = np.asarray(model_classes)
        return self

    # -------------------------------------------------------------- predicting
    query_context = meta_query_context

    def _validate_x(self, X):
        check_is_fitted(self)
        frame = X if _is_frame(X) else None
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=None, ensure_all_finite=True)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, but {type(self).__name__} was "
                f"fitted on samples of shape {self.input_shape_}"
            )
        return X if frame is None else frame

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """Classes predicted by the final model."""
        X = self._validate_x(X)
        return self.learner_.predict(X)

    def predict_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """Class probabilities by the final model, one column per ``classes_``.

        Classes the run never labeled (a tiny budget) get probability 0.
        """
        X = self._validate_x(X)
        proba = self.learner_.predict_proba(X)
        model_classes = np.asarray(getattr(self.estimator_, "classes_", self.classes_))
        if len(model_classes) == len(self.classes_) and (model_classes == self.classes_).all():
            return proba
        full = np.zeros((proba.shape[0], len(self.classes_)), dtype=proba.dtype)
        full[:, LabelEncoder().fit(self.classes_).transform(model_classes)] = proba
        return full

    def predict_log_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """Logarithm of :meth:`predict_proba` (``-inf`` for unseen classes)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __setstate__(self, state):
        # Pickles from before ``verbose`` and ``learn_from_pool`` existed load with their defaults.
        state = {"verbose": 0, "learn_from_pool": False, **state}
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags


def _is_frame(X) -> bool:
    """A pandas DataFrame (found without importing pandas)."""
    return hasattr(X, "iloc") and getattr(X, "ndim", None) == 2
