"""The label journal: the append-only source of truth of a labeling session.

One JSON line per record, each with a sequence number and a checksum,
appended with a single ``write`` and fsync'd before the call returns; a torn
or corrupt *last* line (a crash mid-append) is reported with a warning and
dropped, a corrupt line elsewhere is an error naming the file and line.  The
journal is opened once, through :class:`~skdfal.labeling._fs.SessionDir`
(never through a link, never a pipe), read with a size bound, and the same
descriptor then appends.

An append that fails (a full disk, an I/O error, at the write or at the
fsync) is undone before the error is raised: the file is truncated back to
the size it had after the last confirmed record, so the next record starts
on a line of its own instead of being glued to half a record.  After a
failed fsync the record may or may not have reached the disk, so it is
treated as never confirmed and removed too.  If that truncation (or its
fsync) fails as well, the journal closes and every later append refuses
with a :class:`SessionError` until the session is reopened, which drops a
torn tail as after a crash.
"""

from __future__ import annotations

import hashlib
import json
import os

from ...utils._warnings import warn_user
from .._fs import SessionError, SessionWarning, _naming, write_all

__all__ = ["Journal"]


def _checksum(record: dict) -> str:
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


class Journal:
    """Append-only JSON-lines journal: a header line, then one record per line.

    Every record carries ``seq`` (strictly increasing) and ``check`` (a
    checksum of the rest of the record).  :meth:`append` returns only once the
    line is on disk (``fsync``); when it raises instead, the file is as it
    was before the call (or, if even that cannot be ensured, the journal is
    :attr:`broken` and refuses appends until it is opened again).

    Parameters
    ----------
    folder : SessionDir
        The session folder.
    name : str
        The journal's file name in it.
    journal_id : str
        Written in the header; a journal with another id is refused (it
        belongs to another session).
    limit : int
        The most bytes the journal may hold (a larger file is refused).
    """

    FORMAT = "skdfal-journal"
    VERSION = 1

    def __init__(self, folder, name: str, journal_id: str, *, limit: int):
        self.folder, self.name = folder, name
        self.path = folder.where(name)
        self.journal_id = journal_id
        self.limit = int(limit)
        self._fd = None
        self.last_seq = 0
        self._size = 0  # bytes up to the end of the last confirmed record
        self._broken = None  # why appending stopped: a failed append that could not be undone

    @property
    def closed(self) -> bool:
        """Whether the journal is not open for appending (never opened, closed, or broken)."""
        return self._fd is None

    @property
    def broken(self) -> str | None:
        """Why the journal refuses appends after a write it could not undo (``None``: it does not)."""
        return self._broken

    # -- reading
    def read(self, *, on_corrupt="raise", keep_open=False):
        """All valid records, in order.

        A torn or corrupt last line is skipped with a :class:`SessionWarning`;
        a corrupt line elsewhere raises :class:`SessionError` unless
        ``on_corrupt="skip"`` (then it is skipped with a warning).  With
        ``keep_open``, the journal stays open for :meth:`open_for_append`.

        Returns
        -------
        records : list of dict
        valid_bytes : int
            Length of the valid prefix of the file (the header and the records
            kept, up to a torn tail).
        """
        if on_corrupt not in ("raise", "skip"):
            raise ValueError(f"on_corrupt must be 'raise' or 'skip', got {on_corrupt!r}")
        try:
            fd = self.folder.open(self.name, (os.O_RDWR | os.O_APPEND) if keep_open else os.O_RDONLY)
        except FileNotFoundError:
            raise SessionError(f"{self.path}: missing; is this a skdfal session directory?") from None
        try:
            data = self._read_all(fd)
            result = self._parse(data, on_corrupt)
        except BaseException:
            os.close(fd)
            raise
        if keep_open:
            self._fd = fd
        else:
            os.close(fd)
        return result

    def _read_all(self, fd) -> bytes:
        if os.fstat(fd).st_size > self.limit:
            raise SessionError(f"{self.path}: larger than {self.limit:,} bytes (refused)")
        os.lseek(fd, 0, os.SEEK_SET)
        chunks, total = [], 0
        while block := os.read(fd, min(1 << 24, self.limit + 1 - total)):
            chunks.append(block)
            total += len(block)
            if total > self.limit:
                raise SessionError(f"{self.path}: larger than {self.limit:,} bytes (refused)")
        return b"".join(chunks)

    def _parse(self, data: bytes, on_corrupt):
        lines = data.split(b"\n")
        # split leaves b"" after a final newline; anything else there is a torn line.
        tail = lines.pop()
        if not lines:
            raise SessionError(f"{self.path}: empty or truncated journal (no complete header line)")
        records, offset, valid_bytes = [], 0, 0
        last_seq = 0
        for number, raw in enumerate(lines, start=1):
            offset += len(raw) + 1
            record, problem = self._check_line(raw, number, last_seq)
            if problem is None:
                if number > 1:
                    records.append(record)
                    last_seq = record["seq"]
                valid_bytes = offset
                continue
            if number == 1:
                raise SessionError(f"{self.path}: line 1: {problem}")
            is_last = number == len(lines) and not tail
            if is_last or on_corrupt == "skip":
                warn_user(
                    f"{self.path}: line {number}: {problem}; skipped"
                    + (" (the write was interrupted; the label was never confirmed)" if is_last else ""),
                    SessionWarning,
                )
                if is_last:
                    break
                valid_bytes = offset
                continue
            raise SessionError(
                f"{self.path}: line {number}: {problem}. The journal is damaged in the middle; "
                "open the session with on_corrupt='skip' to skip the damaged line."
            )
        if tail:
            warn_user(
                f"{self.path}: line {len(lines) + 1}: torn last line (the write was interrupted; "
                "the label was never confirmed); skipped",
                SessionWarning,
            )
        self.last_seq = last_seq
        return records, valid_bytes

    def _check_line(self, raw: bytes, number: int, last_seq: int):
        """``(record, None)`` for a valid line, ``(None, problem)`` otherwise."""
        try:
            record = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            # JSON errors, undecodable bytes, integers beyond the digit limit, deep nesting.
            return None, "not valid JSON (torn or corrupt line)"
        if not isinstance(record, dict):
            return None, "not a JSON object"
        if number == 1:
            if record.get("format") != self.FORMAT:
                return None, f"not a {self.FORMAT} file (foreign file?)"
            version = record.get("version")
            if not isinstance(version, int) or isinstance(version, bool) or version > self.VERSION:
                return None, (
                    f"journal format version {version!r} was written by a newer skdfal "
                    f"(this one reads up to {self.VERSION})"
                )
            if record.get("journal_id") != self.journal_id:
                return None, "journal of another session (journal_id does not match session.json)"
            return record, None
        check = record.pop("check", None)
        try:
            matches = check == _checksum(record)
        except ValueError:  # 1e999 parses as inf, which no record written here holds
            matches = False
        if not matches:
            return None, "checksum mismatch (corrupt line)"
        seq = record.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq <= last_seq:
            return None, f"sequence number {seq!r} does not follow {last_seq}"
        return record, None

    # -- writing
    def create(self) -> None:
        """Start a new journal (atomically: the header line is all or nothing)."""
        header = {"format": self.FORMAT, "version": self.VERSION, "journal_id": self.journal_id}
        self.folder.write_bytes(self.name, json.dumps(header, sort_keys=True).encode() + b"\n")
        self.last_seq = 0

    def open_for_append(self, valid_bytes: int, last_seq: int) -> None:
        """Append from now on, after dropping a torn tail beyond ``valid_bytes``.

        Needs the descriptor of ``read(keep_open=True)``.  The dropped bytes
        are kept in ``<journal>.torn`` for inspection (a regular file in the
        folder: a link there is refused, not followed).
        """
        if self._fd is None:
            raise SessionError(f"{self.path}: journal is not open (read it with keep_open=True first)")
        size = os.fstat(self._fd).st_size
        if size > valid_bytes:
            os.lseek(self._fd, valid_bytes, os.SEEK_SET)
            torn = self._read_rest(size - valid_bytes)
            fd = self.folder.open(self.name + ".torn", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                write_all(fd, torn + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            # Truncating (not appending after) keeps the next record on its own line.
            os.ftruncate(self._fd, valid_bytes)
        os.fsync(self._fd)
        self.last_seq = last_seq
        self._size = valid_bytes
        self._broken = None

    def _read_rest(self, n) -> bytes:
        chunks = []
        while n > 0 and (block := os.read(self._fd, min(n, 1 << 24))):
            chunks.append(block)
            n -= len(block)
        return b"".join(chunks)

    def check_open(self) -> None:
        """Raise :class:`SessionError` unless :meth:`append` can write (saying why not)."""
        if self._broken is not None:
            raise SessionError(self._broken)
        if self._fd is None:
            raise SessionError(f"{self.path}: journal is not open for writing (session closed?)")

    def append(self, op: str, **fields) -> dict:
        """Append one record and fsync it; returns the record (with its ``seq``).

        Raises
        ------
        OSError
            The write or the fsync failed (``ENOSPC``, ``EIO``, ...): the
            record is not confirmed and the journal is as it was before the
            call, ready for the next append once the cause is gone.
        SessionError
            The journal is closed, or broken by an earlier append that
            could not be undone.
        """
        self.check_open()
        record = {"op": op, "seq": self.last_seq + 1, **fields}
        line = dict(record, check=_checksum(record))
        data = json.dumps(line, sort_keys=True, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        try:
            write_all(self._fd, data)
            os.fsync(self._fd)
        except BaseException as exc:  # an interrupt mid-write leaves part of a line too
            self._undo_append(exc)
            if isinstance(exc, OSError):  # a full disk says only "No space left": name the journal
                raise _naming(exc, self.path) from exc
            raise
        self._size += len(data)
        self.last_seq = record["seq"]
        return record

    def _undo_append(self, error) -> None:
        """Truncate a failed append away; if that fails too, close and refuse until reopened.

        Part of the line may be in the file (a short write), or all of it
        without knowing whether it reached the disk (a failed fsync).  Left
        there, the next record would be glued to it: one line that is valid
        JSON neither alone nor together, and a confirmed label lost with it.
        """
        try:
            os.ftruncate(self._fd, self._size)
            os.fsync(self._fd)
        except OSError as exc:
            cause = getattr(error, "strerror", None) or type(error).__name__
            self._broken = (
                f"{self.path}: an append failed ({cause}) and could not be undone ({exc.strerror}); "
                "nothing more is recorded by this session object: close it and reopen the session "
                "(every label teach confirmed is kept; the unconfirmed one may or may not be)"
            )
            self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")
