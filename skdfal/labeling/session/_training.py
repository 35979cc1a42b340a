"""Training a session's model elsewhere (another thread, a server) and handing it back.

A mixin of :class:`~skdfal.LabelingSession`.  A front-end that must keep
answering while a model trains (the Label Studio backend) takes a
:meth:`~SessionTraining.training_snapshot` under its own lock, fits a fresh
learner on it outside the lock (:meth:`~SessionTraining.fit_snapshot`),
ranks the pool with it (:meth:`~SessionTraining.rank`), then, under its lock
again, gives the model to the session (:meth:`~SessionTraining.adopt`).
Only the snapshot, the configuration and the pool are read while fitting,
so labels may keep arriving meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ...learners import ActiveLearner

__all__ = ["Ranking", "SessionTraining", "TrainingSnapshot", "fit_on"]


@dataclass(frozen=True)
class TrainingSnapshot:
    """The labeled set of a session at one moment, for training away from it.

    Attributes
    ----------
    X, y : ndarray
        Labeled pool rows, then their adversarial copies (with augmentation).
    is_adversarial : ndarray of bool
        Which rows are adversarial copies (free, not paid labels).
    labels : dict
        ``{pool index: label}`` in force when the snapshot was taken.
    available : ndarray of int64
        Pool indices neither labeled nor skipped then.
    """

    X: np.ndarray
    y: np.ndarray
    is_adversarial: np.ndarray
    labels: dict
    available: np.ndarray


@dataclass(frozen=True)
class Ranking:
    """The order a strategy puts pool indices in, and the batch spread's clusters.

    Attributes
    ----------
    order : ndarray of int64
        Pool indices, the next to label first: with a spreading strategy
        (``batch_diversity``) the spread batch of ``n_instances`` comes first,
        then the rest by score.
    clusters : dict
        ``{pool index: cluster id}`` of the spread batch's picks (the k-means
        cluster each pick represents); empty when the strategy does not
        spread a batch.
    """

    order: np.ndarray
    clusters: dict = field(default_factory=dict)


def fit_on(learner, X, y, is_adversarial):
    """Fit ``learner`` on a labeled set whose adversarial copies are flagged; returns it."""
    learner.fit(X, y)
    if is_adversarial.any():  # fit counts every row as paid: say which are free copies
        learner.restore(learner.estimator_, X, y, is_adversarial)
    return learner


class SessionTraining:
    """Snapshots of the labeled set, models fitted on them, rankings, and adopting a model."""

    def training_snapshot(self) -> TrainingSnapshot:
        """The labeled set as it is now (a copy: later answers do not change it)."""
        X, y, flags = self._state.training_set(self.X_pool)
        return TrainingSnapshot(X=X, y=y, is_adversarial=flags, labels=dict(self.labels),
                                available=self.available_indices())

    def new_learner(self) -> ActiveLearner:
        """An unfitted :class:`~skdfal.ActiveLearner` as the session's ``session.json`` specifies it."""
        from ._open import new_learner

        return new_learner(self.config, self._device, self.X_pool)

    def fit_snapshot(self, snapshot: TrainingSnapshot) -> ActiveLearner:
        """A new learner fitted on ``snapshot``; the session is not changed (safe from another thread)."""
        return fit_on(self.new_learner(), snapshot.X, snapshot.y, snapshot.is_adversarial)

    def adopt(self, learner: ActiveLearner, snapshot: TrainingSnapshot) -> bool:
        """Make ``learner``'s fitted model the session's, as trained on ``snapshot``; save a snapshot.

        Returns whether the session is still ``stale`` (labels changed since
        ``snapshot`` was taken).  A snapshot that fails to save raises the
        ``OSError`` after the model is adopted (the journal keeps every label).
        """
        self._writable()
        self.learner.restore(learner.estimator_, snapshot.X, snapshot.y, snapshot.is_adversarial)
        self._stale = self.labels != snapshot.labels
        self.save()
        return self._stale

    def rank(self, learner: ActiveLearner | None = None, indices: npt.ArrayLike | None = None) -> Ranking:
        """The strategy's order of ``indices`` (default: the available ones) by ``learner``'s model.

        ``learner`` defaults to the session's own (fitted); pass one from
        :meth:`fit_snapshot`.  The ranking is not journaled and changes no
        state of the session.
        """
        learner = self.learner if learner is None else learner
        indices = self.available_indices() if indices is None else np.asarray(indices, dtype=np.int64)
        if len(indices) == 0:
            return Ranking(np.zeros(0, dtype=np.int64))
        X = self.X_pool[indices]
        positions, _ = learner.query(X, n_instances=len(indices))
        order = indices[np.asarray(positions, dtype=np.int64)]
        strategy = learner.query_strategy
        n_batch = min(self.n_instances, len(indices))
        from ...strategies import QueryStrategy

        selector = strategy._selector() if isinstance(strategy, QueryStrategy) else None
        if selector is None or not selector.spreads() or n_batch == len(indices):
            return Ranking(order)
        # Ranking the whole pool spreads nothing; the batch the strategy would query does.
        positions, _ = learner.query(X, n_instances=n_batch)
        batch = indices[np.asarray(positions, dtype=np.int64)]
        picked = getattr(strategy, "last_clusters_", None)
        clusters = {} if picked is None else {int(i): int(c) for i, c in zip(batch, picked, strict=True)}
        rest = order[~np.isin(order, batch)]
        return Ranking(np.concatenate([batch, rest]), clusters)
