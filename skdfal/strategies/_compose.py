"""``ComposedStrategy``: any pointwise strategy's scores with a selector (see :mod:`._selectors`)."""

from __future__ import annotations

from typing import Any, Literal

from ..utils._sklearn_compat import HasMethods
from ._base import QueryStrategy, StrategyTags
from ._selectors import SELECTOR_CONSTRAINTS, select_composed

__all__ = ["ComposedStrategy"]


class ComposedStrategy(QueryStrategy):
    """A pointwise strategy's scores with a selector: cold start, top-n or a spread batch.

    Parameters
    ----------
    scorer : QueryStrategy
        A pointwise strategy (its tags say ``pointwise=True``): entropy,
        margin, least confidence, BALD, DFAL or your own.  Its parameters
        (``subsample``, ``random_state`` ...) keep their meaning; its
        ``random_state`` also drives the selector's draws.
    batch_diversity : {None, "features", "directions"}, default=None
        ``None`` keeps the ``n_instances`` best scores.  Otherwise the
        ``diversity_factor * n_instances`` best are clustered into
        ``n_instances`` groups (k-means) in the net's penultimate features
        (``"features"``: needs a torch net) or along their unit DeepFool
        directions (``"directions"``: DFAL scorers only), and each group
        gives its best-scored sample.
    diversity_factor : int, default=10
        How many times ``n_instances`` best-scored samples the batch is
        spread over.
    cold_start : int, default=0
        While the learner has paid fewer labels than this, query at random
        (scores are reported as NaN).  Needs an active learner as the
        classifier (skdfal's or modAL's); ignored otherwise.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal.strategies import ComposedStrategy, EntropySampling
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> X = np.random.RandomState(0).randn(60, 2).astype(np.float32)
    >>> spread = ComposedStrategy(EntropySampling(random_state=0), batch_diversity="features",
    ...                           diversity_factor=4)
    >>> idx, entropies = spread(net, X, n_instances=3)
    >>> len(set(idx.tolist())), bool(np.all(np.diff(entropies) <= 0))
    (3, True)
    """

    _parameter_constraints = {"scorer": [HasMethods(["_iter_scored_batches"])], **SELECTOR_CONSTRAINTS}

    def __init__(
        self, scorer: QueryStrategy, *, batch_diversity: Literal["features", "directions"] | None = None,
        diversity_factor: int = 10, cold_start: int = 0,
    ):
        self.scorer = scorer
        self.batch_diversity = batch_diversity
        self.diversity_factor = diversity_factor
        self.cold_start = cold_start

    @property
    def largest(self) -> bool:
        return self.scorer.largest

    @property
    def tags(self) -> StrategyTags:
        return self.scorer.tags

    @property
    def random_state(self) -> Any:
        """The scorer's ``random_state`` (the selector draws from the same stream)."""
        return getattr(self.scorer, "random_state", None)

    def _configured(self, random_tie_break=False, params=None):
        # Checked at the door of every query (QueryStrategy.query's and an ActiveLearner's).
        if not getattr(self.scorer, "tags", StrategyTags()).pointwise:
            raise ValueError(
                f"ComposedStrategy needs a pointwise scorer; {type(self.scorer).__name__} chooses a set "
                "(its tags say pointwise=False)"
            )
        return super()._configured(random_tie_break, params)

    def _validate_params(self):
        super()._validate_params()
        self.scorer._validate_params()

    def _subset(self, n_pool, n_instances):
        return self.scorer._subset(n_pool, n_instances)

    def _iter_scores(self, classifier, X_pool):
        return self.scorer._iter_scores(classifier, X_pool)

    def _iter_scored_batches(self, context, X_pool, *, rng, payload, notes):
        return self.scorer._iter_scored_batches(context, X_pool, rng=rng, payload=payload, notes=notes)

    def _finish_selection(self, keys, notes, n_seen, n_instances):
        return self.scorer._finish_selection(keys, notes, n_seen, n_instances)

    def _kept_features(self, classifier, inputs):
        return self.scorer._kept_features(classifier, inputs)

    def _screened_best(self, classifier, X_pool, n_keep, n_instances, *, rng, payload):
        return self.scorer._screened_best(classifier, X_pool, n_keep, n_instances, rng=rng, payload=payload)

    def _select(self, context, X_pool, n_instances):
        return select_composed(
            self, context, X_pool, n_instances, batch_diversity=self.batch_diversity,
            diversity_factor=self.diversity_factor, cold_start=self.cold_start,
        )
