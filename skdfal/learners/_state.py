"""The learner's model and how labels reach it: modAL's names, input checks, retraining.

Everything :class:`~skdfal.ActiveLearner` does between "labels arrive" and
"the model is retrained" lives here, in the order modAL's ``Committee``
calls it on its members: ``_add_training_data`` (check, then store), then
``_fit_to_known`` or ``_fit_on_new``.  The labeled set itself is a
:class:`~skdfal.learners.LabeledSet` (``_labeled.py``); every check runs
before the learner swaps it for the extended one, so a refused ``teach``
leaves the learner as it was.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)
from skorch.utils import to_numpy

from ..attacks._deepfool import deepfool_unchecked
from ..attacks._params import DEEPFOOL_CONSTRAINTS, check_deepfool_params
from ..utils._pool import iter_batches
from ..utils._torch import is_torch_net, resolve_torch_model
from ..utils._typing import Rows
from ._inputs import check_labels, final_estimator, is_fitted, is_net, label_kind, rows
from ._labeled import LabeledSet

__all__ = ["LearnerState"]

#: What ``augmentation_params`` may hold besides ``batch_size``: :func:`~skdfal.deepfool`'s parameters.
_DEEPFOOL_KEYS = frozenset(DEEPFOOL_CONSTRAINTS)


def _is_classifier(estimator) -> bool:
    """scikit-learn's ``is_classifier``, also for objects without tags (modAL's mocks)."""
    from sklearn.base import is_classifier

    try:
        return is_classifier(estimator)
    except AttributeError:
        return getattr(estimator, "_estimator_type", None) == "classifier"


class LearnerState(ClassifierMixin, BaseEstimator):
    """Base of :class:`~skdfal.ActiveLearner`: state, checks and retraining (not public)."""

    # ------------------------------------------------------------- the model
    def _template(self):
        # The constructor's estimator, or (once a modAL door ran) the working model: clone gives the same.
        return self.estimator

    def _keep_modal_names(self):
        """Store the working model and labeled set under modAL's names (``estimator``, ``X_training``...).

        Called by modAL's doors (``teach``, ``query``, the first use of the
        initial labels, ``restore`` and the hooks a ``Committee`` calls), never
        by ``fit`` (scikit-learn's door leaves the parameters as given) nor by
        an attribute read.
        """
        self.estimator = self.estimator_
        labeled = self.__dict__.get("labeled_set_")
        if labeled is not None and not labeled.empty:
            self.X_training, self.y_training = labeled.X, labeled.y

    def _direct_net(self) -> bool:
        return is_net(self._template())

    def _torch(self) -> bool:
        return is_torch_net(self._template())

    def _fixed_classes(self, y=None):
        if self.classes is not None:
            return np.asarray(self.classes)
        net = final_estimator(self._template())
        classes = getattr(net, "classes", None) if is_net(net) else None
        # A range is make_classifier's default: output indices for integer labels, while other
        # labels (strings) name the outputs at the net's first fit, which checks them.
        if classes is not None and len(classes) and not (isinstance(classes, range) and label_kind(y) == "text"):
            return np.asarray(classes)
        return None

    def _prepare(self) -> bool:
        """Make the working model when it can be made; whether there is one.

        Fits the initial labels (modAL fits them at construction), or adopts
        an estimator that is already fitted.
        """
        state = self.__dict__
        if "estimator_" in state:
            return True
        X0, y0 = state.get("X_training"), state.get("y_training")
        if (X0 is None) != (y0 is None):
            raise ValueError("X_training and y_training must be given together")
        if X0 is not None:
            self.fit(X0, y0, bootstrap=self.bootstrap_init)  # modAL fits these at construction
            self._keep_modal_names()
            return True
        if "labeled_set_" not in state and is_fitted(self._template()):
            self._validate_params()
            # A copy: the user's object stays untouched (scikit-learn's rule).
            self.estimator_ = copy.deepcopy(self._template())
            self.labeled_set_ = LabeledSet()  # the model's own training rows are not ours
            self._set_classes()
            self._keep_modal_names()
            return True
        return False

    def _set_classes(self):
        # getattr's default also covers a skorch net that could not infer them.
        classes = getattr(self.estimator_, "classes_", None)
        labeled = self.__dict__.get("labeled_set_")
        if classes is None and labeled is not None and labeled.y is not None and _is_classifier(self._template()):
            classes = np.unique(labeled.y)
        if classes is not None:
            self.classes_ = np.asarray(classes)

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

    def _rng(self):
        if "_bootstrap_rng" not in self.__dict__:
            self._bootstrap_rng = check_random_state(self.random_state)
        return self._bootstrap_rng

    # ---------------------------------------------------------------- inputs
    def _check_X(self, X, *, reset):
        """``(X as stored, sample shape)``; nothing is stored here."""
        if self._direct_net():
            import scipy.sparse as sp

            if sp.issparse(X):
                raise ValueError("a torch net takes dense samples; got a sparse matrix (use X.toarray())")
            Xa = validate_data(self, X, reset=reset, allow_nd=True, dtype=None, ensure_all_finite=True)
            if Xa.dtype.kind not in "biuf":
                raise ValueError(f"X must be numeric for a torch net, got dtype {Xa.dtype}")
            # Integer images are cast, not scaled (the net's input_scale does that).
            return Xa.astype(np.float32, copy=False), tuple(Xa.shape[1:])
        fitted_shape = None if reset else self.__dict__.get("input_shape_")
        Xa = check_array(
            X, accept_sparse=True, ensure_2d=bool(fitted_shape), allow_nd=True, dtype=None,
            ensure_all_finite=True, estimator=self,
        )
        # Feature names and counts are read from X as given (a DataFrame's
        # columns), and X itself goes to the model unchanged.
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X, tuple(Xa.shape[1:])

    def _check_shape(self, shape, what="X"):
        expected = self.__dict__.get("input_shape_")
        if expected is not None and shape is not None and tuple(shape) != expected:
            raise ValueError(
                f"{what} has samples of shape {tuple(shape)}, but the learner was fitted on samples "
                f"of shape {expected}"
            )

    def _check_y(self, y, X, known):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=True, input_name="y")
        check_consistent_length(X, y)
        final = final_estimator(self._template())
        return check_labels(
            y, known, self._fixed_classes(y), net=self._torch(), encodes=hasattr(final, "transform_input")
        )

    def _checked(self, X):
        if not self._prepare():
            raise NotFittedError(
                "This ActiveLearner has no labeled data yet: pass X_training and y_training, "
                "call fit(X, y) or teach(X, y), or wrap an estimator that is already fitted."
            )
        raw = X
        X, shape = self._check_X(X, reset=False)
        self._check_shape(shape)
        if self._direct_net() and hasattr(self.estimator_, "check_input_range"):
            self.estimator_.check_input_range(raw)  # before the float32 cast hides the dtype
        return X

    # modAL's learner protocol: a Committee calls these three on its members.
    def _add_training_data(self, X, y):
        """Check ``(X, y)``, add it (and its adversarial copies) to the labeled set; no retraining."""
        has_model = self._prepare()
        labeled = self.__dict__.get("labeled_set_", LabeledSet())
        first = labeled.empty
        X_keep, shape = self._check_X(X, reset=first)
        if not first:
            self._check_shape(shape)
        y = self._check_y(y, X_keep, None if first else labeled.y)
        new = LabeledSet.paid(X_keep, y)
        if self.adversarial_augmentation and has_model:
            X_adv, y_adv = self.adversarial_copies(X_keep, y)
            new = new.with_copies(X_adv.astype(np.float32, copy=False), y_adv)
        if first:
            self.input_shape_ = shape
        self.labeled_set_ = labeled.extend(new)  # one assignment, after every check
        if "estimator_" in self.__dict__:
            self._keep_modal_names()
        return new.X, new.y

    def _resample(self, X, y, bootstrap):
        if not bootstrap:
            return X, y
        idx = self._rng().choice(len(y), size=len(y), replace=True)
        return rows(X, idx), y[idx]

    def _fit_to_known(self, bootstrap=False, **fit_kwargs):
        """Retrain on the whole labeled set (a bootstrap resample of it when asked); modAL's names follow."""
        self._train_on_known(bootstrap, **fit_kwargs)
        self._keep_modal_names()
        return self

    def _train_on_known(self, bootstrap=False, **fit_kwargs):
        if "labeled_set_" not in self.__dict__:
            self._prepare()  # a Committee's rebag before any use: the initial labels first
        if "estimator_" not in self.__dict__:
            self.estimator_ = clone(self._template(), safe=False)
        est = self.estimator_
        X, y = self._resample(self.X_training_, self.y_training_, bootstrap)
        fit_kwargs = self._with_unlabeled(est, fit_kwargs)
        if self.warm_start and hasattr(est, "partial_fit") and is_fitted(est):
            est.partial_fit(X, y, **fit_kwargs)
        else:
            est.fit(X, y, **fit_kwargs)
        self._set_classes()
        return self

    def _fit_on_new(self, X, y, bootstrap=False, **fit_kwargs):
        """Train on ``(X, y)`` only, continuing from the current weights where possible."""
        if "estimator_" not in self.__dict__:
            self.estimator_ = clone(self._template(), safe=False)
        est = self.estimator_
        if self._direct_net():
            X = np.asarray(X, dtype=np.float32)
        X, y = self._resample(X, np.asarray(y), bootstrap)
        fit = est.partial_fit if hasattr(est, "partial_fit") and is_fitted(est) else est.fit
        fit(X, y, **self._with_unlabeled(est, fit_kwargs))
        self._set_classes()
        self._keep_modal_names()
        return self

    def _with_unlabeled(self, est, fit_kwargs):
        """``fit_kwargs`` with the learner's ``X_unlabeled`` (a caller's own one wins)."""
        pool = self.X_unlabeled
        if pool is None or "X_unlabeled" in fit_kwargs:
            return fit_kwargs
        if "X_unlabeled" not in inspect.signature(est.fit).parameters:
            raise ValueError(
                f"X_unlabeled was given but {type(est).__name__}.fit does not take it: use a net "
                "from make_classifier (semi_supervised=...) or a SeededNeuralNetClassifier"
            )
        return {**fit_kwargs, "X_unlabeled": pool}

    def adversarial_copies(self, X: Rows, y: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """DeepFool copies of ``X`` that flip the current model, labelled ``y``.

        Copies that DeepFool could not flip are dropped.  With a ``Pipeline``
        the copy is made in the net's input space and mapped back through the
        preprocessing's ``inverse_transform``.

        Returns
        -------
        X_adv, y_adv : ndarray
        """
        if not self._prepare():
            raise NotFittedError("adversarial copies need a fitted model: teach the learner first")
        params = dict(self.augmentation_params or {})
        batch_size = params.pop("batch_size", 256)
        unknown = sorted(set(params) - _DEEPFOOL_KEYS)
        if unknown:
            raise TypeError(
                f"augmentation_params has unknown keys {unknown}: DeepFool takes "
                f"{', '.join(sorted(_DEEPFOOL_KEYS | {'batch_size'}))}"
            )
        # DeepFool's parameters once per teach; each batch is checked as it is read.
        params["clip"] = check_deepfool_params(batch_size=None, **params)
        model = resolve_torch_model(self)
        copies, flipped = [], []
        for _, x in iter_batches(X, batch_size, model=model):
            result = deepfool_unchecked(model.module, x, batch_size=None, **params)
            copies.append(to_numpy(x + result.perturbations))
            flipped.append(to_numpy(result.converged))
        X_adv, flipped = np.concatenate(copies), np.concatenate(flipped)
        if model.transform is not None:
            if model.inverse_transform is None:
                raise ValueError(
                    "adversarial_augmentation needs to map adversarial copies back through the "
                    "pipeline's preprocessing, but a step has no inverse_transform"
                )
            X_adv = np.asarray(model.inverse_transform(X_adv))
            raw_shape = np.shape(X)[1:] if hasattr(X, "shape") else None
            if raw_shape is not None and X_adv.shape[1:] != tuple(raw_shape):
                X_adv = X_adv.reshape((len(X_adv),) + tuple(raw_shape))  # the net's reshape, undone
        return X_adv[flipped], np.asarray(y)[flipped]

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        try:
            inner = get_tags(self._template())
        except (TypeError, AttributeError, ValueError):
            inner = None
        if inner is not None and not self._direct_net():
            tags.input_tags.sparse = inner.input_tags.sparse
            tags.target_tags.multi_output = inner.target_tags.multi_output
        return tags
