"""Random sampling: the baseline every strategy must beat."""

from __future__ import annotations

from sklearn.utils import check_random_state

from .._pool import iter_pool, pool_length
from ._base import QueryStrategy, as_function

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

    def __init__(self, *, random_state=None, subsample=None):
        self.random_state = random_state
        self.subsample = subsample

    def score_batches(self, classifier, X_pool):
        n = pool_length(X_pool)
        if n is None:
            n = sum(len(batch) for _, batch in iter_pool(X_pool))
        return check_random_state(self.random_state).random_sample(n)


random_sampling = as_function(
    RandomSampling, "random_sampling", "Random query strategy: uniformly drawn pool samples."
)
