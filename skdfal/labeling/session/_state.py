"""The labeling state a session's journal records build: answers per pool index, copies, the batch.

Kept apart from I/O so that the same code applies a record live (``teach``)
and on replay after a crash: both paths give the same state by construction.
"""

from __future__ import annotations

import numpy as np

from ...learners._labeled import LabeledSet
from .._fs import SessionError
from ..store import decode_array

__all__ = ["LabelState", "class_label", "pool_index"]


def pool_index(index, n_pool: int) -> int:
    """``index`` as a pool position, refused unless an integer in ``[0, n_pool)``."""
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"index must be an integer pool position, got {index!r}")
    if not 0 <= int(index) < n_pool:
        raise ValueError(f"index {index} out of range: the pool has positions [0, {n_pool})")
    return int(index)


def class_label(label, class_names) -> int:
    """``label`` (a class position or name) as a class position, refused unless one of the classes."""
    if isinstance(label, str):
        if label in class_names:
            return list(class_names).index(label)
        raise ValueError(f"label {label!r} is not a class; the classes are {list(class_names)}")
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
        raise TypeError(f"label must be a class position or one of {list(class_names)}, got {label!r}")
    if not 0 <= int(label) < len(class_names):
        raise ValueError(f"label {label} out of range: the classes are positions [0, {len(class_names)})")
    return int(label)


class LabelState:
    """Each pool index's answer (a label or a skip), adversarial copies, the current batch.

    The answers are a map, pool index -> the answers kept for it, the last
    one in force.  A change to any earlier index is one record: ``relabel``
    and ``skip`` set the index's answer, ``forget`` removes it, so replaying
    the records in order gives the state, whatever came between.  An index
    holds two answers only when a skipped sample was labeled (``teach``): the
    skip stays under the label, so that ``undo`` gives it back, as journals
    written before relabelling existed expect.  ``undo`` takes back the
    answer in force with the highest sequence number.

    Parameters
    ----------
    n_pool : int
        Pool size (indices are checked against it).
    n_classes : int
    """

    def __init__(self, n_pool: int, n_classes: int):
        self.n_pool = int(n_pool)
        self.n_classes = int(n_classes)
        self.answers = {}  # pool index -> its answers (dicts with seq, op, index[, label]), last in force
        self.labels = {}  # pool index -> label in force (kept with ``answers``)
        self.skipped = set()  # pool indices whose answer in force is a skip
        self.adversarial = {}  # label seq -> adversarial copy (augmentation)
        self.queue = []  # pool indices of the current batch still to answer

    @property
    def actions(self) -> list:
        """The answers in force (labels and skips), oldest sequence number first."""
        return sorted((stack[-1] for stack in self.answers.values()), key=lambda a: a["seq"])

    def kept(self) -> list:
        """Every answer kept (a skip under a label too), oldest first: what a snapshot holds."""
        return sorted((a for stack in self.answers.values() for a in stack), key=lambda a: a["seq"])

    def check(self, index, label, where) -> None:
        """Refuse an index or label out of range (a damaged or foreign file)."""
        ok_index = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < self.n_pool
        ok_label = label is None or (
            isinstance(label, int) and not isinstance(label, bool) and 0 <= label < self.n_classes
        )
        if not (ok_index and ok_label):
            raise SessionError(f"{where}: pool index {index!r} or label {label!r} out of range")

    def _refresh(self, index) -> None:
        self.labels.pop(index, None)
        self.skipped.discard(index)
        stack = self.answers.get(index)
        if stack:
            if stack[-1]["op"] == "label":
                self.labels[index] = stack[-1]["label"]
            else:
                self.skipped.add(index)

    def _drop(self, index) -> None:
        for action in self.answers.pop(index, ()):
            self.adversarial.pop(action["seq"], None)

    def apply(self, record, copy=None) -> None:
        """Apply a ``label``, ``relabel``, ``skip`` or ``forget`` record (``copy``: a label's adversarial copy).

        ``label`` keeps a skip under it; ``relabel`` and ``skip`` replace
        whatever the index held; ``forget`` removes it.
        """
        op, index = record["op"], record["index"]
        if op == "forget":
            self._drop(index)
        else:
            action = {"seq": record["seq"], "op": "skip" if op == "skip" else "label", "index": index}
            if op == "label" and self.answers.get(index, [{}])[-1].get("op") == "skip":
                stack = self.answers[index]
            else:
                self._drop(index)
                stack = self.answers[index] = []
            if action["op"] == "label":
                action["label"] = record["label"]
                if copy is not None:
                    self.adversarial[record["seq"]] = copy
            stack.append(action)
        self._refresh(index)
        if index in self.queue:
            self.queue.remove(index)

    def latest(self) -> dict | None:
        """The answer in force with the highest sequence number (what ``undo`` takes back)."""
        return max((stack[-1] for stack in self.answers.values()), key=lambda a: a["seq"], default=None)

    def pop(self) -> dict:
        """Undo the latest answer; its sample goes back to the front of the batch."""
        action = self.latest()
        stack = self.answers[action["index"]]
        stack.pop()
        if not stack:
            del self.answers[action["index"]]
        self.adversarial.pop(action["seq"], None)
        self._refresh(action["index"])
        if action["index"] in self.queue:
            self.queue.remove(action["index"])
        self.queue.insert(0, action["index"])
        return action

    def restore(self, actions, where) -> None:
        """Load a snapshot's ``(seq, op, index, label, copy)`` answers (sorted by seq)."""
        last = 0
        for seq, op, index, label, copy in actions:
            self.check(index, label, where)
            top = self.answers.get(index, [{}])[-1].get("op")
            if seq <= last or top == op or top == "label":
                raise SessionError(f"{where}: pool index {index} appears twice")
            self.apply({"seq": seq, "op": op, "index": index, "label": label}, copy)
            last = seq

    def replay(self, record, where) -> bool:
        """Apply a journal record after checking it; returns whether the labels in force changed."""
        op, seq = record.get("op"), record["seq"]
        if op in ("label", "relabel", "skip", "forget"):
            index = record.get("index")
            label = record.get("label") if op in ("label", "relabel") else None
            if op in ("label", "relabel") and label is None:
                raise SessionError(f"{where}: record {seq} lacks a label")
            self.check(index, label, where)
            top = self.answers.get(index, [{}])[-1].get("op")
            if (op == "label" and top == "label") or (op == "skip" and top == "skip"):
                raise SessionError(f"{where}: record {seq} repeats pool index {index}")
            if op in ("relabel", "forget") and top is None:
                raise SessionError(f"{where}: record {seq} changes pool index {index}, which has no answer")
            copy = None
            if op in ("label", "relabel") and record.get("adv") is not None:
                try:
                    copy = decode_array(record["adv"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise SessionError(f"{where}: record {seq}: bad adversarial copy: {exc}") from None
            had = index in self.labels
            self.apply(record, copy)
            return had or index in self.labels
        if op == "undo":
            latest = self.latest()
            if latest is None or latest["seq"] != record.get("target"):
                raise SessionError(
                    f"{where}: record {seq} undoes {record.get('target')!r}, which is not the last label or skip"
                )
            return self.pop()["op"] == "label"
        if op == "query":
            indices = record.get("indices")
            if not isinstance(indices, list):
                raise SessionError(f"{where}: record {seq}: bad query indices")
            for index in indices:
                self.check(index, None, where)
            self.queue = list(indices)
            return False
        raise SessionError(f"{where}: record {seq} has unknown op {op!r}")

    def training_set(self, X_pool):
        """``(X, y, is_adversarial)``: labeled pool rows, then their adversarial copies."""
        labels = [a for a in self.actions if a["op"] == "label"]
        X = X_pool[np.asarray([a["index"] for a in labels], dtype=np.int64)]
        y = np.asarray([a["label"] for a in labels], dtype=np.int64)
        copies = [(self.adversarial[a["seq"]], a["label"]) for a in labels if a["seq"] in self.adversarial]
        labeled = LabeledSet.paid(X, y)
        if copies:
            labeled = labeled.with_copies(
                np.stack([c for c, _ in copies]).astype(X.dtype, copy=False),
                np.asarray([label for _, label in copies], dtype=np.int64),
            )
        return labeled.X, labeled.y, labeled.is_adversarial
