"""Background retraining and the ranking of the Label Studio backend (:mod:`._backend`).

A mixin of the backend: a thread takes the session's
:meth:`~skdfal.LabelingSession.training_snapshot` under the lock, fits a
fresh network on it (:meth:`~skdfal.LabelingSession.fit_snapshot`) and ranks
the pool with it (:meth:`~skdfal.LabelingSession.rank`) outside the lock,
then gives the model to the session (:meth:`~skdfal.LabelingSession.adopt`)
and swaps the ranking in under it, so that predictions are never blocked by
training.  Only the session's public API is used.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

__all__ = ["BackendTraining"]

logger = logging.getLogger("skdfal.labelstudio")


class BackendTraining:
    """Retraining thread and ranking of the Label Studio backend (reads its session and lock)."""

    #: Seconds without a new label after which labels not yet in the model are trained on.
    settle_seconds = 2.0

    def _start_training(self) -> None:
        self._trainer = threading.Thread(target=self._train_loop, name="skdfal-retrain", daemon=True)
        self._trainer.start()

    def _cold_ranking(self) -> dict:
        """Before any model: the session's own random order (seeded), no pre-annotations."""
        n = len(self.session.X_pool)
        order = np.random.RandomState(self.session.config["random_state"]).permutation(n)
        score = np.empty(n)
        score[order] = np.arange(n) / n
        if self._trained_labels is not None and self.session.n_labels and hasattr(self.session.learner, "estimator_"):
            return self._rank(self.session.learner, self.session.available_indices(), self.session.n_labels)
        return {"version": self._version(0), "score": score, "clusters": {}, "labels": None, "proba": None}

    def _version(self, n_labels) -> str:
        """A model version no other model of this session had: a millisecond stamp, then the labels.

        The stamp only grows, within a process and across restarts, so two
        models never share a version (Label Studio keys its predictions by
        version and would keep stale ones otherwise).
        """
        stamp = max(time.time_ns() // 1_000_000, getattr(self, "_last_stamp", 0) + 1)
        self._last_stamp = stamp
        return f"skdfal-{self.session.config['session_id'][:8]}-{stamp:x}-{n_labels}"

    def _rank(self, learner, available, n_labels) -> dict:
        """Scores in ``[0, 1)``: the strategy's order of ``available`` (labeled images: 1); predictions.

        The order is :meth:`~skdfal.LabelingSession.rank`'s: with a strategy
        that spreads its batch, the spread batch first, each pick with the
        id of the k-means cluster it represents (``clusters``).
        """
        X_pool = self.session.X_pool
        score = np.ones(len(X_pool))
        ranking = self.session.rank(learner, available)
        if len(ranking.order):
            score[ranking.order] = np.arange(len(ranking.order)) / len(ranking.order)
        proba = learner.predict_proba(X_pool)
        return {"version": self._version(n_labels), "score": score, "clusters": ranking.clusters,
                "labels": np.argmax(proba, axis=1), "proba": np.max(proba, axis=1)}

    def _train_loop(self) -> None:
        from ....learners._stopping import update_stopping

        session = self.session
        while True:
            with self._lock:
                while not self._closing and not self._due():
                    self._wake.wait(timeout=1.0)
                if self._closing:
                    return
                snapshot = session.training_snapshot()
                self._pending = False
                self._busy = True
            n_labels = len(snapshot.labels)
            try:
                learner = session.fit_snapshot(snapshot)  # outside the lock: reads only the snapshot
                ranking = self._rank(learner, snapshot.available, n_labels)
                decision = update_stopping(self.stopping, learner, session.X_pool)
            except Exception:  # a failed retraining must not end the server: logged, retried on the next label
                logger.exception("retraining on %d labels failed", n_labels)
                with self._lock:
                    self._busy = False
                continue
            with self._lock:
                self._busy = False
                if self._closing:
                    return
                try:
                    self._pending = session.adopt(learner, snapshot) or self._pending
                except OSError:
                    logger.exception("saving the snapshot failed (the journal keeps every label)")
                    self._pending = self._pending or session.stale
                self._trained_labels = snapshot.labels
                self._ranking = ranking
                self.stop_decision = decision
            logger.info("retrained on %d labels: model version %s", n_labels, ranking["version"])
            if self._push is not None:
                self._push_ranking(ranking)  # outside the lock: webhooks and predictions go on meanwhile
            if decision is not None and decision.stop:
                logger.warning("you may stop: %s", decision.reason)

    def _untrained(self) -> int:
        """Labels given, changed or removed since the model was trained."""
        if self._trained_labels is None:
            return len(self.session.labels)
        changed = sum(1 for i, lab in self.session.labels.items() if self._trained_labels.get(i) != lab)
        return changed + sum(1 for i in self._trained_labels if i not in self.session.labels)

    def _due(self) -> bool:
        if not self._pending or not self.session.labels:
            return False
        if self._trained_labels is None:
            return True
        untrained = self._untrained()
        if untrained >= self.retrain_every:
            return True
        # Catch up once labeling pauses: the model should not stay behind the last few labels.
        quiet = time.monotonic() - getattr(self, "_last_label", 0.0) >= self.settle_seconds
        return untrained > 0 and quiet

    def wait_until_trained(self, timeout: float = 60.0) -> bool:
        """Block until no retraining is due or running (tests, scripts); ``False`` on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                # Labels the model lacks are trained on soon (at the latest once labeling pauses).
                if not self._busy and not self._due() and not (self._pending and self._untrained()):
                    return True
            time.sleep(0.05)
        return False
