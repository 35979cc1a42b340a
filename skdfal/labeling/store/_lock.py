"""One writer per labeling session: a file lock across processes, a registry inside one.

Two writers would interleave journal records, and two creators would
replace each other's files, so a session folder is opened for writing (or
created) by one holder at a time.  Across processes :mod:`filelock` holds
the ``lock`` file (``flock`` on POSIX, a Windows file lock there; the kernel
drops it when the holder dies, even on ``kill -9``); it never waits: a busy
session is an immediate :class:`SessionError`.  Inside one process a
registry of held locks answers first, with a message that fits the usual
cause: a notebook cell re-run while its earlier session is still open.

The ``lock`` file is only ever created or opened as a regular file: a link
or a pipe in its place is refused, never followed.
"""

from __future__ import annotations

import os
import stat
import threading
import weakref

from .._fs import SessionError

__all__ = ["SessionLock"]

# Locks held in this process, by real folder path.
_HELD = weakref.WeakValueDictionary()
_HELD_GUARD = threading.Lock()


class SessionLock:
    """The write lock of one session folder; :meth:`release` is idempotent.

    Parameters
    ----------
    folder : SessionDir
        The session folder.
    name : str
        The lock file's name in it.
    owner : object
        Named in the message a second opener in this process gets.
    """

    def __init__(self, folder, name, owner=None):
        self.folder, self.name = folder, name
        self.path = folder.where(name)
        self._owner = weakref.ref(owner) if owner is not None else (lambda: None)
        self.created_file = False  # whether acquiring made the lock file (a failed create removes it)
        self._lock = None
        self._key = os.path.normcase(os.path.realpath(folder.path))

    def set_owner(self, owner) -> None:
        """The session now holding the lock (named to a second opener in this process)."""
        self._owner = weakref.ref(owner)

    @property
    def held(self) -> bool:
        return self._lock is not None

    def acquire(self) -> SessionLock:
        """Take the lock now or raise :class:`SessionError` (never waits)."""
        import filelock

        with _HELD_GUARD:
            other = _HELD.get(self._key)
            if other is not None and other.held:
                raise SessionError(
                    f"{self.folder.path}: already open in this Python process by {other._owner()!r}; call "
                    ".close() on that session first (or open with readonly=True)"
                )
            st = self.folder.lstat(self.name)
            if st is not None and (stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode) or st.st_nlink > 1):
                raise SessionError(f"{self.path}: not a plain file (a link, pipe or folder; refused)")
            lock = filelock.FileLock(self.path, timeout=0, thread_local=False)
            try:
                lock.acquire()
            except filelock.Timeout:
                raise SessionError(
                    f"{self.folder.path}: the session is open for labeling elsewhere, or being created "
                    "(by another process or session object); close it there first, or open with readonly=True"
                ) from None
            except OSError as exc:  # a link swapped in after the look above: O_NOFOLLOW refused it
                raise SessionError(f"{self.path}: cannot take the lock ({exc.strerror}; refused)") from None
            self.created_file = st is None
            self._lock = lock
            _HELD[self._key] = self
        return self

    def release(self, *, remove_file=False) -> None:
        """Release the lock; ``remove_file``: also delete the lock file (a create that failed).

        The file goes while the lock is still held, so no other process can
        hold a lock on a file that is then removed under it.
        """
        lock, self._lock = self._lock, None
        if lock is None:
            return
        remove = remove_file and self.created_file
        try:
            if remove and os.name == "posix":
                self.folder.unlink(self.name)
        finally:
            lock.release(force=True)
        if remove and os.name != "posix":  # Windows cannot remove an open file; filelock may have already
            self.folder.unlink(self.name)
