"""Issue 23, item 2: a reader never sees a half-replaced snapshot while another process retrains.

A read-only open reads ``snapshot.json``, then the files it names.  A
writer committing a new generation in between must not take those files
away (it keeps the previous generation until its next commit), and when
two commits come in between the reader must start again from the new
``snapshot.json`` instead of reporting a missing file as damage.

The window is made reproducible with a hook in the reader: right after it
has read ``snapshot.json`` it waits for (or makes) a commit.  The last test
does it with a writer in another process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skdfal.labeling import LabelingSession, SessionError
from skdfal.labeling.store import _snapshot

REPO = Path(__file__).resolve().parents[1]


def _make(directory, digits, n_labels=6):
    X, y = digits
    session = LabelingSession.create(directory, X[:80], query_strategy="random_sampling",
                                     estimator={"train_steps": 1}, n_instances=4)
    labels = {}
    for _ in range(n_labels):
        index = session.current()
        session.teach(index, int(y[index]))
        labels[index] = int(y[index])
    session.retrain()  # a snapshot with weights
    return session, labels


def _generation(directory):
    return json.loads((Path(directory) / "snapshot.json").read_bytes())["generation"]


def _snapshot_files(directory):
    return sorted(p.name for p in (Path(directory) / "snapshots").iterdir() if not p.name.startswith("."))


def _after_manifest(monkeypatch, action):
    """Call ``action(generation)`` each time a reader has just read ``snapshot.json`` (not re-entered)."""
    real = _snapshot.load_json
    busy = []

    def load_json(folder, name, **kwargs):
        manifest = real(folder, name, **kwargs)
        if name == "snapshot.json" and not busy:
            busy.append(True)
            try:
                action(manifest.get("generation"))
            finally:
                busy.pop()
        return manifest

    monkeypatch.setattr(_snapshot, "load_json", load_json)


def test_a_commit_keeps_the_previous_generation_until_the_next(tmp_path, digits):
    session, _ = _make(tmp_path / "s", digits)
    first = _generation(session.directory)
    manifest = json.loads((session.directory / "snapshot.json").read_text())
    names = {entry["name"] for entry in manifest["files"].values()}
    session.retrain()
    assert names <= set(_snapshot_files(session.directory))  # the replaced snapshot's files stay
    session.retrain()
    files = _snapshot_files(session.directory)
    assert not names & set(files)  # ... until the commit after
    assert {int(name.split("-")[1].split(".")[0]) for name in files} == {first + 1, first + 2}
    session.close(save=False)


def test_a_reader_overtaken_by_one_commit_reads_the_snapshot_it_followed(tmp_path, digits, monkeypatch):
    writer, labels = _make(tmp_path / "s", digits)
    commits = []

    def commit_once(generation):
        if not commits:
            writer.retrain()  # another process retraining, right after the reader read snapshot.json
            commits.append(generation)

    _after_manifest(monkeypatch, commit_once)
    with LabelingSession(writer.directory, readonly=True) as reader:
        assert reader.labels == labels and not reader.stale  # weights of the generation it followed
    assert commits and _generation(writer.directory) == commits[0] + 1
    writer.close(save=False)


def test_a_reader_overtaken_by_two_commits_starts_again(tmp_path, digits, monkeypatch):
    writer, labels = _make(tmp_path / "s", digits)
    followed = []

    def commit_twice(generation):
        followed.append(generation)
        if len(followed) == 1:
            writer.retrain()
            writer.retrain()  # the generation the reader followed is gone now

    _after_manifest(monkeypatch, commit_twice)
    with LabelingSession(writer.directory, readonly=True) as reader:
        assert reader.labels == labels and not reader.stale
    assert followed[0] + 2 == _generation(writer.directory) in followed[1:]  # it moved on to the newest
    writer.close(save=False)


@pytest.mark.slow  # retrains the session 16 times
def test_a_reader_gives_up_on_a_snapshot_that_never_holds_still(tmp_path, digits, monkeypatch):
    writer, _ = _make(tmp_path / "s", digits)
    _after_manifest(monkeypatch, lambda generation: (writer.retrain(), writer.retrain()))
    with pytest.raises(SessionError, match=r"snapshot\.json: replaced 8 times while being read.*try again"):
        LabelingSession(writer.directory, readonly=True)
    writer.close(save=False)


def test_damaged_snapshot_files_are_not_retried(tmp_path, digits, monkeypatch):
    """Nothing moved: a missing file is reported at once, naming it."""
    session, _ = _make(tmp_path / "s", digits)
    session.close(save=False)
    manifest = json.loads((session.directory / "snapshot.json").read_text())
    (session.directory / "snapshots" / manifest["files"]["weights"]["name"]).unlink()
    reads = []
    _after_manifest(monkeypatch, reads.append)
    with pytest.raises(SessionError, match=r"weights-\d+\.pt: missing"):
        LabelingSession(session.directory, readonly=True)
    assert len(reads) <= 2  # snapshot.json followed, then at most once more to see that it did not move


def test_a_failed_commit_never_rewrites_the_files_of_a_committed_snapshot(tmp_path, digits, monkeypatch):
    """The folder fsync after the commit fails: snapshot.json is new, the session was told it failed."""
    from skdfal.labeling import _fs

    session, labels = _make(tmp_path / "s", digits)
    real_fsync, calls = _fs.SessionDir.fsync, []

    def fsync(folder):
        if folder.path == session.directory:  # the session folder: only the commit fsyncs it here
            calls.append(folder.path)
            if len(calls) == 1:
                raise OSError(5, "Input/output error")
        return real_fsync(folder)

    session.teach(session.current(), 0)
    monkeypatch.setattr(_fs.SessionDir, "fsync", fsync)
    with pytest.raises(OSError, match="Input/output error"):
        session.save()  # committed all the same
    committed = {p.name: p.read_bytes() for p in (session.directory / "snapshots").iterdir()}
    assert _generation(session.directory) == session._generation + 1  # new on disk, not in the session
    monkeypatch.undo()
    session.teach(session.current(), 1)
    session.save()
    for name, data in committed.items():  # no name reused with other bytes
        path = session.directory / "snapshots" / name
        assert not path.exists() or path.read_bytes() == data
    labels = session.labels
    session.close(save=False)
    with LabelingSession(session.directory, readonly=True) as again:
        assert again.labels == labels


def test_a_planted_snapshot_file_numbered_beyond_reach_is_not_counted_from(tmp_path, digits):
    """Generation numbers go above the files in snapshots/, but not above what snapshot.json can hold."""
    session, labels = _make(tmp_path / "s", digits)
    planted = session.directory / "snapshots" / f"weights-{10**30}.pt"
    planted.write_bytes(b"not ours")
    session.retrain()
    session.close(save=False)
    assert not planted.exists()  # an older generation's name: removed by the commit
    with LabelingSession(session.directory, readonly=True) as again:
        assert again.labels == labels and not again.stale


WRITER = r"""
import os, sys, time
import torch

torch.set_num_threads(1)
from skdfal.labeling import LabelingSession

directory, stop, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
session = LabelingSession(directory)
print("ready", flush=True)
commits, deadline = 0, time.monotonic() + 240
while not os.path.exists(stop) and time.monotonic() < deadline and commits < 2000:
    session.retrain()  # fits and commits a new snapshot generation
    commits += 1
    time.sleep(pause)
session.close(save=False)
print(f"commits {commits}", flush=True)
"""


@pytest.mark.slow
def test_readers_in_one_process_while_another_retrains(tmp_path, digits, monkeypatch):
    """Two processes: one commits snapshots in a loop, this one opens read-only in a loop."""
    session, labels = _make(tmp_path / "s", digits)
    directory = session.directory
    session.close(save=False)
    stop = tmp_path / "stop"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    errors = tmp_path / "writer.err"  # a file, not a pipe: warnings cannot fill it and stall the writer
    with open(errors, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(stop), "0.3"],
                                stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=REPO)
    paused = []

    def wait_for_a_commit(generation):
        """Hold the reader between snapshot.json and the files it names until the writer commits."""
        if not paused or paused[-1] is not None:
            return
        deadline = time.monotonic() + 60
        while _generation(directory) == generation:
            assert proc.poll() is None and time.monotonic() < deadline, f"the writer stopped: {errors.read_text()}"
            time.sleep(0.002)
        paused[-1] = generation

    failures = []
    try:
        assert proc.stdout.readline().strip() == "ready", errors.read_text()
        _after_manifest(monkeypatch, wait_for_a_commit)
        for attempt in range(30):
            # Every other open is held until a commit; the rest run at natural timing.
            paused.append(None if attempt % 2 == 0 else "natural")
            try:
                with LabelingSession(directory, readonly=True) as reader:
                    assert reader.labels == labels and not reader.stale
            except SessionError as exc:
                failures.append(f"open {attempt}: {exc}")
        stop.touch()
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, errors.read_text()
    assert sum(isinstance(p, int) for p in paused) == 15  # every held open saw a commit
    assert not failures, f"{len(failures)} of 30 read-only opens failed:\n" + "\n".join(failures)
    assert int(out.split()[-1]) >= 15
    generations = {int(name.split("-")[1].split(".")[0]) for name in _snapshot_files(directory)}
    assert len(generations) <= 2  # the current one and the one it replaced
