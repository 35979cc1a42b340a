"""Issue 33, item 1: one change, one record -- relabel, skip and forget of any earlier index.

The session keeps one answer per pool index; changing an earlier answer is a
single journal record, whatever came after it, and a refused call writes
nothing.  Replaying the journal (with or without a snapshot) gives the same
state, and journals of the records written before relabelling existed
(label, skip, undo, query) replay as they did.
"""

from __future__ import annotations

import errno
import json
import warnings

import pytest

from skdfal import LabelingSession
from skdfal.labeling import _fs
from skdfal.labeling.store import _journal


def _session(directory, digits, n=40):
    X, _ = digits
    return LabelingSession.create(directory, X[:n], query_strategy="random_sampling",
                                  estimator={"train_steps": 1}, n_instances=3)


def _records(directory):
    lines = (directory / "journal.jsonl").read_bytes().splitlines()[1:]
    return [json.loads(line) for line in lines]


def _state(session):
    return session.labels, session.skipped, [(a["op"], a["index"], a.get("label")) for a in session.history]


def test_relabel_skip_and_forget_of_an_earlier_index_are_one_record_each(tmp_path, digits):
    directory = tmp_path / "s"
    session = _session(directory, digits)
    for i in range(8):
        session.teach(i, 0)
    before = len(_records(directory))
    session.relabel(0, 7)
    session.skip(1)  # a labeled sample skipped: its label goes
    session.forget(2)
    session.relabel(1, 3)  # a skip changed into a label
    records = _records(directory)[before:]
    assert [(r["op"], r["index"]) for r in records] == [("relabel", 0), ("skip", 1), ("forget", 2), ("relabel", 1)]
    assert session.labels == {3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 0: 7, 1: 3}
    assert session.answer(2) is None and session.answer(0) == 7
    assert session.relabel(0, 7) is None  # the same label again: nothing written
    assert len(_records(directory)) == before + 4
    state = _state(session)
    session.close(save=False)  # as a crash: the journal alone
    with LabelingSession(directory) as again:
        assert _state(again) == state
        again.save()  # and from a snapshot holding them
    with LabelingSession(directory, readonly=True) as again:
        assert _state(again) == state


def test_a_refused_change_writes_nothing(tmp_path, digits):
    directory = tmp_path / "s"
    session = _session(directory, digits)
    for i in range(3):
        session.teach(i, 1)
    session.skip(5)
    journal = (directory / "journal.jsonl").read_bytes()
    state = _state(session)
    for call, error in [(lambda: session.relabel(0, 99), ValueError), (lambda: session.relabel(0, "cat"), ValueError),
                        (lambda: session.relabel(9, 1), ValueError), (lambda: session.relabel(0, True), TypeError),
                        (lambda: session.teach(0, 2), ValueError), (lambda: session.skip(5), ValueError),
                        (lambda: session.forget(40), ValueError), (lambda: session.relabel(-1, 1), ValueError)]:
        with pytest.raises(error):
            call()
    assert session.forget(9) is None  # nothing to forget: nothing written
    assert (directory / "journal.jsonl").read_bytes() == journal
    assert _state(session) == state
    session.close()


def test_undo_takes_back_the_latest_answer_and_old_journals_replay(tmp_path, digits):
    """The records of earlier versions (label over a skip, undo of both) give the state they gave."""
    directory = tmp_path / "s"
    session = _session(directory, digits)
    session.teach(0, 1)
    session.skip(5)
    session.teach(5, 2)  # a skipped sample labeled: the skip stays under the label
    session.teach(6, 3)
    assert session.undo()["index"] == 6
    assert session.undo() == {"seq": 3, "op": "label", "index": 5, "label": 2}
    assert session.skipped == [5]  # the skip is back, as before relabelling existed
    session.relabel(0, 4)
    assert session.undo()["index"] == 0 and session.labels == {}  # the relabel was the latest answer
    assert [r["op"] for r in _records(directory)] == ["label", "skip", "label", "label", "undo",
                                                      "undo", "relabel", "undo"]
    state = _state(session)
    session.close(save=False)
    with LabelingSession(directory) as again:
        assert _state(again) == state
        assert again.undo()["index"] == 5 and again.skipped == []


class _FailOnce:
    """``os`` for the session's file code, failing the k-th write or fsync once (half a write first)."""

    def __init__(self, k, code):
        self.k, self.code, self.calls, self.faults = k, code, 0, 0

    def __getattr__(self, name):
        return getattr(__import__("os"), name)

    def _due(self):
        self.calls += 1
        return self.calls == self.k

    def write(self, fd, data):
        import os

        if self._due():
            os.write(fd, bytes(data)[: max(1, len(data) // 2)])
            self.faults += 1
            raise OSError(self.code, os.strerror(self.code))
        return os.write(fd, data)

    def fsync(self, fd):
        import os

        if self._due():
            self.faults += 1
            raise OSError(self.code, os.strerror(self.code))
        return os.fsync(fd)


@pytest.mark.slow
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
def test_every_write_and_fsync_of_relabel_skip_and_forget_failing_once_loses_nothing(tmp_path, digits,
                                                                                      monkeypatch, code):
    """k over the 6 calls of a relabel, a skip and a forget (a write and an fsync each)."""
    for k in range(1, 7):
        directory = tmp_path / f"s{k}-{code}"
        session = _session(directory, digits)
        for i in range(4):
            session.teach(i, 0)
        expected = {"labels": dict(session.labels), "skipped": []}
        layer = _FailOnce(k, code)
        monkeypatch.setattr(_fs, "os", layer)
        monkeypatch.setattr(_journal, "os", layer)
        changes = [(lambda s=session: s.relabel(0, 5), lambda e: e["labels"].__setitem__(0, 5)),
                   (lambda s=session: s.skip(1), lambda e: (e["labels"].pop(1), e["skipped"].append(1))),
                   (lambda s=session: s.forget(2), lambda e: e["labels"].pop(2))]
        for call, done in changes:
            try:
                call()
            except OSError:
                call()  # the space is freed: the same session object goes on
            done(expected)
        monkeypatch.undo()
        assert layer.faults == 1
        session.close(save=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no torn or damaged line
            with LabelingSession(directory, readonly=True) as again:
                assert again.labels == expected["labels"] and again.skipped == expected["skipped"], k
