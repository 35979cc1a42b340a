"""Type aliases of the public annotations: the numpydoc types, in typing's words.

They are plain runtime objects (nothing is imported only for type checkers),
so ``typing.get_type_hints`` resolves every annotation that uses them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # already imported by scikit-learn
import torch

__all__ = ["Device", "Pool", "QueryResult", "RandomStateLike", "Rows", "SparseMatrix"]

if TYPE_CHECKING:
    SparseMatrix: TypeAlias = sp.spmatrix | sp.sparray
else:  # scipy < 1.11 has no sparray (its sparse arrays are spmatrix subclasses there)
    SparseMatrix = sp.spmatrix | getattr(sp, "sparray", sp.spmatrix)

#: Samples in one of the containers skdfal reads and returns rows of: array-likes (numpy
#: arrays and memmaps, lists, pandas DataFrames), torch tensors and scipy sparse matrices.
Rows: TypeAlias = npt.ArrayLike | torch.Tensor | SparseMatrix

#: An unlabeled pool (see :func:`skdfal.utils.iter_pool`): rows, a torch ``Dataset`` (items
#: ``x`` or ``(x, y)``), a ``DataLoader`` or any other iterable of batches.
Pool: TypeAlias = Rows | torch.utils.data.Dataset | Iterable[Any]

#: scikit-learn's ``random_state``: a seed, a ``RandomState``, or ``None`` for fresh draws.
RandomStateLike: TypeAlias = int | np.random.RandomState | None

#: A torch device, as a name (``"cpu"``, ``"cuda:1"``) or an object.
Device: TypeAlias = str | torch.device

#: What a query strategy returns (modAL's protocol): pool positions, most informative first,
#: and the utility of each.
QueryResult: TypeAlias = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]
