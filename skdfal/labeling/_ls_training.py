"""Background retraining and the DFAL ranking of :class:`~skdfal.labeling._labelstudio.LabelStudioBackend`.

A mixin, like :class:`~skdfal.labeling._model.SessionModel` for sessions: a
thread trains a fresh network on a copy of the labeled set and ranks the pool
with it outside the lock, then swaps both in under it, so that predictions
are never blocked by training.
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
        return {"version": self._version(0), "score": score, "labels": None, "proba": None}

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
        """Scores in ``[0, 1)``: the DFAL order of ``available`` (labeled images: 1); predictions."""
        X_pool = self.session.X_pool
        n = len(X_pool)
        score = np.ones(n)
        if len(available):
            order, _ = learner.query(X_pool[available], n_instances=len(available))
            score[available[np.asarray(order, dtype=np.int64)]] = np.arange(len(available)) / len(available)
        proba = learner.predict_proba(X_pool)
        return {"version": self._version(n_labels), "score": score,
                "labels": np.argmax(proba, axis=1), "proba": np.max(proba, axis=1)}

    def _train_loop(self) -> None:
        from ..learners._stopping import check_stopping
        from ._open import new_learner

        while True:
            with self._lock:
                while not self._closing and not self._due():
                    self._wake.wait(timeout=1.0)
                if self._closing:
                    return
                labels = dict(self.session.labels)
                X, y, flags = self.session._state.training_set(self.session.X_pool)
                available = self.session.available_indices()
                self._pending = False
                self._busy = True
            try:
                learner = new_learner(self.session.config, self._device, self.session.X_pool)
                learner.fit(X, y)
                if flags.any():
                    learner.restore(learner.estimator_, X, y, flags)
                ranking = self._rank(learner, available, len(labels))
                decision = check_stopping(self.stopping, learner, self.session.X_pool)
            except Exception:  # a failed retraining must not end the server: logged, retried on the next label
                logger.exception("retraining on %d labels failed", len(labels))
                with self._lock:
                    self._busy = False
                continue
            with self._lock:
                self._busy = False
                if self._closing:
                    return
                self.session.learner.restore(learner.estimator_, X, y, flags)
                self.session._stale = self.session.labels != labels
                self._pending = self._pending or self.session._stale
                try:
                    self.session.save()
                except OSError:
                    logger.exception("saving the snapshot failed (the journal keeps every label)")
                self._trained_labels = labels
                self._ranking = ranking
                self.stop_decision = decision
            logger.info("retrained on %d labels: model version %s", len(labels), ranking["version"])
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
