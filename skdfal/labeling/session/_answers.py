"""What a labeling session records: one answer per pool index, each change one journal record.

A mixin of :class:`~skdfal.LabelingSession`, like
:class:`~skdfal.labeling.session._model.SessionModel`.  Every change to the answers
is checked in full (index, class, what the index holds now) before anything
is written, then appended to the journal as a single record and fsync'd;
the state changes only after the append returned.  A refused call therefore
changes nothing, and a crash at any point loses nothing confirmed: the
journal holds every confirmed change or none of an unconfirmed one, and
replaying it in order gives the state (:class:`~skdfal.labeling.session._state.LabelState`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..store import encode_array
from ._state import class_label, pool_index

__all__ = ["SessionAnswers"]


class SessionAnswers:
    """Labels, relabels, skips, forgets and undo of a :class:`~skdfal.LabelingSession`."""

    @property
    def labels(self) -> dict:
        """``{pool index: label}`` of every label in force, oldest change first."""
        return {a["index"]: a["label"] for a in self._state.actions if a["op"] == "label"}

    @property
    def n_labels(self) -> int:
        return len(self._state.labels)

    @property
    def skipped(self) -> list:
        return [a["index"] for a in self._state.actions if a["op"] == "skip"]

    @property
    def history(self) -> list:
        """Labels and skips in force, oldest change first (dicts with seq, op, index[, label])."""
        return [dict(a) for a in self._state.actions]

    def answer(self, index: int) -> int | str | None:
        """The answer in force for ``index``: its label (a class position), ``"skip"``, or ``None``."""
        index = pool_index(index, len(self.X_pool))
        if index in self._state.labels:
            return self._state.labels[index]
        return "skip" if index in self._state.skipped else None

    @property
    def stale(self) -> bool:
        """Whether labels changed since the model was last trained."""
        return self._stale

    @property
    def n_instances(self) -> int:
        return int(self.config["n_instances"])

    def available_indices(self) -> np.ndarray:
        """Pool indices neither labeled nor skipped."""
        taken = np.fromiter(list(self._state.labels) + list(self._state.skipped), dtype=np.int64)
        return np.setdiff1d(np.arange(len(self.X_pool)), taken)

    def _label_fields(self, index, label) -> tuple[dict, Any]:
        fields = {"index": index, "label": label, "time": round(time.time(), 3)}
        copy = None
        if self.learner.adversarial_augmentation:
            # The copy made by the model that queried the sample (the one shown).
            copy = self._display[index] if index in self._display else self._copies([index]).get(index)
            if copy is not None:
                fields["adv"] = encode_array(copy)
        return fields, copy

    def _record(self, op, fields, copy=None) -> int:
        record = self._journal.append(op, **fields)  # durable from here on
        changes_labels = fields["index"] in self._state.labels or op in ("label", "relabel")
        self._state.apply(record, copy)
        self._stale = self._stale or changes_labels
        return record["seq"]

    def teach(self, index: int, label: int | str) -> int:
        """Record the label of pool sample ``index``; durable when this returns.

        The label is appended to the journal and fsync'd first.  With
        adversarial augmentation, the sample's DeepFool copy (made by the
        model that queried it) is journaled with it.  The model is retrained
        lazily (see the module docs).

        Parameters
        ----------
        index : int
            A pool position, not labeled yet (a skipped one may be labeled).
        label : int or str
            A class position in ``[0, n_classes)`` or one of ``class_names``.

        Returns
        -------
        seq : int
            The label's sequence number in the journal.

        Raises
        ------
        ValueError
            ``index`` outside the pool or labeled already (:meth:`relabel`
            changes a label); ``label`` not a class.
        TypeError
            ``index`` or ``label`` neither an integer nor a class name.
        OSError
            The journal could not be written or fsync'd (a full disk: ``ENOSPC``,
            an I/O error: ``EIO``).  The label is not recorded and the journal
            is left as it was, so once the cause is gone the same session goes
            on (``teach`` it again).
        SessionError
            The session is readonly or closed, or an earlier failed write
            could not be undone: then reopen the session (every label
            ``teach`` confirmed is kept).
        """
        self._writable()
        index, label = pool_index(index, len(self.X_pool)), class_label(label, self.class_names)
        if index in self._state.labels:
            raise ValueError(f"pool index {index} is labeled already (as {self._state.labels[index]}); "
                             "relabel it or undo first")
        fields, copy = self._label_fields(index, label)
        return self._record("label", fields, copy)

    def relabel(self, index: int, label: int | str) -> int | None:
        """Change the answer of an answered (labeled or skipped) sample to ``label``: one journal record.

        Whatever came after ``index`` stays as it is.  Returns the record's
        sequence number, or ``None`` when ``index`` has that label already
        (nothing is written).  Raises as :meth:`teach` does, and
        ``ValueError`` for an index without an answer (:meth:`teach` it).

        Examples
        --------
        >>> import tempfile
        >>> from skdfal import LabelingSession, load_digits_images
        >>> X, y = load_digits_images()
        >>> session = LabelingSession.create(tempfile.mkdtemp(), X[:50], query_strategy="random_sampling",
        ...                                  estimator={"max_epochs": 1})
        >>> for i in range(3):
        ...     _ = session.teach(i, 0)
        >>> _ = session.relabel(0, 5)
        >>> session.labels
        {1: 0, 2: 0, 0: 5}
        >>> session.close()
        """
        self._writable()
        index, label = pool_index(index, len(self.X_pool)), class_label(label, self.class_names)
        if index not in self._state.answers:
            raise ValueError(f"pool index {index} has no answer to change; teach it")
        if self._state.labels.get(index) == label:
            return None
        fields, copy = self._label_fields(index, label)
        return self._record("relabel", fields, copy)

    def skip(self, index: int) -> int:
        """Skip pool sample ``index`` (not queried again unless the skip is undone or forgotten).

        A labeled sample may be skipped: its label is replaced (one record).
        """
        self._writable()
        index = pool_index(index, len(self.X_pool))
        if index in self._state.skipped:
            raise ValueError(f"pool index {index} is skipped already")
        return self._record("skip", {"index": index, "time": round(time.time(), 3)})

    def forget(self, index: int) -> int | None:
        """Remove the answer of pool sample ``index`` (one record); ``None`` when it has none."""
        self._writable()
        index = pool_index(index, len(self.X_pool))
        if index not in self._state.answers:
            return None
        return self._record("forget", {"index": index, "time": round(time.time(), 3)})

    def undo(self) -> dict[str, Any] | None:
        """Undo the latest answer in force; returns it (a dict) or ``None``.

        An undo record is appended to the journal; the sample goes back to the
        front of the current batch, unanswered (or skipped, when the label
        undone was given to a skipped sample).
        """
        self._writable()
        latest = self._state.latest()
        if latest is None:
            return None
        self._journal.append("undo", target=latest["seq"], time=round(time.time(), 3))
        action = self._state.pop()
        self._stale = self._stale or action["op"] == "label"
        return action
