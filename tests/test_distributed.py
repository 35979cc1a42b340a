"""Dask scoring equals single-process scoring (LocalCluster on loopback, two workers)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a cluster of worker processes, each importing torch

from distributed import Client, LocalCluster  # noqa: E402

from skdfal import DFALMargin, RandomSampling, make_classifier  # noqa: E402
from skdfal.distributed import query_distributed, score_distributed  # noqa: E402
from skdfal.strategies import MarginSampling  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # Worker processes: the classifier really travels pickled, as on a cluster.
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, worker_dashboard_address=None,
    ) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def net(digits):
    X, y = digits
    clf = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=6, random_state=0)
    return clf.fit(X[:300], y[:300])


@pytest.fixture(scope="module")
def pool(digits):
    return np.ascontiguousarray(digits[0][700:790])


def test_cluster_listens_on_loopback_only(client):
    for address in [client.scheduler.address, *client.scheduler_info()["workers"]]:
        assert address.startswith(("tcp://127.0.0.1:", "inproc://")), address


def test_dfal_scores_equal_single_process(client, net, pool):
    strategy = DFALMargin(batch_size=16)
    expected = strategy.score(net, pool)
    got = score_distributed(strategy, net, pool, client=client, chunk_size=32)
    assert got.shape == (len(pool),)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # Chunks were spread over both workers' tasks and put back in pool order.
    idx, scores = query_distributed(strategy, net, pool, 7, client=client, chunk_size=32)
    ref_idx, ref_scores = strategy(net, pool, n_instances=7)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-6)


def test_memmap_pool_is_read_by_the_workers(client, net, pool, tmp_path):
    path = tmp_path / "pool.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=pool.shape)
    mm[:] = pool
    mm.flush()
    del mm
    pool_mm = np.memmap(path, dtype=np.float32, mode="r", shape=pool.shape)
    strategy = DFALMargin(candidates=3, batch_size=16)
    got = score_distributed(strategy, net, pool_mm, client=client, chunk_size=16, max_in_flight=1)
    np.testing.assert_allclose(got, strategy.score(net, pool), rtol=1e-6)


def test_generator_pool_and_uncertainty_strategy(client, net, pool):
    batches = (pool[i : i + 25] for i in range(0, len(pool), 25))
    got = score_distributed(MarginSampling(), net, batches, client=client, chunk_size=25)
    np.testing.assert_allclose(got, MarginSampling().score(net, pool), rtol=1e-6, atol=1e-7)


def test_subsample_is_honoured(client, net, pool):
    strategy = DFALMargin(subsample=40, random_state=3, batch_size=8)
    idx, _ = query_distributed(strategy, net, pool, 4, client=client, chunk_size=16)
    ref_idx, _ = strategy(net, pool, n_instances=4)
    np.testing.assert_array_equal(idx, ref_idx)


def test_pool_dependent_strategies_are_refused(client, net, pool):
    with pytest.raises(ValueError, match="chunk by chunk"):
        score_distributed(RandomSampling(random_state=0), net, pool, client=client)
    with pytest.raises(TypeError, match="QueryStrategy"):
        score_distributed(len, net, pool, client=client)
    with pytest.raises(ValueError, match="chunk_size"):
        score_distributed(DFALMargin(), net, pool, client=client, chunk_size=0)
