"""Durable, safe files for labeling sessions: atomic writes, a label journal, safe loaders.

Three promises, each kept here once:

* **atomic writes** -- a file is written to a temporary name in the same
  directory, flushed, fsync'd, renamed over the target with ``os.replace``
  and the directory fsync'd, so a crash leaves either the old or the new file,
  never half of one;
* **a journal** -- one JSON line per record, each with a sequence number and
  a checksum, appended with a single ``write`` and fsync'd before the call
  returns; a torn or corrupt *last* line (a crash mid-append) is reported with
  a warning and dropped, a corrupt line elsewhere is an error naming the file
  and line;
* **safe loading** -- JSON for configuration, ``np.load(allow_pickle=False)``
  for arrays, ``torch.load(weights_only=True)`` for weights: no file in a
  session directory can make the reader run code.  Every failure is a
  :class:`SessionError` that names the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "SessionError",
    "SessionWarning",
    "atomic_write",
    "atomic_write_json",
    "atomic_save_npy",
    "fsync_dir",
    "sha256_file",
    "load_json",
    "load_npy",
    "load_state_dict",
    "encode_array",
    "decode_array",
    "Journal",
]


class SessionError(ValueError):
    """A session file is missing, corrupt, foreign, unsafe or from a newer skdfal."""


class SessionWarning(UserWarning):
    """Something in a session directory was repaired or skipped (nothing taught was lost)."""


# ----------------------------------------------------------------- atomic writes
def fsync_dir(directory) -> None:
    """fsync a directory so that a rename or a new file in it survives a crash."""
    if os.name != "posix":  # Windows cannot open directories; NTFS journals renames.
        return
    fd = os.open(os.fspath(directory), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, write) -> None:
    """Write ``path`` all or nothing: ``write(fh)`` fills a temporary file that replaces it.

    The temporary file lives in the same directory (``os.replace`` is atomic
    only within a file system) and is removed if ``write`` fails.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_json(path, obj) -> None:
    """Atomically write ``obj`` as indented JSON."""
    data = (json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()
    atomic_write(path, lambda fh: fh.write(data))


def atomic_save_npy(path, array) -> None:
    """Atomically write ``array`` in ``.npy`` format (object arrays are refused)."""
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise TypeError(f"refusing to write an object array to {path}: it would need pickle")
    atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))


def remove_stale_temporaries(directory) -> list[Path]:
    """Delete temporary files that a crash during :func:`atomic_write` left behind."""
    removed = []
    for tmp in Path(directory).glob(".*.tmp-*"):
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def sha256_file(path, chunk=1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------- safe loaders
def load_json(path, *, kind: str, max_version: int) -> dict:
    """Read a JSON object whose ``format`` is ``kind`` and ``version`` <= ``max_version``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SessionError(f"{path}: missing; is this a skdfal session directory?") from None
    except UnicodeDecodeError:
        raise SessionError(f"{path}: not a text file (corrupt or foreign)") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionError(f"{path}: not valid JSON (corrupt or truncated): {exc}") from None
    if not isinstance(obj, dict) or obj.get("format") != kind:
        raise SessionError(f"{path}: not a {kind} file (foreign file?)")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SessionError(f"{path}: missing or invalid format version {version!r}")
    if version > max_version:
        raise SessionError(
            f"{path}: format version {version} was written by a newer skdfal; this one reads "
            f"versions up to {max_version}. Upgrade skdfal to open this session."
        )
    return obj


def load_npy(path, *, sha256: str | None = None, mmap_mode=None) -> np.ndarray:
    """``np.load(path, allow_pickle=False)`` with a checksum and errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"{path}: missing")
    if sha256 is not None and sha256_file(path) != sha256:
        raise SessionError(f"{path}: checksum mismatch (corrupt, truncated or replaced)")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except (ValueError, OSError, EOFError) as exc:
        # np.load raises ValueError for pickled or object data and for bad headers.
        raise SessionError(f"{path}: not a plain numpy array file (refused): {exc}") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        raise SessionError(f"{path}: expected a single .npy array, got an archive")
    return array


def load_state_dict(path, *, sha256: str | None = None, map_location="cpu") -> dict:
    """``torch.load(path, weights_only=True)``: tensors only, never arbitrary objects."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise SessionError(f"{path}: missing")
    if sha256 is not None and sha256_file(path) != sha256:
        raise SessionError(f"{path}: checksum mismatch (corrupt, truncated or replaced)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        # weights_only refuses unknown globals with UnpicklingError; truncated
        # zip archives raise RuntimeError.
        raise SessionError(f"{path}: not a plain tensor state dict (refused): {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SessionError(f"{path}: expected a dict of tensors (a module state dict)")
    return state


# ------------------------------------------------------------ arrays in JSON
def encode_array(array) -> dict:
    """A small float array as JSON: dtype, shape and base64 of its bytes."""
    array = np.ascontiguousarray(array)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"cannot journal an array of dtype {array.dtype}")
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def decode_array(obj) -> np.ndarray:
    dtype = np.dtype(obj["dtype"])
    if dtype.kind not in "fiub":
        raise ValueError(f"unexpected dtype {dtype}")
    data = base64.b64decode(obj["data"], validate=True)
    return np.frombuffer(data, dtype=dtype).reshape(obj["shape"]).copy()


# -------------------------------------------------------------------- journal
def _checksum(record: dict) -> str:
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


class Journal:
    """Append-only JSON-lines journal: a header line, then one record per line.

    Every record carries ``seq`` (strictly increasing) and ``check`` (a
    checksum of the rest of the record).  :meth:`append` returns only once the
    line is on disk (``fsync``).

    Parameters
    ----------
    path : path-like
    journal_id : str
        Written in the header; a journal with another id is refused (it
        belongs to another session).
    """

    FORMAT = "skdfal-journal"
    VERSION = 1

    def __init__(self, path, journal_id: str):
        self.path = Path(path)
        self.journal_id = journal_id
        self._fd = None
        self.last_seq = 0

    @property
    def closed(self) -> bool:
        """Whether the journal is not open for appending (never opened, or closed)."""
        return self._fd is None

    # -- reading
    def read(self, *, on_corrupt="raise"):
        """All valid records, in order.

        A torn or corrupt last line is skipped with a :class:`SessionWarning`;
        a corrupt line elsewhere raises :class:`SessionError` unless
        ``on_corrupt="skip"`` (then it is skipped with a warning).

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
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise SessionError(f"{self.path}: missing; is this a skdfal session directory?") from None
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
                warnings.warn(
                    f"{self.path}: line {number}: {problem}; skipped"
                    + (" (the write was interrupted; the label was never confirmed)" if is_last else ""),
                    SessionWarning,
                    stacklevel=4,
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
            warnings.warn(
                f"{self.path}: line {len(lines) + 1}: torn last line (the write was interrupted; "
                "the label was never confirmed); skipped",
                SessionWarning,
                stacklevel=4,
            )
        self.last_seq = last_seq
        return records, valid_bytes

    def _check_line(self, raw: bytes, number: int, last_seq: int):
        """``(record, None)`` for a valid line, ``(None, problem)`` otherwise."""
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None, "not valid JSON (torn or corrupt line)"
        if not isinstance(record, dict):
            return None, "not a JSON object"
        if number == 1:
            if record.get("format") != self.FORMAT:
                return None, f"not a {self.FORMAT} file (foreign file?)"
            version = record.get("version")
            if not isinstance(version, int) or version > self.VERSION:
                return None, (
                    f"journal format version {version!r} was written by a newer skdfal "
                    f"(this one reads up to {self.VERSION})"
                )
            if record.get("journal_id") != self.journal_id:
                return None, "journal of another session (journal_id does not match session.json)"
            return record, None
        check = record.pop("check", None)
        if check != _checksum(record):
            return None, "checksum mismatch (corrupt line)"
        seq = record.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq <= last_seq:
            return None, f"sequence number {seq!r} does not follow {last_seq}"
        return record, None

    # -- writing
    def create(self) -> None:
        """Start a new journal (atomically: the header line is all or nothing)."""
        header = {"format": self.FORMAT, "version": self.VERSION, "journal_id": self.journal_id}
        line = json.dumps(header, sort_keys=True).encode() + b"\n"
        atomic_write(self.path, lambda fh: fh.write(line))
        self.last_seq = 0

    def open_for_append(self, valid_bytes: int, last_seq: int) -> None:
        """Open for appending after dropping a torn tail beyond ``valid_bytes``.

        The dropped bytes are kept in ``<journal>.torn`` for inspection.
        """
        size = self.path.stat().st_size
        if size > valid_bytes:
            with open(self.path, "rb") as fh:
                fh.seek(valid_bytes)
                torn = fh.read()
            with open(self.path.with_name(self.path.name + ".torn"), "ab") as fh:
                fh.write(torn + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            # Truncating (not appending after) keeps the next record on its own line.
            os.truncate(self.path, valid_bytes)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        os.fsync(self._fd)
        self.last_seq = last_seq

    def append(self, op: str, **fields) -> dict:
        """Append one record and fsync it; returns the record (with its ``seq``)."""
        if self._fd is None:
            raise SessionError(f"{self.path}: journal is not open for writing (session closed?)")
        record = {"op": op, "seq": self.last_seq + 1, **fields}
        line = dict(record, check=_checksum(record))
        data = json.dumps(line, sort_keys=True, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        view = memoryview(data)
        while view:  # os.write may write less than asked
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self.last_seq = record["seq"]
        return record

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
