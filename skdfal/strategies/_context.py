"""What a query strategy may know of the learner that asks it: one small object.

A strategy is called with modAL's protocol ``(classifier, X_pool,
n_instances)``, where ``classifier`` may be an skdfal or modAL active
learner, a skorch net, a ``Pipeline`` or a bare torch module.  Its public
entry turns that into a :class:`QueryContext` once per query; everything
below reads the context, never a learner's attributes by name, and nothing
here trains a model.

The hook: an object whose class defines ``query_context()`` returning a
:class:`QueryContext` hands over exactly what it wants strategies to know
(skdfal's :class:`~skdfal.ActiveLearner` does).  Other objects get a context
built from modAL's public protocol (``estimator``, ``X_training``,
``y_training``) or, for a bare model, from the model alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..utils._torch import TorchModel, is_modal_learner, resolve_torch_model

__all__ = ["QueryContext", "query_context"]


@dataclass(eq=False)
class QueryContext:
    """What a query strategy may know, built once per query.

    Attributes
    ----------
    estimator : object or None
        The model whose utilities are computed: a fitted skorch net, a
        ``Pipeline``, any scikit-learn classifier, a ``torch.nn.Module``, or
        ``None`` (model-free strategies).
    n_labels_paid : int or None
        Labels the learner has paid for (adversarial copies are free);
        ``None`` when the classifier is not an active learner.
    X_training : rows or None
        The learner's training set (``None`` when there is none).
    y_training : array-like or None
        Its labels.
    is_adversarial : ndarray of bool or None
        Which training rows are free adversarial copies (``None``: none are).

    Examples
    --------
    >>> import torch
    >>> from skdfal.strategies import QueryContext, query_context
    >>> net = torch.nn.Linear(2, 2)
    >>> context = query_context(net)
    >>> context.estimator is net, context.n_labels_paid
    (True, None)
    >>> query_context(context) is context
    True
    """

    estimator: Any = None
    n_labels_paid: int | None = None
    X_training: Any = None
    y_training: Any = None
    is_adversarial: np.ndarray | None = None
    _torch_model: Any = field(default=None, init=False, repr=False)

    def query_context(self) -> QueryContext:
        """The context itself (a context is accepted wherever a classifier is)."""
        return self

    def torch_model(self) -> TorchModel:
        """The :class:`~skdfal.utils.TorchModel` of :attr:`estimator`, resolved once per query."""
        if self._torch_model is None:
            self._torch_model = resolve_torch_model(self.estimator)
        return self._torch_model

    def labeled_set(self) -> tuple[Any, np.ndarray | None]:
        """``(X, y)``: the training rows labels were paid for (adversarial copies left out).

        ``(None, None)`` without a training set; ``y`` is ``None`` when only
        rows are known.
        """
        X, y, flags = self.X_training, self.y_training, self.is_adversarial
        if X is None:
            return None, None
        if flags is not None and len(flags) == len(X):
            paid = ~np.asarray(flags, dtype=bool)
            X = X[paid]
            y = None if y is None or len(y) != len(paid) else np.asarray(y)[paid]
        return X, (None if y is None else np.asarray(y))


def query_context(classifier: Any) -> QueryContext:
    """The :class:`QueryContext` of whatever a strategy was called with.

    Parameters
    ----------
    classifier : object
        An object whose class defines ``query_context()`` (skdfal's learners,
        a context itself), a modAL active learner (``estimator``,
        ``X_training``, ``y_training``), or a bare model.

    Returns
    -------
    QueryContext
    """
    if callable(getattr(type(classifier), "query_context", None)):
        context = classifier.query_context()
        if not isinstance(context, QueryContext):
            raise TypeError(
                f"{type(classifier).__name__}.query_context() must return a QueryContext, "
                f"got {type(context).__name__}"
            )
        return context
    if is_modal_learner(classifier):
        y = getattr(classifier, "y_training", None)
        return QueryContext(
            estimator=classifier.estimator, n_labels_paid=None if y is None else len(y),
            X_training=getattr(classifier, "X_training", None), y_training=y,
        )
    return QueryContext(estimator=classifier)

