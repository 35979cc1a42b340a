"""Memory handed back while a pool streams by: free heap pages, and the rows of a memmap already read.

A pass over millions of samples must keep a flat resident set: glibc keeps
freed heap holes mapped, and a file mapping counts every page it touched.
"""

from __future__ import annotations

import ctypes
import functools
import mmap

import numpy as np

__all__ = ["memmap_releaser", "release_free_heap"]


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to do
        return None


def release_free_heap() -> bool:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``).

    Batches of varying size (DeepFool's shrinking active sets) leave free
    holes in glibc's heap that it keeps mapped: over a 1,000,000-sample pass
    the resident set grew by some 60-80 bytes a sample without this, and
    stays flat with it (docs/performance.md).  Lowering glibc's mmap
    threshold does the same but made scoring about 1.9x slower.  Returns
    whether there was anything to call.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def memmap_releaser(pool):
    """For a read-only (or shared read-write) ``np.memmap``: a function that
    drops rows ``[start, stop)`` from this process's resident memory.

    Pages of a file mapping count in the resident set once touched and stay
    there until the kernel needs the memory, so a pass over a pool larger
    than memory would make the process look (and be accounted) as large as
    the file.  Telling the kernel we are done with the rows already scored
    keeps the resident set bounded by the batch size.  The data are not
    lost: the file and the page cache keep them, and touching the rows again
    reads them back.  Copy-on-write maps (mode ``"c"``) are left alone, since
    dropping their pages would discard the caller's in-memory edits.
    """
    mm = getattr(pool, "_mmap", None)
    if (
        not isinstance(pool, np.memmap)
        or mm is None
        or getattr(pool, "mode", None) not in ("r", "r+")
        or not hasattr(mm, "madvise")
        or not hasattr(mmap, "MADV_DONTNEED")
        or not pool.flags.c_contiguous
        or pool.ndim == 0
    ):
        return None
    view = np.frombuffer(mm, dtype=np.uint8)
    base, size = view.ctypes.data, view.size
    del view  # an exported buffer would stop the memmap from closing
    first = pool.ctypes.data - base
    row = pool.strides[0] if pool.shape[0] > 0 else 0
    page = mmap.PAGESIZE

    def release(start, stop):
        # Whole pages only; a page shared with the next batch is read back
        # from the page cache if needed.
        lo = (first + start * row) // page * page
        hi = min((first + stop * row) // page * page, size // page * page)
        if hi > lo:
            mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)

    return release
