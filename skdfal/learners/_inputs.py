"""What the learner checks before anything changes: samples, labels, pools, and a cold start.

:class:`~skdfal.ActiveLearner` keeps its labeled set in the container the
user gave (a DataFrame stays a DataFrame for a pipeline that selects columns
by name, a list of texts stays a list, a sparse matrix stays sparse), except
for a skorch net given directly, whose samples are stored as float32 arrays.
Every check here runs before the learner's state changes, so a refused
``teach`` leaves the learner as it was.
"""

from __future__ import annotations

import functools
import inspect
import numbers

import numpy as np

from ..strategies._base import QueryStrategy, check_query_args
from ..strategies._context import query_context
from ..strategies._diversity import k_center_greedy
from ..strategies._registry import strategy_tags
from ..utils._pool import check_n_instances, iter_batches, take_rows
from ..utils._torch import final_step, is_torch_net
from ..utils._validation import check_count

__all__ = [
    "check_label_types",
    "check_labels",
    "check_not_regressor",
    "cold_start_query",
    "final_estimator",
    "is_fitted",
    "is_net",
    "label_kind",
    "query_own_strategy",
    "pool_sample_shape",
    "rows",
    "strategy_needs_model",
]


def final_estimator(estimator):
    """The last step of a ``Pipeline``, through any nesting (the estimator itself otherwise).

    :func:`skdfal.utils._torch.final_step`, the one walk down a pipeline.
    """
    return final_step(estimator)


def is_net(estimator) -> bool:
    """Whether ``estimator`` is itself a skorch net (not a Pipeline ending in one).

    Asks :func:`skdfal.utils._torch.is_torch_net`, the one answer to "is this
    a torch net?", of an estimator that is its own final step.
    """
    return final_step(estimator) is estimator and is_torch_net(estimator)


def is_fitted(estimator) -> bool:
    """scikit-learn's notion of fitted, for any object (``False`` for ``None``)."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if estimator is None or isinstance(estimator, type):
        return False
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    except (TypeError, AttributeError):
        # Not a scikit-learn estimator (no tags, no fit): its own fitted
        # attributes say it, as scikit-learn's rule for them reads.
        names = vars(estimator) if hasattr(estimator, "__dict__") else {}
        return any(k.endswith("_") and not k.startswith("__") for k in names)
    return True


def rows(X, indices):
    """Rows ``indices`` of any sample container (lists of samples included).

    A single index gives a single sample, as modAL's ``retrieve_rows`` does
    (a DataFrame's row as a Series, a sparse matrix's as a 1-row matrix).
    """
    if np.ndim(indices) == 0:
        i = int(indices)
        if isinstance(X, (list, tuple)):
            return X[i]
        return X.iloc[i] if hasattr(X, "iloc") else take_rows(X, [i])[0]
    if isinstance(X, (list, tuple)):
        return [X[int(i)] for i in np.asarray(indices).ravel()]
    return take_rows(X, indices)


def label_kind(y) -> str:
    """``"number"``, ``"text"`` or ``"object"``: labels of different kinds do not mix."""
    y = np.asarray(y)
    if y.dtype.kind in "biuf":
        return "number"
    if y.dtype.kind in "US":
        return "text"
    values = y.ravel().tolist()
    if values and all(isinstance(v, str) for v in values):
        return "text"
    if values and all(isinstance(v, numbers.Number) for v in values):
        return "number"
    return "object"


def check_label_types(y, name="y"):
    """Refuse labels that mix text with other types (``[1, "a", 2.5]``).

    scikit-learn calls such labels "unknown" and suggests continuous values;
    the fault is the mixture, which no classifier can order or encode.
    """
    y = np.asarray(y)
    if y.dtype != object:
        return
    values = y.ravel().tolist()
    texts = [v for v in values if isinstance(v, str)]
    if texts and len(texts) < len(values):
        other = next(v for v in values if not isinstance(v, str))
        kinds = ", ".join(dict.fromkeys(type(v).__name__ for v in values))
        raise ValueError(
            f"{name} mixes label types ({kinds}; e.g. {texts[0]!r} and {other!r}): classes must be "
            f"all strings or all numbers; convert them first (e.g. np.asarray({name}).astype(str))"
        )


def check_labels(y, y_known, fixed_classes, *, net=False, encodes=True):
    """Refuse labels that would be learned wrong; ``y`` as an array.

    Parameters
    ----------
    y : array-like
        New labels.
    y_known : ndarray or None
        Labels taught so far.
    fixed_classes : ndarray or None
        The labels the oracle may give (a net's ``classes``, the learner's
        ``classes``); ``None`` lets the set grow.
    net : bool
        The model is a skorch net: integer labels are output indices, so
        negative ones (``-100`` is ``CrossEntropyLoss``'s ignore index) are
        refused even without ``fixed_classes``.
    encodes : bool
        The net encodes any labels itself (skdfal's
        :class:`~skdfal.SeededNeuralNetClassifier`); skorch's own nets take
        integer labels only.

    Raises
    ------
    ValueError
        For labels of another kind than those taught (one text label among
        integers would turn every label into text), of another shape, or
        outside ``fixed_classes``.
    """
    y = np.asarray(y)
    check_label_types(y)
    if y_known is not None and len(y_known):
        old, new = label_kind(y_known), label_kind(y)
        if old != new:
            example = y.ravel()[0].item() if hasattr(y.ravel()[0], "item") else y.ravel()[0]
            raise ValueError(
                f"y has {new} labels (e.g. {example!r}) but the labels taught so far are {old}s "
                f"(dtype {y_known.dtype}): mixing the two types would turn every label into one "
                "type; give labels of the type already taught"
            )
        if y.shape[1:] != y_known.shape[1:]:
            raise ValueError(
                f"y has labels of shape {y.shape[1:]}, but the labels taught so far have shape "
                f"{y_known.shape[1:]}"
            )
    flat = y.ravel() if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1) else None
    if fixed_classes is not None and flat is not None:
        known = set(np.asarray(fixed_classes).tolist())
        unknown = sorted({repr(v) for v in flat.tolist() if v not in known})
        if unknown:
            raise ValueError(
                f"y contains labels {unknown[:5]} that are not among the classes "
                f"{np.asarray(fixed_classes).tolist()[:10]}: a net has one output per class and "
                "would learn them wrong (CrossEntropyLoss ignores -100); fix the labels, or build "
                "the model with more classes"
            )
    elif net and not encodes and flat is not None and label_kind(flat) != "number":
        raise ValueError(
            f"y has {label_kind(flat)} labels, but skorch's own nets take integer labels only; "
            "use skdfal.make_classifier(classes=[...]) or SeededNeuralNetClassifier, which encode "
            "any labels"
        )
    elif net and flat is not None and flat.dtype.kind in "iu" and flat.size and flat.min() < 0:
        raise ValueError(
            f"y contains negative labels {sorted(set(flat[flat < 0].tolist()))[:5]}: a net's "
            "integer labels are output indices (CrossEntropyLoss silently ignores -100)"
        )
    return y


def pool_sample_shape(X_pool, *, net):
    """Shape of one pool sample when it is cheap to know, else ``None``.

    Arrays, tensors, sparse matrices and DataFrames give it directly; a
    Dataset gives its first item's; for a scikit-learn model a list is a
    list of samples, for a net a list of batches (not looked into).
    """
    import torch

    shape = getattr(X_pool, "shape", None)
    if shape is not None and not isinstance(X_pool, torch.utils.data.Dataset):
        return tuple(shape[1:]) if len(shape) else None
    try:
        if isinstance(X_pool, (list, tuple)) and not net and len(X_pool):
            return tuple(np.shape(X_pool[0]))
        if isinstance(X_pool, torch.utils.data.Dataset) and not isinstance(
            X_pool, torch.utils.data.IterableDataset
        ) and len(X_pool):
            item = X_pool[0]
            if isinstance(item, (tuple, list)) and len(item) >= 1 and np.ndim(item[0]):
                item = item[0]
            return tuple(np.shape(item))
    except (ValueError, TypeError, IndexError):
        return None
    return None


def strategy_needs_model(strategy) -> bool:
    """Whether ``strategy`` is one of skdfal's and needs a fitted model.

    Foreign strategies (modAL's, your own) are always called: they handle a
    learner without labels themselves, as modAL's do.
    """
    while isinstance(strategy, functools.partial):
        strategy = strategy.func
    tags = strategy_tags(strategy)
    return bool(tags is not None and tags.needs_model)


def check_not_regressor(estimator, strategy) -> None:
    """Refuse a regressor queried by one of skdfal's model-based strategies.

    They all score class predictions (probabilities, margins, DeepFool),
    so a regressor would fail deep inside one with a misleading message.
    Model-free strategies (random) and the user's own functions pass.
    """
    from sklearn.base import is_regressor

    final = final_estimator(estimator)
    if final is None or isinstance(final, type) or not is_regressor(final):
        return
    if strategy_needs_model(strategy):
        raise ValueError(
            f"{type(final).__name__} is a regressor, and none of skdfal's registered query "
            "strategies does regression (they score predicted classes); pass your own as "
            "query_strategy=f, called as f(learner, X_pool, n_instances) and returning "
            "(indices, scores), e.g. the samples of largest predictive standard deviation "
            "(learner.estimator.predict(X_pool, return_std=True)), or use random_sampling"
        )


def query_own_strategy(strategy, learner, X_pool, args, kwargs):
    """``strategy(learner, X_pool, *args, **kwargs)`` for one of skdfal's strategies, checked once.

    skdfal's strategy objects and their function forms (``dfal_margin`` ...)
    are configured here (overrides applied, parameters checked), then
    ``n_instances`` and the pool are checked, once, and the strategy runs
    behind this door (``QueryStrategy._query_validated``), as its own
    ``query`` would run it.  ``None`` for anything else (modAL's strategies,
    your own, ``functools.partial`` objects, a subclass with its own
    ``query``, arguments that do not bind): the learner calls those as they
    are, and they check for themselves.
    """
    configured = _configured_own(strategy, learner, X_pool, args, kwargs)
    if configured is None:
        return None
    strategy, n_instances = configured
    X_pool, n_instances, n_pool = check_query_args(X_pool, n_instances)
    return strategy._query_validated(query_context(learner), X_pool, n_instances, n_pool)


def _configured_own(strategy, learner, X_pool, args, kwargs):
    """``(strategy configured for this call, n_instances)``, or ``None`` for a foreign strategy."""
    cls = getattr(strategy, "_strategy_class", None)
    if isinstance(strategy, QueryStrategy):
        own = type(strategy).__call__ is QueryStrategy.__call__ and type(strategy).query is QueryStrategy.query
    else:
        own = inspect.isfunction(strategy) and isinstance(cls, type) and issubclass(cls, QueryStrategy)
    if not own:
        return None
    try:
        given = _bound_arguments(strategy, learner, X_pool, args, kwargs)
    except TypeError:
        return None  # the call itself says what does not fit, in Python's words
    params = dict(given.get("params", {}))
    tie_break = given.get("random_tie_break", False)
    if cls is not None:  # the function form builds its class from the overrides
        return cls(**params)._configured(tie_break), given.get("n_instances", 1)
    return strategy._configured(tie_break, params), given.get("n_instances", 1)


def requested_count(strategy, learner, X_pool, args, kwargs) -> int:
    """The ``n_instances`` a strategy call would use (its default when not given)."""
    try:
        return _bound_arguments(strategy, learner, X_pool, args, kwargs).get("n_instances", 1)
    except TypeError as exc:
        raise TypeError(f"query arguments do not fit the strategy: {exc}") from None


def _bound_arguments(strategy, learner, X_pool, args, kwargs):
    """The arguments of ``strategy(learner, X_pool, *args, **kwargs)`` by name, defaults filled in."""
    bound = inspect.signature(strategy, follow_wrapped=False).bind(learner, X_pool, *args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def _numeric_rows(batch):
    """A batch as 2-D float32 rows, or ``None`` when it is not dense numbers."""
    import scipy.sparse as sp

    if sp.issparse(batch):
        return None
    if hasattr(batch, "select_dtypes"):  # a DataFrame
        if batch.select_dtypes("number").shape[1] != batch.shape[1]:
            return None
        batch = batch.to_numpy()
    batch = np.asarray(batch)
    if batch.dtype.kind not in "biuf":
        return None
    return batch.reshape(len(batch), -1).astype(np.float32, copy=False)


def cold_start_query(X_pool, n_instances, random_state=None):
    """Choose samples without any label: greedy k-center on the raw input.

    The first pick is drawn at random; each next one is the sample farthest
    (Euclidean, samples flattened) from those already picked, so the first
    labels cover the pool.  Pools that are not dense numbers (texts, sparse
    matrices, categorical columns) get a uniform random draw instead.  The
    pool is read once, into memory.

    Returns
    -------
    indices : ndarray of int
    scores : ndarray of float
        Each pick's distance to the nearest earlier pick (``inf`` for the
        first; ``nan`` for a random draw).
    """
    from sklearn.utils import check_random_state

    n_instances = check_count(n_instances, "n_instances")
    if isinstance(X_pool, list) and X_pool and np.ndim(X_pool[0]) == 0:
        X_pool = np.asarray(X_pool, dtype=object)  # a list of texts
    parts, n = [], 0
    for _, batch in iter_batches(X_pool, 8192):
        n += batch.shape[0]
        if parts is not None:
            dense = _numeric_rows(batch)
            parts = None if dense is None else parts + [dense]
    check_n_instances(n_instances, n)
    rng = check_random_state(random_state)
    if parts is None:
        picked = rng.choice(n, size=n_instances, replace=False).astype(np.int64)
        return picked, np.full(n_instances, np.nan)
    return k_center_greedy(np.concatenate(parts), None, n_instances, rng)
