"""A scoring rule and a selector, composed: cold start, top-n, and the spread batch.

A pointwise strategy scores samples (DFAL's DeepFool margin, entropy,
margin, least confidence, BALD ...); a selector turns scores into a batch.
The selectors live here, once, for every pointwise strategy:

* **cold start**: while the learner has paid fewer labels than a threshold,
  draw the batch at random (margins of a model trained on a handful of
  labels say little);
* **top-n**: the ``n`` best scores, holding only ``n`` while the pool
  streams by (the default, and the paper's DFAL);
* **spread batch**: the ``k * n`` best scores are clustered into ``n``
  groups (k-means) in the net's penultimate features or along their
  DeepFool directions, and each group gives its best-scored sample: a batch
  that covers different parts of the boundary instead of near-duplicates.

:class:`ComposedStrategy` puts a selector on any pointwise strategy;
:class:`~skdfal.DFALMargin`'s ``batch_diversity``, ``diversity_factor`` and
``cold_start`` parameters are the same composition (``dfal_batch`` is
``DFALMargin`` with the spread batch).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, Literal

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..utils._pool import check_n_instances, take_rows
from ..utils._typing import Pool, QueryResult
from ._base import QueryStrategy, StrategyTags
from ._context import query_context
from ._dfal_batch import cluster_smallest
from ._random import RandomSampling
from ._selection import TopN

__all__ = ["ComposedStrategy", "select_composed"]


def select_composed(strategy, context, X_pool, n_instances, *, batch_diversity=None, diversity_factor=10,
                    cold_start=0):
    """Positions of the chosen samples of ``X_pool`` and their scores: cold start, top-n, spread.

    Parameters
    ----------
    strategy : QueryStrategy
        Gives the scores (:meth:`QueryStrategy._iter_scored_batches`), says
        whether large ones are wanted (``largest``), and turns sort keys back
        into reported scores; its ``random_state`` drives every draw here,
        one stream in a fixed order (cold start, the scorer's own draws and
        modAL's tie breaks batch by batch, then the k-means++ seeding).
    context : QueryContext
    X_pool : pool
    n_instances : int
    batch_diversity : {None, "features", "directions"}, default=None
    diversity_factor : int, default=10
    cold_start : int, default=0

    Returns
    -------
    picked : ndarray of int
    scores : ndarray of float
    """
    context = query_context(context)  # the query's context as it is; built for a direct hook call
    rng = check_random_state(getattr(strategy, "random_state", None))
    paid = context.n_labels_paid
    if cold_start and paid is not None and paid < cold_start:
        # Random sampling's own picks from this RandomState (the pool is
        # still read, so a NaN pool is refused here too).
        picked, _ = RandomSampling(random_state=rng)._select(context, X_pool, n_instances)
        return picked, np.full(len(picked), np.nan)
    n_keep = n_instances if batch_diversity is None else diversity_factor * n_instances
    screened = strategy._screened_best(context, X_pool, n_keep, n_instances, rng=rng, payload=batch_diversity)
    if screened is not None:  # an exact accelerator found the n_keep best (DFAL's screening)
        picked, scores, key, embeddings = screened
        if key is None:
            return picked, scores
        chosen = cluster_smallest(embeddings, -key if strategy.largest else key, n_instances, rng)
        return picked[chosen], scores[chosen]
    # modAL's random_tie_break: equal scores in random order, not pool order.
    tie_rng = rng if getattr(strategy, "_random_tie_break", False) else None
    best = TopN(n_keep, largest=strategy.largest, tie_rng=tie_rng)
    notes: dict[str, Any] = {}
    batches = strategy._iter_scored_batches(context, X_pool, rng=rng, payload=batch_diversity, notes=notes)
    for keys, payload in batches:
        best.push(keys, payload=payload)
    check_n_instances(n_instances, best.n_seen)
    picked, key = best.indices, best.scores
    if batch_diversity is not None and len(picked) > n_instances:
        embeddings = _embeddings(strategy, context, X_pool, picked, best.payload, batch_diversity)
        chosen = cluster_smallest(embeddings, -key if strategy.largest else key, n_instances, rng)
        picked, key = picked[chosen], key[chosen]
    return picked, strategy._finish_selection(key, notes, best.n_seen, n_instances)


def _embeddings(strategy, context, X_pool, picked, payload, batch_diversity):
    """Rows the spread batch clusters: penultimate features or DeepFool directions of the kept samples."""
    from ._diversity import penultimate_features

    if batch_diversity == "directions":
        if payload is None:
            raise ValueError(
                f"batch_diversity='directions' needs DeepFool directions, which {type(strategy).__name__} "
                "does not compute: use batch_diversity='features' (or a DFAL scorer)"
            )
        return payload
    if payload is not None:  # the kept samples as the net sees them
        return strategy._kept_features(context, payload)
    # A scorer that kept no inputs: read the few kept rows again (indexable pools only).
    try:
        rows = take_rows(X_pool, picked)
    except TypeError as exc:
        raise ValueError(
            "batch_diversity='features' reads the kept samples again: the pool must be indexable "
            f"(an array, tensor, DataFrame or Dataset): {exc}"
        ) from None
    return torch.as_tensor(penultimate_features(context, rows, batch_size=getattr(strategy, "batch_size", 256)))


#: The selector's parameters in scikit-learn's vocabulary (shared with DFALMargin).
SELECTOR_CONSTRAINTS = {
    "batch_diversity": [None, StrOptions({"features", "directions"})],
    "diversity_factor": [Interval(Integral, 1, None, closed="left")],
    "cold_start": [Interval(Integral, 0, None, closed="left")],
}


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

    def query(
        self, classifier: Any, X_pool: Pool, n_instances: int = 1, *, random_tie_break: bool = False,
        **params: Any,
    ) -> QueryResult:
        """Query ``n_instances`` samples of ``X_pool``: the scorer's scores, this selector (see
        :meth:`QueryStrategy.query`)."""
        if not getattr(self.scorer, "tags", StrategyTags()).pointwise:
            raise ValueError(
                f"ComposedStrategy needs a pointwise scorer; {type(self.scorer).__name__} chooses a set "
                "(its tags say pointwise=False)"
            )
        return super().query(classifier, X_pool, n_instances, random_tie_break=random_tie_break, **params)

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
