"""Pools that are not in-memory arrays: same answers, memory bounded by the batch size.

That every registered strategy gives the in-memory answer on every kind of
pool is part of the strategy contract (``test_strategy_contract.py``); here,
DFAL's scores sample by sample, the pool reader itself, and memory.
"""

from __future__ import annotations

import mmap
import sys

import numpy as np
import pytest
import torch
from _pools import POOL_KINDS, make_pool

from skdfal import ActiveLearner, DFALMargin, make_classifier
from skdfal.utils._pool import iter_pool, pool_length, take_rows

N_POOL, N_QUERY = 48, 5


@pytest.fixture(scope="module")
def learner(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=8, random_state=0,
                          input_mean=None, input_std=None)  # the module takes the pool as it is
    return ActiveLearner(net).fit(X[:300], y[:300])


@pytest.fixture(scope="module")
def pool_array(digits):
    X, _ = digits
    return np.ascontiguousarray(X[600 : 600 + N_POOL])


@pytest.mark.parametrize("kind", POOL_KINDS)
def test_dfal_scores_match_on_every_sample(kind, learner, pool_array, tmp_path):
    ref = DFALMargin().score(learner, pool_array)
    scores = DFALMargin(batch_size=10).score(learner, make_pool(kind, pool_array, tmp_path))
    assert scores.shape == (N_POOL,)
    assert np.isfinite(ref).all()
    np.testing.assert_allclose(scores, ref, rtol=1e-4, atol=1e-7)


class RowCounter(torch.nn.Module):
    """Wraps a module and records the largest batch it was given."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.largest = 0

    def forward(self, x):
        self.largest = max(self.largest, x.shape[0])
        return self.inner(x)


def test_dfal_never_attacks_more_than_batch_size_rows(learner, pool_array, tmp_path):
    counter = RowCounter(learner.estimator_.module_)
    pool = make_pool("memmap", pool_array, tmp_path)
    idx, _ = DFALMargin(batch_size=8)(counter, pool, n_instances=3)
    assert counter.largest == 8
    ref_idx, _ = DFALMargin()(learner, pool_array, n_instances=3)
    np.testing.assert_array_equal(idx, ref_idx)


def test_iter_pool_cuts_every_pool_like_the_array(pool_array, tmp_path):
    # Same batches as the array whatever the container and the user's cut
    # (7, 9 and 11 rows): at multiples of batch_size, the last one short.
    expected_starts = list(range(0, N_POOL, 10))
    for kind in POOL_KINDS:
        pool = make_pool(kind, pool_array, tmp_path)
        cuts = [(start, np.asarray(batch)) for start, batch in iter_pool(pool, batch_size=10)]
        assert [start for start, _ in cuts] == expected_starts, kind
        for start, batch in cuts:
            np.testing.assert_array_equal(batch, pool_array[start : start + 10], err_msg=kind)


def test_iter_pool_recut_keeps_tensors_and_refuses_mixed_shapes():
    batches = [torch.ones(3, 2), torch.zeros(0, 2), torch.full((4, 2), 2.0)]
    out = list(iter_pool(iter(batches), batch_size=5))
    assert [(start, tuple(b.shape)) for start, b in out] == [(0, (5, 2)), (5, (2, 2))]
    assert all(isinstance(b, torch.Tensor) for _, b in out)
    np.testing.assert_array_equal(out[0][1][:, 0].numpy(), [1, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="disagree on sample shape near sample 0"):
        list(iter_pool([np.ones((2, 3)), np.ones((2, 4))], batch_size=3))


def test_take_rows_and_length_on_indexable_pools(pool_array, tmp_path):
    rows = [3, 0, 17]
    for kind in ["memmap", "tensor", "dataset_xy", "dataset_x", "dataloader"]:
        pool = make_pool(kind, pool_array, tmp_path)
        assert pool_length(pool) == N_POOL
        np.testing.assert_array_equal(np.asarray(take_rows(pool, rows)), pool_array[rows])
    assert pool_length(make_pool("generator", pool_array, tmp_path)) is None


def _resident_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * mmap.PAGESIZE


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_memmap_pass_keeps_resident_memory_bounded(tmp_path):
    # 64 MiB on disk, read in 1 MiB batches: without releasing the pages
    # already scored, the resident set grows by the whole file.
    n, row = 16384, 1024
    path = tmp_path / "big.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, row))
    for i in range(0, n, 2048):
        mm[i : i + 2048] = np.arange(i, i + 2048, dtype=np.float32)[:, None]
    mm.flush()
    del mm
    pool = np.memmap(path, dtype=np.float32, mode="r", shape=(n, row))
    before = _resident_bytes()
    peak, total = before, 0.0
    for _, batch in iter_pool(pool, batch_size=256):
        total += float(batch[:, 0].sum())
        peak = max(peak, _resident_bytes())
    assert total == pytest.approx(n * (n - 1) / 2)
    assert peak - before < 16 * 2**20
    # A copy-on-write map is never released (it could hold the caller's edits).
    cow = np.memmap(path, dtype=np.float32, mode="c", shape=(n, row))
    cow[0, 0] = -1.0
    for _ in iter_pool(cow, batch_size=256):
        pass
    assert cow[0, 0] == -1.0
    assert next(iter_pool(cow, batch_size=256))[1][0, 0] == -1.0


def test_iter_pool_hands_free_heap_back_every_few_batches(monkeypatch):
    from skdfal.utils import _pool

    calls = []
    monkeypatch.setattr(_pool, "release_free_heap", lambda: calls.append(1))
    n_batches = 2 * _pool.TRIM_EVERY + 3
    assert len(list(_pool.iter_pool(np.zeros((n_batches, 2)), batch_size=1))) == n_batches
    assert len(calls) == 2  # before batches TRIM_EVERY and 2 * TRIM_EVERY


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_free_heap_reaches_glibc():
    from skdfal.utils._memory import release_free_heap

    assert release_free_heap() is True
