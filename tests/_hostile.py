"""Helpers for tests that attack session folders: a time bound, sentinels outside, damage."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

#: How long opening (and a little labeling) may take before it counts as hanging.
TIME_BOUND = 30.0


def make_template(directory, X, y, *, n_labels=6):
    """A closed session with a snapshot (weights included) and journal records after it."""
    from skdfal.labeling import LabelingSession

    session = LabelingSession.create(directory, X[:120], query_strategy="random_sampling",
                                     estimator={"max_epochs": 1}, n_instances=4)
    for k in range(n_labels):
        index = session.current()  # the fifth retrains and snapshots
        session.teach(index, int(y[index]))
        if k == n_labels - 2:
            session.save()
    session.close(save=False)
    return Path(directory)


def copy_session(template, directory):
    shutil.copytree(template, directory, symlinks=True)
    return Path(directory)


def make_outside(root):
    """Files and a folder outside the session that nothing may touch."""
    root = Path(root)
    (root / "folder").mkdir(parents=True)
    (root / "profile.sh").write_bytes(b"export PATH=/usr/bin\n")
    (root / "notes.txt").write_bytes(b"precious\n" * 10)
    for k in range(3):
        (root / "folder" / f"keep-{k}.npy").write_bytes(bytes([k]) * 100)
    return root


def fingerprint(root):
    """Every entry under ``root``: kind, bytes and mtime (a change anywhere shows)."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        st = path.lstat()
        data = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
        out[str(path.relative_to(root))] = (stat.S_IFMT(st.st_mode), data, st.st_mtime_ns)
    return out


def unblock_fifos(directory):
    """Open every named pipe under ``directory`` from the other end so a blocked reader or writer returns."""
    for path in Path(directory).rglob("*"):
        if path.is_fifo():
            for flags in (os.O_WRONLY | os.O_NONBLOCK, os.O_RDONLY | os.O_NONBLOCK):
                try:
                    os.close(os.open(path, flags))
                except OSError:
                    pass


def call_within(fn, directory, seconds=TIME_BOUND):
    """``fn()`` in a thread; fails the test if it does not return within ``seconds``.

    Returns the exception it raised (or ``None``).  A call blocked on a named
    pipe is released afterwards, so a failing test does not hang the suite.
    """
    outcome = {}

    def run():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for _ in range(20):
            unblock_fifos(directory)
            thread.join(0.5)
            if not thread.is_alive():
                break
        pytest.fail(f"opening {directory} did not return within {seconds} s (it blocked)")
    return outcome.get("error")


def open_and_use(directory, readonly=False):
    """Open, and when writable label one sample, save and close: every path that writes."""
    from skdfal.labeling import LabelingSession

    session = LabelingSession(directory, readonly=readonly)
    try:
        if not readonly:
            index = session.current()
            if index is not None:
                session.teach(index, 0)
            session.save()
    finally:
        session.close()


def snapshot_file(directory, key):
    manifest = json.loads((Path(directory) / "snapshot.json").read_text())
    return Path(directory) / "snapshots" / manifest["files"][key]["name"]


def fix_checksums(directory):
    """Make the checksums in ``snapshot.json`` and ``session.json`` match the files again.

    A hostile folder can do that as easily as damage a file, so the loaders,
    not the checksums, must stand in the way.
    """
    directory = Path(directory)
    for manifest_name in ("snapshot.json", "session.json"):
        path = directory / manifest_name
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_size > 1 << 22:
                continue
            manifest = json.loads(path.read_text())
        except (ValueError, RecursionError, OSError):
            continue
        if not isinstance(manifest, dict):
            continue
        entries = []
        if isinstance(manifest.get("files"), dict):
            entries = [(e, directory / "snapshots" / str(e.get("name"))) for e in manifest["files"].values()
                       if isinstance(e, dict)]
        if isinstance(manifest.get("pool"), dict):
            entries.append((manifest["pool"], directory / "pool.npy"))
        for entry, file in entries:
            if file.is_file() and not file.is_symlink():
                entry["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
        path.write_text(json.dumps(manifest))


def npy_claiming(shape, dtype="<i8", payload=b""):
    """A ``.npy`` file whose header claims ``shape`` but that holds ``payload`` after it."""
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + payload


def digits_pool(n=120):
    from skdfal import load_digits_images

    X, y = load_digits_images()
    return np.asarray(X[:n]), np.asarray(y[:n])
