"""Webhooks of the Label Studio backend: annotations in, one session record per change.

A mixin of :class:`~skdfal.labeling.frontends.label_studio._backend.LabelStudioBackend`.  A
request is checked in full first (its label config against the session's
classes, every annotation's id, result and class); a refused request
writes nothing.  Then, for each annotation, the annotation map is appended
(:class:`~skdfal.labeling.frontends.label_studio._annotations.AnnotationMap`) and the image's
answer, by the map's rule (its latest live annotation), is given to the
session as one journal record (``label``, ``relabel``, ``skip`` or
``forget``), fsync'd before the webhook is answered.  No other image's
answer is touched, so a crash at any moment loses no acknowledged
annotation; on start the backend brings the session up to date with the
map (:meth:`BackendWebhooks._reconcile`), for a crash between the two appends.
"""

from __future__ import annotations

import logging
import time

from ._annotations import SKIP, UNKNOWN, annotation_id, parse_annotation

__all__ = ["MAX_ITEMS", "BackendWebhooks"]

logger = logging.getLogger("skdfal.labelstudio")

#: The most tasks (``/predict``) or annotations (a webhook) one request may carry.
MAX_ITEMS = 10_000

_CREATE = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED")


def _items(value, what) -> list:
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_ITEMS:
        raise ValueError(f"{len(items)} {what} in one request, over the limit of {MAX_ITEMS}")
    return items


class BackendWebhooks:
    """Annotations created, updated and deleted (reads the backend's session, map and lock)."""

    def webhook(self, payload: dict) -> dict:
        """Record what Label Studio says happened to annotations (durable before answering).

        Raises ``ValueError`` (answered 400) for a request it refuses, before
        anything is written.
        """
        if not isinstance(payload, dict):
            raise ValueError("a webhook must be a JSON object")
        action = payload.get("action")
        if action in _CREATE:
            annotations = _items(payload.get("annotation"), "annotations")
            tasks = payload.get("task")
            tasks = _items(tasks, "tasks") if isinstance(payload.get("annotation"), list) else [tasks]
            if len(tasks) != len(annotations):
                tasks = [None] * len(annotations)
            project = payload.get("project")
            config = self._config_of(project.get("label_config") if isinstance(project, dict) else None)
            parsed = [self._parse(a, t, config) for a, t in zip(annotations, tasks, strict=True)]
            with self._lock:
                for item in parsed:
                    if item is not None:
                        self._annotate(*item)
                self._wake.notify_all()
            self._heard_from(project)  # a request refused is not heard: nothing is pushed to its project
            return {"status": "ok", "recorded": sum(item is not None for item in parsed)}
        if action == "ANNOTATIONS_DELETED":
            listed = payload.get("annotations")
            if not isinstance(listed, list):
                raise ValueError("ANNOTATIONS_DELETED: annotations must be a list")
            listed = _items(listed, "annotations")
            ids = [annotation_id(a.get("id") if isinstance(a, dict) else None) for a in listed]
            with self._lock:
                removed = sum(self._delete(aid) for aid in ids)
                self._wake.notify_all()
            self._heard_from(payload.get("project"))
            return {"status": "ok", "removed": removed}
        return {"status": "ignored", "action": action if isinstance(action, str) else None}

    # ----------------------------------------------------------------- parsing
    def _parse(self, annotation, task, config):
        """``(id, task id, pool index, answer)``, or ``None`` for an annotation not to record."""
        aid, answer = parse_annotation(annotation, config, self.session.class_names)
        if not isinstance(task, dict):
            task = annotation.get("task") if isinstance(annotation.get("task"), dict) else None
        if answer is None:
            logger.warning("annotation %r: no choice for %r; ignored", aid, config["from_name"])
            return None
        index = self._task_index(task, config["data_key"]) if task is not None else None
        if index is None:
            return None
        tid = task.get("id")
        return aid, tid if isinstance(tid, (int, str)) and not isinstance(tid, bool) else None, index, answer

    # ---------------------------------------------------------------- recording
    def _annotate(self, aid, tid, index, answer) -> None:
        """Remember annotation ``aid`` on image ``index``, then give the image its answer (under the lock)."""
        previous = self._annotations.entries.get(aid)
        if not self._annotations.is_latest(aid, tid, index, answer):
            self._annotations.record(aid, tid, index, answer)
        self._settle(index)
        if previous is not None and previous["index"] != index:
            self._settle(previous["index"])  # the annotation moved to another image

    def _delete(self, aid) -> int:
        entry = self._annotations.delete(aid)
        if entry is None:
            return 0
        self._settle(entry["index"])
        return 1

    def _settle(self, index) -> None:
        """Give ``index`` the answer of its latest live annotation: at most one journal record."""
        session = self.session
        wanted = self._annotations.answer(index)
        if wanted == UNKNOWN:  # recorded by an older backend: the session's answer stands
            return
        current = session.answer(index)
        if wanted == current:
            return
        if wanted is None:
            session.forget(index)
        elif wanted == SKIP:
            session.skip(index)
        elif current is None:
            session.teach(index, wanted)
        else:
            session.relabel(index, wanted)
        self._pending, self._last_label = True, time.monotonic()  # see BackendTraining._due

    def _reconcile(self) -> None:
        """After a crash between the map's append and the journal's: the session as the map says."""
        for index in self._annotations.indices():
            self._settle(index)
