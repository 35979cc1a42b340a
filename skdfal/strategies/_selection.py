"""Selection: keep the best scores of a pool, streamed or whole, in one order."""

from __future__ import annotations

import numpy as np

from ..utils._pool import check_n_instances

__all__ = ["select_top", "select_streamed", "top_streamed", "BestScores", "random_scores"]


def random_scores(X_pool, rng):
    """One uniform draw per pool sample, batch by batch: random sampling's scores.

    One stream of draws cut into chunks equals one draw of the whole length,
    so the picks do not depend on how the pool is batched.  The pool is read
    (not kept) so that a NaN pool is refused as by every other strategy.
    """
    from ..utils._pool import iter_batches

    for _, batch in iter_batches(X_pool, 65536):
        yield rng.random_sample(batch.shape[0])


def _sort_key(scores: np.ndarray, largest: bool) -> np.ndarray:
    key = -scores if largest else scores
    # NaN would sort anywhere; put it last whatever the direction.
    return np.where(np.isnan(key), np.inf, key)


def select_top(scores: np.ndarray, n_instances: int, *, largest: bool) -> np.ndarray:
    """Indices of the ``n_instances`` best scores, best first; ties keep pool order."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.argsort(_sort_key(scores, largest), kind="stable")[:n_instances]


class BestScores:
    """The ``n`` best scores of a stream of score chunks, as :func:`select_top` picks them.

    Memory is ``n`` plus one chunk, whatever the length of the stream.

    Examples
    --------
    >>> import numpy as np
    >>> best = BestScores(2, largest=False)
    >>> for chunk in ([0.5, 0.1], [0.3], [0.1, np.nan]):
    ...     best.push(np.array(chunk))
    >>> best.indices.tolist(), best.scores.tolist(), best.n_seen
    ([1, 3], [0.1, 0.1], 5)
    """

    def __init__(self, n: int, *, largest: bool, tie_rng=None):
        self.n, self.largest = int(n), bool(largest)
        self.indices = np.zeros(0, dtype=np.int64)
        self.scores = np.zeros(0, dtype=np.float64)
        self.payload = None
        self.n_seen = 0
        # With a generator, equal scores are ordered by a random draw per
        # sample instead of by pool position (modAL's random_tie_break).
        self.tie_rng = tie_rng
        self.ties = np.zeros(0, dtype=np.float64)

    def push(self, chunk, payload=None) -> None:
        """Add a chunk of scores; ``payload`` (a tensor, one row per score) is kept alongside.

        With a payload, :attr:`payload` holds the rows of the kept scores, in
        the order of :attr:`indices`: what a strategy needs of its best
        samples (their inputs, their perturbations) without keeping the pool.
        """
        chunk = np.asarray(chunk, dtype=np.float64).ravel()
        indices = np.concatenate([self.indices, np.arange(self.n_seen, self.n_seen + len(chunk))])
        scores = np.concatenate([self.scores, chunk])
        self.n_seen += len(chunk)
        if self.tie_rng is None:
            secondary = indices  # select_top's stable order
        else:
            self.ties = secondary = np.concatenate([self.ties, self.tie_rng.random_sample(len(chunk))])
        order = np.lexsort((secondary, _sort_key(scores, self.largest)))[: self.n]
        self.indices, self.scores = indices[order], scores[order]
        if self.tie_rng is not None:
            self.ties = self.ties[order]
        if payload is not None:
            import torch

            rows = payload if self.payload is None else torch.cat([self.payload, payload])
            self.payload = rows[torch.as_tensor(order, device=rows.device)]


def select_streamed(chunks, n_instances: int, *, largest: bool, tie_rng=None):
    """``(indices, scores)`` of the ``n_instances`` best of a stream of score chunks.

    Same picks, in the same order, as :func:`select_top` on the concatenated
    chunks, holding only ``n_instances`` scores plus one chunk.  With
    ``tie_rng`` (a ``RandomState``), equal scores are broken at random
    instead of by pool position.
    """
    best = _top(chunks, n_instances, largest=largest, tie_rng=tie_rng)
    check_n_instances(n_instances, best.n_seen)
    return best.indices, best.scores


def top_streamed(chunks, n_instances: int, *, largest: bool, tie_rng=None):
    """:func:`select_streamed` for callers that checked ``n_instances`` against the pool.

    A stream shorter than ``n_instances`` gives all its samples.
    """
    best = _top(chunks, n_instances, largest=largest, tie_rng=tie_rng)
    return best.indices, best.scores


def _top(chunks, n_instances, *, largest, tie_rng):
    best = BestScores(n_instances, largest=largest, tie_rng=tie_rng)
    for chunk in chunks:
        best.push(chunk)
    return best
