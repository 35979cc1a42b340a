"""``ActiveLearner``: modAL's API on current scikit-learn, plus DFAL's free labels.

DFAL (Ducoffe & Precioso, 2018) labels a queried sample *and* its DeepFool
adversarial copy with the oracle's answer: the copy lies just across the
decision boundary, costs no annotation and sharpens the margin.  The learner
therefore counts labels paid for (``n_labels_paid_``) apart from the size of
the training set (``n_training_samples_``).

modAL's users and strategies read ``learner.estimator`` (the fitted model)
and ``learner.X_training``/``learner.y_training`` (the current labeled set),
while scikit-learn's ``clone`` and ``get_params`` need the constructor's
arguments unchanged.  Both hold: those three names are *live views* that
read the learner's state once it has one (``estimator_``, ``X_training_``,
``y_training_``), and ``get_params`` reads the stored arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ..strategies._context import QueryContext
from ..strategies._dfal import dfal_margin
from ..strategies._uncertainty import least_confidence
from ..utils._sklearn_compat import StrOptions
from ..utils._typing import Pool, RandomStateLike, Rows
from ._inputs import (
    check_not_regressor,
    cold_start_query,
    pool_sample_shape,
    query_own_strategy,
    requested_count,
    rows,
    strategy_needs_model,
)
from ._labeled import LabeledSet
from ._state import LearnerState, Live
from ._stopping import update_learner_stopping

__all__ = ["ActiveLearner"]


class ActiveLearner(LearnerState):
    """Pool-based active learner with modAL's interface.

    Parameters
    ----------
    estimator : estimator
        Any scikit-learn classifier (or modAL-style regressor); DFAL needs a
        skorch net (or a ``Pipeline`` ending in one).  Cloned on ``fit``.  An
        estimator that is already fitted is used as it is (a copy) until the
        learner is taught, as in modAL.
    query_strategy : callable or "auto", default="auto"
        ``(learner, X_pool, *args, **kw) -> indices`` or ``(indices, scores)``;
        skdfal's strategy objects and functions, modAL's, and your own all
        qualify.  ``"auto"``: :func:`~skdfal.dfal_margin` for a torch net,
        :func:`~skdfal.least_confidence` (modAL's default, uncertainty
        sampling) for any other estimator.
    X_training, y_training : array-like, default=None
        Initial labeled set (paid labels).  As in modAL, a learner built with
        them is ready to query: the first use fits on them (construction
        itself does no work, so ``clone`` is cheap).
    bootstrap_init : bool, default=False
        Fit that initial set on a bootstrap resample (bagging committees).
    on_transformed : bool, default=False
        modAL's flag, read by modAL's strategies that measure distances
        between samples (ranked batch sampling): they then work on
        :meth:`transform_without_estimating`'s output.  skdfal's strategies
        already work in the model's input space.
    adversarial_augmentation : bool, default=False
        When ``True``, ``teach`` also adds the DeepFool adversarial copies of
        the taught samples, with the same labels, before retraining.
    augmentation_params : dict or None, default=None
        Parameters of :func:`skdfal.deepfool` for the copies (``max_iter``,
        ``overshoot``, ``norm``, ``candidates``, ``clip``, ``step_eps``), and
        ``batch_size`` (samples attacked at once, default 256).
    warm_start : bool, default=False
        ``False`` retrains from scratch on the whole labeled set after each
        ``teach``; ``True`` continues training (``partial_fit``) instead.
        With :func:`~skdfal.make_classifier`'s trainer, pass a fixed step
        budget too (``train_steps=200``: each round then runs 200 steps of a
        fresh one-cycle schedule over the whole labeled set); on MNIST that
        halved the fitting time at no cost in labels to 95% and one round
        of 20 labels to 97% (docs/results.md).
    classes : array-like or None, default=None
        The labels the oracle may give; ``teach`` refuses any other.  ``None``:
        a net's own ``classes`` (which :func:`~skdfal.make_classifier` sets)
        are enforced; for other estimators the classes grow with the labels
        taught, as in modAL (they are refitted on the whole labeled set and
        learn a new class).
    random_state : int, RandomState or None, default=None
        Draws bootstrap resamples and the cold start's first pick.
    verbose : int, default=0
        ``0``: silent; ``1``: one line per ``fit`` and ``teach`` (the round,
        labels paid, training-set size); ``2``: also one per ``query``.
        Written with ``tqdm.write``, so a progress bar around the loop stays
        intact; it changes nothing else.
    X_unlabeled : array-like or None, default=None
        The pool without its labels, handed to every fit as ``fit(X, y,
        X_unlabeled=...)`` for a net that learns from it (``make_classifier(semi_supervised=...)``).
    stopping : stopping rule, list of rules or None, default=None
        Rules (:class:`~skdfal.StabilizingPredictions`...) updated by the first ``query`` after new labels:
        ``stop_decision_`` is their latest decision, ``stop_reason_`` why labeling may stop (or ``None``).

    Attributes
    ----------
    estimator_ : estimator
        The model the learner works with (also read as ``estimator``).
    labeled_set_ : :class:`~skdfal.learners.LabeledSet`
        The training set, its adversarial flags and the labels paid, kept
        together; the four attributes below read it.
    X_training_, y_training_ : array-like
        Training set, adversarial copies included (also read as
        ``X_training`` and ``y_training``); ``None`` for a learner using a
        pre-fitted estimator before its first ``teach``.
    is_adversarial_ : ndarray of bool
        Which training rows are free adversarial copies.
    n_labels_paid_ : int
        Labels given by the oracle (initial set included).
    n_training_samples_ : int
        Rows in the training set.
    input_shape_ : tuple
        Shape of one sample; ``teach``, ``query``, ``predict`` and
        ``predict_proba`` refuse samples of another shape.
    classes_ : ndarray
        The model's classes, in the order of ``predict_proba``'s columns.

    Notes
    -----
    **modAL's live attributes.**  Once the learner has a model,
    ``learner.estimator`` is ``estimator_`` and ``learner.X_training`` is
    ``X_training_`` (modAL's strategies, ``Committee`` and
    ``modAL.dropout`` read them); ``get_params()`` (so ``clone``, ``repr``
    and grid searches) always gives the constructor's arguments, and
    ``set_params`` changes them for the next ``fit``.  Reading ``estimator``
    on a learner built with initial labels fits it first.

    **Cold start.**  A learner with no labels (and no pre-fitted estimator)
    answers ``query`` with skdfal's model-based strategies by greedy k-center
    on the raw input (a random first pick, then farthest-first; texts and
    sparse pools: a random draw); model-free ones (random sampling) and
    foreign strategies are called as they are.  ``teach`` on it fits.

    **Saving and loading.**  A learner pickles whole (model, labeled set,
    counts), with :mod:`pickle` or :func:`joblib.dump`, and the loaded one
    goes on querying and teaching where the saved one stopped::

        joblib.dump(learner, "learner.joblib")
        learner = joblib.load("learner.joblib")  # same predictions, same queries

    Load only files you trust (unpickling runs code); a skorch net keeps
    the device it was saved from.  For labels a person gives over days,
    :class:`~skdfal.labeling.LabelingSession` saves without pickle.

    **Input.**  A skorch net given directly gets float32 arrays (integer
    images are cast, never scaled: see ``input_scale`` of
    :func:`~skdfal.make_classifier`).  Any other estimator, a ``Pipeline``
    included, gets the samples in the container they came in: DataFrames
    (column names kept), sparse matrices, lists of texts, 1-D arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdfal import ActiveLearner, dfal_margin, make_classifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    >>> net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=5)
    >>> learner = ActiveLearner(net, dfal_margin, X_training=X[:20], y_training=y[:20])
    >>> idx, X_query = learner.query(X[20:500], n_instances=5)
    >>> _ = learner.teach(X_query, y[20:500][idx])  # returns the learner
    >>> learner.n_labels_paid_, len(learner.X_training)
    (25, 25)
    """

    estimator = Live("estimator_")
    X_training = Live("X_training_")
    y_training = Live("y_training_")

    _parameter_constraints = {
        "estimator": "no_validation",
        "query_strategy": [callable, StrOptions({"auto"})],
        "X_training": ["array-like", "sparse matrix", None],
        "y_training": ["array-like", None],
        "bootstrap_init": ["boolean"],
        "on_transformed": ["boolean"],
        "adversarial_augmentation": ["boolean"],
        "augmentation_params": [dict, None],
        "warm_start": ["boolean"],
        "classes": ["array-like", None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "X_unlabeled": "no_validation",
    }

    def __init__(
        self,
        estimator: Any,
        query_strategy: Callable[..., Any] | Literal["auto"] = "auto",
        X_training: Rows | None = None,
        y_training: npt.ArrayLike | None = None,
        *,
        bootstrap_init: bool = False,
        on_transformed: bool = False,
        adversarial_augmentation: bool = False,
        augmentation_params: dict[str, Any] | None = None,
        warm_start: bool = False,
        classes: npt.ArrayLike | None = None,
        random_state: RandomStateLike = None,
        verbose: int = 0,
        stopping: Any = None,
        X_unlabeled: Rows | None = None,
    ):
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.X_training = X_training
        self.y_training = y_training
        self.bootstrap_init = bootstrap_init
        self.on_transformed = on_transformed
        self.adversarial_augmentation = adversarial_augmentation
        self.augmentation_params = augmentation_params
        self.warm_start = warm_start
        self.classes = classes
        self.random_state = random_state
        self.stopping = stopping
        self.verbose = verbose
        self.X_unlabeled = X_unlabeled

    def __setstate__(self, state):
        # Pickles from before ``verbose`` and ``stopping`` existed load as silent learners without rules,
        # and those from before ``labeled_set_`` with their four fields gathered into one.
        state = {"verbose": 0, "stopping": None, "X_unlabeled": None, **state}
        if "is_adversarial_" in state:
            state["labeled_set_"] = LabeledSet(
                state.pop("X_training_"), state.pop("y_training_"), state.pop("is_adversarial_"),
                state.pop("n_labels_paid_"),
            )
        super().__setstate__(state)

    def _report(self, level: int, message: str) -> None:
        """Write ``message`` when ``verbose >= level`` (through tqdm, which keeps bars intact)."""
        if self.verbose >= level:
            from tqdm.auto import tqdm

            tqdm.write(f"{type(self).__name__}: {message}")

    def _report_round(self, action: str) -> None:
        rnd = self.__dict__["_round"] = self.__dict__.get("_round", -1) + 1
        self._report(
            1, f"round {rnd} ({action}): {self.n_labels_paid_} labels paid, "
            f"{self.n_training_samples_} training samples",
        )

    def fit(
        self, X: Rows, y: npt.ArrayLike, bootstrap: bool = False, **fit_kwargs: Any
    ) -> ActiveLearner:
        """Replace the labeled set by ``(X, y)`` (all paid) and fit a fresh clone.

        Parameters
        ----------
        X, y : array-like
        bootstrap : bool, default=False
            Fit on a bootstrap resample of ``(X, y)`` (modAL's option).
        **fit_kwargs
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : ActiveLearner
        """
        self._validate_params()
        X_keep, shape = self._check_X(X, reset=True)
        y = self._check_y(y, X_keep, None)
        fixed = self._fixed_classes()
        if self.classes is not None and fixed is not None and len(set(map(repr, fixed.tolist()))) != len(fixed):
            raise ValueError(f"classes must not repeat a label, got {fixed.tolist()}")
        self.input_shape_ = shape
        self.labeled_set_ = LabeledSet.paid(X_keep, y)
        self.__dict__.pop("_bootstrap_rng", None)
        self.estimator_ = clone(self._template(), safe=False)
        self._fit_to_known(bootstrap=bootstrap, **fit_kwargs)
        self.__dict__["_round"] = -1
        self._report_round("fit")
        return self

    def restore(
        self, estimator: Any, X: Rows, y: npt.ArrayLike, is_adversarial: npt.ArrayLike | None = None
    ) -> ActiveLearner:
        """Take back a saved state: a fitted ``estimator`` and the set it was trained on.

        For callers that keep the labels themselves and rebuild the model from
        saved weights (a labeling session reopened), so that the learner's
        training set and counts stay its own business.

        Parameters
        ----------
        estimator : classifier
            Already fitted (or initialised with trained weights).
        X, y : array-like
            The training set, adversarial copies included.
        is_adversarial : array-like of bool, optional
            Which rows of ``X`` are free adversarial copies (none by default);
            the others count as paid labels.

        Returns
        -------
        self : ActiveLearner
        """
        X_keep, shape = self._check_X(X, reset=True)
        y = self._check_y(y, X_keep, None)
        flags = np.zeros(len(y), dtype=bool) if is_adversarial is None else np.asarray(is_adversarial, dtype=bool)
        if flags.shape != (len(y),):
            raise ValueError(f"is_adversarial must have one flag per sample ({len(y)}), got shape {flags.shape}")
        self.input_shape_ = shape
        self.labeled_set_ = LabeledSet.restored(X_keep, y, flags)
        self.estimator_ = estimator
        self._set_classes()
        return self

    # The labeled set's four facts, read-only: ``labeled_set_`` changes them together.
    @property
    def X_training_(self) -> Any:
        return self._labeled_set().X

    @property
    def y_training_(self) -> np.ndarray | None:
        return self._labeled_set().y

    @property
    def is_adversarial_(self) -> np.ndarray:
        return self._labeled_set().is_adversarial

    @property
    def n_labels_paid_(self) -> int:
        return self._labeled_set().n_paid

    @property
    def n_training_samples_(self) -> int:
        check_is_fitted(self, "is_adversarial_")
        return len(self._labeled_set())

    def _labeled_set(self) -> LabeledSet:
        # AttributeError (not KeyError) before the first fit, so hasattr and
        # check_is_fitted read these attributes as scikit-learn's fitted ones.
        try:
            return self.__dict__["labeled_set_"]
        except KeyError:
            raise AttributeError(f"This {type(self).__name__} has no labeled set yet") from None

    def teach(
        self, X: Rows, y: npt.ArrayLike, bootstrap: bool = False, only_new: bool = False,
        **fit_kwargs: Any,
    ) -> ActiveLearner:
        """Add oracle labels ``(X, y)`` (and their adversarial copies), then retrain.

        A learner without labels is fitted on them (cold start).  Every check
        runs first: a refused ``teach`` changes nothing.

        Parameters
        ----------
        X, y : array-like
            Newly labeled samples.
        bootstrap : bool, default=False
            Retrain on a bootstrap resample of the labeled set (modAL's
            option, for bagging committees); never passed to ``fit``.
        only_new : bool, default=False
            Train only on the new samples (modAL's option), on top of the
            current weights when the estimator supports ``partial_fit``.
        **fit_kwargs
            Passed to the estimator's ``fit``/``partial_fit``.

        Returns
        -------
        self : ActiveLearner

        Raises
        ------
        ValueError
            For samples of another shape than the labeled set's, labels of
            another type than those taught, or labels outside the classes
            (see ``classes``).
        """
        X_new, y_new = self._add_training_data(X, y)
        if only_new:
            self._fit_on_new(X_new, y_new, bootstrap=bootstrap, **fit_kwargs)
        else:
            self._fit_to_known(bootstrap=bootstrap, **fit_kwargs)
        self._report_round("teach")
        return self

    # ---------------------------------------------------------------- querying
    # ------------------------------------------ the query context (strategies' view)
    def query_context(self) -> QueryContext:
        """What a query strategy may know of this learner, in one object.

        Strategies called as ``strategy(learner, X_pool, n_instances)`` ask
        for it once per query and read nothing else of the learner.  The
        working model is made first when it can be (the initial labels are
        fitted, as modAL does at construction; a no-op once :meth:`query` has
        run); otherwise only state is read, never a property that could fit.

        Returns
        -------
        QueryContext
            The working model (the unfitted estimator before any label), the
            labels paid, and the training set with its adversarial flags.
        """
        self._prepare()
        state = self.__dict__
        labeled = state.get("labeled_set_")
        if labeled is None:
            return QueryContext(estimator=state.get("estimator_", state.get("estimator")))
        return QueryContext(
            estimator=state.get("estimator_", state.get("estimator")),
            n_labels_paid=labeled.n_paid,
            X_training=labeled.X,
            y_training=labeled.y,
            is_adversarial=labeled.is_adversarial,
        )

    def _strategy(self):
        strategy = self.query_strategy
        if isinstance(strategy, str) and strategy == "auto":
            return dfal_margin if self._torch() else least_confidence
        if not callable(strategy):
            raise TypeError(
                "query_strategy must be 'auto' or callable as strategy(learner, X_pool, ...), got "
                f"{type(strategy).__name__}"
            )
        return strategy

    @overload
    def query(self, X_pool: Pool, *query_args: Any, return_metrics: Literal[False] = ...,
              **query_kwargs: Any) -> tuple[np.ndarray, Any]: ...
    @overload
    def query(self, X_pool: Pool, *query_args: Any, return_metrics: Literal[True],
              **query_kwargs: Any) -> tuple[np.ndarray, Any, Any]: ...
    @overload
    def query(self, X_pool: Pool, *query_args: Any, return_metrics: bool,
              **query_kwargs: Any) -> tuple[np.ndarray, Any] | tuple[np.ndarray, Any, Any]: ...

    def query(
        self, X_pool: Pool, *query_args: Any, return_metrics: bool = False, **query_kwargs: Any
    ) -> tuple[np.ndarray, Any] | tuple[np.ndarray, Any, Any]:
        """Ask the strategy for the most informative samples of ``X_pool``.

        ``query_args`` and ``query_kwargs`` go to the strategy as given (for
        skdfal's strategies: ``n_instances`` and parameter overrides), so
        modAL's two-argument strategies, ``functools.partial`` objects and
        ``expected_error_reduction`` work unchanged.

        Returns
        -------
        indices : ndarray of int
        instances : rows of ``X_pool`` at ``indices`` (``None`` for a pool
            that cannot be indexed, such as a generator of batches)
        scores : ndarray, only when ``return_metrics=True`` (``None`` when
            the strategy returns indices only)
        """
        strategy = self._strategy()
        check_not_regressor(self.estimator, strategy)
        has_model = self._prepare()
        if has_model:
            self._check_shape(pool_sample_shape(X_pool, net=self._torch()), "X_pool")
            update_learner_stopping(self, X_pool)  # once per round; nothing without ``stopping``
        if not has_model and strategy_needs_model(strategy):
            n_instances = requested_count(strategy, self, X_pool, query_args, query_kwargs)
            result = cold_start_query(X_pool, n_instances, self._rng())
        else:  # skdfal's strategies behind this door (checked once); modAL's and yours as they are
            result = query_own_strategy(strategy, self, X_pool, query_args, query_kwargs)
            if result is None:
                result = strategy(self, X_pool, *query_args, **query_kwargs)
        if isinstance(result, tuple) and len(result) == 2:
            indices, scores = result
        else:  # a strategy returning indices only
            indices, scores = result, None
        indices = np.asarray(indices)
        if indices.dtype.kind in "iu":
            indices = indices.astype(np.int64)
        try:
            # For a net, a list is an iterable of batches (skdfal's pools), not of samples.
            batches = isinstance(X_pool, (list, tuple)) and self._torch()
            instances = None if batches else rows(X_pool, indices)
        except (TypeError, IndexError, KeyError):
            instances = None
        name = getattr(strategy, "__name__", type(strategy).__name__)
        self._report(2, f"query: {indices.size} sample(s) chosen by {name}")
        if return_metrics:
            return indices, instances, scores
        return indices, instances

    def transform_without_estimating(self, X: Rows) -> Any:
        """``X`` as the final estimator sees it: through every step of a ``Pipeline`` but the last.

        modAL's name; its ``on_transformed`` strategies call it.  For an
        ensemble whose members are pipelines the members' transforms are
        stacked side by side; any other model gets ``X`` back.
        """
        from sklearn.pipeline import Pipeline

        model = self.estimator
        pipes = [model] if isinstance(model, Pipeline) else [
            m for m in (getattr(model, "estimators_", None) or []) if isinstance(m, Pipeline)
        ]
        if not pipes:
            return X
        parts = [pipe[:-1].transform(X) for pipe in pipes]
        if len(parts) == 1:
            return parts[0]
        import scipy.sparse as sp

        return sp.hstack(parts) if any(sp.issparse(p) for p in parts) else np.hstack(parts)

    # -------------------------------------------------------------- predicting
    def predict(self, X: Rows, **predict_kwargs: Any) -> Any:
        """Predictions of the learner's model (keyword arguments passed on, e.g. ``return_std``)."""
        X = self._checked(X)
        return self.estimator_.predict(X, **predict_kwargs)

    def predict_proba(self, X: Rows, **predict_proba_kwargs: Any) -> np.ndarray:
        """Class probabilities of the learner's model, one column per ``classes_``."""
        X = self._checked(X)
        return self.estimator_.predict_proba(X, **predict_proba_kwargs)

    def score(self, X: Rows, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None) -> float:
        """The model's own ``score`` (mean accuracy for a classifier)."""
        X = self._checked(X)
        if not hasattr(self.estimator_, "score"):
            return super().score(X, y, sample_weight=sample_weight)
        if sample_weight is None:
            return self.estimator_.score(X, y)
        return self.estimator_.score(X, y, sample_weight=sample_weight)
