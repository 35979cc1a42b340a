"""When to stop buying labels: stopping rules for active learning.

A fixed label budget says nothing about whether more labels would still
help.  A stopping rule watches the learner after every round and says "you
may stop" with a reason a person can check:

* :class:`StabilizingPredictions` -- the model's predictions on a fixed *stop
  set* of unlabeled samples stop changing between rounds (Bloodgood &
  Vijay-Shanker, 2009, "A method for stopping active learning based on
  stabilizing predictions and the need for user-adjustable stopping"): the
  mean Cohen's kappa between consecutive rounds' predictions over the last
  ``window`` rounds reaches ``threshold``.
* :class:`MarginPlateau` -- skdfal's own: the DFAL (DeepFool) margins of the
  stop set stop moving.  A model that still learns pushes the boundary away
  from the samples, so the margins' quantiles (or the share of samples within
  a margin threshold) change from round to round; once they change by less
  than ``tol`` for ``window`` rounds running, more labels move the boundary
  little.
* :class:`LabelBudget` -- the plain budget: stop once ``n_labels`` are paid.

Each rule records one round with :meth:`StoppingRule.update`, given
the learner (the rule then measures what it needs itself) or, for tests and
replays, the measurement directly (``predictions=``, ``margins=``,
``n_labels=``); it returns a :class:`StopDecision`.  A rule only observes:
it reads the learner (``predict``, DeepFool margins) and the pool, never
changes either, and keeps what it saw in its own ``_`` attributes;
:func:`check_stopping` asks what the rules would say of a round without
recording it (the rules stay as they were), :func:`update_stopping` records
it.  Rules never raise to stop
a loop: the caller decides (an :class:`~skdfal.ActiveLearner` reports
``stop_reason_``, :class:`~skdfal.ActiveLearningClassifier` ends its run,
a labeling session says "you may stop").
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from ..utils._sklearn_compat import Interval

__all__ = [
    "LabelBudget", "StopDecision", "StoppingRule", "as_rules", "check_stopping", "update_learner_stopping",
    "update_stopping",
]

@dataclass(frozen=True)
class StopDecision:
    """What a stopping rule says after a round.

    Attributes
    ----------
    stop : bool
        Whether labeling may stop now.
    reason : str
        Why (or, when ``stop`` is false, where the rule stands), in words.
    rule : str
        The rule's class name (``""`` when no rule was asked).
    round : int
        How many updates the rule had seen, this one included.

    ``bool(decision)`` is ``decision.stop``.
    """

    stop: bool
    reason: str
    rule: str = ""
    round: int = 0

    def __bool__(self) -> bool:
        return bool(self.stop)

    def __str__(self) -> str:
        return f"you may stop: {self.reason}" if self.stop else f"keep labeling: {self.reason}"


class StoppingRule(BaseEstimator):
    """Base class of the stopping rules: ``update`` once per round, ``reset`` to start over.

    The parameters are scikit-learn parameters (``clone`` gives a fresh rule);
    the state a rule accumulates lives in attributes ending in ``_``.
    """

    def reset(self) -> StoppingRule:
        """Forget every round seen (the stop set too)."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)
        return self

    def update(self, learner: Any = None, X_pool: Any = None, **observed: Any) -> StopDecision:
        """Take one round into account and say whether labeling may stop.

        Parameters
        ----------
        learner : ActiveLearner or fitted classifier, optional
            The model after this round's retraining.
        X_pool : array-like, optional
            The pool; rules with a stop set draw it from the first pool they
            are given and keep it.
        **observed
            The rule's measurement given directly instead of a learner.

        Returns
        -------
        StopDecision
        """
        self._validate_params()
        self.n_updates_ = getattr(self, "n_updates_", 0) + 1
        stop, reason = self._update(learner, X_pool, **observed)
        self.decision_ = StopDecision(bool(stop), reason, type(self).__name__, self.n_updates_)
        return self.decision_

    def _update(self, learner, X_pool, **observed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _stop_set(self, X_pool):
        """The stop set: ``stop_set_size`` pool rows drawn on the first call, then kept."""
        if getattr(self, "X_stop_", None) is not None:
            return self.X_stop_
        if X_pool is None:
            raise ValueError(f"{type(self).__name__}: pass X_pool (or the measurement) on the first update")
        X_pool = np.asarray(X_pool)
        if len(X_pool) == 0:
            raise ValueError(f"{type(self).__name__}: X_pool is empty; a stop set needs samples")
        rng = check_random_state(self.random_state)
        n = min(self.stop_set_size, len(X_pool))
        rows = np.sort(rng.choice(len(X_pool), size=n, replace=False))
        self.X_stop_ = np.array(X_pool[rows])  # a copy: the caller's pool may shrink or change
        return self.X_stop_


class LabelBudget(StoppingRule):
    """Stop once ``n_labels`` labels are paid (the plain budget).

    Parameters
    ----------
    n_labels : int
        The budget.

    Examples
    --------
    >>> from skdfal.learners import LabelBudget
    >>> rule = LabelBudget(30)
    >>> [rule.update(n_labels=n).stop for n in (10, 20, 30)]
    [False, False, True]
    """

    _parameter_constraints = {"n_labels": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, n_labels: int):
        self.n_labels = n_labels

    def _update(self, learner, X_pool, *, n_labels: int | None = None):
        if n_labels is None:
            if learner is None:
                raise ValueError("LabelBudget.update needs a learner or n_labels=")
            n_labels = _labels_paid(learner)
        n_labels = int(n_labels)
        if n_labels >= self.n_labels:
            return True, f"the label budget is spent: {n_labels} of {self.n_labels} labels paid"
        return False, f"{n_labels} of the {self.n_labels} labels of the budget paid"


def _labels_paid(learner) -> int:
    paid = getattr(learner, "n_labels_paid_", None)
    if paid is None:
        # A learner not yet used has its initial labels as a parameter (modAL's learners: always).
        y = getattr(learner, "y_training_", getattr(learner, "y_training", None))
        if y is None:
            raise ValueError("LabelBudget: the learner has no labels to count (n_labels_paid_)")
        paid = len(y)
    return int(paid)


def as_rules(stopping) -> list[StoppingRule]:
    """``stopping`` as a list of rules: ``None`` (none), a rule, or a list of rules."""
    if stopping is None:
        return []
    rules = list(stopping) if isinstance(stopping, (list, tuple)) else [stopping]
    for rule in rules:
        if not callable(getattr(rule, "update", None)):
            raise TypeError(
                f"stopping must be a stopping rule (StabilizingPredictions, MarginPlateau, LabelBudget) or "
                f"a list of them, got {type(rule).__name__}"
            )
    return rules


def update_stopping(stopping, learner: Any = None, X_pool: Any = None) -> StopDecision | None:
    """Record this round in every rule of ``stopping``; the first that stops decides.

    Every rule sees every round (so their histories stay aligned); the
    learner and the pool are only read.  Returns ``None`` without rules,
    else the first stopping decision, or the last rule's decision when none
    stops.
    """
    decisions = [rule.update(learner, X_pool) for rule in as_rules(stopping)]
    if not decisions:
        return None
    return next((d for d in decisions if d.stop), decisions[-1])


def check_stopping(stopping, learner: Any = None, X_pool: Any = None) -> StopDecision | None:
    """What :func:`update_stopping` would decide of this round, recording nothing.

    The rules are asked on copies, so ``stopping``, the learner and the pool
    come out equal to what they were, and asking twice gives the same
    answer.
    """
    import copy

    return update_stopping(copy.deepcopy(as_rules(stopping)), learner, X_pool)


def update_learner_stopping(learner, X_pool) -> None:
    """Update ``learner.stopping`` once per round (an ``ActiveLearner`` calls it from ``query``).

    A query repeated without new labels sees the same model: the rules are
    not updated again.  Sets ``stop_decision_`` and ``stop_reason_``.
    """
    if learner.stopping is None:
        return
    seen = (learner.n_labels_paid_ if hasattr(learner, "is_adversarial_") else None, id(learner.estimator_))
    if getattr(learner, "_stopping_seen", None) == seen:
        return
    learner._stopping_seen = seen
    learner.stop_decision_ = update_stopping(learner.stopping, learner, X_pool)
    learner.stop_reason_ = learner.stop_decision_.reason if learner.stop_decision_.stop else None
