"""Pool containers for the tests: the same samples as an array, memmap, Dataset, DataLoader ...

Every container that skdfal's pool reader (``skdfal/utils/_pool.py``) takes
for image samples: numpy arrays (a strided view, a raw ``np.memmap``, a
``.npy`` file opened with ``mmap_mode``), torch tensors, any array-like with
``shape``, ``dtype`` and slicing (h5py, zarr), map-style Datasets of ``x`` or
``(x, y)`` items, DataLoaders (over a map-style or an iterable Dataset), and
iterables of batches (a generator, a list of tensors).  Sparse matrices and
DataFrames hold 2-D tables, not images: tests/test_any_input.py has them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset


class ArrayDataset(Dataset):
    """Items are bare numpy samples (no label)."""

    def __init__(self, X):
        self.X = X

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i]


class SampleStream(IterableDataset):
    """An iterable Dataset of ``(x, y)`` samples, for a DataLoader to batch."""

    def __init__(self, X):
        self.X = X

    def __iter__(self):
        for x in self.X:
            yield torch.from_numpy(x.copy()), 0


class ReadCountingArray:
    """An array-like (as h5py's and zarr's) that counts the rows it hands out.

    Reads through ``__getitem__`` and ``__array__`` add up in ``rows_read``;
    a pool read once has ``rows_read == len(self)``.
    """

    def __init__(self, X):
        self._X = np.asarray(X)
        self.shape, self.dtype = self._X.shape, self._X.dtype
        self.rows_read = 0

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        out = self._X[key]
        self.rows_read += len(out) if np.ndim(out) == self._X.ndim else 1
        return out

    def __array__(self, dtype=None, copy=None):
        self.rows_read += len(self._X)
        return self._X if dtype is None else self._X.astype(dtype)


def make_pool(kind, X, tmp_path):
    """The samples of ``X`` in container ``kind`` (a fresh one per call: generators run once)."""
    y = torch.zeros(len(X), dtype=torch.long)
    if kind == "memmap":
        path = tmp_path / "pool.dat"
        mm = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
        mm[:] = X
        mm.flush()
        del mm
        return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)
    if kind == "npy_memmap":
        path = tmp_path / "pool.npy"
        np.save(path, X)
        return np.load(path, mmap_mode="r")
    if kind == "strided":  # every other row of a twice-repeated array: a view, not C-contiguous
        return np.repeat(X, 2, axis=0)[::2]
    if kind == "array_like":
        return ReadCountingArray(X)
    if kind == "tensor":
        return torch.from_numpy(X.copy())
    if kind == "dataset_xy":
        return TensorDataset(torch.from_numpy(X.copy()), y)
    if kind == "dataset_x":
        return ArrayDataset(X.copy())
    if kind == "dataloader":
        return DataLoader(TensorDataset(torch.from_numpy(X.copy()), y), batch_size=7, shuffle=False)
    if kind == "iterable_loader":
        return DataLoader(SampleStream(X), batch_size=5)
    if kind == "generator":
        return (X[i : i + 9].copy() for i in range(0, len(X), 9))
    if kind == "batch_list":
        return [torch.from_numpy(X[i : i + 11].copy()) for i in range(0, len(X), 11)]
    raise AssertionError(kind)


POOL_KINDS = ["memmap", "npy_memmap", "strided", "array_like", "tensor", "dataset_xy", "dataset_x",
              "dataloader", "iterable_loader", "generator", "batch_list"]
