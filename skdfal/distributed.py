"""Score a pool on a Dask cluster, chunk by chunk (optional: ``pip install skdfal[dask]``).

When one machine is too slow for a pool, the pool is cut into chunks and each
chunk is scored by a ``dask.distributed`` worker:

* the classifier is pickled once, scattered to every worker, and unpickled
  once per worker thread (each thread attacks its own copy: DeepFool switches
  the module to eval mode and freezes its weights while it runs, which two
  threads must not do to the same module at once);
* a numpy memmap pool is shipped by *path* (each worker maps the file and
  reads its rows: the file must be visible at the same path on the workers,
  as on a ``LocalCluster`` or a shared filesystem); any other pool is read
  here, chunk by chunk, and the chunk is sent with its task;
* at most ``max_in_flight`` chunks are pending at a time, so memory here stays
  bounded by the chunk size whatever the pool size; only the score vector is
  kept.

Only strategies whose score of a sample depends on that sample and the model
alone can be scored in chunks with the same result: DFAL and the
uncertainty strategies.  Diversity strategies (core-set, BADGE) and random
draws depend on the whole pool and are refused.

Examples
--------
>>> import numpy as np, torch
>>> from distributed import Client, LocalCluster
>>> from skdfal import DFALMargin
>>> from skdfal.distributed import query_distributed
>>> lin = torch.nn.Linear(2, 2)
>>> with torch.no_grad():
...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
...     _ = lin.bias.zero_()
>>> X = np.array([[3.0, 0.0], [0.2, 1.0], [-1.0, 0.0], [0.5, 0.0]], dtype=np.float32)
>>> with LocalCluster(n_workers=1, processes=False,  # in-process: no network
...                   dashboard_address=None) as cluster, Client(cluster) as client:
...     idx, margins = query_distributed(DFALMargin(), lin, X, 2, client=client, chunk_size=2)
>>> idx.tolist()
[1, 3]
"""

from __future__ import annotations

import pickle
import threading
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .strategies import QueryStrategy, all_strategies, select_streamed
from .strategies._selection import top_streamed
from .utils._extras import import_extra
from .utils._pool import check_n_instances, empty_pool, iter_pool, pool_length, take_rows
from .utils._typing import Pool, QueryResult
from .utils._validation import check_count

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["score_distributed", "query_distributed"]

_LOCAL = threading.local()


def _import_distributed():
    return import_extra("distributed", "dask", "scoring on a Dask cluster needs dask.distributed")


def _check_strategy(strategy):
    if not isinstance(strategy, QueryStrategy):
        raise TypeError(f"strategy must be a skdfal QueryStrategy, got {type(strategy).__name__}")
    strategy._validate_params()
    if not strategy.tags.pointwise:
        pointwise = sorted({e.cls.__name__ for e in all_strategies().values() if e.tags.pointwise})
        raise ValueError(
            f"{type(strategy).__name__} cannot be scored chunk by chunk: its scores depend on the "
            f"whole pool (or on random draws). Distributed scoring supports {', '.join(pointwise)} "
            "and any strategy whose tags say pointwise=True."
        )


def _owned_copy(token, blob):
    """This worker thread's own unpickled ``(strategy, classifier)``."""
    cache = getattr(_LOCAL, "objects", None)
    if cache is None:
        cache = _LOCAL.objects = {}
    if token not in cache:
        cache.clear()  # one job at a time per thread: drop older models
        cache[token] = pickle.loads(blob)
    return cache[token]


def _score_chunk(token, blob, chunk):
    strategy, classifier = _owned_copy(token, blob)
    if isinstance(chunk, tuple) and chunk and chunk[0] == "memmap":
        _, filename, dtype, shape, offset, start, stop = chunk
        pool = np.memmap(filename, dtype=dtype, mode="r", shape=shape, offset=offset)
        chunk = pool[start:stop]
    return strategy.score(classifier, chunk)


def _memmap_recipe(pool):
    """``(filename, dtype, shape, offset)`` when a worker can map ``pool`` itself."""
    if not isinstance(pool, np.memmap) or getattr(pool, "filename", None) is None:
        return None
    if not pool.flags.c_contiguous or pool.base is None or pool.base is not getattr(pool, "_mmap", None):
        return None  # a view: rows are not a plain slice of the file
    return str(pool.filename), pool.dtype.str, tuple(pool.shape), int(pool.offset)


def _chunks(X_pool, chunk_size):
    recipe = _memmap_recipe(X_pool)
    if recipe is not None:
        n = int(X_pool.shape[0])
        for start in range(0, n, chunk_size):
            yield ("memmap", *recipe, start, min(start + chunk_size, n))
        return
    for _, batch in iter_pool(X_pool, chunk_size):
        yield batch


def score_distributed(
    strategy: QueryStrategy, classifier: Any, X_pool: Pool, *, client: Client | None = None,
    chunk_size: int = 10_000, max_in_flight: int | None = None,
) -> npt.NDArray[np.float64]:
    """Utility of every pool sample, computed chunk by chunk on a Dask cluster.

    Parameters
    ----------
    strategy : QueryStrategy
        A strategy with per-sample scores (``DFALMargin``, ``LeastConfidence``,
        ``MarginSampling``, ``EntropySampling``).
    classifier : object
        What the strategy accepts (skorch net, ``Pipeline``, learner, module);
        it must be picklable.
    X_pool : array-like, memmap, torch Dataset, DataLoader or iterable of batches
    client : distributed.Client or None, default=None
        ``None`` uses the current default client.
    chunk_size : int, default=10000
        Samples per task.  A multiple of the strategy's ``batch_size`` gives
        results identical to single-process scoring.
    max_in_flight : int or None, default=None
        Chunks pending at once (default: twice the number of worker threads).

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Equal to ``strategy.score(classifier, X_pool)``.
    """
    parts = list(_iter_distributed_scores(strategy, classifier, X_pool, client, chunk_size, max_in_flight))
    return np.concatenate(parts)


def _iter_distributed_scores(strategy, classifier, X_pool, client, chunk_size, max_in_flight):
    """The chunks' scores in pool order, as the cluster returns them."""
    distributed = _import_distributed()
    _check_strategy(strategy)
    check_count(chunk_size, "chunk_size")
    if pool_length(X_pool) == 0:
        raise empty_pool()
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError as exc:
            raise ValueError("no Dask client: pass client= or create a distributed.Client first") from exc
    if max_in_flight is None:
        max_in_flight = 2 * max(1, sum(client.nthreads().values()))
    blob = pickle.dumps((strategy, classifier))
    token = uuid.uuid4().hex
    [blob_future] = client.scatter([blob], broadcast=True, hash=False)

    pending, n_parts = deque(), 0
    try:
        for chunk in _chunks(X_pool, int(chunk_size)):
            if len(pending) >= max_in_flight:
                n_parts += 1
                yield pending.popleft().result()
            pending.append(client.submit(_score_chunk, token, blob_future, chunk, pure=False))
        while pending:
            n_parts += 1
            yield pending.popleft().result()
    finally:
        for fut in pending:
            fut.cancel()
        blob_future.release()
    if not n_parts:
        raise empty_pool()


def query_distributed(
    strategy: QueryStrategy, classifier: Any, X_pool: Pool, n_instances: int = 1, *,
    client: Client | None = None, chunk_size: int = 10_000, max_in_flight: int | None = None,
) -> QueryResult:
    """``strategy(classifier, X_pool, n_instances)`` with the scoring on a Dask cluster.

    Same arguments as :func:`score_distributed` plus ``n_instances``; the
    strategy's ``subsample`` is honoured.  Returns ``(indices, scores)`` as the
    strategy itself would.
    """
    _check_strategy(strategy)
    n_instances = check_count(n_instances, "n_instances")
    n_pool = pool_length(X_pool)
    check_n_instances(n_instances, n_pool)
    subset = strategy._subset(n_pool, n_instances)
    pool = X_pool if subset is None else take_rows(X_pool, subset)
    # Only the best n_instances are kept as the chunks come back.
    parts = _iter_distributed_scores(strategy, classifier, pool, client, chunk_size, max_in_flight)
    # A known length was checked above; a stream's is measured once read.
    select = select_streamed if n_pool is None else top_streamed
    picked, scores = select(parts, n_instances, largest=strategy.largest)
    indices = picked if subset is None else subset[picked]
    return indices.astype(np.int64), scores
