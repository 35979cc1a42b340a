"""A session's pool: checked when a session is made, loaded (mapped, not read) when it opens."""

from __future__ import annotations

import numpy as np

from .._fs import SessionError
from ._formats import read_npy
from ._layout import SESSION_FILE

__all__ = ["check_new_pool", "first_non_finite", "load_pool"]


def first_non_finite(X, chunk: int = 4096):
    """Position of the first sample holding NaN or infinity (``None``: all finite).

    Chunk by chunk, so a memory-mapped pool is checked without loading it.
    """
    if X.dtype.kind != "f":
        return None
    for start in range(0, len(X), chunk):
        block = np.asarray(X[start:start + chunk]).reshape(min(chunk, len(X) - start), -1)
        bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
        if len(bad):
            return start + int(bad[0])
    return None


def check_new_pool(X_pool) -> np.ndarray:
    """``X_pool`` as an array a session can use, else ``ValueError`` naming ``X_pool``."""
    X = np.asarray(X_pool)
    if X.dtype.kind not in "fiu" or X.ndim != 4 or len(X) == 0 or 0 in X.shape:
        raise ValueError(
            f"X_pool must be a non-empty numeric array of (channels, height, width) images, "
            f"got {X.dtype} of shape {X.shape}"
        )
    bad = first_non_finite(X)
    if bad is not None:
        raise ValueError(f"X_pool holds NaN or infinity (sample {bad}): the network could never train on it")
    return X


def load_pool(folder, config, pool=None):
    """The session's pool: ``pool.npy`` (checksummed, mapped, no pickle) or the array passed in."""
    info = config["pool"]
    where = folder.where(SESSION_FILE)
    name = info.get("file")
    if name:
        if pool is not None:
            raise ValueError("pool: this session stores its pool; do not pass pool=")
        dtype = np.dtype(info["dtype"])
        expected = int(np.prod(info["shape"], dtype=object)) * dtype.itemsize
        # Memory-mapped copy-on-write: a large pool is paged in as queries touch
        # it, the file is never modified, and torch gets a writable array.
        X = read_npy(folder, name, sha256=info.get("sha256"), limit=expected + (1 << 16), mmap=True)
        source = folder.where(name)
    elif pool is None:
        raise ValueError(f"{where}: the session was created with store_pool=False; pass pool=")
    else:
        X, source = np.asarray(pool), "pool"
    if list(X.shape) != info.get("shape") or X.dtype.str != info.get("dtype"):
        raise SessionError(
            f"{where}: the pool is {X.dtype.str} {list(X.shape)}, the session expects "
            f"{info.get('dtype')} {info.get('shape')}"
        )
    bad = first_non_finite(X)
    if bad is not None:
        raise SessionError(f"{source}: sample {bad} holds NaN or infinity (refused)")
    return X
