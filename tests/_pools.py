"""Pool containers for the tests: the same samples as an array, memmap, Dataset, DataLoader ..."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset


class ArrayDataset(Dataset):
    """Items are bare numpy samples (no label)."""

    def __init__(self, X):
        self.X = X

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i]


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
    if kind == "tensor":
        return torch.from_numpy(X.copy())
    if kind == "dataset_xy":
        return TensorDataset(torch.from_numpy(X.copy()), y)
    if kind == "dataset_x":
        return ArrayDataset(X.copy())
    if kind == "dataloader":
        return DataLoader(TensorDataset(torch.from_numpy(X.copy()), y), batch_size=7, shuffle=False)
    if kind == "generator":
        return (X[i : i + 9].copy() for i in range(0, len(X), 9))
    if kind == "batch_list":
        return [torch.from_numpy(X[i : i + 11].copy()) for i in range(0, len(X), 11)]
    raise AssertionError(kind)


POOL_KINDS = ["memmap", "tensor", "dataset_xy", "dataset_x", "dataloader", "generator", "batch_list"]
