"""``ActiveLearner``: modAL's API on current scikit-learn, plus DFAL's free labels.

DFAL (Ducoffe & Precioso, 2018) labels a queried sample *and* its DeepFool
adversarial copy with the oracle's answer: the copy lies just across the
decision boundary, costs no annotation and sharpens the margin.  The learner
therefore counts labels paid for (``n_labels_paid_``) apart from the size of
the training set (``n_training_samples_``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted, validate_data

from ..attacks import deepfool
from ..strategies._dfal import dfal_margin
from ..utils._pool import iter_batches, take_rows
from ..utils._torch import resolve_torch_model, to_numpy, unwrap_learner

__all__ = ["ActiveLearner"]


def _wraps_torch(estimator) -> bool:
    """Whether the final estimator is a skorch net (directly or in a Pipeline)."""
    from sklearn.pipeline import Pipeline
    from skorch import NeuralNet

    est = unwrap_learner(estimator)
    if isinstance(est, Pipeline):
        est = unwrap_learner(est.steps[-1][1])
    return isinstance(est, NeuralNet)


class ActiveLearner(ClassifierMixin, BaseEstimator):
    """Pool-based active learner with modAL's interface.

    Parameters
    ----------
    estimator : classifier
        Any scikit-learn classifier; DFAL needs a skorch net (or a
        ``Pipeline`` ending in one).  Cloned on ``fit``: the fitted model is
        ``estimator_``.
    query_strategy : callable, default=dfal_margin
        ``(learner, X_pool, n_instances, **kw) -> (indices, scores)``; skdfal's
        strategy objects and functions, and modAL's, all qualify.
    X_training, y_training : array-like, default=None
        Initial labeled set (paid labels).  As in modAL, a learner built with
        them is ready to query: the first ``query``/``teach``/``predict``
        fits on them (construction itself does no work, so ``clone`` works).
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

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    X_training_, y_training_ : ndarray
        Training set, adversarial copies included.
    is_adversarial_ : ndarray of bool
        Which training rows are free adversarial copies.
    n_labels_paid_ : int
        Labels given by the oracle (initial set included).
    n_training_samples_ : int
        Rows in the training set.
    input_shape_ : tuple
        Shape of one sample (``n_features_in_`` is the channel count for
        images, as scikit-learn defines it).
    classes_ : ndarray

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
    >>> learner.n_labels_paid_
    25
    """

    def __init__(
        self,
        estimator,
        query_strategy=dfal_margin,
        X_training=None,
        y_training=None,
        *,
        adversarial_augmentation=False,
        augmentation_params=None,
        warm_start=False,
    ):
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.X_training = X_training
        self.y_training = y_training
        self.adversarial_augmentation = adversarial_augmentation
        self.augmentation_params = augmentation_params
        self.warm_start = warm_start

    # ------------------------------------------------------------------ fitting
    def _validate_xy(self, X, y, reset):
        X, y = validate_data(
            self, X, y, reset=reset, allow_nd=True, ensure_all_finite=True, dtype=None
        )
        return self._as_net_input(X), y

    def _as_net_input(self, X):
        # torch nets run in float32: cast float64 instead of refusing it.
        if X.dtype == np.float64 and _wraps_torch(self.estimator):
            return X.astype(np.float32)
        return X

    def fit(self, X, y, **fit_kwargs):
        """Replace the labeled set by ``(X, y)`` (all paid) and fit a fresh clone.

        Returns
        -------
        self : ActiveLearner
        """
        X, y = self._validate_xy(X, y, reset=True)
        self.input_shape_ = tuple(X.shape[1:])
        self.X_training_ = X
        self.y_training_ = y
        self.is_adversarial_ = np.zeros(len(y), dtype=bool)
        self.n_labels_paid_ = len(y)
        self.estimator_ = clone(self.estimator)
        self.estimator_.fit(X, y, **fit_kwargs)
        self.classes_ = getattr(self.estimator_, "classes_", np.unique(y))
        return self

    def restore(self, estimator, X, y, is_adversarial=None):
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
        X, y = self._validate_xy(X, y, reset=True)
        flags = np.zeros(len(y), dtype=bool) if is_adversarial is None else np.asarray(is_adversarial, dtype=bool)
        if flags.shape != (len(y),):
            raise ValueError(f"is_adversarial must have one flag per sample ({len(y)}), got shape {flags.shape}")
        self.input_shape_ = tuple(X.shape[1:])
        self.X_training_, self.y_training_, self.is_adversarial_ = X, y, flags
        self.n_labels_paid_ = int((~flags).sum())
        self.estimator_ = estimator
        self.classes_ = np.asarray(getattr(estimator, "classes_", np.unique(y)))
        return self

    def _ensure_fitted(self):
        if hasattr(self, "estimator_"):
            return
        if self.X_training is None or self.y_training is None:
            raise NotFittedError(
                "This ActiveLearner has no labeled data yet: pass X_training and y_training, "
                "or call fit(X, y) before querying, teaching or predicting."
            )
        self.fit(self.X_training, self.y_training)

    @property
    def n_training_samples_(self) -> int:
        check_is_fitted(self, "y_training_")
        return int(len(self.y_training_))

    def teach(self, X, y, only_new=False, **fit_kwargs):
        """Add oracle labels ``(X, y)`` (and their adversarial copies), then retrain.

        Parameters
        ----------
        X, y : array-like
            Newly labeled samples.
        only_new : bool, default=False
            Train only on the new samples (modAL's option), on top of the
            current weights when the estimator supports ``partial_fit``.
        **fit_kwargs
            Passed to the estimator's ``fit``/``partial_fit``.
        """
        self._ensure_fitted()
        X, y = self._validate_xy(X, y, reset=False)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(f"X has samples of shape {tuple(X.shape[1:])}, expected {self.input_shape_}")
        X_new, y_new = X, y
        flags = np.zeros(len(y), dtype=bool)
        if self.adversarial_augmentation:
            X_adv, y_adv = self.adversarial_copies(X, y)
            X_new = np.concatenate([X, X_adv.astype(X.dtype, copy=False)])
            y_new = np.concatenate([y, y_adv])
            flags = np.concatenate([flags, np.ones(len(y_adv), dtype=bool)])
        self.X_training_ = np.concatenate([self.X_training_, X_new])
        self.y_training_ = np.concatenate([self.y_training_, y_new])
        self.is_adversarial_ = np.concatenate([self.is_adversarial_, flags])
        self.n_labels_paid_ += len(y)

        can_continue = hasattr(self.estimator_, "partial_fit")
        if only_new:
            fit = self.estimator_.partial_fit if can_continue else self.estimator_.fit
            fit(X_new, y_new, **fit_kwargs)
        elif self.warm_start and can_continue:
            self.estimator_.partial_fit(self.X_training_, self.y_training_, **fit_kwargs)
        else:
            self.estimator_.fit(self.X_training_, self.y_training_, **fit_kwargs)
        return self

    def adversarial_copies(self, X, y):
        """DeepFool copies of ``X`` that flip the current model, labelled ``y``.

        Copies that DeepFool could not flip are dropped.  With a ``Pipeline``
        the copy is made in the net's input space and mapped back through the
        preprocessing's ``inverse_transform``.

        Returns
        -------
        X_adv, y_adv : ndarray
        """
        self._ensure_fitted()
        params = dict(self.augmentation_params or {})
        batch_size = params.pop("batch_size", 256)
        model = resolve_torch_model(self)
        copies, flipped = [], []
        for _, x in iter_batches(X, batch_size, model=model):
            result = deepfool(model.module, x, batch_size=None, **params)
            copies.append(to_numpy(x + result.perturbations))
            flipped.append(to_numpy(result.converged))
        X_adv, flipped = np.concatenate(copies), np.concatenate(flipped)
        if model.transform is not None:
            if model.inverse_transform is None:
                raise ValueError(
                    "adversarial_augmentation needs to map adversarial copies back through the "
                    "pipeline's preprocessing, but a step has no inverse_transform"
                )
            X_adv = model.inverse_transform(X_adv)
        return X_adv[flipped], np.asarray(y)[flipped]

    # ---------------------------------------------------------------- querying
    def query(self, X_pool, n_instances=1, *, return_metrics=False, **query_kwargs):
        """Ask the strategy for the most informative samples of ``X_pool``.

        Returns
        -------
        indices : ndarray of int
        instances : rows of ``X_pool`` at ``indices`` (``None`` for a pool
            that cannot be indexed, such as a generator of batches)
        scores : ndarray, only when ``return_metrics=True``
        """
        self._ensure_fitted()
        strategy = self.query_strategy
        if not callable(strategy):
            raise TypeError(
                "query_strategy must be callable as strategy(learner, X_pool, n_instances), got "
                f"{type(self.query_strategy).__name__}"
            )
        result = strategy(self, X_pool, n_instances, **query_kwargs)
        if isinstance(result, tuple) and len(result) == 2:
            indices, scores = result
        else:  # a strategy returning indices only
            indices, scores = result, None
        indices = np.asarray(indices, dtype=np.int64)
        try:
            instances = take_rows(X_pool, indices)
        except TypeError:
            instances = None
        if return_metrics:
            return indices, instances, scores
        return indices, instances

    # -------------------------------------------------------------- predicting
    def predict(self, X):
        """Predicted classes by ``estimator_``."""
        self._ensure_fitted()
        return self.estimator_.predict(self._validate_x(X))

    def predict_proba(self, X):
        """Class probabilities by ``estimator_``."""
        self._ensure_fitted()
        return self.estimator_.predict_proba(self._validate_x(X))

    def _validate_x(self, X):
        X = validate_data(self, X, reset=False, allow_nd=True, ensure_all_finite=True, dtype=None)
        return self._as_net_input(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
