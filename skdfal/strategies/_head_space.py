"""Embeddings of a pool as a net's head receives them (head-space DFAL over a frozen backbone)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from skorch.utils import to_numpy

from ..utils._pool import iter_batches, pool_length
from ..utils._torch import head_space_model
from ..utils._typing import Pool
from ..utils._validation import check_count

__all__ = ["pool_embeddings"]


def pool_embeddings(
    classifier: Any, X_pool: Pool, *, head: str | None = None, batch_size: int = 256,
    out: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """What the net's head receives for every pool sample: the backbone's embeddings.

    The net runs forward once per sample (eval mode, no gradients), batch
    by batch.  A :class:`~skdfal.SeededNeuralNetClassifier` with a frozen
    backbone keeps these embeddings itself (its ``embedding_cache``: the
    one cache that training the head and ``DFALMargin(space="head")`` read),
    so the backbone runs here only on samples the net has not met, and
    ``DFALMargin(space="head")`` needs no call to this function.  For
    another model, compute them once, then score each round with
    ``DFALMargin()(head_module, embeddings, n)`` (the margins are the same
    as ``DFALMargin(space="head")`` gives, without the backbone's forward).

    Parameters
    ----------
    classifier : object
        A fitted skorch net, a ``Pipeline`` ending in one, an active learner
        or a ``torch.nn.Module``.
    X_pool : array-like, Dataset or iterable of batches
    head : str or None, default=None
        The head's layer name (see :class:`DFALMargin`'s ``head``).
    batch_size : int, default=256
    out : path or None, default=None
        Write the embeddings to this ``.npy`` file, memory-mapped, and
        return the map (for pools whose embeddings do not fit in memory; the
        pool's length must be known).  ``None``: an in-memory array.

    Returns
    -------
    ndarray of shape (n_samples, ...), float32
        One embedding per sample, shaped as the head's input; a
        ``numpy.memmap`` with ``out``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal.strategies import pool_embeddings
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    >>> pool_embeddings(net, np.ones((5, 4), dtype=np.float32)).shape
    (5, 6)
    """
    batch_size = check_count(batch_size, "batch_size")
    model = head_space_model(classifier, head)
    n_pool = pool_length(X_pool)
    if out is not None and n_pool is None:
        raise ValueError("out= needs a pool of known length (an array, tensor or Dataset)")
    parts, stored = [], None
    for start, z in iter_batches(X_pool, batch_size, model=model):
        z = to_numpy(z).astype(np.float32, copy=False)
        if out is None:
            parts.append(z)
            continue
        if stored is None:
            stored = np.lib.format.open_memmap(os.fspath(out), mode="w+", dtype=np.float32,
                                               shape=(n_pool,) + z.shape[1:])
        stored[start:start + len(z)] = z
    if stored is not None:
        stored.flush()
        return stored
    return np.concatenate(parts)
