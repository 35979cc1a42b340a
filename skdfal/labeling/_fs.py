"""The files of a session folder, opened so that the folder cannot turn them against its user.

A session folder may come from someone else (a shared drive, an archive), and
``skdfal label`` opens it for writing.  Every file operation therefore goes
through a :class:`SessionDir`, which holds these rules in one place:

* **names, not paths** -- a file is named by a plain name inside the folder;
  on POSIX the folder is held open and every name is resolved against that
  descriptor (``openat``), so swapping a sub-folder for a link midway changes
  nothing;
* **no links, no special files** -- opens add ``O_NOFOLLOW`` and
  ``O_NONBLOCK`` and then check with ``fstat`` that a regular file was opened:
  a symbolic link is refused instead of followed, a named pipe or a device is
  refused instead of blocking or streaming forever (where ``O_NOFOLLOW`` does
  not exist, ``lstat`` is checked before opening and compared after); a file
  written in place (the journal) must have no other hard link;
* **bounded reads** -- a file is read only up to a limit that its role allows;
* **atomic writes** -- a temporary file in the same folder, fsync'd, renamed
  over the target, then the folder fsync'd: a crash leaves the old file or
  the new one, never half of one, and a failed write or fsync (a full disk,
  an I/O error) removes the temporary file and raises, leaving the old one;
* **one way to the disk** -- every byte a session writes goes through
  :func:`write_all` (``os.write``) and is made durable with ``os.fsync``, so
  the handling of a failing disk is in few places (and a test can stand in
  for ``os`` to fail each of those calls);
* **private** -- files are created ``0600`` and folders ``0700``: labels
  can be personal data;
* **removal by name only** -- the session deletes files it named itself (its
  snapshots, its temporaries) and only temporaries of processes that are gone.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

__all__ = ["SessionDir", "SessionError", "SessionWarning", "process_gone", "write_all"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FLAGS = _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# Resolve names against a held folder descriptor where the platform can (not Windows).
_AT = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd and os.scandir in os.supports_fd
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.tmp-(?P<pid>\d{1,10})-[0-9a-f]{8}")


class SessionError(ValueError):
    """A session file is missing, corrupt, foreign, unsafe or from a newer skdfal."""


class SessionWarning(UserWarning):
    """Something in a session directory was repaired or skipped (nothing taught was lost)."""


def process_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs on this machine (``False`` when unsure)."""
    if pid == os.getpid() or os.name != "posix" or pid <= 0:
        return False  # where liveness cannot be asked, a temporary file is kept: it is harmless
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False  # alive under another account, or not a pid this system can have
    return False


def write_all(fd, data) -> None:
    """Write all of ``data`` at ``fd``'s position; an ``OSError`` may leave part of it written."""
    view = memoryview(data).cast("B")
    while view:  # os.write may write less than asked
        view = view[os.write(fd, view):]


class _RawFile:
    """What an :meth:`SessionDir.atomic_write` callback writes to: the descriptor, unbuffered."""

    def __init__(self, fd):
        self._fd = fd

    def write(self, data) -> int:
        write_all(self._fd, data)
        return memoryview(data).nbytes


def _is_link(st) -> bool:
    # Windows junctions and other reparse points are links too.
    return stat.S_ISLNK(st.st_mode) or bool(getattr(st, "st_reparse_tag", 0))


class SessionDir:
    """A folder whose files are opened by name, without following links or blocking.

    Parameters
    ----------
    path : path-like
        The folder (it may itself be reached through a link: the user named
        it; nothing inside it is followed).
    """

    def __init__(self, path, *, _fd=None):
        self.path = Path(path)
        self._fd = _fd
        if _fd is None and _AT:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
            except FileNotFoundError:
                raise SessionError(f"{self.path}: missing; is this a skdfal session directory?") from None
            except NotADirectoryError:
                raise SessionError(f"{self.path}: not a directory") from None
        elif _fd is None and not self.path.is_dir():
            raise SessionError(f"{self.path}: missing or not a directory")

    # ------------------------------------------------------------- the folder
    def where(self, name) -> Path:
        """The path of ``name`` (for messages and for the user)."""
        return self.path / name

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _at(self, name):
        # Plain names only: a name from a file never reaches outside the folder.
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or os.sep in name or "\0" in name:
            raise SessionError(f"{self.path}: invalid file name {name!r}")
        return {"dir_fd": self._fd} if self._fd is not None else {}

    def _target(self, name):
        return name if self._fd is not None else str(self.path / name)

    def lstat(self, name):
        """``lstat`` of ``name`` (``None`` when it does not exist)."""
        try:
            return os.stat(self._target(name), follow_symlinks=False, **self._at(name))
        except FileNotFoundError:
            return None

    def names(self) -> list[str]:
        """The names in the folder."""
        with os.scandir(self._fd if self._fd is not None else self.path) as entries:
            return sorted(entry.name for entry in entries)

    def check_entries(self) -> None:
        """Refuse a folder holding a link or anything but regular files and folders."""
        for name in self.names():
            st = self.lstat(name)
            if st is None:
                continue
            if _is_link(st):
                raise SessionError(f"{self.where(name)}: a symbolic link in a session folder (refused)")
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise SessionError(f"{self.where(name)}: not a regular file or folder (refused)")

    def subdir(self, name, *, create=False) -> SessionDir:
        """The sub-folder ``name``, refused if it is a link; made when ``create``."""
        if create:
            try:
                os.mkdir(self._target(name), 0o700, **self._at(name))
            except FileExistsError:
                pass
            else:
                self.fsync()
        st = self.lstat(name)
        if st is None:
            raise SessionError(f"{self.where(name)}: missing")
        if _is_link(st) or not stat.S_ISDIR(st.st_mode):
            raise SessionError(f"{self.where(name)}: not a plain folder (a link or a file; refused)")
        if self._fd is None:
            return SessionDir(self.where(name))
        try:
            fd = os.open(name, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=self._fd)
        except OSError as exc:
            raise SessionError(f"{self.where(name)}: cannot open the folder ({exc.strerror}; refused)") from None
        return SessionDir(self.where(name), _fd=fd)

    def fsync(self) -> None:
        """fsync the folder so that a rename or a new file in it survives a crash."""
        if os.name != "posix":  # Windows cannot open folders; NTFS journals renames.
            return
        if self._fd is not None:
            os.fsync(self._fd)
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # --------------------------------------------------------------- reading
    def open(self, name, flags=os.O_RDONLY, mode=0o600) -> int:
        """A descriptor of the regular file ``name``: never a link, a pipe or a device.

        Raises ``FileNotFoundError`` when it does not exist (callers say what
        that means) and :class:`SessionError` naming the file when it is not
        a regular file.
        """
        before = None
        if not _NOFOLLOW:  # no O_NOFOLLOW (Windows): look first, compare after
            before = self.lstat(name)
            if before is not None and _is_link(before):
                raise SessionError(f"{self.where(name)}: a symbolic link (refused)")
        try:
            fd = os.open(self._target(name), flags | _FLAGS, mode, **self._at(name))
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            if exc.errno in (errno.ELOOP, errno.EMLINK, getattr(errno, "EFTYPE", -1)):
                raise SessionError(f"{self.where(name)}: a symbolic link (refused)") from None
            if exc.errno in (errno.ENXIO, errno.EISDIR, errno.ENODEV):
                raise SessionError(f"{self.where(name)}: not a regular file (refused)") from None
            raise SessionError(f"{self.where(name)}: cannot open ({exc.strerror})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise SessionError(f"{self.where(name)}: not a regular file (a pipe, device or folder; refused)")
            if before is not None and st.st_ino and not os.path.samestat(before, st):
                raise SessionError(f"{self.where(name)}: replaced while being opened (refused)")
            if flags & (os.O_WRONLY | os.O_RDWR) and st.st_nlink > 1:
                # Writing in place into a file linked from elsewhere would write there too.
                raise SessionError(f"{self.where(name)}: has other hard links; not written in place (refused)")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def exists(self, name) -> bool:
        return self.lstat(name) is not None

    def read_bytes(self, name, limit: int) -> bytes:
        """The whole of ``name``, refused beyond ``limit`` bytes."""
        try:
            fd = self.open(name)
        except FileNotFoundError:
            raise SessionError(f"{self.where(name)}: missing; is this a skdfal session directory?") from None
        with os.fdopen(fd, "rb") as fh:
            return read_bounded(fh, limit, self.where(name))

    # --------------------------------------------------------------- writing
    def atomic_write(self, name, write) -> None:
        """Write ``name`` all or nothing: ``write(fh)`` fills a temporary file that replaces it.

        ``fh.write`` goes straight to the descriptor (unbuffered).  If the
        rename happened but the folder's fsync then fails, the new file is in
        place and the error is raised all the same.
        """
        self._at(name)
        tmp = f".{name}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
        fd = self.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            try:
                write(_RawFile(fd))
                os.fsync(fd)
            finally:
                os.close(fd)
            if self._fd is not None:
                os.replace(tmp, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
            else:
                os.replace(self.where(tmp), self.where(name))
        except OSError as exc:
            self.unlink(tmp)
            raise _naming(exc, self.where(name)) from exc
        except BaseException:
            self.unlink(tmp)
            raise
        try:
            self.fsync()
        except OSError as exc:
            raise _naming(exc, self.where(name)) from exc

    def write_bytes(self, name, data: bytes) -> None:
        self.atomic_write(name, lambda fh: fh.write(data))

    def unlink(self, name) -> None:
        """Remove ``name`` itself (a link is removed, never what it points to); no error if absent."""
        try:
            os.unlink(self._target(name), **self._at(name))
        except FileNotFoundError:
            pass

    def remove_stale_temporaries(self, owned) -> list[str]:
        """Delete temporaries that crashed writers left: only of files ``owned(name)`` accepts.

        A temporary is named ``.<file>.tmp-<pid>-<random>``; it is removed
        only if it is a regular file and process ``pid`` is gone, so a writer
        still at work (another process creating or saving) keeps its file.
        """
        removed = []
        for name in self.names():
            match = _TEMPORARY.fullmatch(name)
            if match is None or not owned(match["name"]) or not process_gone(int(match["pid"])):
                continue
            st = self.lstat(name)
            if st is not None and stat.S_ISREG(st.st_mode) and not _is_link(st):
                self.unlink(name)
                removed.append(name)
        return removed


def _naming(exc: OSError, path) -> OSError:
    """``exc`` naming the file it failed to write (a full disk says only "No space left").

    The same class and errno (``OSError(errno, ...)`` picks the subclass),
    so callers that handle a full disk or a permission error still do;
    a :class:`SessionError` already names its file and is kept as it is.
    """
    if isinstance(exc, SessionError) or exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


def read_bounded(fh, limit: int, where) -> bytes:
    """Read ``fh`` to its end, refusing more than ``limit`` bytes."""
    chunks, total = [], 0
    while True:
        block = fh.read(min(1 << 24, limit + 1 - total))
        if not block:
            return b"".join(chunks)
        chunks.append(block)
        total += len(block)
        if total > limit:
            raise SessionError(f"{where}: larger than {limit:,} bytes, more than this file can hold (refused)")
