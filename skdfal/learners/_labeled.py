"""``LabeledSet``: the learner's training set, adversarial flags and labels paid, kept together.

DFAL trains on more rows than the oracle labeled: each queried sample may
bring a free DeepFool copy with the same label.  Four facts therefore
describe the labeled set (the rows, their labels, which rows are free copies,
how many labels were paid for) and they must change together.  A
``LabeledSet`` is never changed in place: :meth:`LabeledSet.extend` returns a new
one, so the learner swaps its set in a single assignment once every check has
passed, and a caller that kept the old set can go back to it.

The simulated-run driver (``_loop.py``) keeps its labeled set in the same
type, built from pool positions (:meth:`LabeledSet.from_pool`): it asks it
which positions are still unlabeled, and teaches the learner its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..utils._pool import concat_rows, take_rows

__all__ = ["LabeledSet"]


def _no_flags() -> np.ndarray:
    return np.zeros(0, dtype=bool)


@dataclass(frozen=True)
class LabeledSet:
    """Rows, labels, adversarial flags and labels paid of a learner's training set.

    Parameters
    ----------
    X : array-like, sparse matrix, DataFrame, list or None, default=None
        The training rows in the container the user gave (float32 arrays for
        a skorch net); ``None`` while no row is known (a learner adopting a
        pre-fitted estimator).
    y : ndarray or None, default=None
        One label per row of ``X``.
    is_adversarial : ndarray of bool, default=empty
        Which rows are free adversarial copies (labels nobody paid for).
    n_paid : int, default=0
        Labels given by the oracle.  Equal to the count of rows that are not
        copies, except for a learner that adopted a pre-fitted estimator: its
        model's own training labels are not counted.
    positions : ndarray of int or None, default=None
        Each row's position in the pool it was taken from (``-1`` for a
        free copy); ``None`` when the rows came without positions.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.learners import LabeledSet
    >>> s = LabeledSet.paid(np.zeros((2, 3)), np.array([0, 1]))
    >>> new = LabeledSet.paid(np.ones((1, 3)), np.array([1])).with_copies(np.ones((1, 3)), np.array([1]))
    >>> s = s.extend(new)
    >>> len(s), s.n_paid, s.is_adversarial.tolist()
    (4, 3, [False, False, False, True])
    """

    X: Any = None
    y: np.ndarray | None = None
    is_adversarial: np.ndarray = field(default_factory=_no_flags)
    n_paid: int = 0
    positions: np.ndarray | None = None

    @classmethod
    def from_pool(cls, X_pool: Any, y_pool: np.ndarray, positions: Any) -> LabeledSet:
        """Rows ``positions`` of a pool with their labels, every label paid, positions kept."""
        positions = np.asarray(positions, dtype=np.int64)
        return cls(take_rows(X_pool, positions), np.asarray(y_pool)[positions],
                   np.zeros(len(positions), dtype=bool), len(positions), positions)

    def unlabeled(self, n_pool: int) -> np.ndarray:
        """The pool positions not in the set, in increasing order (a set built with positions)."""
        mask = np.ones(n_pool, dtype=bool)
        if not self.empty:
            if self.positions is None:
                raise ValueError("this labeled set was built without pool positions")
            mask[self.positions[self.positions >= 0]] = False
        return np.flatnonzero(mask)

    def holds(self, positions: Any) -> np.ndarray:
        """Whether each of ``positions`` is already in the set."""
        known = () if self.empty or self.positions is None else self.positions
        return np.isin(np.asarray(positions, dtype=np.int64), known)

    @classmethod
    def paid(cls, X: Any, y: np.ndarray) -> LabeledSet:
        """A set of ``(X, y)``, every label paid for."""
        return cls(X, y, np.zeros(len(y), dtype=bool), len(y))

    @classmethod
    def restored(cls, X: Any, y: np.ndarray, is_adversarial: np.ndarray) -> LabeledSet:
        """A saved set: the rows not flagged adversarial are the paid ones."""
        return cls(X, y, is_adversarial, int((~is_adversarial).sum()))

    @property
    def empty(self) -> bool:
        """Whether no row is known yet (``X`` is ``None``)."""
        return self.X is None

    def __len__(self) -> int:
        return int(len(self.is_adversarial))

    def with_copies(self, X_adv: Any, y_adv: np.ndarray) -> LabeledSet:
        """A new set with the free adversarial copies ``(X_adv, y_adv)`` appended (no label paid)."""
        where = None if self.positions is None else np.full(len(y_adv), -1, dtype=np.int64)
        copies = LabeledSet(X_adv, np.asarray(y_adv), np.ones(len(y_adv), dtype=bool), 0, where)
        return self.extend(copies)

    def extend(self, other: LabeledSet) -> LabeledSet:
        """A new set: ``self``'s rows, then ``other``'s; labels paid add up.  Both are left as they were."""
        if self.empty:
            return LabeledSet(other.X, other.y, other.is_adversarial, self.n_paid + other.n_paid, other.positions)
        both = self.positions is not None and other.positions is not None
        return LabeledSet(
            concat_rows(self.X, other.X),
            np.concatenate([self.y, other.y]),
            np.concatenate([self.is_adversarial, other.is_adversarial]),
            self.n_paid + other.n_paid,
            np.concatenate([self.positions, other.positions]) if both else None,
        )
