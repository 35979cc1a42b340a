"""One writer per labeling session: an advisory file lock plus an in-process registry.

Two writers would interleave journal records, so a session directory is
opened for writing by one :class:`~skdfal.LabelingSession` at a time.  Across
processes the kernel's ``flock`` enforces it (and drops the lock when the
holder dies, even on ``kill -9``); inside one process, where ``flock`` would
let a second descriptor of the same process through, a registry of open
sessions does, with a message that fits the usual cause: a notebook cell
re-run while its earlier session is still open.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

from ._journal import SessionError

__all__ = ["SessionLock"]

# Locks held in this process, by resolved directory (each knows its session, for the message).
_HELD = weakref.WeakValueDictionary()


class SessionLock:
    """The write lock of one session directory; :meth:`release` is idempotent."""

    def __init__(self, directory: Path, lock_file: Path, owner):
        self.directory = Path(directory)
        self.lock_file = Path(lock_file)
        self.owner = weakref.ref(owner)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> SessionLock:
        key = str(self.directory.resolve())
        other = _HELD.get(key)
        if other is not None and other.held:
            owner = other.owner()
            raise SessionError(
                f"{self.directory}: already open in this Python process by {owner!r}; call .close() "
                "on that session first (or open with readonly=True)"
            )
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks, one writer assumed
            self._fd = -1
            _HELD[key] = self
            return self
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SessionError(
                f"{self.directory}: the session is open for labeling elsewhere (another process or "
                "session object); close it there first, or open with readonly=True"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        _HELD[key] = self
        return self

    def release(self):
        if self._fd is not None and self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None
