"""``ComposedStrategy``: a scorer and a selector, as one strategy (see :mod:`._selectors`)."""

from __future__ import annotations

from typing import Literal

from ..utils._sklearn_compat import HasMethods
from ..utils._typing import RandomStateLike
from ._base import QueryStrategy
from ._selectors import SELECTOR_CONSTRAINTS, Selector, run_selector, selector_of
from ._wrapped import ScorerWrapper

__all__ = ["ComposedStrategy"]


class ComposedStrategy(ScorerWrapper):
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

    def _selector(self):
        if self.selector is not None:
            return self.selector
        return selector_of(self.batch_diversity, self.diversity_factor, self.cold_start)

    def _validate_params(self):
        super()._validate_params()  # its own parameters, then the scorer's
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

    def _select(self, context, X_pool, n_instances):
        return run_selector(self, self._selector(), self._scorer(), context, X_pool, n_instances)
