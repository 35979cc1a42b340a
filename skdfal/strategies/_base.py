"""A query strategy is a utility score plus a selector.

Every strategy in skdfal is a :class:`QueryStrategy`: an sklearn-style object
whose constructor only stores parameters (so ``clone``, ``get_params`` and
grid searches work) and whose ``__call__`` follows modAL's protocol::

    indices, scores = strategy(classifier, X_pool, n_instances, **overrides)

Subclasses implement one scoring hook, :meth:`QueryStrategy._iter_scores`
(utilities batch by batch), and say whether small or large utilities are
wanted; this base class does the rest once: parameter validation, optional
random sub-sampling of the pool, and the selection, which keeps only the
best ``n_instances`` while a streamed pool goes by.  The function forms (``dfal_margin`` ...) are one-line wrappers
built by :func:`as_function`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state

from ..utils._modules import modes_kept
from ..utils._pool import as_pool, check_n_instances, empty_pool, pool_length, take_rows
from ..utils._sklearn_compat import Interval, RealNotInt
from ..utils._torch import final_step, is_torch_net
from ..utils._typing import Pool, QueryResult, RandomStateLike
from ..utils._validation import check_count, resolve_size
from ._context import query_context
from ._embeddings import features_of_inputs
from ._selectors import Selector, TopN, run_selector

__all__ = ["COMMON_CONSTRAINTS", "QueryStrategy", "SampledStrategy", "StrategyTags", "as_function", "check_query_args"]


def check_query_args(X_pool: Pool, n_instances: object) -> tuple[Pool, int, int | None]:
    """The door of a query: ``n_instances`` and the pool, checked once.

    Returns
    -------
    X_pool : pool
        As strategies read it (a list of texts as an array of samples).
    n_instances : int
    n_pool : int or None
        The pool's length (``None`` for a stream of unknown length).

    Raises
    ------
    ValueError
        For an ``n_instances`` that is not a count or exceeds the pool, or an
        empty pool.
    """
    n_instances = check_count(n_instances, "n_instances")
    X_pool = as_pool(X_pool)
    n_pool = pool_length(X_pool)
    if n_pool == 0:
        raise empty_pool("query")
    check_n_instances(n_instances, n_pool)
    return X_pool, n_instances, n_pool


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
        Can make DeepFool adversarial copies of samples (the learner's
        ``adversarial_augmentation``).
    needs_model : bool
        Needs a fitted model; ``False`` for model-free strategies (random),
        which an :class:`~skdfal.ActiveLearner` without labels still runs.
    """

    pointwise: bool = False
    needs_torch: bool = False
    adversarial_copies: bool = False
    needs_model: bool = True


def _torch_modules(estimator) -> list[torch.nn.Module]:
    """The torch modules a query runs, whose train/eval modes it must give back.

    A skorch net's module, criterion and any other module it holds (its
    ``predict`` leaves them all in eval mode); a bare module; none otherwise.
    """
    if isinstance(estimator, torch.nn.Module):
        return [estimator]
    if not is_torch_net(estimator):
        return []
    return [value for value in vars(final_step(estimator)).values() if isinstance(value, torch.nn.Module)]


class QueryStrategy(BaseEstimator):
    """Base class: validate, score the pool, select.  Not used directly.

    A subclass stores its parameters in ``__init__`` (at least ``subsample``
    and ``random_state`` when it samples candidates), declares them in
    ``_parameter_constraints`` (scikit-learn's vocabulary: ``Interval``,
    ``StrOptions``, ``"random_state"`` ...), sets ``largest`` (``True`` when
    large utilities are the most informative) and :attr:`tags`, and
    implements one hook, :meth:`_iter_scores`.  Strategies that choose a set
    rather than the best scores (core-set, BADGE) also override
    :meth:`_select`.  :meth:`query` (and ``__call__``, modAL's protocol)
    validates every parameter, ``n_instances`` and the pool once, at its
    door, then runs the hooks behind it (``_query_validated``, which an
    :class:`~skdfal.ActiveLearner` calls after checking at its own door).
    """

    largest: bool = True
    tags: StrategyTags = StrategyTags()
    #: What this scorer can hand a selector besides sort keys: ``"features"``
    #: (the kept samples as the net sees them), ``"directions"`` (unit
    #: DeepFool directions), ``"embeddings"`` (one row per sample, for the
    #: set-choosing selectors).  A selector's :meth:`~Selector.needs` must be
    #: among them; the pair is checked at the door of every query.
    provides: frozenset = frozenset()
    _parameter_constraints: dict = {}

    def __call__(
        self, classifier: Any, X_pool: Pool, n_instances: int = 1, *, random_tie_break: bool = False,
        **params: Any,
    ) -> QueryResult:
        """Same as :meth:`query` (modAL calls strategies as functions)."""
        return self.query(classifier, X_pool, n_instances, random_tie_break=random_tie_break, **params)

    def query(
        self, classifier: Any, X_pool: Pool, n_instances: int = 1, *, random_tie_break: bool = False,
        **params: Any,
    ) -> QueryResult:
        """Query ``n_instances`` samples of ``X_pool`` (modAL's protocol).

        Parameters
        ----------
        classifier : estimator, active learner, torch.nn.Module or None
            The model whose utilities are computed (``None`` for model-free
            strategies such as random sampling).
        X_pool : array-like, list of texts, torch Dataset or iterable of batches
            Unlabeled pool.
        n_instances : int, default=1
            Number of samples to select.
        random_tie_break : bool, default=False
            modAL's option: order equal scores at random (drawn from
            ``random_state``) instead of by pool position.  Strategies that
            choose a set (core-set, BADGE) ignore it.
        **params
            Overrides of this strategy's parameters for this call only.

        Returns
        -------
        indices : ndarray of int
            Positions in ``X_pool``, most informative first.
        scores : ndarray of float
            Utility of each selected sample.

        Raises
        ------
        ValueError
            Naming the parameter, for an invalid parameter or ``n_instances``,
            an empty pool or one holding NaN or infinity.
        """
        strategy = self._configured(random_tie_break, params)
        X_pool, n_instances, n_pool = check_query_args(X_pool, n_instances)
        return strategy._query_validated(query_context(classifier), X_pool, n_instances, n_pool)

    def _configured(self, random_tie_break: bool = False, params: dict | None = None) -> QueryStrategy:
        """This strategy with one call's overrides, its parameters checked (the door's first half).

        A copy when there are overrides (``self`` stays as it was), else
        ``self``.  ``random_tie_break`` is checked and kept for the selector.
        """
        params = params or {}
        strategy = clone(self).set_params(**params) if params or random_tie_break else self
        strategy._validate_params()
        if not isinstance(random_tie_break, (bool, np.bool_)):
            raise ValueError(f"random_tie_break must be a bool, got {random_tie_break!r}")
        strategy._random_tie_break = bool(random_tie_break)
        return strategy

    def _query_validated(self, context, X_pool: Pool, n_instances: int, n_pool: int | None) -> QueryResult:
        """:meth:`query` behind its door: parameters, ``n_instances`` and the pool already checked.

        For callers that checked them once (:meth:`query` itself, and
        :class:`~skdfal.ActiveLearner`, which checks a query at its own door):
        ``self`` comes from :meth:`_configured`, ``context`` is the query's
        :class:`~skdfal.strategies.QueryContext`, and ``X_pool``,
        ``n_instances`` and ``n_pool`` from :func:`check_query_args`.  Nothing
        here checks them again; only a stream of unknown length
        (``n_pool=None``) is measured against ``n_instances`` once read.
        """
        subset = self._subset(n_pool, n_instances)
        pool = X_pool if subset is None else take_rows(X_pool, subset)
        with modes_kept(*_torch_modules(context.estimator)):
            picked, scores = self._select(context, pool, n_instances)
        indices = np.asarray(picked, dtype=np.int64)
        if n_pool is None:
            # A stream is measured as it is read: the selectors keep every
            # sample of a stream shorter than n_instances, so the picks count it.
            check_n_instances(n_instances, len(indices))
        if subset is not None:
            indices = subset[indices]
        return indices, np.asarray(scores, dtype=np.float64)

    def score(self, classifier: Any, X_pool: Pool) -> npt.NDArray[np.float64]:
        """Utility of every sample of ``X_pool``, in pool order, without selecting."""
        self._validate_params()
        X_pool = as_pool(X_pool)
        if pool_length(X_pool) == 0:
            raise empty_pool()
        context = query_context(classifier)
        with modes_kept(*_torch_modules(context.estimator)):
            chunks = [np.asarray(c, dtype=np.float64).ravel() for c in self._iter_scores(context, X_pool)]
        return np.concatenate(chunks) if chunks else np.zeros(0)

    # ----------------------------------------------------------------- hooks
    # ``classifier`` below is the query's :class:`~skdfal.strategies.QueryContext`
    # (built once by :meth:`query`): read it, never a learner's attributes.
    def _iter_scores(self, classifier, X_pool):
        """Utilities of the samples of ``X_pool``, batch by batch, in pool order.

        The one scoring hook: yield 1-D float arrays (a strategy that needs
        the whole pool at once yields one).  Parameters are already valid.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement _iter_scores")

    def _iter_scored_batches(self, classifier, X_pool, *, rng, payload, notes):
        """``(sort keys, payload)`` per batch, for the selectors (:mod:`skdfal.strategies._selectors`).

        The default yields :meth:`_iter_scores` as keys and no payload: the
        spread batch then reads the kept rows again for their features.  A
        scorer that already holds what the spread batch needs (DFAL: the
        batch as the net sees it, or its DeepFool directions when ``payload``
        is ``"directions"``) yields it, one row per key; it may draw from
        ``rng`` and leave remarks in ``notes`` for :meth:`_finish_selection`.
        """
        for scores in self._iter_scores(classifier, X_pool):
            yield np.asarray(scores, dtype=np.float64).ravel(), None

    def _finish_selection(self, keys, notes, n_seen, n_instances):
        """The reported scores of the picks, from their sort keys (the default: the keys)."""
        return keys

    def _screened_best(self, classifier, X_pool, n_keep, n_instances, *, rng, payload):
        """``(indices, scores, sort keys, embeddings)`` of the ``n_keep`` best by an exact accelerator.

        ``None`` (the default) streams the whole pool through
        :meth:`_iter_scored_batches`.  DFAL's screening finds the same best
        samples at a fraction of the cost, and hands the spread batch their
        embeddings (keys and embeddings ``None`` when there is nothing to spread).
        """
        return None

    def _kept_features(self, classifier, inputs):
        """Penultimate features of kept samples, given (as payload) as the net sees them."""
        return features_of_inputs(classifier.torch_model().module, inputs)

    def _selector(self) -> Selector | None:
        """The selector this scorer is paired with (:class:`~skdfal.strategies.TopN` by default).

        Set-choosing strategies pair themselves with theirs (BADGE with
        :class:`~skdfal.strategies.WeightedSeeding`, core-set with
        :class:`~skdfal.strategies.KCenter`); DFAL builds one from its
        ``batch_diversity``, ``diversity_factor`` and ``cold_start``.
        """
        return TopN()

    def _validate_params(self):
        """This strategy's parameters, then its selector's and whether the pair fits (before any scoring)."""
        super()._validate_params()
        selector = self._selector()
        if selector is not None:
            selector._validate_params()
            selector.check_scorer(self)

    def _select(self, classifier, X_pool, n_instances):
        """Positions of the chosen samples in ``X_pool`` and their scores: the selector's picks.

        Every draw comes from one ``RandomState`` of ``random_state`` (see
        :class:`~skdfal.strategies.Selector`).
        """
        return run_selector(self, self._selector(), self, classifier, X_pool, n_instances)

    def _subset(self, n_pool, n_instances):
        """Sorted random subset of the pool to score, or ``None`` for all of it."""
        return draw_subset(getattr(self, "subsample", None), getattr(self, "random_state", None), n_pool,
                           n_instances)


def draw_subset(subsample, random_state, n_pool, n_instances, name="subsample"):
    """Sorted positions of a random subset of ``subsample`` samples (an int) or that share (a float).

    ``None`` for the whole pool (``subsample=None``, or at least the pool).
    """
    if subsample is None:
        return None
    if n_pool is None:
        raise ValueError(f"{name} needs a pool of known length (array, tensor or Dataset)")
    size = resolve_size(subsample, n_pool, name)
    if size < n_instances:
        raise ValueError(f"{name}={subsample!r} keeps fewer samples than n_instances={n_instances}")
    if size >= n_pool:
        return None
    return np.sort(check_random_state(random_state).choice(n_pool, size=size, replace=False))


#: Constraints most strategies share (scikit-learn's parameter vocabulary).
COMMON_CONSTRAINTS = {
    "subsample": [None, Interval(Integral, 1, None, closed="left"), Interval(RealNotInt, 0, 1, closed="right")],
    "random_state": ["random_state"],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
}


class SampledStrategy(QueryStrategy):
    """Base of the strategies whose parameters are ``subsample``, ``random_state`` and ``batch_size`` only."""

    _parameter_constraints = dict(COMMON_CONSTRAINTS)

    def __init__(
        self, *, subsample: int | float | None = None, random_state: RandomStateLike = None,
        batch_size: int = 256,
    ):
        self.subsample = subsample
        self.random_state = random_state
        self.batch_size = batch_size


def as_function(
    strategy_cls: type[QueryStrategy], name: str, doc_summary: str
) -> Callable[..., QueryResult]:
    """The modAL-style function form of a strategy class.

    ``f(classifier, X_pool, n_instances=1, **params)`` builds the strategy
    from ``params`` and queries, so both forms share one implementation.
    """

    def query(
        classifier: Any, X_pool: Pool, n_instances: int = 1, *, random_tie_break: bool = False,
        **params: Any,
    ) -> QueryResult:
        return strategy_cls(**params)(classifier, X_pool, n_instances, random_tie_break=random_tie_break)

    # No functools.wraps/update_wrapper: ``__wrapped__`` would make
    # ``inspect.signature`` (and the API docs) show ``__call__``'s ``self``.
    query.__name__ = query.__qualname__ = name
    # pickle finds functions by module + name: point it at the module that
    # binds ``name`` (learners holding ``dfal_margin`` must pickle for joblib).
    query.__module__ = strategy_cls.__module__
    # The class it builds: an ActiveLearner checks the query at its own door,
    # then runs the class's unchecked path (QueryStrategy._query_validated).
    query._strategy_class = strategy_cls
    query.__doc__ = (
        f"{doc_summary}\n\n"
        f"Function form of :class:`{strategy_cls.__name__}`: "
        f"``{name}(classifier, X_pool, n_instances=1, *, random_tie_break=False, **params)`` "
        f"equals ``{strategy_cls.__name__}(**params)(classifier, X_pool, n_instances, "
        "random_tie_break=random_tie_break)`` and returns ``(indices, scores)`` as modAL's "
        "query strategies do.\n\n"
        "Parameters\n----------\n"
        "classifier : estimator, active learner, torch.nn.Module or None\n"
        "    The fitted model whose utilities are computed (``None`` for random sampling).\n"
        "X_pool : array-like, torch Dataset or iterable of batches\n"
        "    Unlabeled pool.\n"
        "n_instances : int, default=1\n"
        "    Number of samples to select.\n"
        "random_tie_break : bool, default=False\n"
        "    Order equal scores at random instead of by pool position (modAL's option).\n"
        "**params\n"
        f"    Parameters of :class:`{strategy_cls.__name__}`.\n\n"
        "Returns\n-------\n"
        "indices : ndarray of int\n"
        "    Positions in ``X_pool``, most informative first.\n"
        "scores : ndarray of float\n"
        "    Utility of each selected sample.\n"
    )
    return query
