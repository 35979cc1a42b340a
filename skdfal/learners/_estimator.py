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
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..strategies._dfal import DFALMargin
from ._learner import ActiveLearner
from ._loop import curve_row, initial_indices, run_rounds

__all__ = ["ActiveLearningClassifier"]


def _strategy_name(strategy) -> str:
    """Readable name of a strategy object or function (for learning-curve rows)."""
    name = getattr(strategy, "__name__", None)
    return name if isinstance(name, str) else type(strategy).__name__


def _check_int(name, value, *, minimum, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an integer >= {minimum}{extra}, got {value!r}")


def _n_validation(validation_size, n_samples) -> int:
    if validation_size is None:
        return 0
    if isinstance(validation_size, numbers.Integral) and not isinstance(validation_size, bool):
        n_val = int(validation_size)
    elif isinstance(validation_size, numbers.Real) and 0 < validation_size < 1:
        n_val = int(np.ceil(validation_size * n_samples))
    else:
        raise ValueError(
            f"validation_size must be None, an int or a fraction in (0, 1), got {validation_size!r}"
        )
    if not 1 <= n_val < n_samples:
        raise ValueError(
            f"validation_size={validation_size!r} leaves no pool: {n_val} of {n_samples} samples"
        )
    return n_val


class ActiveLearningClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Simulated pool-based active learning as a scikit-learn classifier.

    ``fit(X, y)`` uses ``y`` as the oracle: an initial labeled set is drawn
    from ``X``, then ``query_strategy`` picks ``query_size`` samples per round
    and only their labels are revealed, until ``budget`` labels are paid.  The
    model trained on the last labeled set is kept for ``predict``.

    Parameters
    ----------
    estimator : classifier
        The model to train (cloned).  DFAL needs a skorch net or a
        ``Pipeline`` ending in one (see :func:`skdfal.make_classifier`);
        model-free or probability-based strategies work with any classifier.
    query_strategy : callable or None, default=None
        modAL-protocol strategy ``(learner, X_pool, n) -> (indices, scores)``;
        ``None`` means ``DFALMargin()``.  Strategy *objects* can be tuned with
        nested parameters (``query_strategy__overshoot``).  The run uses a
        clone whose ``random_state`` becomes a ``RandomState`` (seeded by the
        strategy's own int, else by ``random_state``), so that every round
        draws afresh and the run repeats.
    n_initial : int, default=20
        Labels drawn at random before the first query (one per class first).
        Capped by ``budget`` and by the size of the pool.
    query_size : int, default=10
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
        Continue training after each round instead of retraining from scratch.
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
    n_features_in_ : int
        As scikit-learn defines it (the channel count for images).
    input_shape_ : tuple
        Shape of one sample.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_digits
    >>> from skdfal import ActiveLearningClassifier, RandomSampling
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ActiveLearningClassifier(
    ...     LogisticRegression(max_iter=500), RandomSampling(),
    ...     n_initial=20, query_size=10, budget=50, random_state=0,
    ... ).fit(X / 16, y)
    >>> clf.n_labels_paid_, len(clf.queried_indices_), len(clf.learning_curve_)
    (50, 30, 4)
    """

    def __init__(
        self,
        estimator,
        query_strategy=None,
        *,
        n_initial=20,
        query_size=10,
        budget=100,
        adversarial_augmentation=False,
        augmentation_params=None,
        warm_start=False,
        stratify_initial=True,
        validation_size=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.n_initial = n_initial
        self.query_size = query_size
        self.budget = budget
        self.adversarial_augmentation = adversarial_augmentation
        self.augmentation_params = augmentation_params
        self.warm_start = warm_start
        self.stratify_initial = stratify_initial
        self.validation_size = validation_size
        self.random_state = random_state

    # ------------------------------------------------------------------ helpers
    def _check_params(self):
        _check_int("n_initial", self.n_initial, minimum=1)
        _check_int("query_size", self.query_size, minimum=1)
        _check_int("budget", self.budget, minimum=1, allow_none=True)
        if not callable(self.query_strategy) and self.query_strategy is not None:
            raise TypeError(
                "query_strategy must be a callable (learner, X_pool, n_instances) -> "
                f"(indices, scores) or None; got {type(self.query_strategy).__name__}"
            )

    def _make_strategy(self, rng):
        strategy = DFALMargin() if self.query_strategy is None else self.query_strategy
        if not hasattr(strategy, "get_params"):
            return strategy  # a plain function: its randomness is its own
        strategy = clone(strategy)
        params = strategy.get_params(deep=False)
        if "random_state" in params and not isinstance(params["random_state"], np.random.RandomState):
            # A RandomState, not an int: each round must draw afresh.  The
            # strategy's own int seeds it; None takes a seed from the run's.
            own = params["random_state"]
            seed = own if isinstance(own, numbers.Integral) else rng.randint(np.iinfo(np.int32).max)
            strategy.set_params(random_state=np.random.RandomState(seed))
        return strategy

    def _make_estimator(self, rng):
        estimator = clone(self.estimator)
        params = estimator.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            estimator.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
        return estimator

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y):
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
        self._check_params()
        X, y = validate_data(self, X, y, allow_nd=True, dtype=None, ensure_all_finite=True)
        check_classification_targets(y)
        rng = check_random_state(self.random_state)
        n_samples = len(y)
        self.input_shape_ = tuple(X.shape[1:])
        self.classes_ = np.unique(y)

        order = rng.permutation(n_samples)
        n_val = _n_validation(self.validation_size, n_samples)
        self.validation_indices_ = np.sort(order[:n_val]).astype(np.int64)
        pool_idx = np.sort(order[n_val:]).astype(np.int64)
        X_pool, y_pool = X[pool_idx], y[pool_idx]
        X_eval, y_eval = (X[self.validation_indices_], y[self.validation_indices_]) if n_val else (X_pool, y_pool)

        budget = len(y_pool) if self.budget is None else min(self.budget, len(y_pool))
        labeled = initial_indices(
            y_pool, min(self.n_initial, budget), rng, stratified=self.stratify_initial
        )
        learner = ActiveLearner(
            self._make_estimator(rng),
            self._make_strategy(rng),
            adversarial_augmentation=self.adversarial_augmentation,
            augmentation_params=self.augmentation_params,
            warm_start=self.warm_start,
        )
        name = _strategy_name(learner.query_strategy)
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else None

        start = time.perf_counter()
        learner.fit(X_pool[labeled], y_pool[labeled])
        curve = [curve_row(learner, name, seed, 0, X_eval, y_eval, 0.0, time.perf_counter() - start)]
        is_labeled = np.zeros(len(y_pool), dtype=bool)
        is_labeled[labeled] = True
        queried, rounds = [], []
        for step in run_rounds(
            learner, X_pool, y_pool, is_labeled, query_size=self.query_size, budget=budget
        ):
            queried.append(step.chosen)
            rounds.append(np.full(len(step.chosen), step.index, dtype=np.int64))
            curve.append(
                curve_row(learner, name, seed, step.index, X_eval, y_eval, step.query_time, step.fit_time)
            )

        self.learner_ = learner
        self.estimator_ = learner.estimator_
        self.initial_indices_ = pool_idx[labeled]
        self.queried_indices_ = pool_idx[np.concatenate(queried)] if queried else np.empty(0, np.int64)
        self.query_round_ = np.concatenate(rounds) if rounds else np.empty(0, np.int64)
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
    def _validate_x(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=None, ensure_all_finite=True)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, but {type(self).__name__} was "
                f"fitted on samples of shape {self.input_shape_}"
            )
        return X

    def predict(self, X):
        """Classes predicted by the final model."""
        X = self._validate_x(X)
        return self.learner_.predict(X)

    def predict_proba(self, X):
        """Class probabilities by the final model, one column per ``classes_``.

        Classes the run never labeled (a tiny budget) get probability 0.
        """
        X = self._validate_x(X)
        proba = self.learner_.predict_proba(X)
        model_classes = np.asarray(getattr(self.estimator_, "classes_", self.classes_))
        if len(model_classes) == len(self.classes_) and (model_classes == self.classes_).all():
            return proba
        full = np.zeros((proba.shape[0], len(self.classes_)), dtype=proba.dtype)
        full[:, np.searchsorted(self.classes_, model_classes)] = proba
        return full

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (``-inf`` for unseen classes)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags
