"""Random sampling: the baseline every strategy must beat."""

from __future__ import annotations

from numbers import Integral

from sklearn.utils import check_random_state

from ..utils._sklearn_compat import Interval, RealNotInt
from ..utils._typing import RandomStateLike
from ._base import QueryStrategy, StrategyTags, as_function
from ._selection import random_scores

__all__ = ["RandomSampling", "random_sampling"]

class RandomSampling(QueryStrategy):
    """Query samples uniformly at random (scores are uniform draws).

    Parameters
    ----------
    random_state : int, RandomState or None, default=None
        An int repeats the same draw on every call; pass a ``RandomState``
        (or ``None``) for fresh draws in an active learning loop.
    subsample : int, float or None, default=None
        Accepted for a uniform interface; random sampling needs no model.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal import RandomSampling
    >>> idx, _ = RandomSampling(random_state=0)(None, np.zeros((10, 3)), n_instances=3)
    >>> len(set(idx.tolist()))
    3
    """

    largest = True
    tags = StrategyTags(needs_model=False)
    _parameter_constraints = {
        "random_state": ["random_state"],
        "subsample": [None, Interval(Integral, 1, None, closed="left"), Interval(RealNotInt, 0, 1, closed="right")],
    }

    def __init__(self, *, random_state: RandomStateLike = None, subsample: int | float | None = None):
        self.random_state = random_state
        self.subsample = subsample

    def _iter_scores(self, classifier, X_pool):
        return random_scores(X_pool, check_random_state(self.random_state))


random_sampling = as_function(
    RandomSampling, "random_sampling", "Random query strategy: uniformly drawn pool samples."
)
