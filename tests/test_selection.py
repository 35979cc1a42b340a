"""Selection keeps only the best n_instances while scores stream by."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from skdfal.strategies import QueryStrategy, select_top
from skdfal.strategies._selection import BestScores


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_topn_over_any_chunking_equals_select_top(largest, seed):
    rng = np.random.RandomState(seed)
    # Few distinct values (many ties) and some NaN: the order rules matter.
    scores = rng.randint(0, 20, size=500).astype(np.float64)
    scores[rng.rand(500) < 0.05] = np.nan
    n = int(rng.randint(1, 60))
    cuts = np.sort(rng.choice(np.arange(1, 500), size=int(rng.randint(0, 40)), replace=False))
    best = BestScores(n, largest=largest)
    for chunk in np.split(scores, cuts):
        best.push(chunk)
    expected = select_top(scores, n, largest=largest)
    np.testing.assert_array_equal(best.indices, expected)
    np.testing.assert_array_equal(best.scores, scores[expected])
    assert best.n_seen == 500


class StreamedScores(QueryStrategy):
    """Scores known in advance, handed out in chunks (a stand-in for a long pool)."""

    largest = False

    def __init__(self, *, scores=None, chunk=1000, subsample=None, random_state=None):
        self.scores = scores
        self.chunk = chunk
        self.subsample = subsample
        self.random_state = random_state

    def _iter_scores(self, classifier, X_pool):
        for start in range(0, len(self.scores), self.chunk):
            yield self.scores[start : start + self.chunk].copy()


@pytest.mark.slow  # streams 2,000,000 scores
def test_selection_memory_does_not_grow_with_the_pool():
    n_pool = 2_000_000  # 16 MB of float64 scores if they were all kept
    scores = np.random.RandomState(0).rand(n_pool)
    strategy = StreamedScores(scores=scores)
    pool = np.broadcast_to(np.float32(0), (n_pool, 1))  # no memory: the scores are fixed
    tracemalloc.start()
    try:
        idx, picked = strategy(None, pool, n_instances=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(idx, np.argsort(scores, kind="stable")[:10])
    np.testing.assert_array_equal(picked, scores[idx])
    assert peak < 1_000_000, peak  # a few chunks, not the 16 MB vector
    # score() still returns every utility, in pool order.
    np.testing.assert_array_equal(strategy.score(None, pool), scores)


def test_a_strategy_must_score_somehow():
    class Empty(QueryStrategy):
        def __init__(self, *, subsample=None, random_state=None):
            self.subsample, self.random_state = subsample, random_state

    with pytest.raises(NotImplementedError, match="does not implement _iter_scores"):
        Empty()(None, np.zeros((3, 1)), 1)


def test_too_many_instances_for_a_streamed_pool():
    # A stream's length is unknown at the door: it is measured once read.
    strategy = StreamedScores(scores=np.arange(5.0), chunk=2)
    stream = (np.zeros((2, 1)) for _ in range(3))
    with pytest.raises(ValueError, match=r"n_instances=6 is larger than the pool \(5 samples\)"):
        strategy(None, stream, 6)
    idx, _ = StreamedScores(scores=np.arange(5.0), chunk=2)(None, (np.zeros((2, 1)) for _ in range(3)), 5)
    assert sorted(idx.tolist()) == [0, 1, 2, 3, 4]
