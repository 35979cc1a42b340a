"""Pool rows given back by position, whatever the pool: the rows DFAL screening attacks exactly.

Screening reads the pool once for first-order margins, then needs a few
rows again (the probe and the shortlist).  An indexable pool is read again;
a stream keeps the rows it may need while it goes by.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..utils._pool import iter_batches, take_rows
from ..utils._warnings import warn_user

__all__ = ["MIN_HELD_ROWS", "PROBE_SIZE", "RowSource"]

#: The probe holds between PROBE_SIZE and 2 * PROBE_SIZE evenly spaced samples.
PROBE_SIZE = 128
#: A stream keeps at least this many rows of the smallest first-order margins.
MIN_HELD_ROWS = 1024


class RowSource:
    """Gives back pool rows by position, whatever the pool.

    Indexable pools (arrays, memmaps, map-style Datasets, sequential
    DataLoaders) are read again with ``take_rows``: nothing is held while the
    pool streams by.  Other pools keep, while streaming, the rows (as the net
    sees them) of the probe and of the ``held`` smallest first-order margins;
    rows beyond those are read in a second pass when the pool can be iterated
    again in the same order (a list of batches), and otherwise left out with a
    warning (a generator, a shuffling DataLoader).
    """

    def __init__(self, pool, n_known, held):
        self.pool = pool
        self.indexable = n_known is not None and _can_take_rows(pool)
        self.held = max(int(held), MIN_HELD_ROWS)
        self.stride, self.probe = 1, {}  # position -> row (None for indexable pools)
        self.keep_pos, self.keep_key, self.keep_rows = [], [], []
        self.limit = math.inf  # first-order margins above it are not among the held

    def offer(self, start, margins, x):
        """See one screened batch: note the probe's positions, keep rows if needed."""
        positions = np.arange(start, start + len(margins))
        for p in positions[positions % self.stride == 0].tolist():
            # A clone: a view would keep its whole batch alive.
            self.probe[p] = None if self.indexable else x[p - start].clone()
        while len(self.probe) > 2 * PROBE_SIZE:  # thin to every other grid point
            self.stride *= 2
            self.probe = {p: r for p, r in self.probe.items() if p % self.stride == 0}
        if self.indexable:
            return
        keep = np.flatnonzero(margins <= self.limit)
        if len(keep):
            self.keep_pos.append(positions[keep])
            self.keep_key.append(margins[keep])
            self.keep_rows.append(x[torch.as_tensor(keep, device=x.device)])
        if sum(map(len, self.keep_pos)) > 2 * self.held:
            self._compact()

    def _compact(self):
        # Best by (margin, position), as the shortlist is ordered.
        pos, key = np.concatenate(self.keep_pos), np.concatenate(self.keep_key)
        best = np.lexsort((pos, key))[: self.held]
        rows = torch.cat(self.keep_rows)
        self.keep_pos, self.keep_key = [pos[best]], [key[best]]
        self.keep_rows = [rows[torch.as_tensor(best, device=rows.device)]]
        if len(best) == self.held:
            self.limit = float(key[best[-1]])

    def probe_positions(self):
        return np.array(sorted(self.probe), dtype=np.int64)

    def rows(self, positions, batch_size, model):
        """``(which, x)``: rows ``positions[which]`` in the net's input space, in batches."""
        if self.indexable:
            for lo in range(0, len(positions), batch_size):
                raw = take_rows(self.pool, positions[lo : lo + batch_size])
                # Rows the screening pass has checked already (validate once).
                for start, x in iter_batches(raw, batch_size, model=model, check_finite=False):
                    yield np.arange(lo + start, lo + start + len(x)), x
            return
        if len(self.keep_pos) > 1:
            self._compact()
        held = dict(zip(self.keep_pos[0].tolist(), self.keep_rows[0], strict=True)) if self.keep_pos else {}
        held.update(self.probe)
        missing = [p for p in positions.tolist() if p not in held]
        if missing:
            held.update(self._read_again(missing, batch_size, model))
        which = np.array([i for i, p in enumerate(positions.tolist()) if p in held], dtype=np.int64)
        for lo in range(0, len(which), batch_size):
            part = which[lo : lo + batch_size]
            yield part, torch.stack([held[int(positions[i])] for i in part])

    def _read_again(self, missing, batch_size, model):
        """The rows at ``missing`` from a second pass, when the pool allows one."""
        # An iterator is used up by the first pass; a shuffling DataLoader
        # would give other rows at the same positions.
        if iter(self.pool) is self.pool or isinstance(self.pool, torch.utils.data.DataLoader):
            warn_user(
                f"X_pool cannot be read again in the same order, and the shortlist needs "
                f"{len(missing)} rows besides the {self.held} kept while screening: those samples "
                "are left out, so the picks are exact only among the rows kept. Pass an array, "
                "memmap, Dataset or list of batches instead.",
            )
            return {}
        wanted, found = set(missing), {}
        for start, x in iter_batches(self.pool, batch_size, model=model, check_finite=False):
            for p in wanted.intersection(range(start, start + len(x))):
                found[p] = x[p - start].clone()
        return found


def _can_take_rows(pool) -> bool:
    """Whether ``take_rows`` gives a row by its position in the pool as iterated."""
    if isinstance(pool, torch.utils.data.DataLoader):
        return isinstance(pool.sampler, torch.utils.data.SequentialSampler) and not isinstance(
            pool.dataset, torch.utils.data.IterableDataset
        )
    return not isinstance(pool, torch.utils.data.IterableDataset)
