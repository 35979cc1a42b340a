"""Batch-diverse strategies on the network's own representations.

* Core-set (Sener & Savarese, 2018): greedy k-center on penultimate-layer
  features: each pick is the pool sample farthest from everything labeled or
  already picked.
* BADGE (Ash et al., 2020): gradient embeddings of the last layer's weights
  for the loss at the predicted label, ``(p - e_yhat) h^T``, chosen by
  k-means++ seeding: large (uncertain) and mutually different gradients.

Both choose a set, not a ranking: each is a scorer that provides embeddings
(penultimate features, gradient embeddings) paired with a set-choosing
selector (:class:`~skdfal.strategies.KCenter`,
:class:`~skdfal.strategies.WeightedSeeding`); their ``score`` is a
per-sample utility (distance to the labeled set, gradient-embedding norm).
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.utils import to_numpy

from ..utils._typing import RandomStateLike, Rows
from ._base import COMMON_CONSTRAINTS, QueryStrategy, SampledStrategy, StrategyTags, as_function
from ._context import query_context
from ._embeddings import (
    _sq_dists,
    gradient_embeddings,
    k_center_greedy,
    kmeans_pp_seeding,
    penultimate_features,
)
from ._selectors import KCenter, WeightedSeeding

__all__ = [
    "penultimate_features",
    "gradient_embeddings",
    "k_center_greedy",
    "kmeans_pp_seeding",
    "CoreSet",
    "coreset",
    "BADGE",
    "badge",
]


def _labeled_rows(classifier, X_labeled):
    """The labeled set: ``X_labeled`` or the paid rows of the query's context."""
    return X_labeled if X_labeled is not None else query_context(classifier).labeled_set()[0]


class CoreSet(QueryStrategy):
    """Core-set selection: greedy k-center on penultimate-layer features.

    Parameters
    ----------
    X_labeled : array-like or None, default=None
        The labeled set the picks must cover.  When ``None`` and the
        classifier is an active learner, its paid training rows are used
        (adversarial copies excluded); otherwise the first pick is random.
    subsample : int, float or None, default=None
        Choose among a random subset of the pool only.
    random_state : int, RandomState or None, default=None
    batch_size : int, default=256

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal import CoreSet
    >>> net = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(1, 2))
    >>> X = np.array([[0.0], [1.0], [5.0], [2.0]], dtype=np.float32)
    >>> idx, dist = CoreSet(X_labeled=np.zeros((1, 1), dtype=np.float32))(net, X, n_instances=2)
    >>> idx.tolist(), dist.tolist()
    ([2, 3], [5.0, 2.0])
    """

    largest = True
    tags = StrategyTags(needs_torch=True)
    provides = frozenset({"embeddings"})
    _parameter_constraints = {**COMMON_CONSTRAINTS, "X_labeled": [None, "array-like"]}

    def __init__(
        self, *, X_labeled: Rows | None = None, subsample: int | float | None = None,
        random_state: RandomStateLike = None, batch_size: int = 256,
    ):
        self.X_labeled = X_labeled
        self.subsample = subsample
        self.random_state = random_state
        self.batch_size = batch_size

    def _centers(self, classifier):
        labeled = _labeled_rows(classifier, self.X_labeled)
        if labeled is None or len(labeled) == 0:
            return None
        return penultimate_features(classifier, labeled, batch_size=self.batch_size)

    def _iter_scores(self, classifier, X_pool):
        """Distance of each sample to the nearest labeled sample (``inf`` with none)."""
        for keys, _ in self._iter_scored_batches(classifier, X_pool, rng=None, payload=None, notes={}):
            yield keys

    def _iter_scored_batches(self, classifier, X_pool, *, rng, payload, notes):
        """The distances, with the penultimate features as embeddings and the labeled set's as centers."""
        features = penultimate_features(classifier, X_pool, batch_size=self.batch_size)
        notes["centers"] = centers = self._centers(classifier)
        if centers is None:
            keys = np.full(len(features), np.inf)
        else:
            x, c = torch.as_tensor(features), torch.as_tensor(centers)
            keys = to_numpy(_sq_dists(x, c).min(1).values.sqrt()).astype(np.float64)
        yield keys, features

    def _selector(self):
        return KCenter()


class BADGE(SampledStrategy):
    """BADGE: k-means++ seeding on last-layer gradient embeddings.

    Parameters
    ----------
    subsample : int, float or None, default=None
        Choose among a random subset of the pool only.
    random_state : int, RandomState or None, default=None
        Drives the D^2 draws.
    batch_size : int, default=256

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal import BADGE
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    >>> X = np.random.RandomState(0).randn(50, 3).astype(np.float32)
    >>> idx, _ = BADGE(random_state=0)(net, X, n_instances=5)
    >>> len(set(idx.tolist()))
    5
    """

    largest = True
    tags = StrategyTags(needs_torch=True)
    provides = frozenset({"embeddings"})

    def _iter_scores(self, classifier, X_pool):
        """Norm of each sample's gradient embedding (a lower bound on the loss gradient)."""
        for keys, _ in self._iter_scored_batches(classifier, X_pool, rng=None, payload=None, notes={}):
            yield keys

    def _iter_scored_batches(self, classifier, X_pool, *, rng, payload, notes):
        g = gradient_embeddings(classifier, X_pool, batch_size=self.batch_size)
        yield np.linalg.norm(g.astype(np.float64), axis=1), g

    def _selector(self):
        return WeightedSeeding()


coreset = as_function(CoreSet, "coreset", "Core-set query strategy: greedy k-center on penultimate features.")
badge = as_function(BADGE, "badge", "BADGE query strategy: k-means++ on last-layer gradient embeddings.")
