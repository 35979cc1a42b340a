"""Batch-diverse strategies on the network's own representations.

* Core-set (Sener & Savarese, 2018): greedy k-center on penultimate-layer
  features: each pick is the pool sample farthest from everything labeled or
  already picked.
* BADGE (Ash et al., 2020): gradient embeddings of the last layer's weights
  for the loss at the predicted label, ``(p - e_yhat) h^T``, chosen by
  k-means++ seeding: large (uncertain) and mutually different gradients.

Both choose a set, not a ranking, so they override
:meth:`QueryStrategy._select`; their ``score`` is a per-sample utility
(distance to the labeled set, gradient-embedding norm).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch.utils import to_numpy

from ..utils._typing import RandomStateLike, Rows
from ._base import COMMON_CONSTRAINTS, QueryStrategy, SampledStrategy, StrategyTags, as_function
from ._context import query_context
from ._embeddings import _sq_dists, gradient_embeddings, penultimate_features

__all__ = [
    "penultimate_features",
    "gradient_embeddings",
    "CoreSet",
    "coreset",
    "BADGE",
    "badge",
]


def k_center_greedy(features, centers, n_instances, random_state=None):
    """Greedy k-center: repeatedly pick the point farthest from all centers.

    Parameters
    ----------
    features : ndarray (n, d)
        Pool samples to choose from.
    centers : ndarray (m, d) or None
        Already covered points (the labeled set); with none, the first pick
        is random.
    n_instances : int
    random_state : int, RandomState or None

    Returns
    -------
    picked : ndarray of int
    distances : ndarray of float
        Each pick's distance to the nearest center when it was picked.
    """
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    n = x.shape[0]
    if centers is not None and len(centers):
        c = torch.as_tensor(np.asarray(centers, dtype=np.float32))
        nearest = torch.full((n,), float("inf"), dtype=torch.float64)
        for s in range(0, len(c), 1024):
            nearest = torch.minimum(nearest, _sq_dists(x, c[s : s + 1024]).min(1).values)
    else:
        nearest = torch.full((n,), float("inf"), dtype=torch.float64)
    picked, dists = [], []
    rng = check_random_state(random_state)
    for _ in range(n_instances):
        if torch.isinf(nearest).all():
            i = int(rng.randint(n))
        else:
            i = int(torch.argmax(torch.where(torch.isinf(nearest), -1.0, nearest)))
        picked.append(i)
        dists.append(float(nearest[i].sqrt()))
        nearest = torch.minimum(nearest, _sq_dists(x, x[i : i + 1])[:, 0])
        nearest[i] = -1.0  # never again
    return np.asarray(picked, dtype=np.int64), np.asarray(dists)


def kmeans_pp_seeding(embeddings, n_instances, random_state=None):
    """k-means++ seeding: the largest-norm point, then D^2-weighted draws.

    BADGE's rule (Ash et al.): a deterministic first pick and one draw per
    pick, which scikit-learn's ``kmeans_plusplus`` (a random first center,
    the best of ``2 + log k`` draws per center) does not reproduce.

    Returns
    -------
    picked : ndarray of int
    d2 : ndarray of float
        Squared distance to the nearest earlier pick when picked (the first
        pick's squared norm).
    """
    x = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
    n = x.shape[0]
    rng = check_random_state(random_state)
    first = int(torch.argmax((x.double() ** 2).sum(1)))
    picked = [first]
    d2_at_pick = [float((x[first].double() ** 2).sum())]
    nearest = _sq_dists(x, x[first : first + 1])[:, 0]
    chosen = torch.zeros(n, dtype=torch.bool)
    chosen[first] = True
    for _ in range(n_instances - 1):
        weights = torch.where(chosen, 0.0, nearest).numpy()
        total = weights.sum()
        if total > 0:
            i = int(rng.choice(n, p=weights / total))
        else:  # every sample duplicates a pick: any unchosen one will do
            i = int(rng.choice(np.flatnonzero(~chosen.numpy())))
        picked.append(i)
        d2_at_pick.append(float(nearest[i]))
        chosen[i] = True
        nearest = torch.minimum(nearest, _sq_dists(x, x[i : i + 1])[:, 0])
    return np.asarray(picked, dtype=np.int64), np.asarray(d2_at_pick)


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
        features = penultimate_features(classifier, X_pool, batch_size=self.batch_size)
        centers = self._centers(classifier)
        if centers is None:
            yield np.full(len(features), np.inf)
            return
        x, c = torch.as_tensor(features), torch.as_tensor(centers)
        yield to_numpy(_sq_dists(x, c).min(1).values.sqrt()).astype(np.float64)

    def _select(self, classifier, X_pool, n_instances):
        features = penultimate_features(classifier, X_pool, batch_size=self.batch_size)
        # A stream shorter than the query gives all its samples (_query_validated says so).
        n_instances = min(n_instances, len(features))
        return k_center_greedy(features, self._centers(classifier), n_instances, self.random_state)


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

    def _iter_scores(self, classifier, X_pool):
        """Norm of each sample's gradient embedding (a lower bound on the loss gradient)."""
        g = gradient_embeddings(classifier, X_pool, batch_size=self.batch_size)
        yield np.linalg.norm(g.astype(np.float64), axis=1)

    def _select(self, classifier, X_pool, n_instances):
        g = gradient_embeddings(classifier, X_pool, batch_size=self.batch_size)
        return kmeans_pp_seeding(g, min(n_instances, len(g)), self.random_state)  # see CoreSet._select


coreset = as_function(CoreSet, "coreset", "Core-set query strategy: greedy k-center on penultimate features.")
badge = as_function(BADGE, "badge", "BADGE query strategy: k-means++ on last-layer gradient embeddings.")
