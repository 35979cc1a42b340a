"""Querying that knows a semi-supervised trainer: leave out what it already pseudo-labels.

A net trained with :class:`~skdfal.models.SemiSupervised` teaches itself the
pool samples it predicts with confidence at least the callback's
``threshold``; paying for one of those buys a label the trainer mostly
already has.  :class:`Unconfident` wraps any strategy: it drops those samples
from the pool, and the wrapped strategy (and its batch spread) chooses among
the rest.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone

from ..models import SemiSupervised
from ..utils._pool import concat_rows, iter_pool, take_rows
from ..utils._sklearn_compat import Interval, StrOptions
from ..utils._torch import final_step
from ..utils._typing import RandomStateLike
from ._base import QueryStrategy, StrategyTags, as_function
from ._uncertainty import _check_has_probabilities, _iter_probabilities

__all__ = ["Unconfident", "unconfident", "trainer_threshold"]

#: FixMatch's confidence threshold (Sohn et al., 2020), and SemiSupervised's default.
DEFAULT_THRESHOLD = 0.95


def trainer_threshold(estimator) -> float:
    """The confidence above which ``estimator``'s trainer pseudo-labels a sample.

    The ``threshold`` of the :class:`~skdfal.models.SemiSupervised` callback of
    a fitted skorch net (or of the net ending a ``Pipeline``);
    :data:`DEFAULT_THRESHOLD` (0.95) for any other model.

    Examples
    --------
    >>> from skdfal import make_classifier
    >>> from skdfal.strategies import trainer_threshold
    >>> net = make_classifier("lenet5", input_shape=(1, 8, 8), semi_supervised="fixmatch")
    >>> trainer_threshold(net.set_params(callbacks__semi_supervised__threshold=0.9).initialize())
    0.9
    """
    for _, callback in getattr(final_step(estimator), "callbacks_", None) or ():
        if isinstance(callback, SemiSupervised):
            return float(callback.threshold)
    return DEFAULT_THRESHOLD


class Unconfident(QueryStrategy):
    """Query with ``strategy`` among the samples the model is not confident about.

    Samples whose largest predicted probability reaches ``threshold`` are
    left out of the pool before ``strategy`` scores it; with
    ``threshold="trainer"`` that is the threshold of the net's own
    :class:`~skdfal.models.SemiSupervised` callback, so the query skips
    exactly what the trainer pseudo-labels.  When fewer than
    ``n_instances`` samples remain, the least confident of the others fill
    the pool up to ``n_instances``.

    Parameters
    ----------
    strategy : QueryStrategy
        The strategy that chooses among the kept samples (any strategy
        object; :func:`~skdfal.make_strategy` builds a registered one by
        name).  Registered as ``"dfal_batch_unconfident"`` and so on.
    threshold : "trainer" or float in (0, 1], default="trainer"
        Confidence from which a sample is left out (``"trainer"``: see
        :func:`trainer_threshold`; 0.95 without a semi-supervised trainer).
    batch_size : int, default=256
        Pool rows per ``predict_proba`` call.
    random_state : int, RandomState or None, default=None
        Handed to ``strategy`` when it draws at random.

    Notes
    -----
    The kept rows are gathered in one pass over the pool (a stream is read
    once), and the wrapped strategy queries them in memory: a pool of which
    the model is unsure everywhere is held whole.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal import ActiveLearner, load_digits_images, make_classifier
    >>> from skdfal.strategies import EntropySampling, Unconfident
    >>> X, y = load_digits_images()
    >>> net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=5, random_state=0)
    >>> learner = ActiveLearner(net, Unconfident(EntropySampling())).fit(X[:200], y[:200])
    >>> idx, _ = learner.query(X[1000:1200], n_instances=5)
    >>> bool((learner.predict_proba(X[1000:1200][idx]).max(axis=1) < 0.95).all())
    True
    """

    tags = StrategyTags()
    _parameter_constraints = {
        "strategy": [QueryStrategy],
        "threshold": [StrOptions({"trainer"}), Interval(Real, 0, 1, closed="right")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, strategy: QueryStrategy, *, threshold: str | float = "trainer",
        batch_size: int = 256, random_state: RandomStateLike = None,
    ):
        self.strategy = strategy
        self.threshold = threshold
        self.batch_size = batch_size
        self.random_state = random_state

    def _selector(self):
        return None  # the wrapped strategy selects (and checks its own pair)

    def _inner(self) -> QueryStrategy:
        """The wrapped strategy, configured for one query (its own door skipped: checked here)."""
        inner = clone(self.strategy)
        if self.random_state is not None and "random_state" in inner.get_params():
            inner.set_params(random_state=self.random_state)
        return inner._configured(getattr(self, "_random_tie_break", False))

    def _select(self, classifier, X_pool, n_instances):
        inner = self._inner()
        _check_has_probabilities(classifier, type(self).__name__)
        threshold = trainer_threshold(classifier.estimator) if self.threshold == "trainer" else self.threshold
        rows, positions = _kept_rows(classifier.estimator, X_pool, n_instances, threshold, self.batch_size)
        picked, scores = inner._query_validated(classifier, rows, n_instances, len(positions))
        return positions[np.asarray(picked, dtype=np.int64)], scores


def _kept_rows(estimator, X_pool, n_instances, threshold, batch_size):
    """``(rows, positions)``: the pool rows predicted below ``threshold``, topped up to ``n_instances``.

    One pass; besides the kept rows, only the ``n_instances`` least
    confident of the others are held (the top-up).
    """
    kept, kept_at = [], []
    spare, spare_at, spare_conf = None, np.zeros(0, np.int64), np.zeros(0)
    for start, batch in iter_pool(X_pool, batch_size):
        chunks = list(_iter_probabilities(estimator, batch, batch_size))  # one chunk: batch_size rows
        confidence = np.concatenate([  # an unfitted model is sure of nothing
            np.zeros(n) if proba is None else proba.max(axis=1) for n, proba in chunks])
        low = np.flatnonzero(confidence < threshold)
        if len(low):
            kept.append(take_rows(batch, low))
            kept_at.append(start + low)
        high = np.flatnonzero(confidence >= threshold)
        if len(high):
            rows = take_rows(batch, high)
            spare = rows if spare is None else concat_rows(spare, rows)
            spare_at = np.concatenate([spare_at, start + high])
            spare_conf = np.concatenate([spare_conf, confidence[high]])
            order = np.argsort(spare_conf, kind="stable")[:n_instances]
            spare, spare_at, spare_conf = take_rows(spare, order), spare_at[order], spare_conf[order]
    positions = np.concatenate(kept_at) if kept_at else np.zeros(0, np.int64)
    rows = _concat(kept)
    missing = n_instances - len(positions)
    if missing > 0:
        top_up = np.argsort(spare_at[:missing], kind="stable")  # in pool order, as the kept rows
        rows = take_rows(spare, top_up) if rows is None else concat_rows(rows, take_rows(spare, top_up))
        positions = np.concatenate([positions, spare_at[:missing][top_up]])
        order = np.argsort(positions, kind="stable")
        rows, positions = take_rows(rows, order), positions[order]
    return rows, positions


def _concat(pieces):
    if not pieces:
        return None
    if all(isinstance(p, np.ndarray) for p in pieces):
        return np.concatenate(pieces)
    rows = pieces[0]
    for piece in pieces[1:]:
        rows = concat_rows(rows, piece)
    return rows


unconfident = as_function(
    Unconfident, "unconfident",
    "Query with another strategy among the samples the (semi-supervised) model is not confident about.",
)
