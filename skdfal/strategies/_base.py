"""A query strategy is a utility score plus a selector.

Every strategy in skdfal is a :class:`QueryStrategy`: an sklearn-style object
whose constructor only stores parameters (so ``clone``, ``get_params`` and
grid searches work) and whose ``__call__`` follows modAL's protocol::

    indices, scores = strategy(classifier, X_pool, n_instances, **overrides)

Subclasses implement :meth:`QueryStrategy.iter_scores` (utilities batch by
batch) or :meth:`QueryStrategy.score_batches` (all at once) and say whether
small or large utilities are wanted; this base class does the rest once:
argument checks, optional random sub-sampling of the pool, and the
selection, which keeps only the best ``n_instances`` while a streamed pool
goes by.  The function forms (``dfal_margin`` ...) are one-line wrappers
built by :func:`as_function`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state

from ..utils._pool import pool_length, take_rows
from ._selection import select_streamed

__all__ = ["QueryStrategy", "StrategyTags", "as_function"]


@dataclass(frozen=True)
class StrategyTags:
    """What a strategy can do, asked instead of testing its class.

    Attributes
    ----------
    pointwise : bool
        A sample's score ignores the rest of the pool and any random draw,
        so a pool can be scored chunk by chunk anywhere (Dask).
    needs_torch : bool
        Needs a differentiable torch model (a skorch net or a ``Pipeline``
        ending in one); ``False`` works with any scikit-learn classifier.
    adversarial_copies : bool
        Can make DeepFool adversarial copies of samples
        (``adversarial_examples``).
    """

    pointwise: bool = False
    needs_torch: bool = False
    adversarial_copies: bool = False


class QueryStrategy(BaseEstimator):
    """Base class: score the pool, then select. Not used directly.

    Subclasses define ``__init__`` storing their parameters (at least
    ``subsample`` and ``random_state``), set ``largest`` (``True`` when large
    utilities are the most informative) and implement :meth:`score_batches`.
    """

    largest: bool = True
    tags: StrategyTags = StrategyTags()

    def __call__(self, classifier, X_pool, n_instances: int = 1, **kwargs):
        """Query ``n_instances`` samples of ``X_pool`` (modAL's protocol).

        Parameters
        ----------
        classifier : estimator or active learner
            The model whose utilities are computed.
        X_pool : array-like, torch Dataset or iterable of batches
            Unlabeled pool.
        n_instances : int, default=1
            Number of samples to select.
        **kwargs
            Overrides of this strategy's parameters for this call only.

        Returns
        -------
        indices : ndarray of int
            Positions in ``X_pool``, most informative first.
        scores : ndarray of float
            Utility of each selected sample.
        """
        strategy = clone(self).set_params(**kwargs) if kwargs else self
        return strategy._query(classifier, X_pool, n_instances)

    def iter_scores(self, classifier, X_pool):
        """Utilities of the samples of ``X_pool``, batch by batch, in pool order.

        Yields 1-D float arrays.  The default yields :meth:`score_batches` in
        one piece; strategies that score batch by batch override it, so that
        selection holds only the best ``n_instances`` of a streamed pool.
        """
        yield np.asarray(self.score_batches(classifier, X_pool), dtype=np.float64)

    def score_batches(self, classifier, X_pool) -> np.ndarray:
        """Utility of every sample of ``X_pool`` (a 1-D float array)."""
        if type(self).iter_scores is QueryStrategy.iter_scores:
            raise NotImplementedError(f"{type(self).__name__} implements neither iter_scores nor score_batches")
        chunks = [np.asarray(c, dtype=np.float64) for c in self.iter_scores(classifier, X_pool)]
        return np.concatenate(chunks) if chunks else np.zeros(0)

    def score(self, classifier, X_pool) -> np.ndarray:
        """Utility of every sample of ``X_pool``, without selecting."""
        n_pool = pool_length(X_pool)
        if n_pool == 0:
            raise ValueError("X_pool is empty: there is nothing to score")
        return np.asarray(self.score_batches(classifier, X_pool), dtype=np.float64)

    def _query(self, classifier, X_pool, n_instances):
        if isinstance(n_instances, bool) or not isinstance(n_instances, numbers.Integral):
            raise TypeError(f"n_instances must be an integer, got {n_instances!r}")
        if n_instances < 1:
            raise ValueError(f"n_instances must be >= 1, got {n_instances}")
        n_pool = pool_length(X_pool)
        if n_pool == 0:
            raise ValueError("X_pool is empty: there is nothing to query")
        if n_pool is not None and n_instances > n_pool:
            raise ValueError(f"n_instances={n_instances} is larger than the pool ({n_pool} samples)")

        candidates = self._candidates(n_pool, n_instances)
        pool = X_pool if candidates is None else take_rows(X_pool, candidates)
        picked, picked_scores = self.select(classifier, pool, n_instances)
        indices = picked if candidates is None else candidates[picked]
        return indices.astype(np.int64), picked_scores

    def select(self, classifier, X_pool, n_instances):
        """Positions of the chosen samples in ``X_pool`` and their scores.

        The default keeps the ``n_instances`` best utilities (only those are
        held while the pool streams by); batch-aware strategies (core-set,
        BADGE) override it to choose a diverse set.
        """
        return select_streamed(self.iter_scores(classifier, X_pool), n_instances, largest=self.largest)

    def _candidates(self, n_pool, n_instances):
        """Sorted random subset of the pool to score, or ``None`` for all of it."""
        subsample = getattr(self, "subsample", None)
        if subsample is None:
            return None
        if n_pool is None:
            raise ValueError("subsample needs a pool of known length (array, tensor or Dataset)")
        if isinstance(subsample, numbers.Integral) and not isinstance(subsample, bool):
            size = int(subsample)
        elif isinstance(subsample, numbers.Real) and 0 < subsample <= 1:
            size = int(np.ceil(subsample * n_pool))
        else:
            raise ValueError(
                f"subsample must be None, an int >= n_instances or a fraction in (0, 1]; got {subsample!r}"
            )
        if size < n_instances:
            raise ValueError(f"subsample={subsample!r} keeps fewer samples than n_instances={n_instances}")
        if size >= n_pool:
            return None
        rng = check_random_state(getattr(self, "random_state", None))
        return np.sort(rng.choice(n_pool, size=size, replace=False))


def as_function(strategy_cls, name: str, doc_summary: str):
    """The modAL-style function form of a strategy class.

    ``f(classifier, X_pool, n_instances=1, **params)`` builds the strategy
    from ``params`` and queries, so both forms share one implementation.
    """

    def query(classifier, X_pool, n_instances: int = 1, **params):
        return strategy_cls(**params)(classifier, X_pool, n_instances)

    # No functools.wraps/update_wrapper: ``__wrapped__`` would make
    # ``inspect.signature`` (and the API docs) show ``__call__``'s ``self``.
    query.__name__ = query.__qualname__ = name
    # pickle finds functions by module + name: point it at the module that
    # binds ``name`` (learners holding ``dfal_margin`` must pickle for joblib).
    query.__module__ = strategy_cls.__module__
    query.__doc__ = (
        f"{doc_summary}\n\n"
        f"Function form of :class:`{strategy_cls.__name__}`: "
        f"``{name}(classifier, X_pool, n_instances=1, **params)`` equals "
        f"``{strategy_cls.__name__}(**params)(classifier, X_pool, n_instances)`` and returns "
        "``(indices, scores)`` as modAL's query strategies do.\n\n"
        "Parameters\n----------\n"
        "classifier : estimator or active learner\n"
        "    The fitted model whose utilities are computed.\n"
        "X_pool : array-like, torch Dataset or iterable of batches\n"
        "    Unlabeled pool.\n"
        "n_instances : int, default=1\n"
        "    Number of samples to select.\n"
        "**params\n"
        f"    Parameters of :class:`{strategy_cls.__name__}`.\n\n"
        "Returns\n-------\n"
        "indices : ndarray of int\n"
        "    Positions in ``X_pool``, most informative first.\n"
        "scores : ndarray of float\n"
        "    Utility of each selected sample.\n"
    )
    return query
