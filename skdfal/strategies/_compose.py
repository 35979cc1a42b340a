"""``ComposedStrategy``: a scorer and a selector, as one strategy (see :mod:`._selectors`)."""

from __future__ import annotations

from typing import Literal

from ..utils._sklearn_compat import HasMethods
from ..utils._typing import RandomStateLike
from ._base import QueryStrategy, StrategyTags
from ._selectors import SELECTOR_CONSTRAINTS, Selector, run_selector, seeded_scorer, selector_of

__all__ = ["ComposedStrategy"]


class ComposedStrategy(QueryStrategy):
    """A scorer and a selector: top-n, a spread batch, a cold start, a seeding ...

    Parameters
    ----------
    scorer : QueryStrategy
        Any strategy that scores samples: entropy, margin, least confidence,
        BALD, DFAL, BADGE's gradient norms, or your own.  Its parameters
        (``subsample``, ``random_state`` ...) keep their meaning; its
        ``random_state`` also drives the selector's draws.
    selector : Selector or None, default=None
        :class:`~skdfal.strategies.TopN`, :class:`~skdfal.strategies.SpreadBatch`,
        :class:`~skdfal.strategies.ColdStart`,
        :class:`~skdfal.strategies.WeightedSeeding` or
        :class:`~skdfal.strategies.KCenter`.  What it needs of the scorer
        (DeepFool directions, embeddings) is checked against what the scorer
        provides at the door of every query, before anything is scored.
        ``None``: the selector the three flat parameters below stand for.
    batch_diversity : {None, "features", "directions"}, default=None
        The flat spelling of ``SpreadBatch(batch_diversity, diversity_factor)``
        (``None``: :class:`~skdfal.strategies.TopN`); only without ``selector``.
    diversity_factor : int, default=10
    cold_start : int, default=0
        The flat spelling of ``ColdStart(cold_start, then=...)``: while the
        learner has paid fewer labels than this, query at random (scores
        are NaN).  Needs an active learner as the classifier.
    random_state : int, RandomState or None, default=None
        Overrides the scorer's ``random_state`` for the query (its draws and
        the selector's come from one stream); ``None`` keeps the scorer's.
        An :class:`~skdfal.ActiveLearner` run reseeds it every round, as it
        does a plain strategy's.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal.strategies import ComposedStrategy, EntropySampling, SpreadBatch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> X = np.random.RandomState(0).randn(60, 2).astype(np.float32)
    >>> spread = ComposedStrategy(EntropySampling(random_state=0), SpreadBatch("features", factor=4))
    >>> idx, entropies = spread(net, X, n_instances=3)
    >>> len(set(idx.tolist())), bool(np.all(np.diff(entropies) <= 0))
    (3, True)
    >>> ComposedStrategy(EntropySampling(), SpreadBatch("directions"))(net, X, 3)
    Traceback (most recent call last):
    ...
    ValueError: SpreadBatch(space='directions') needs directions of its scorer, which EntropySampling ...
    """

    _parameter_constraints = {
        "scorer": [HasMethods(["_iter_scored_batches"])],
        "selector": [None, HasMethods(["select", "needs"])],
        **SELECTOR_CONSTRAINTS,
        "random_state": ["random_state"],
    }

    def __init__(
        self, scorer: QueryStrategy, selector: Selector | None = None, *,
        batch_diversity: Literal["features", "directions"] | None = None, diversity_factor: int = 10,
        cold_start: int = 0, random_state: RandomStateLike = None,
    ):
        self.scorer = scorer
        self.selector = selector
        self.batch_diversity = batch_diversity
        self.diversity_factor = diversity_factor
        self.cold_start = cold_start
        self.random_state = random_state

    @property
    def largest(self) -> bool:
        return self.scorer.largest

    @property
    def tags(self) -> StrategyTags:
        return self.scorer.tags

    def _selector(self):
        if self.selector is not None:
            return self.selector
        return selector_of(self.batch_diversity, self.diversity_factor, self.cold_start)

    def _validate_params(self):
        # Checked at the door of every query (QueryStrategy.query's and an ActiveLearner's).
        super(QueryStrategy, self)._validate_params()  # this object's own constraints
        self.scorer._validate_params()
        if self.selector is not None and (self.batch_diversity, self.diversity_factor, self.cold_start) != (
            None, 10, 0,
        ):
            raise ValueError(
                "ComposedStrategy takes a selector or its flat spelling (batch_diversity, diversity_factor, "
                f"cold_start), not both: got selector={self.selector!r} and the flat parameters"
            )
        selector = self._selector()
        selector._validate_params()
        selector.check_scorer(self.scorer)

    def _scorer(self):
        """The scorer as this query runs it: with this object's ``random_state`` when one is set."""
        return seeded_scorer(self.scorer, self.random_state)

    def _subset(self, n_pool, n_instances):
        return self._scorer()._subset(n_pool, n_instances)

    def _iter_scores(self, classifier, X_pool):
        return self._scorer()._iter_scores(classifier, X_pool)

    def _select(self, context, X_pool, n_instances):
        return run_selector(self, self._selector(), self._scorer(), context, X_pool, n_instances)
