"""The base of strategies built around a scorer (``ComposedStrategy``, ``Screened``): what they take of it."""

from __future__ import annotations

from ._base import QueryStrategy, StrategyTags
from ._selectors import seeded_scorer

__all__ = ["ScorerWrapper"]


class ScorerWrapper(QueryStrategy):
    """A strategy around ``self.scorer``: its order, tags and payloads, its scores, seeded by ``random_state``.

    A subclass stores ``scorer`` and ``random_state`` (``None``: the
    scorer's own) and adds what it changes (a selector, screening).
    """

    @property
    def largest(self) -> bool:
        return self.scorer.largest

    @property
    def tags(self) -> StrategyTags:
        return self.scorer.tags

    @property
    def provides(self) -> frozenset:
        return self.scorer.provides

    def _scorer(self):
        """The scorer as this query runs it: with this object's ``random_state`` when one is set."""
        return seeded_scorer(self.scorer, self.random_state)

    def _validate_params(self):
        # Checked at the door of every query (QueryStrategy.query's and an ActiveLearner's).
        super(QueryStrategy, self)._validate_params()  # this object's own constraints
        # The scorer's, then the selector they spell and whether it fits.
        self.scorer._validate_params()

    def _subset(self, n_pool, n_instances):
        return self._scorer()._subset(n_pool, n_instances)

    def _iter_scores(self, classifier, X_pool):
        return self._scorer()._iter_scores(classifier, X_pool)
