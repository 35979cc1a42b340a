"""``ActiveLearner``: modAL's API on current scikit-learn, plus DFAL's free labels.

DFAL (Ducoffe & Precioso, 2018) labels a queried sample *and* its DeepFool
adversarial copy with the oracle's answer: the copy lies just across the
decision boundary, costs no annotation and sharpens the margin.  The learner
therefore counts labels paid for (``n_labels_paid_``) apart from the size of
the training set (``n_training_samples_``).

modAL's users and strategies read ``learner.estimator`` (the fitted model)
and ``learner.X_training``/``learner.y_training`` (the current labeled set);
scikit-learn wants ``__init__`` to store its arguments and ``fit`` to leave
them as given.  Both hold, with plain attributes: ``fit`` (scikit-learn's
door) works on ``estimator_`` and the labeled set and leaves the parameters
alone; modAL's doors (``teach``, ``query``, the first use of the initial
labels) then store the working model and labeled set under modAL's names, as
modAL's own learner has them.  Nothing trains on an attribute read, and
``get_params`` is scikit-learn's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import clone

from ..utils._sklearn_compat import StrOptions
from ..utils._typing import RandomStateLike, Rows
from ._labeled import LabeledSet
from ._query import LearnerQueries

__all__ = ["ActiveLearner"]


class ActiveLearner(LearnerQueries):
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
        The model the learner works with (stored as ``estimator`` too by
        modAL's doors: see the notes).
    labeled_set_ : :class:`~skdfal.learners.LabeledSet`
        The training set, its adversarial flags and the labels paid, kept
        together; the four attributes below read it.
    X_training_, y_training_ : array-like
        Training set, adversarial copies included (stored as ``X_training``
        and ``y_training`` too by modAL's doors); ``None`` for a learner using a
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
    **modAL's names, and what trains when.**  ``__init__`` only stores its
    arguments and no attribute read trains or copies a model.  ``fit`` is
    scikit-learn's door: it fits a clone of ``estimator`` into
    ``estimator_`` and leaves every parameter as given (``clone``, grid
    searches and scikit-learn's checks rely on that).  modAL's doors --
    ``teach``, ``query``, ``restore``, the hooks a ``Committee`` calls, and
    the first method call on a learner built with ``X_training`` (modAL fits
    those at construction; skdfal at first use, so ``clone`` stays cheap) --
    end by storing the working model in ``estimator`` and the labeled set in
    ``X_training``/``y_training``, as modAL's learner keeps them: after a
    ``teach``, ``learner.estimator is learner.estimator_``.  Before any of
    them, ``estimator`` is the object you passed.  ``clone`` of a taught
    learner therefore starts from its current labeled set (a clone of the
    working model is unfitted, with the same parameters).  One difference
    from modAL follows: a ``Committee`` reads its members' ``estimator``
    when it is built, so teach the members their first labels before
    (``ActiveLearner(est).teach(X0, y0, bootstrap=True)``).

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
        if "estimator_" in state and state.get("estimator") is not state["estimator_"]:
            # Pickles from the days of live views held the template there: modAL's names read the model.
            state["estimator"] = state["estimator_"]
            labeled = state.get("labeled_set_")
            if labeled is not None and not labeled.empty:
                state["X_training"], state["y_training"] = labeled.X, labeled.y
        super().__setstate__(state)

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
        self._train_on_known(bootstrap=bootstrap, **fit_kwargs)  # the parameters stay as given
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
        self._keep_modal_names()
        return self

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
