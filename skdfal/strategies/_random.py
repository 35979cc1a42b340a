"""Random sampling: the baseline every strategy must beat."""

from __future__ import annotations

from sklearn.utils import check_random_state

from ..utils._pool import iter_pool, pool_length
from ._base import QueryStrategy, as_function

__all__ = ["RandomSampling", "random_sampling"]

_CHUNK = 65536  # draws held at once


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

    def iter_scores(self, classifier, X_pool):
        # One stream of draws cut into chunks equals one draw of the whole
        # length, so the picks do not depend on the chunking.  The pool is
        # only read when its length is unknown (a generator, say).
        rng = check_random_state(self.random_state)
        n = pool_length(X_pool)
        if n is None:
            for _, batch in iter_pool(X_pool):
                yield rng.random_sample(len(batch))
            return
        for start in range(0, n, _CHUNK):
            yield rng.random_sample(min(_CHUNK, n - start))


random_sampling = as_function(
    RandomSampling, "random_sampling", "Random query strategy: uniformly drawn pool samples."
)
