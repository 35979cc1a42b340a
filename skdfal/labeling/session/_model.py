"""What a labeling session does with its model: retrain, query the next batch, show copies.

A mixin of :class:`~skdfal.LabelingSession`, kept apart from the labels and
files it manages: it reads the session's label state and learner, and writes
to the journal only the batch it queried (so that a resumed session shows
the same one).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from ...utils._validation import check_count
from ._training import fit_on

__all__ = ["SessionModel"]

_Session = TypeVar("_Session", bound="SessionModel")


class SessionModel:
    """Retraining, querying and adversarial copies of a :class:`~skdfal.LabelingSession`."""

    def _copies(self, indices) -> dict:
        """Adversarial copies of pool samples by the current model (``None``: not flipped)."""
        if not indices or not hasattr(self.learner, "estimator_"):
            return {}
        X = self.X_pool[np.asarray(indices, dtype=np.int64)]
        X_adv, rows = self.learner.adversarial_copies(X, np.arange(len(indices)))
        copies = dict.fromkeys(indices)
        for copy, row in zip(X_adv, rows, strict=True):
            copies[indices[int(row)]] = np.asarray(copy, dtype=self.X_pool.dtype)
        return copies

    def adversarial_copy(self, index: int) -> np.ndarray | None:
        """The adversarial copy shown/used for ``index`` (or ``None``)."""
        seq = next((a["seq"] for a in self._state.actions if a["op"] == "label" and a["index"] == index), None)
        if seq in self._state.adversarial:
            return self._state.adversarial[seq]
        return self._display.get(index)

    @property
    def shows_adversarial(self) -> bool:
        """Whether queried samples come with an adversarial copy (DFAL or augmentation)."""
        from ...strategies import strategy_tags

        tags = strategy_tags(self.learner.query_strategy)
        return bool(self.learner.adversarial_augmentation or (tags is not None and tags.adversarial_copies))

    def retrain(self: _Session) -> _Session:
        """Fit the model on every label in force (and adversarial copies), then save a snapshot.

        With ``stopping`` set, its rules are updated and ``stop_decision`` says
        whether labeling may stop.
        """
        X, y, flags = self._state.training_set(self.X_pool)
        if len(y) == 0:
            return self
        learner = self.learner
        if learner.warm_start and hasattr(learner, "estimator_"):
            # Continue from the current weights (and keep the fitted input checks).
            learner.restore(learner.estimator_, X, y, flags)
            learner.estimator_.partial_fit(learner.X_training_, learner.y_training_)
        else:
            fit_on(learner, X, y, flags)
        self._stale = False
        if getattr(self, "stopping", None) is not None:
            from ...learners._stopping import update_stopping

            # The pool is the stop set's source: its draw is seeded, so a resumed session draws the same.
            self.stop_decision = update_stopping(self.stopping, learner, self.X_pool)
        if not self.readonly:
            self.save()
        return self

    def query(self, n_instances: int | None = None) -> np.ndarray:
        """Query the next batch (retraining first if labels changed).

        While nothing is labeled the batch is drawn at random (seeded by the
        session's ``random_state``).  The batch becomes the current queue.

        Parameters
        ----------
        n_instances : int, default=None
            Batch size (``None``: the session's ``n_instances``); fewer when
            fewer samples are left.

        Returns
        -------
        indices : ndarray of int64
            Pool indices of the batch.

        Raises
        ------
        ValueError
            ``n_instances`` is not a positive integer (``2.5``, ``-1``, ``0``).
        """
        n = self.n_instances if n_instances is None else check_count(n_instances, "n_instances", error=ValueError)
        available = self.available_indices()
        n = min(n, len(available))
        if n == 0:
            self._state.queue = []
            return np.zeros(0, dtype=np.int64)
        if not self._state.labels:
            picks = self._rng.choice(available, size=n, replace=False)
        else:
            if self._stale or not hasattr(self.learner, "estimator_"):
                self.retrain()
            overrides = {}
            strategy = self.learner.query_strategy
            if "random_state" in strategy.get_params() and strategy.get_params()["random_state"] is None:
                # A fresh, saved-and-restored draw per query: sub-samples vary
                # between batches yet a resumed session repeats them.
                overrides["random_state"] = int(self._rng.randint(2**31 - 1))
            positions, _ = self.learner.query(self.X_pool[available], n_instances=n, **overrides)
            picks = available[positions]
        queue = [int(i) for i in picks]
        if not self.readonly:
            # Journaled so that a resumed session shows the same batch; first,
            # so that a failed write leaves no batch the journal does not know.
            self._journal.append("query", indices=queue)
        self._state.queue = queue
        self._display = self._copies(self._state.queue) if self.shows_adversarial else {}
        return np.asarray(self._state.queue, dtype=np.int64)

    @property
    def queue(self) -> list:
        """Pool indices of the current batch still to answer."""
        return list(self._state.queue)

    def current(self) -> int | None:
        """The pool index to label now (querying a new batch when needed), or ``None`` at the end."""
        self._state.queue = [i for i in self._state.queue if i not in self._state.labels and i not in self._state.skipped]
        if not self._state.queue:
            self.query()
        elif self.shows_adversarial and self._state.queue[0] not in self._display:
            # A batch restored from the journal: copies by the restored model.
            self._display.update(self._copies([i for i in self._state.queue if i not in self._display]))
        return self._state.queue[0] if self._state.queue else None
