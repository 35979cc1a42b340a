"""Issue 13, case by case: a session folder must not write outside itself, block, or crash its reader.

Each test is one case of the issue; each failed on skdfal before the fix.
Only the public API is used, so the same file runs against any version.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from _hostile import (
    call_within,
    copy_session,
    digits_pool,
    fingerprint,
    fix_checksums,
    make_outside,
    make_template,
    npy_claiming,
    open_and_use,
    snapshot_file,
)

from skdfal.labeling import LabelingSession, SessionError

posix_only = pytest.mark.skipif(os.name != "posix", reason="symbolic links and named pipes as POSIX has them")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    X, y = digits_pool()
    return make_template(tmp_path_factory.mktemp("template") / "s", X, y)


@pytest.fixture
def session_dir(template, tmp_path):
    return copy_session(template, tmp_path / "s")


@pytest.fixture
def outside(tmp_path):
    return make_outside(tmp_path / "outside")


def _attempt(directory, readonly=False):
    """Open and use the folder within the time bound; returns the exception (or None)."""
    return call_within(lambda: open_and_use(directory, readonly=readonly), directory)


# ------------------------------------------------ a session folder writing outside itself
@posix_only
def test_lock_linked_outside_is_refused_not_truncated(session_dir, outside):
    (session_dir / "lock").unlink(missing_ok=True)
    (session_dir / "lock").symlink_to(outside / "profile.sh")
    before = fingerprint(outside)
    error = _attempt(session_dir)
    assert isinstance(error, SessionError) and "lock" in str(error), error
    assert fingerprint(outside) == before


@posix_only
def test_torn_journal_file_linked_outside_is_refused_not_appended(session_dir, outside):
    with open(session_dir / "journal.jsonl", "ab") as fh:
        fh.write(b'echo pwned >> ~/.bashrc')  # a torn tail, as a crash mid-append leaves
    (session_dir / "journal.jsonl.torn").symlink_to(outside / "profile.sh")
    before = fingerprint(outside)
    error = _attempt(session_dir)
    assert isinstance(error, SessionError) and "journal.jsonl.torn" in str(error), error
    assert fingerprint(outside) == before


@posix_only
def test_snapshots_linked_to_an_outside_folder_are_refused_not_emptied(session_dir, outside):
    # The real snapshot files live outside, beside files of the user's: the old
    # code opened the session through the link and its first save deleted them.
    for path in (session_dir / "snapshots").iterdir():
        path.rename(outside / "folder" / path.name)
    (session_dir / "snapshots").rmdir()
    (session_dir / "snapshots").symlink_to(outside / "folder", target_is_directory=True)
    before = fingerprint(outside)
    error = _attempt(session_dir)
    assert isinstance(error, SessionError) and "snapshots" in str(error), error
    assert fingerprint(outside) == before


@posix_only
def test_journal_linked_outside_is_refused_not_appended(session_dir, outside):
    target = outside / "journal-copy.jsonl"
    (session_dir / "journal.jsonl").rename(target)
    (session_dir / "journal.jsonl").symlink_to(target)
    before = fingerprint(outside)
    error = _attempt(session_dir)
    assert isinstance(error, SessionError) and "journal.jsonl" in str(error), error
    assert fingerprint(outside) == before


@posix_only
@pytest.mark.parametrize("name", ["journal.jsonl", "lock"])
def test_file_hard_linked_from_outside_is_not_written_in_place(session_dir, outside, name):
    target = outside / f"{name}-copy"
    (session_dir / name).rename(target)
    os.link(target, session_dir / name)
    before = fingerprint(outside)
    error = _attempt(session_dir)
    assert isinstance(error, SessionError) and name in str(error), error
    assert fingerprint(outside) == before


@posix_only
@pytest.mark.parametrize("readonly", [False, True], ids=["writable", "readonly"])
@pytest.mark.parametrize("name", ["session.json", "journal.jsonl", "snapshot.json"])
def test_named_pipe_is_refused_not_waited_on(session_dir, name, readonly):
    (session_dir / name).unlink()
    os.mkfifo(session_dir / name)
    start = time.monotonic()
    error = _attempt(session_dir, readonly=readonly)
    assert isinstance(error, SessionError) and name in str(error), error
    assert time.monotonic() - start < 10


# ------------------------------------------------ malformed files: SessionError naming the file
@pytest.mark.parametrize("key", ["labels", "skips"])
def test_npy_header_claiming_a_huge_shape_is_refused(session_dir, key):
    path = snapshot_file(session_dir, key)
    path.write_bytes(npy_claiming((2**40, 4 if key == "labels" else 2), payload=b"\0" * 64))
    fix_checksums(session_dir)
    error = _attempt(session_dir, readonly=True)
    assert isinstance(error, SessionError) and path.name in str(error), error


def test_npy_header_of_gigabytes_is_refused(session_dir):
    path = snapshot_file(session_dir, "labels")
    path.write_bytes(b"\x93NUMPY\x02\x00" + (2**31).to_bytes(4, "little") + b"{'descr': " * 100)
    fix_checksums(session_dir)
    error = _attempt(session_dir, readonly=True)
    assert isinstance(error, SessionError) and path.name in str(error), error


def test_pool_header_claiming_a_huge_shape_is_refused(session_dir):
    path = session_dir / "pool.npy"
    config = json.loads((session_dir / "session.json").read_text())
    shape = [2**36, *config["pool"]["shape"][1:]]
    path.write_bytes(npy_claiming(shape, dtype=config["pool"]["dtype"], payload=b"\0" * 4096))
    config["pool"]["shape"] = shape
    (session_dir / "session.json").write_text(json.dumps(config))
    fix_checksums(session_dir)
    error = _attempt(session_dir, readonly=True)
    assert isinstance(error, SessionError) and "pool.npy" in str(error), error


def _nest(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("name", ["session.json", "snapshot.json"])
def test_deeply_nested_json_is_refused(session_dir, name):
    text = (session_dir / name).read_text()
    (session_dir / name).write_text(text.replace('"version": 1', f'"version": 1, "x": {_nest(100_000)}', 1))
    error = _attempt(session_dir, readonly=True)
    assert isinstance(error, SessionError) and name in str(error), error


def test_deeply_nested_journal_line_is_refused(session_dir):
    with open(session_dir / "journal.jsonl", "ab") as fh:
        fh.write(f'{{"op": "label", "x": {_nest(100_000)}}}\n'.encode())
        fh.write(b'{"op": "skip"}\n')  # not the last line: an error, not a torn tail
    error = _attempt(session_dir, readonly=True)
    assert isinstance(error, SessionError) and "journal.jsonl" in str(error), error


@pytest.mark.parametrize("name, key", [("session.json", "random_state"), ("snapshot.json", "generation"),
                                       ("session.json", "n_instances")])
def test_5000_digit_integer_is_refused(session_dir, name, key):
    text = (session_dir / name).read_text()
    obj = json.loads(text)
    obj[key] = 0
    (session_dir / name).write_text(json.dumps(obj).replace(f'"{key}": 0', f'"{key}": {"9" * 5000}'))
    error = _attempt(session_dir, readonly=True)
    assert isinstance(error, SessionError) and name in str(error), error


@pytest.mark.parametrize("key, value", [("device", "cuda:7"), ("device", "tpu"), ("criterion", "nope"),
                                        ("criterion", "torch.nn.MSELoss"), ("module", "resnet9000"),
                                        ("lr", -1), ("max_epochs", 0), ("train_steps", 0),
                                        ("train_steps", "fast"), ("callbacks", "os.system")])
def test_unknown_device_criterion_or_module_in_the_spec_is_refused(session_dir, key, value):
    config = json.loads((session_dir / "session.json").read_text())
    config["estimator"][key] = value
    (session_dir / "session.json").write_text(json.dumps(config))
    error = _attempt(session_dir, readonly=True)
    assert isinstance(error, SessionError) and "session.json" in str(error) and key in str(error), error


@pytest.mark.parametrize("spec", [{"name": "os.system"}, {"name": "dfal", "params": {"evil": 1}},
                                  {"name": ["dfal"]}, {"name": "random", "params": [1]}])
def test_unknown_strategy_in_the_spec_is_refused(session_dir, spec):
    config = json.loads((session_dir / "session.json").read_text())
    config["strategy"] = spec
    (session_dir / "session.json").write_text(json.dumps(config))
    error = _attempt(session_dir, readonly=True)
    assert isinstance(error, SessionError) and "session.json" in str(error), error


# ------------------------------------------------ create: exclusive, all or nothing
class _SlowPool:
    """A pool that takes a while to read (a slow disk), widening any race in create."""

    def __init__(self, X, seconds):
        self.X, self.seconds = X, seconds

    def __array__(self, dtype=None, copy=None):
        time.sleep(self.seconds)
        return self.X


@pytest.mark.parametrize(
    "bad",
    [{"estimator": {"module": "resnet9000", "max_epochs": 1}}, {"random_state": -1}, {"initial_labels": ([0, 1], [3, 99])},
     {"initial_labels": ([0, 0], [3, 4])}, {"device": "cuda:99"}, {"n_instances": 2.5}],
    ids=["unknown-module", "bad-random-state", "label-out-of-range", "index-twice", "no-such-device",
         "fractional-batch"],
)
@pytest.mark.parametrize("exists", [False, True], ids=["new-folder", "empty-folder"])
def test_failed_create_leaves_the_folder_as_it_was(tmp_path, bad, exists):
    X, y = digits_pool(40)
    directory = tmp_path / "s"
    if exists:
        directory.mkdir()
    with pytest.raises(ValueError):
        LabelingSession.create(directory, X, **{"query_strategy": "random_sampling",
                                                "estimator": {"max_epochs": 1}, **bad})
    assert directory.exists() == exists and (not exists or list(directory.iterdir()) == [])
    # Neither a half session nor a held lock stands in the way now.
    with LabelingSession.create(directory, X, query_strategy="random_sampling",
                                estimator={"max_epochs": 1}) as session:
        session.teach(session.current(), 1)
    with LabelingSession(directory) as again:
        assert again.n_labels == 1


def test_create_refuses_a_folder_that_holds_something_else(tmp_path):
    X, _ = digits_pool(40)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match="not empty"):
        LabelingSession.create(tmp_path / "s", X, query_strategy="random_sampling")
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["thesis.tex"]


def test_nan_pool_is_refused_before_anything_is_written(tmp_path):
    X, _ = digits_pool(40)
    X = X.copy()
    X[7, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="X_pool.*NaN"):
        LabelingSession.create(tmp_path / "s", X, query_strategy="random_sampling")
    assert not (tmp_path / "s").exists()


def test_dropped_session_releases_its_lock(tmp_path):
    X, _ = digits_pool(40)
    session = LabelingSession.create(tmp_path / "s", X, query_strategy="random_sampling",
                                     estimator={"max_epochs": 1})
    session.teach(session.current(), 2)
    del session  # no close(): a notebook cell re-run
    gc.collect()
    with LabelingSession(tmp_path / "s") as again:
        assert again.n_labels == 1


def test_open_keeps_temporaries_of_live_processes(session_dir):
    # A process still writing (as a concurrent create or save did) keeps its temporary file.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = session_dir / f".pool.npy.tmp-{sleeper.pid}-0123abcd"
        live.write_bytes(b"half written")
        finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True, check=True)
        dead = session_dir / f".journal.jsonl.tmp-{int(finished.stdout)}-89abcdef"
        dead.write_bytes(b"left by a crash")
        with LabelingSession(session_dir):
            pass
        assert live.read_bytes() == b"half written"
        assert not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


# ------------------------------------------------ the session API
def test_query_counts_and_labels_are_checked(session_dir):
    with LabelingSession(session_dir) as session:
        for bad in (2.5, -1, 0, True, "3"):
            with pytest.raises(ValueError, match="n_instances"):
                session.query(bad)
        assert len(session.query(np.int64(2))) == 2
        index = session.current()
        with pytest.raises(ValueError, match="label"):
            session.teach(index, 10)
        with pytest.raises(ValueError, match="label"):
            session.teach(index, "cat")
        with pytest.raises(ValueError, match="label"):
            session.teach(index, -1)
        session.teach(index, "3")  # a class name
        assert session.labels[index] == 3


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_refused_when_the_session_is_built(session_dir, tmp_path):
    X, _ = digits_pool(40)
    with pytest.raises(ValueError, match="device"):
        LabelingSession.create(tmp_path / "new", X, query_strategy="random_sampling", device="cuda")
    assert not (tmp_path / "new").exists()
    with pytest.raises(ValueError, match="device"):
        LabelingSession(session_dir, device="cuda")
    with LabelingSession(session_dir, device="cpu") as session:  # the lock was not kept
        assert session.n_labels == 6


# ------------------------------------------------ where O_NOFOLLOW and openat are missing (Windows)
@posix_only
@pytest.mark.parametrize("damage", ["none", "journal-link", "snapshots-link", "session-fifo"])
def test_path_based_fallback_keeps_the_same_promises(session_dir, outside, monkeypatch, damage):
    from skdfal.labeling import _fs

    monkeypatch.setattr(_fs, "_AT", False)
    monkeypatch.setattr(_fs, "_NOFOLLOW", 0)
    monkeypatch.setattr(_fs, "_FLAGS", _fs._FLAGS & ~os.O_NOFOLLOW)
    if damage == "journal-link":
        (session_dir / "journal.jsonl").rename(outside / "journal.jsonl")
        (session_dir / "journal.jsonl").symlink_to(outside / "journal.jsonl")
    elif damage == "snapshots-link":
        (session_dir / "snapshots").rename(outside / "snapshots")
        (session_dir / "snapshots").symlink_to(outside / "snapshots", target_is_directory=True)
    elif damage == "session-fifo":
        (session_dir / "session.json").unlink()
        os.mkfifo(session_dir / "session.json")
    before = fingerprint(outside)
    error = _attempt(session_dir)
    if damage == "none":
        assert error is None
        with LabelingSession(session_dir, readonly=True) as session:
            assert session.n_labels == 7  # six, and the one open_and_use taught
    else:
        assert isinstance(error, SessionError), error
    assert fingerprint(outside) == before
