"""Iterate any pool of unlabeled samples in batches, without copying it whole.

A pool may be a numpy array (a ``np.memmap`` included), a torch tensor, a
scipy sparse matrix, a pandas DataFrame, a torch ``Dataset`` (items ``x`` or
``(x, y)``), a ``DataLoader`` or any iterable of batches.  Strategies only
ever see ``(start, batch)`` pairs, so memory stays bounded by the batch size.
Sparse and DataFrame batches stay sparse and DataFrames: a scikit-learn
model (or a pipeline selecting columns by name) gets them as it was fitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch
from skorch.utils import to_numpy

from ._memory import memmap_releaser, release_free_heap
from ._typing import Pool, Rows

if TYPE_CHECKING:
    from ._torch import TorchModel

__all__ = [
    "as_pool",
    "pool_length",
    "iter_pool",
    "iter_batches",
    "take_rows",
    "concat_rows",
    "check_batch_finite",
    "check_n_instances",
    "empty_pool",
]


def _is_dataset(pool) -> bool:
    return isinstance(pool, torch.utils.data.Dataset) and not isinstance(pool, torch.Tensor)


def _is_sparse(pool) -> bool:
    # scipy is a dependency of scikit-learn, so it is always there.
    import scipy.sparse as sp

    return sp.issparse(pool)


def _is_frame(pool) -> bool:
    """A pandas DataFrame or Series, found without importing pandas."""
    return hasattr(pool, "iloc") and hasattr(pool, "shape")


def _is_array(pool) -> bool:
    return isinstance(pool, (np.ndarray, torch.Tensor)) or _is_sparse(pool) or _is_frame(pool) or (
        hasattr(pool, "shape") and hasattr(pool, "__getitem__") and hasattr(pool, "dtype")
    )


def _row_slice(pool, start, stop):
    """Rows ``start:stop`` of an array-like pool, in the pool's own container."""
    if _is_frame(pool):
        return pool.iloc[start:stop]
    if _is_sparse(pool) and pool.format not in ("csr", "csc", "lil"):
        pool = pool.tocsr()  # COO, DIA and BSR matrices cannot be sliced
    return pool[start:stop]


def as_pool(pool: Pool) -> Pool:
    """A list (or tuple) of texts as a 1-D object array of samples; any other pool as it is.

    A list is otherwise an iterable of batches, and a text is no batch; the
    texts reach the model unchanged (an object array holds the same ``str``
    objects), as a numpy array of them already did.

    Examples
    --------
    >>> from skdfal.utils._pool import as_pool
    >>> as_pool(["a text", "another"]).shape
    (2,)
    """
    if isinstance(pool, (list, tuple)) and pool and all(isinstance(item, str) for item in pool):
        out = np.empty(len(pool), dtype=object)
        out[:] = list(pool)
        return out
    return pool


def pool_length(pool: Pool) -> int | None:
    """Number of samples in the pool, or ``None`` for a plain iterable of batches."""
    if _is_array(pool):
        if len(pool.shape) == 0:
            raise ValueError("X_pool must have a sample axis; got a scalar")
        return int(pool.shape[0])
    if isinstance(pool, torch.utils.data.DataLoader):
        try:
            return len(pool.dataset)
        except TypeError:
            return None
    if _is_dataset(pool):
        return len(pool)
    if isinstance(pool, (list, tuple)) and pool and np.ndim(pool[0]) == 0:
        raise TypeError("X_pool must be an array of samples or an iterable of batches")
    if isinstance(pool, (list, tuple)):
        return None
    if hasattr(pool, "__iter__"):
        return None
    raise TypeError(
        "X_pool must be a numpy array, a torch tensor, a torch Dataset or DataLoader, "
        f"or an iterable of batches; got {type(pool).__name__}"
    )


def empty_pool(action: str = "score") -> ValueError:
    """The one error for an empty pool: ``raise empty_pool("query")``.

    Raised at a door that sees the length, or after a stream of unknown
    length handed out no batch.
    """
    return ValueError(f"X_pool is empty: there is nothing to {action}")


def check_n_instances(n_instances: int, n_pool: int | None) -> None:
    """Raise ``ValueError`` when more samples are asked for than the pool holds.

    The one wording of this error, for every strategy and the learner;
    ``n_pool=None`` (a stream of unknown length) passes.
    """
    if n_pool is not None and n_instances > n_pool:
        raise ValueError(f"n_instances={n_instances} is larger than the pool ({n_pool} samples)")


def _first(item):
    """Keep the inputs of an ``(x, y)`` item or batch."""
    if isinstance(item, (tuple, list)) and len(item) >= 1 and not np.isscalar(item[0]):
        return item[0]
    return item


#: Batches between two hand-backs of free heap memory (see :func:`release_free_heap`).
TRIM_EVERY = 16


def iter_pool(pool: Pool, batch_size: int = 256) -> Iterator[tuple[int, object]]:
    """Yield ``(start, batch)`` with ``batch`` the rows ``start:start+len(batch)``.

    Every :data:`TRIM_EVERY` batches, free heap memory is handed back to the
    system (:func:`release_free_heap`), so that a pass over millions of
    samples keeps a flat resident set.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for i, item in enumerate(_iter_batches(pool, batch_size)):
        if i and i % TRIM_EVERY == 0:
            release_free_heap()
        yield item


def _iter_batches(pool, batch_size):
    if _is_array(pool):
        n = int(pool.shape[0])
        release = memmap_releaser(pool)
        for start in range(0, n, batch_size):
            batch = _row_slice(pool, start, start + batch_size)
            if release is None:
                yield start, batch
                continue
            # An owned, writable copy: the rows it came from are released
            # right after, and torch refuses to wrap read-only memory.
            yield start, np.array(batch)
            release(start, min(start + batch_size, n))
        return
    if _is_dataset(pool) and not isinstance(pool, torch.utils.data.IterableDataset):
        n = len(pool)
        for start in range(0, n, batch_size):
            rows = [_first(pool[i]) for i in range(start, min(start + batch_size, n))]
            yield start, _stack(rows)
        return
    # Batches cut by the user (a DataLoader, a generator) are re-cut at the
    # same boundaries as an array's, so a strategy sees the same batches
    # whatever the cut: scores drawn batch by batch (BALD's dropout masks)
    # then do not depend on it.  At most one batch of each is held.
    start = 0
    pending, n_pending = [], 0
    for batch in pool:
        batch = _first(batch)
        if len(batch) == 0:
            continue
        pending.append(batch)
        n_pending += len(batch)
        while n_pending >= batch_size:
            merged = _concat(pending, start)
            yield start, merged[:batch_size]
            start += batch_size
            rest = merged[batch_size:]
            pending, n_pending = ([rest] if len(rest) else []), len(rest)
    if pending:
        yield start, _concat(pending, start)


def _concat(batches, start):
    if len(batches) == 1:
        return batches[0]
    try:
        if all(isinstance(b, torch.Tensor) for b in batches):
            return torch.cat(batches)
        return np.concatenate([np.asarray(b) for b in batches])
    except (RuntimeError, ValueError) as exc:
        shapes = sorted({tuple(np.shape(b)[1:]) for b in batches})
        raise ValueError(
            f"X_pool batches disagree on sample shape near sample {start}: {shapes}"
        ) from exc


def _stack(rows):
    if isinstance(rows[0], torch.Tensor):
        return torch.stack(rows)
    return np.stack([np.asarray(r) for r in rows])


def take_rows(pool: Pool, indices: npt.ArrayLike) -> Any:
    """Rows ``indices`` of an indexable pool (array, tensor, sparse matrix, DataFrame or Dataset).

    The rows come back in the pool's container (a DataFrame keeps its
    columns, a sparse matrix its format).
    """
    indices = np.asarray(indices, dtype=np.int64)
    if _is_frame(pool):
        return pool.iloc[indices]
    if _is_sparse(pool):
        fmt = pool.format
        rows = pool[indices] if fmt in ("csr", "csc", "lil") else pool.tocsr()[indices]
        return rows.asformat(fmt)
    if _is_array(pool):
        if isinstance(pool, torch.Tensor):
            return pool[torch.as_tensor(indices)]
        return pool[indices]
    if _is_dataset(pool):
        return _stack([_first(pool[int(i)]) for i in indices])
    if isinstance(pool, torch.utils.data.DataLoader):
        return take_rows(pool.dataset, indices)
    raise TypeError(
        f"rows cannot be taken from a pool of type {type(pool).__name__}; "
        "pass an array, tensor or Dataset to get the queried instances back"
    )


def concat_rows(first: Rows, second: Rows) -> Any:
    """The rows of ``first`` then those of ``second``, in ``first``'s container.

    For a labeled set that grows as the oracle answers: numpy arrays, torch
    tensors, scipy sparse matrices (the first one's format is kept), pandas
    DataFrames and Python lists (a list of samples, such as texts).

    Raises
    ------
    ValueError
        When the two cannot be stacked (different sample shapes or columns).

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.utils import concat_rows
    >>> concat_rows(np.zeros((2, 3)), np.ones((1, 3))).shape
    (3, 3)
    >>> concat_rows(["a text"], ["another"])
    ['a text', 'another']
    """
    try:
        if _is_sparse(first) or _is_sparse(second):
            import scipy.sparse as sp

            fmt = first.format if _is_sparse(first) else "csr"
            return sp.vstack([first, second], format=fmt)
        if _is_frame(first):
            import pandas as pd

            return pd.concat([first, second if _is_frame(second) else pd.DataFrame(second, columns=first.columns)])
        if isinstance(first, torch.Tensor):
            return torch.cat([first, torch.as_tensor(second, dtype=first.dtype, device=first.device)])
        if isinstance(first, list):
            return first + list(second)
        return np.concatenate([np.asarray(first), np.asarray(second)])
    except (ValueError, RuntimeError, TypeError) as exc:
        raise ValueError(
            f"new samples cannot join the labeled set: {type(exc).__name__}: {exc}"
        ) from exc


def check_batch_finite(batch: Rows, start: int) -> None:
    """Raise ``ValueError`` naming the first non-finite row of a batch.

    Tensors, arrays, scipy sparse matrices (their stored values) and
    DataFrames (their numeric columns) are checked; texts and other objects
    cannot be non-finite.
    """
    if _is_sparse(batch):
        coo = batch.tocoo()
        bad = ~np.isfinite(coo.data) if coo.data.dtype.kind in "fc" else np.zeros(0, bool)
        if bad.any():
            raise ValueError(f"X_pool contains NaN or infinity (first at sample {int(coo.row[bad].min()) + start})")
        return
    if _is_frame(batch):
        numeric = batch.select_dtypes("number") if hasattr(batch, "select_dtypes") else batch
        batch = np.asarray(numeric, dtype=np.float64) if numeric.size else np.zeros((len(batch), 0))
    if isinstance(batch, torch.Tensor):
        finite = torch.isfinite(batch.reshape(len(batch), -1)).all(1)
        if not bool(finite.all()):
            bad = int((~finite).nonzero()[0, 0]) + start
            raise ValueError(f"X_pool contains NaN or infinity (first at sample {bad})")
        return
    batch = np.asarray(batch)
    if batch.dtype.kind not in "fc":
        return  # integers and booleans are always finite
    finite = np.isfinite(batch.reshape(len(batch), -1)).all(1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0]) + start
        raise ValueError(f"X_pool contains NaN or infinity (first at sample {bad})")


def iter_batches(
    X_pool: Pool, batch_size: int = 256, *, model: TorchModel | None = None, check_finite: bool = True
) -> Iterator[tuple[int, Any]]:
    """The one way strategies read a pool: checked batches, in order.

    Yields ``(start, batch)`` for every non-empty batch of ``X_pool``.  With
    ``model`` (a :class:`~skdfal.utils.TorchModel`) a batch is a tensor as the
    net sees it (pipeline transforms applied, on the module's device and
    dtype); without, a numpy array (a sparse matrix or DataFrame for such a
    pool).  Every batch is checked to be finite (``check_finite=False``:
    rows a checked pass read already) and to have the first batch's shape.

    Raises
    ------
    ValueError
        For a pool with no samples, a NaN or infinite sample (naming the
        first one), or batches of different sample shapes.
    """
    expected_shape = None
    n_batches = 0
    for start, batch in iter_pool(X_pool, batch_size):
        if model is not None:
            batch = model.as_tensor(batch)
        elif not (_is_sparse(batch) or _is_frame(batch)):
            batch = to_numpy(batch) if isinstance(batch, torch.Tensor) else np.asarray(batch)
        if batch.shape[0] == 0:
            continue
        if check_finite:
            check_batch_finite(batch, start)
        shape = tuple(batch.shape[1:])
        if expected_shape is None:
            expected_shape = shape
        elif shape != expected_shape:
            raise ValueError(f"X_pool batches disagree on sample shape: {expected_shape} then {shape}")
        n_batches += 1
        yield start, batch
    if not n_batches:
        raise empty_pool()
