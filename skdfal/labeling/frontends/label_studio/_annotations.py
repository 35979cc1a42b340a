"""Label Studio annotations, the unit the backend keeps: annotation id -> (task, image, answer).

Several annotators may annotate one image; each annotation is kept on its
own.  **An image's answer is that of its live annotation created or updated
last** (in the order the backend received the webhooks): an update makes
that annotation the image's latest, deleting it gives the image the answer
of the live annotation before it, and deleting the last one removes the
image's answer.  Deleting one annotator's annotation therefore keeps the
other's.  An annotation the backend refuses (a class the session does not
have, a malformed result, an image not in the pool) is not remembered.

The map lives in ``annotations.jsonl``, one JSON line per change, appended
with one write and fsync'd before the webhook is answered; it is opened
through the backend folder's :class:`~skdfal.labeling._fs.SessionDir` (no
link followed, no file with other hard links written, created ``0600``).
Lines written by earlier backends (``{"annotation", "index"}``, no answer) are read
as annotations whose answer is whatever the session holds.
"""

from __future__ import annotations

import json
import logging
import os

from ..._fs import SessionError, write_all

__all__ = ["SKIP", "UNKNOWN", "AnnotationMap", "parse_annotation"]

logger = logging.getLogger("skdfal.labelstudio")

#: The answer of a cancelled (skipped) annotation.
SKIP = "skip"
#: The answer of an annotation recorded by an older backend (its answer is the session's).
UNKNOWN = "unknown"
#: The largest annotation map read (bytes).
MAP_LIMIT = 256 << 20


def annotation_id(value):
    """``value`` as an annotation id (an integer or a short string), else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or isinstance(value, str) and not (
            0 < len(value) <= 200):
        raise ValueError(f"annotation id must be an integer or a short string, got {value!r:.80}")
    return value


def parse_annotation(annotation, config, class_names):
    """``(id, answer)`` of a Label Studio annotation, ``(id, None)`` when it has no choice for the project.

    ``answer`` is a class position or :data:`SKIP` (a cancelled annotation).
    Anything malformed (a result that is not a list, a ``value`` or
    ``choices`` of the wrong type, several choices, a class the session
    lacks) is a ``ValueError``: the request is refused before anything is
    written.
    """
    if not isinstance(annotation, dict):
        raise ValueError(f"an annotation must be a JSON object, got {type(annotation).__name__}")
    aid = annotation_id(annotation.get("id"))
    if annotation.get("was_cancelled") is True:
        return aid, SKIP
    result = annotation.get("result")
    if result is None:
        result = []
    if not isinstance(result, list):
        raise ValueError(f"annotation {aid!r}: result must be a list")
    picked = []
    for item in result:
        if not isinstance(item, dict):
            raise ValueError(f"annotation {aid!r}: every result item must be a JSON object")
        if item.get("from_name") != config["from_name"]:
            continue
        value = item.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise ValueError(f"annotation {aid!r}: value.choices must be a list of class names")
        picked += choices
    if not picked:
        return aid, None
    if len(set(picked)) > 1:
        raise ValueError(f"annotation {aid!r}: several choices {picked!r:.200}; skdfal takes one class per image")
    if picked[0] not in class_names:  # a name only: a position would be read as a different class
        raise ValueError(f"annotation {aid!r}: {picked[0]!r:.80} is not one of the session's classes {class_names}")
    return aid, list(class_names).index(picked[0])


class AnnotationMap:
    """The backend's annotations (see the module docs), in ``name`` inside ``folder``.

    Parameters
    ----------
    folder : SessionDir
        The backend folder.
    name : str
        The file's name in it.
    """

    def __init__(self, folder, name: str):
        self.folder, self.name, self.path = folder, name, folder.where(name)
        self.entries = {}  # id -> {"task", "index", "answer"}, least recently changed first
        self._by_index = {}  # pool index -> ids of its live annotations, latest last
        self.seen = set()  # pool indices any annotation was ever recorded on (with its answer)
        created = not folder.exists(name)
        self._fd = folder.open(name, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            if created:
                folder.fsync()  # the new name survives a crash with the first record
            self._size = self._load()
        except BaseException:
            self.close()
            raise
        self._broken = None

    def _load(self) -> int:
        if os.fstat(self._fd).st_size > MAP_LIMIT:
            raise SessionError(f"{self.path}: larger than {MAP_LIMIT:,} bytes (refused)")
        chunks = []
        while block := os.read(self._fd, 1 << 20):
            chunks.append(block)
        data = b"".join(chunks)
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line: an append that never returned
            logger.warning("%s: a torn last line dropped (it was never confirmed)", self.path)
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
                aid = annotation_id(record["annotation"])
                if record.get("deleted") is True:
                    entry = self._remove(aid)
                    if entry is not None:
                        self.seen.add(entry["index"])
                    continue
                index = record["index"]
                if isinstance(index, bool) or not isinstance(index, int):
                    raise TypeError
                answer = record.get("answer", UNKNOWN)
                if answer not in (SKIP, UNKNOWN) and (isinstance(answer, bool) or not isinstance(answer, int)):
                    raise TypeError
                self._put(aid, record.get("task"), index, answer)
            except (ValueError, KeyError, TypeError, AttributeError):
                logger.warning("%s: a damaged line skipped", self.path)
        return end

    def _put(self, aid, task, index, answer) -> None:
        self._remove(aid)
        self.entries[aid] = {"task": task, "index": index, "answer": answer}
        self._by_index.setdefault(index, []).append(aid)
        if answer != UNKNOWN:
            self.seen.add(index)

    def _remove(self, aid):
        entry = self.entries.pop(aid, None)
        if entry is None:
            return None
        ids = self._by_index[entry["index"]]
        ids.remove(aid)
        if not ids:
            del self._by_index[entry["index"]]
        return entry

    def indices(self) -> list:
        """Pool indices with a live annotation, or with one that was recorded and deleted since."""
        return sorted(self.seen | set(self._by_index))

    def answer(self, index):
        """The answer of ``index``'s latest live annotation; ``None`` when it has none."""
        ids = self._by_index.get(index)
        return self.entries[ids[-1]]["answer"] if ids else None

    def is_latest(self, aid, task, index, answer) -> bool:
        """Whether recording this would change nothing (the same annotation, latest on its image)."""
        ids = self._by_index.get(index)
        return bool(ids) and ids[-1] == aid and self.entries[aid] == {"task": task, "index": index, "answer": answer}

    def record(self, aid, task, index, answer) -> None:
        """Remember annotation ``aid`` (created or updated): durable when this returns."""
        self._append({"annotation": aid, "task": task, "index": index, "answer": answer})
        self._put(aid, task, index, answer)

    def delete(self, aid):
        """Forget annotation ``aid``; returns its entry (``None``: not a live annotation, nothing written)."""
        if aid not in self.entries:
            return None
        self._append({"annotation": aid, "deleted": True})
        entry = self._remove(aid)
        self.seen.add(entry["index"])
        return entry

    def _append(self, record) -> None:
        if self._broken is not None:
            raise SessionError(self._broken)
        if self._fd is None:
            raise SessionError(f"{self.path}: closed")
        data = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        try:
            write_all(self._fd, data)
            os.fsync(self._fd)
        except BaseException as exc:
            try:  # as the journal does: the next line must not be glued to half of this one
                os.ftruncate(self._fd, self._size)
                os.fsync(self._fd)
            except OSError as again:
                self._broken = (f"{self.path}: an append failed and could not be undone ({again.strerror}); "
                                "restart the backend")
            raise exc
        self._size += len(data)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
