"""A frozen backbone runs once per pool sample: one embedding cache for training the head and scoring.

With ``freeze=True`` the backbone's output for a sample never changes, so
:class:`SeededNeuralNetClassifier` keeps what the head receives for every
sample it has met (in fit, and in head-space scoring through
:func:`~skdfal.utils.head_space_model`) and trains the head on those
embeddings: the backbone then runs once per sample, not once per sample per
epoch per round.

* A sample's key is a hash of its bytes (with dtype and shape), so the cache
  serves every subset of the pool in any order, whatever the learner does
  with its arrays.
* The whole cache is keyed by a fingerprint of what makes an embedding: the
  module's class, every state-dict entry outside the head (weights, batch-norm
  statistics) and the net's input preparation (shape, scale, per-channel
  statistics).  A changed fingerprint gives a new, empty cache; a new net of
  the same fingerprint (the clone a learner refits, the learner a labeling
  session builds per retrain) finds the embeddings already computed.
* Rows live in memory, or with ``embedding_cache=DIR`` in ``.npy`` memory maps
  of ``CHUNK_ROWS`` rows in a fresh folder under ``DIR`` (removed with the
  cache), written as :func:`~skdfal.strategies.pool_embeddings` writes its
  map: a pool larger than memory is read and scored a batch at a time.

Scoring uses it whenever the backbone is frozen.  Training uses it only where
it cannot change what is learned: array input, no input augmentation (a
shifted or flipped image has another embedding, so a ``RandomShift`` that
shifts or flips keeps the slow path rather than being dropped) and no
:class:`SemiSupervised` callback (FixMatch augments its inputs).  Elsewhere
the net trains through the backbone as before.  ``"auto"`` input statistics
are re-learned at every fit from scratch: the fingerprint then changes with
the training set, and the cache is refilled once a round (still one
backbone pass per round instead of one per epoch).
"""

from __future__ import annotations

import collections
import hashlib
import os
import shutil
import tempfile
import weakref
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from skorch.utils import to_numpy

from ..utils._heads import find_head, unwrap_logits
from ..utils._torch import head_space_model
from ._semi import SemiSupervised
from ._training import RandomShift

__all__ = ["CHUNK_ROWS", "EmbeddingCache", "cache_for", "check_embedding_cache", "on_embeddings", "scoring_lookup"]

#: Rows per stored chunk (one ``.npy`` memory map each with a folder).
CHUNK_ROWS = 4096
#: The backbone runs on batches of this many missing samples.
_BATCH = 256
#: The cache of each net, by identity: never pickled, cloned or copied with it.
_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Caches by (fingerprint, folder): a new net with the same frozen backbone finds the embeddings
#: (a learner's ``fit`` trains a clone, a labeling session builds a learner per retrain).
_BY_FINGERPRINT: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
#: The last caches made or met stay alive after their nets are gone (the next round's net
#: is often built after the last one was dropped); older ones go with their nets.
_RECENT: collections.deque = collections.deque(maxlen=2)


def check_embedding_cache(value: Any) -> Any:
    """``"auto"``, ``False`` or a folder path; anything else is a ``ValueError``."""
    if isinstance(value, str) and value == "auto":
        return value
    if value is False or isinstance(value, np.bool_) and not value:
        return False
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return value
    raise ValueError(f"embedding_cache must be 'auto', False or a folder path, got {value!r}")


class EmbeddingCache:
    """Embeddings by sample key, in memory or in memory-mapped chunks under ``directory``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.models._cached_head import EmbeddingCache
    >>> cache = EmbeddingCache()
    >>> cache.reset("fp")
    >>> cache.add([b"a", b"b"], np.ones((2, 3), dtype=np.float32))
    >>> cache.find([b"b", b"c"]).tolist(), cache.rows(np.array([1])).shape
    ([1, -1], (1, 3))
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.directory = directory
        self.fingerprint: str | None = None
        self.n_computed = 0  # embeddings computed (backbone runs per sample) since creation
        self._index: dict[bytes, int] = {}
        self._chunks: list[np.ndarray] = []
        self._folder: str | None = None
        self._finalizer = None

    def __len__(self) -> int:
        return len(self._index)

    def reset(self, fingerprint: str) -> None:
        """Forget every row (another backbone or input preparation made them)."""
        self._index, self._chunks, self.fingerprint = {}, [], fingerprint
        if self._finalizer is not None:
            self._finalizer()  # the old maps' folder goes with them
            self._finalizer = self._folder = None

    def find(self, keys) -> np.ndarray:
        """Row of each key, ``-1`` for a key not stored."""
        return np.fromiter((self._index.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))

    def add(self, keys, z: np.ndarray) -> None:
        """Store embeddings ``z`` (one row per key)."""
        z = np.asarray(z, dtype=np.float32)
        for key, row in zip(keys, z, strict=True):
            if key in self._index:
                continue
            n = len(self._index)
            if n // CHUNK_ROWS == len(self._chunks):
                self._chunks.append(self._new_chunk(row.shape))
            self._chunks[-1][n % CHUNK_ROWS] = row
            self._index[key] = n

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The stored rows ``ids``, in that order, as one in-memory float32 array."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(ids),) + self._chunks[0].shape[1:], dtype=np.float32)
        chunk, offset = np.divmod(ids, CHUNK_ROWS)
        for c in np.unique(chunk):
            mask = chunk == c
            out[mask] = self._chunks[c][offset[mask]]
        return out

    def _new_chunk(self, shape):
        if self.directory is None:
            return np.empty((CHUNK_ROWS,) + tuple(shape), dtype=np.float32)
        if self._folder is None:
            os.makedirs(self.directory, exist_ok=True)
            self._folder = tempfile.mkdtemp(prefix="skdfal-embeddings-", dir=os.fspath(self.directory))
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._folder, True)
        path = os.path.join(self._folder, f"chunk{len(self._chunks):05d}.npy")
        return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(CHUNK_ROWS,) + tuple(shape))


def sample_keys(batch: Any) -> list[bytes]:
    """One key per sample of an array or tensor batch: a hash of its dtype, shape and bytes."""
    arr = np.ascontiguousarray(to_numpy(batch) if isinstance(batch, torch.Tensor) else np.asarray(batch))
    prefix = f"{arr.dtype.str}{arr.shape[1:]}".encode()
    return [hashlib.blake2b(prefix + row.tobytes(), digest_size=16).digest() for row in arr]


def _fingerprint(net) -> str:
    """A hash of what makes the embeddings: the module's class, the backbone's state, the input preparation."""
    module = unwrap_logits(net.module_)
    name, _ = find_head(module, net.head)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{type(module).__module__}.{type(module).__qualname__}|{name}".encode())
    prep = (net.input_shape, net.input_scale, getattr(net, "input_mean_", None), getattr(net, "input_std_", None),
            net.input_mean, net.input_std)
    digest.update(repr([np.asarray(p).tolist() if p is not None and not isinstance(p, str) else p
                        for p in prep]).encode())
    for key, value in module.state_dict().items():
        if key == name or key.startswith(name + "."):
            continue  # the head trains; its weights do not make the embeddings
        value = value.detach().cpu().contiguous()
        digest.update(f"{key}|{value.dtype}|{tuple(value.shape)}".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def _usable(net) -> bool:
    """Whether the net's backbone is frozen and its cache not turned off."""
    return bool(getattr(net, "freeze", False)) and check_embedding_cache(
        getattr(net, "embedding_cache", False)) is not False


def _augments(net, X) -> bool:
    """Whether a ``RandomShift`` callback would shift or flip batches of ``X``."""
    shifts = [cb for _, cb in getattr(net, "callbacks_", []) if isinstance(cb, RandomShift)]
    if not shifts:
        return False
    sample = net.transform_input(X[:1])
    for cb in shifts:
        if cb.flip:
            return True
        if sample.ndim == 4 and cb._shift_for(sample.shape[2], sample.shape[3]) > 0:
            return True
    return False


def _net_cache(net) -> EmbeddingCache:
    """The cache of the net's fingerprint: the net's own, one another net made, or a new one."""
    setting = check_embedding_cache(net.embedding_cache)
    directory = None if setting == "auto" else setting
    fingerprint = _fingerprint(net)
    cache = _CACHES.get(net)
    if cache is not None and cache.directory == directory and cache.fingerprint == fingerprint:
        return cache
    key = (fingerprint, None if directory is None else os.fspath(directory))
    cache = _BY_FINGERPRINT.get(key)
    if cache is None:
        cache = _BY_FINGERPRINT[key] = EmbeddingCache(directory)
        cache.reset(fingerprint)
    if not any(kept is cache for kept in _RECENT):
        _RECENT.append(cache)
    _CACHES[net] = cache
    return cache


def cache_for(net, X) -> EmbeddingCache | None:
    """The net's cache when ``fit(X)`` may train the head on embeddings, else ``None``."""
    if not isinstance(X, (np.ndarray, torch.Tensor)) or not len(X) or not _usable(net):
        return None
    if any(isinstance(cb, SemiSupervised) for _, cb in getattr(net, "callbacks_", [])) or _augments(net, X):
        return None
    return _net_cache(net)


def embed(net, cache: EmbeddingCache, batch: Any) -> np.ndarray:
    """The embeddings of ``batch`` from ``cache``; the backbone runs on the samples it lacks only."""
    keys = sample_keys(batch)
    ids = cache.find(keys)
    missing = np.flatnonzero(ids < 0)
    if len(missing):
        model = head_space_model(net, net.head, cached=False)
        todo = {keys[i]: i for i in missing}  # a sample repeated in the batch runs once
        order = np.fromiter(todo.values(), dtype=np.int64)
        for start in range(0, len(order), _BATCH):
            part = order[start:start + _BATCH]
            rows = batch[torch.as_tensor(part)] if isinstance(batch, torch.Tensor) else np.asarray(batch)[part]
            z = to_numpy(model.as_tensor(rows)).astype(np.float32, copy=False)
            cache.add([keys[i] for i in part], z)
            cache.n_computed += len(part)
        ids = cache.find(keys)
    return cache.rows(ids)


@contextmanager
def on_embeddings(net, X):
    """While open, ``net`` trains its head alone; yields what to fit on (embeddings, or ``X`` unchanged)."""
    cache = cache_for(net, X)
    if cache is None:
        yield X
        return
    Z = np.concatenate([embed(net, cache, X[i:i + _BATCH]) for i in range(0, len(X), _BATCH)])
    module = net.module_
    _, head = find_head(unwrap_logits(module), net.head)
    # skorch's __setattr__ would register the head as a module of its own: bypassed.
    net.__dict__["module_"], net.__dict__["_on_embeddings"] = head, True
    try:
        yield Z
    finally:
        net.__dict__["module_"] = module
        net.__dict__.pop("_on_embeddings", None)


def scoring_lookup(net, head: str | None):
    """For head-space scoring: a function ``batch -> embeddings`` (a tensor) from the net's cache, or ``None``.

    ``None`` when the cache cannot be used (see :func:`cache_for`) or the
    strategy's ``head`` is another layer than the net's.
    """
    if not getattr(net, "initialized_", False) or not _usable(net):
        return None
    module = unwrap_logits(net.module_)
    if find_head(module, head)[1] is not find_head(module, net.head)[1]:
        return None
    cache = _net_cache(net)

    def lookup(batch):
        # float32 rows; the head model moves them to its device and dtype.
        return torch.as_tensor(embed(net, cache, batch))

    return lookup
