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
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state

from ..utils._pool import take_rows
from ..utils._sklearn_compat import Interval, StrOptions
from ._context import query_context
from ._dfal_batch import cluster_smallest
from ._embeddings import penultimate_features
from ._selection import TopN, random_scores, top_streamed

__all__ = ["SELECTOR_CONSTRAINTS", "select_composed"]


#: The selector's parameters in scikit-learn's vocabulary (shared with DFALMargin).
SELECTOR_CONSTRAINTS = {
    "batch_diversity": [None, StrOptions({"features", "directions"})],
    "diversity_factor": [Interval(Integral, 1, None, closed="left")],
    "cold_start": [Interval(Integral, 0, None, closed="left")],
}


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
    # The spread batch's cluster of each pick, for front-ends that show it (Label Studio's
    # ``cluster``); None when this query spread nothing.  The picks are the same either way.
    strategy.last_clusters_ = None
    rng = check_random_state(getattr(strategy, "random_state", None))
    paid = context.n_labels_paid
    if cold_start and paid is not None and paid < cold_start:
        # Random sampling's own picks from this RandomState (the pool is
        # still read, so a NaN pool is refused here too).
        picked, _ = top_streamed(random_scores(X_pool, rng), n_instances, largest=True)
        return picked, np.full(len(picked), np.nan)
    n_keep = n_instances if batch_diversity is None else diversity_factor * n_instances
    screened = strategy._screened_best(context, X_pool, n_keep, n_instances, rng=rng, payload=batch_diversity)
    if screened is not None:  # an exact accelerator found the n_keep best (DFAL's screening)
        picked, scores, key, embeddings = screened
        if key is None:
            return picked, scores
        chosen, strategy.last_clusters_ = cluster_smallest(embeddings, -key if strategy.largest else key,
                                                           n_instances, rng, return_clusters=True)
        return picked[chosen], scores[chosen]
    # modAL's random_tie_break: equal scores in random order, not pool order.
    tie_rng = rng if getattr(strategy, "_random_tie_break", False) else None
    best = TopN(n_keep, largest=strategy.largest, tie_rng=tie_rng)
    notes: dict[str, Any] = {}
    batches = strategy._iter_scored_batches(context, X_pool, rng=rng, payload=batch_diversity, notes=notes)
    for keys, payload in batches:
        best.push(keys, payload=payload)
    picked, key = best.indices, best.scores
    if batch_diversity is not None and len(picked) > n_instances:
        embeddings = _embeddings(strategy, context, X_pool, picked, best.payload, batch_diversity)
        chosen, strategy.last_clusters_ = cluster_smallest(embeddings, -key if strategy.largest else key,
                                                           n_instances, rng, return_clusters=True)
        picked, key = picked[chosen], key[chosen]
    return picked, strategy._finish_selection(key, notes, best.n_seen, n_instances)


def _embeddings(strategy, context, X_pool, picked, payload, batch_diversity):
    """Rows the spread batch clusters: penultimate features or DeepFool directions of the kept samples."""
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
