"""The labeling state a session's journal records build: labels, skips, copies, the batch.

Kept apart from I/O so that the same code applies a record live (``teach``)
and on replay after a crash: both paths give the same state by construction.
"""

from __future__ import annotations

import numpy as np

from ..learners._labeled import LabeledSet
from ._formats import decode_array
from ._fs import SessionError

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
    """Labels and skips in force (a stack, for undo), adversarial copies, the current batch.

    Parameters
    ----------
    n_pool : int
        Pool size (indices are checked against it).
    n_classes : int
    """

    def __init__(self, n_pool: int, n_classes: int):
        self.n_pool = int(n_pool)
        self.n_classes = int(n_classes)
        self.actions = []  # labels and skips in force, in order: dicts with seq, op, index[, label]
        self.labels = {}  # pool index -> label, in teaching order
        self.skipped = set()
        self.adversarial = {}  # label seq -> adversarial copy (augmentation)
        self.queue = []  # pool indices of the current batch still to answer

    def check(self, index, label, where) -> None:
        """Refuse an index or label out of range (a damaged or foreign file)."""
        ok_index = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < self.n_pool
        ok_label = label is None or (
            isinstance(label, int) and not isinstance(label, bool) and 0 <= label < self.n_classes
        )
        if not (ok_index and ok_label):
            raise SessionError(f"{where}: pool index {index!r} or label {label!r} out of range")

    def apply(self, record, copy=None) -> None:
        """Add a label or skip record (``copy``: the label's adversarial copy, if any)."""
        action = {key: record[key] for key in ("seq", "op", "index")}
        if record["op"] == "label":
            action["label"] = record["label"]
            self.labels[record["index"]] = record["label"]
            if copy is not None:
                self.adversarial[record["seq"]] = copy
        else:
            self.skipped.add(record["index"])
        self.actions.append(action)
        if record["index"] in self.queue:
            self.queue.remove(record["index"])

    def pop(self) -> dict:
        """Undo the last label or skip; its sample goes back to the front of the batch."""
        action = self.actions.pop()
        if action["op"] == "label":
            del self.labels[action["index"]]
            self.adversarial.pop(action["seq"], None)
        else:
            self.skipped.discard(action["index"])
        self.queue.insert(0, action["index"])
        return action

    def replay(self, record, where):
        """Apply a journal record after checking it; returns the label/skip it added or undid."""
        op, seq = record.get("op"), record["seq"]
        if op in ("label", "skip"):
            index, label = record.get("index"), record.get("label") if op == "label" else None
            if op == "label" and label is None:
                raise SessionError(f"{where}: record {seq} lacks a label")
            self.check(index, label, where)
            if index in (self.labels if op == "label" else self.skipped):
                raise SessionError(f"{where}: record {seq} repeats pool index {index}")
            copy = None
            if record.get("adv") is not None:
                try:
                    copy = decode_array(record["adv"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise SessionError(f"{where}: record {seq}: bad adversarial copy: {exc}") from None
            self.apply(record, copy)
            return self.actions[-1]
        if op == "undo":
            if not self.actions or self.actions[-1]["seq"] != record.get("target"):
                raise SessionError(
                    f"{where}: record {seq} undoes {record.get('target')!r}, which is not the last label or skip"
                )
            return self.pop()
        if op == "query":
            indices = record.get("indices")
            if not isinstance(indices, list):
                raise SessionError(f"{where}: record {seq}: bad query indices")
            for index in indices:
                self.check(index, None, where)
            self.queue = list(indices)
            return None
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
