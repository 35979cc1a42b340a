"""``Subsampled(strategy, n)``: any strategy over a random subset of the pool."""

from __future__ import annotations

from typing import Any

from ..utils._pool import pool_length
from ..utils._sklearn_compat import HasMethods
from ._base import COMMON_CONSTRAINTS, QueryStrategy, StrategyTags, draw_subset

__all__ = ["Subsampled"]


class Subsampled(QueryStrategy):
    """``strategy`` run on a random subset of ``n`` pool samples (an int) or that share (a float).

    The subset is drawn from the wrapped strategy's ``random_state``, then
    the strategy queries the subset as it would the pool: for a strategy
    with a ``subsample`` parameter, ``Subsampled(s, n)`` picks what
    ``s.set_params(subsample=n)`` picks.

    Parameters
    ----------
    strategy : QueryStrategy
    n : int or float, default=1000
        Samples scored per query (a float: that share of the pool).

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.strategies import RandomSampling, Subsampled
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> idx, _ = Subsampled(RandomSampling(random_state=0), 4)(None, X, n_instances=2)
    >>> idx.tolist() == RandomSampling(random_state=0, subsample=4)(None, X, n_instances=2)[0].tolist()
    True
    """

    _parameter_constraints = {"strategy": [HasMethods(["_query_validated"])], "n": COMMON_CONSTRAINTS["subsample"][1:]}

    def __init__(self, strategy: QueryStrategy, n: int | float = 1000):
        self.strategy = strategy
        self.n = n

    @property
    def largest(self) -> bool:
        return self.strategy.largest

    @property
    def tags(self) -> StrategyTags:
        return self.strategy.tags

    @property
    def random_state(self) -> Any:
        return getattr(self.strategy, "random_state", None)

    def _selector(self):
        return None  # the wrapped strategy selects (and checks its own pair)

    def _validate_params(self):
        super()._validate_params()
        self.strategy._validate_params()

    def _subset(self, n_pool, n_instances):
        return draw_subset(self.n, self.random_state, n_pool, n_instances, name="n")

    def _iter_scores(self, classifier, X_pool):
        return self.strategy._iter_scores(classifier, X_pool)

    def _select(self, context, X_pool, n_instances):
        # Its own door was this one: configured without a second check of the pool.
        inner = self.strategy._configured(getattr(self, "_random_tie_break", False))
        return inner._query_validated(context, X_pool, n_instances, pool_length(X_pool))
