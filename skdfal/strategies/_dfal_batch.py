"""DFAL as a batch strategy: spread a batch out among the smallest margins.

The paper's rule (the ``n`` smallest DeepFool margins) buys near-duplicates
in one batch: samples close to the same stretch of the decision boundary.
Here the ``k * n`` smallest margins are clustered into ``n`` groups, in the
net's penultimate features or along their DeepFool directions, and each
group gives its smallest-margin sample: every pick is still near the
boundary, and the picks cover different parts of it.
"""

from __future__ import annotations

import numpy as np
import torch

from ._embeddings import _sq_dists

__all__ = ["cluster_smallest"]


def cluster_smallest(embeddings, margins, n, rng, *, n_iter=10, return_clusters=False):
    """Positions of ``n`` picks: the smallest margin of each of ``n`` k-means clusters.

    Parameters
    ----------
    embeddings : torch.Tensor of shape (m, d)
        One row per sample.
    margins : ndarray of shape (m,)
        Their margins (smaller is more informative).
    n : int
        Picks wanted (``n <= m``).
    rng : numpy.random.RandomState
        Seeds the k-means++ initialisation.
    n_iter : int, default=10
        Lloyd iterations.
    return_clusters : bool, default=False
        Also return each pick's cluster (the same picks either way).

    Returns
    -------
    picks : ndarray of int
        Positions into ``embeddings``, smallest margin first.
    clusters : ndarray of int or None
        Only with ``return_clusters``: the k-means cluster (``0 .. n-1``) each
        pick belongs to, ``None`` when nothing was clustered (``n >= m``).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal.strategies._dfal_batch import cluster_smallest
    >>> emb = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    >>> margins = np.array([0.5, 0.2, 0.4, 0.3])
    >>> cluster_smallest(emb, margins, 2, np.random.RandomState(0)).tolist()
    [1, 3]
    """
    x = embeddings.detach().to(torch.float64).flatten(1).cpu()
    m = x.shape[0]
    margins = np.asarray(margins, dtype=np.float64)
    if n >= m:
        picks = np.argsort(margins, kind="stable")[:n]
        return (picks, None) if return_clusters else picks
    # k-means++ seeding: the first center is the smallest margin, the next
    # ones drawn with probability proportional to the squared distance.
    # Not sklearn.cluster.kmeans_plusplus: it draws the first center at
    # random and keeps the best of 2 + log(n) draws per center (greedy
    # k-means++), so the picks (and the recorded benchmark rows) would
    # change; the smallest margin as first center is part of the rule.
    centers = [int(np.argmin(margins))]
    nearest = _sq_dists(x, x[centers[-1]][None])[:, 0]
    while len(centers) < n:
        total = float(nearest.sum())
        if total <= 0:  # every sample coincides with a center
            rest = np.setdiff1d(np.arange(m), centers)
            centers.append(int(rest[np.argmin(margins[rest])]))
        else:
            centers.append(int(rng.choice(m, p=(nearest / total).numpy())))
        nearest = torch.minimum(nearest, _sq_dists(x, x[centers[-1]][None])[:, 0])
    c = x[centers].clone()
    for _ in range(n_iter):
        assign = _sq_dists(x, c).argmin(1)
        for j in range(n):
            members = assign == j
            if members.any():
                c[j] = x[members].mean(0)
    assign = _sq_dists(x, c).argmin(1).numpy()
    picks = []
    for j in range(n):
        members = np.flatnonzero(assign == j)
        if len(members):
            picks.append(int(members[np.argmin(margins[members])]))
    if len(picks) < n:  # empty clusters: fill with the smallest margins left
        rest = np.setdiff1d(np.arange(m), picks)
        picks += rest[np.argsort(margins[rest], kind="stable")[: n - len(picks)]].tolist()
    picks = np.asarray(picks, dtype=np.int64)
    picks = picks[np.argsort(margins[picks], kind="stable")]
    return (picks, assign[picks].astype(np.int64)) if return_clusters else picks

