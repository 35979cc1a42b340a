"""A Label Studio ML backend that keeps its labels in a crash-safe :class:`LabelingSession`.

Label Studio (Community Edition) asks an *ML backend* over HTTP for
pre-annotations and tells it about new annotations through webhooks.  This
module speaks that protocol (the routes of Label Studio's
``label_studio/ml/api_connector.py``) with the standard library only:

``GET /health``
    ``{"status": "UP", "model_class": ..., "model_version": ...}``.
``POST /setup``
    Label Studio connects a project (``{"project", "schema", ...}``);
    answered with ``{"model_version": ...}``, or an error when the project's
    ``<Choices>`` are not the session's classes.
``POST /predict``
    ``{"tasks": [...], "label_config": ...}``; answered with
    ``{"results": [...]}``, one per task: the predicted class as a
    pre-annotation and a *score* that orders the pool by DFAL: the next batch
    DFAL would query scores lowest (``0`` for the first), so sorting by
    prediction score (ascending) in the Data Manager, or Label Studio's
    "Uncertainty sampling" (lowest score first), shows it first.
``POST /webhook``
    ``ANNOTATION_CREATED``, ``ANNOTATIONS_CREATED``, ``ANNOTATION_UPDATED``,
    ``ANNOTATIONS_DELETED``: checked in full, then each change is one record
    of the session's journal (fsync'd) before the webhook is answered; a
    cancelled (skipped) task is a skip (see :mod:`skdfal.labeling.frontends.label_studio._webhook`).

**The session is the source of truth.**  The backend folder holds the
session (``session/``), the list of pool images (``images.json``: names and
SHA-256 digests) and ``annotations.jsonl`` (every Label Studio annotation:
task, pool image, answer; an image's answer is its latest live annotation,
see :mod:`skdfal.labeling.frontends.label_studio._annotations`), all opened as the session's
files are (:class:`~skdfal.labeling._fs.SessionDir`).  A ``kill -9`` loses
no annotation the backend answered; a restart replays the journal and
retrains.  Who may reach the backend, and how much work a request may
cost, is in :mod:`skdfal.labeling.frontends.label_studio._http`.

**Retraining never blocks predictions.**  After every ``retrain_every``
new labels, and when labeling pauses for 2 s with labels the model lacks, a
background thread trains a fresh network on a copy of the labeled set,
ranks the pool by DFAL with it, and only then swaps it in;
``/predict`` answers from the latest ranking meanwhile.  Each retraining
gives a new model version, so Label Studio's "Retrieve predictions" fetches
the new scores; with ``push`` (Label Studio's address and an API key) the
backend creates them in the project itself (:mod:`skdfal.labeling.frontends.label_studio._push`).

**Images are read safely.**  A task's image is found by its URL: uploads
(``/data/upload/...``) under Label Studio's media folder, local files
(``/data/local-files/?d=...``) under its document root.  A path that leaves
its root (``..``, an absolute path, a link anywhere on the way, a file with
other hard links), a special file or a file over ``max_image_bytes`` is
refused; tasks are matched to pool images by the SHA-256 of the file (hashed
once while unchanged), so no image from Label Studio is decoded at all.  The pool images themselves are decoded once, when the backend is
created, by Pillow with a pixel bound.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from http.server import HTTPServer
from pathlib import Path
from typing import Any

from ....utils._validation import check_count
from ..._fs import SessionError
from ...session import LabelingSession
from ._annotations import AnnotationMap
from ._files import (
    ANNOTATIONS_FILE,
    IMAGES_FILE,
    MAX_BODY_BYTES,
    MAX_IMAGE_BYTES,
    SESSION_DIR,
    DigestCache,
    choices_of,
    default_config,
    load_image_folder,
    open_backend_folder,
    read_images_file,
    resolve_task_image,
)
from ._http import make_server
from ._push import PredictionPush, project_id
from ._training import BackendTraining
from ._webhook import MAX_ITEMS, BackendWebhooks

__all__ = ["LabelStudioBackend"]

logger = logging.getLogger("skdfal.labelstudio")


class LabelStudioBackend(BackendWebhooks, BackendTraining):
    """A Label Studio ML backend over a :class:`~skdfal.LabelingSession` (see the module docs).

    Open an existing backend folder with ``LabelStudioBackend(directory)``;
    create one with :meth:`create`.  :meth:`serve` answers Label Studio over
    HTTP; the methods :meth:`health`, :meth:`setup`, :meth:`predict` and
    :meth:`webhook` take and return the protocol's JSON as dicts, for
    embedding in another server.

    Parameters
    ----------
    directory : path-like
        A folder made by :meth:`create`.
    label_studio_data : path-like, default=None
        Label Studio's data folder (``LABEL_STUDIO_BASE_DATA_DIR``); uploads
        are read from its ``media/upload``.  Default: that variable, else
        Label Studio's default (``~/.local/share/label-studio``).
    local_files_root : path-like, default=None
        Label Studio's ``LOCAL_FILES_DOCUMENT_ROOT`` (default: that variable,
        with or without the ``LABEL_STUDIO_`` prefix; else local files are refused).
    retrain_every : int, default=None
        Retrain after this many new labels (default: the session's batch size).
    stopping : stopping rule, list of rules or None, default="default"
        Updated after every retraining; when one says so, ``/health`` and
        the log say "you may stop: ..." with the reason.  ``"default"``:
        :class:`~skdfal.StabilizingPredictions` on up to 1000 pool images.
    device, allow_modules : default=None
        Passed to :class:`~skdfal.LabelingSession`.
    max_image_bytes : int, default=32 MiB
        Largest task image file read.
    push : PredictionPush, optional
        After every retrain, push the new model's predictions to the Label
        Studio projects the backend heard from (see :mod:`skdfal.labeling.frontends.label_studio._push`).

    Attributes
    ----------
    session : LabelingSession
    model_version : str
        Changes with every retraining.
    stop_decision : StopDecision or None
        The stopping rules' latest decision.
    """

    def __init__(self, directory: str | os.PathLike[str], *,
                 label_studio_data: str | os.PathLike[str] | None = None,
                 local_files_root: str | os.PathLike[str] | None = None, retrain_every: int | None = None,
                 stopping: Any = "default", device: str | None = None,
                 max_image_bytes: int = MAX_IMAGE_BYTES, allow_modules: Sequence[str] | None = None,
                 push: PredictionPush | None = None):
        self.directory = Path(directory)
        self._folder = folder = open_backend_folder(self.directory)
        try:
            info = read_images_file(folder)
            self.session = LabelingSession(self.directory / SESSION_DIR, device=device, allow_modules=allow_modules)
        except BaseException:
            folder.close()
            raise
        self._annotations = None
        self._push = push
        self._projects = set()  # Label Studio projects heard from since the start (pushed to)
        try:
            if len(info["images"]) != len(self.session.X_pool):
                raise SessionError(f"{self.directory / IMAGES_FILE}: lists {len(info['images'])} images, "
                                   f"the session's pool has {len(self.session.X_pool)}")
            self._by_digest = {}
            for i, image in enumerate(info["images"]):
                self._by_digest.setdefault(image["sha256"], i)
            data = label_studio_data or os.environ.get("LABEL_STUDIO_BASE_DATA_DIR") or os.environ.get(
                "BASE_DATA_DIR") or os.path.join(os.path.expanduser("~"), ".local", "share", "label-studio")
            self.upload_root = Path(data) / "media" / "upload"
            local = local_files_root or os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT") or os.environ.get(
                "LOCAL_FILES_DOCUMENT_ROOT")
            self.local_files_root = Path(local) if local else None
            every = self.session.n_instances if retrain_every is None else retrain_every
            self.retrain_every = check_count(every, "retrain_every", error=ValueError)
            self.max_image_bytes = int(max_image_bytes)
            if stopping == "default":
                from ....learners import StabilizingPredictions

                stopping = StabilizingPredictions(stop_set_size=min(1000, len(self.session.X_pool)))
            self.stopping = stopping
            self.stop_decision = None
            self._lock = threading.RLock()  # the session and the annotation map
            self._wake = threading.Condition(self._lock)
            self._closing = False
            self._digests = DigestCache()
            self._annotations = AnnotationMap(folder, ANNOTATIONS_FILE)
            self._pending = self.session.stale
            self._reconcile()  # a crash between the map's append and the journal's
            self._busy = False
            self._config = None  # the project's label config, once Label Studio sent it
            self._trained_labels = None if self.session.stale else dict(self.session.labels)
            self._ranking = self._cold_ranking()
            self._start_training()
        except BaseException:
            self._release(save=False)
            raise

    # ---------------------------------------------------------------- creating
    @classmethod
    def create(cls, directory: str | os.PathLike[str], images: str | os.PathLike[str],
               class_names: Sequence[str], *, mode: str = "L", size: tuple[int, int] | None = None,
               estimator: dict[str, Any] | None = None, query_strategy: Any = "dfal_margin",
               n_instances: int = 10, random_state: int = 0, **kwargs: Any) -> LabelStudioBackend:
        """Make a backend folder from a folder of images, then open it.

        Parameters
        ----------
        directory : path-like
            A new or empty folder.
        images : path-like
            The pool: the image files that are (or will be) imported into
            Label Studio, as uploads or local files (matched by content).
        class_names : list of str
            The values of the project's ``<Choice>`` tags, in order.
        mode, size
            As in :func:`load_image_folder`.
        estimator, query_strategy, n_instances, random_state
            As in :meth:`skdfal.LabelingSession.create`.
        **kwargs
            Passed to the constructor.
        """
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise ValueError(f"directory: {directory} is not empty; open it with LabelStudioBackend({str(directory)!r})")
        X, listed = load_image_folder(images, mode=mode, size=size)
        names = [str(c) for c in class_names]
        if len(names) < 2 or len(set(names)) != len(names):
            raise ValueError(f"class_names must be at least two distinct names, got {names}")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open_backend_folder(directory) as folder:
            folder.subdir(SESSION_DIR, create=True).close()  # 0700: labels can be personal data
            LabelingSession.create(directory / SESSION_DIR, X, class_names=names, estimator=estimator,
                                   query_strategy=query_strategy, n_instances=n_instances,
                                   random_state=random_state).close()
            folder.write_bytes(IMAGES_FILE, json.dumps({"kind": "skdfal-label-studio", "version": 1,
                                                        "images": listed}).encode())
        # Naming an import path here confirms it, also beside the paths the caller allows (the CLI
        # passes its --allow-module list, None when not given).
        kwargs["allow_modules"] = [*(kwargs.get("allow_modules") or ()), (estimator or {}).get("module")]
        return cls(directory, **kwargs)

    # ------------------------------------------------------------ the protocol
    @property
    def model_version(self) -> str:
        return self._ranking["version"]

    def health(self) -> dict:
        decision = self.stop_decision
        return {"status": "UP", "model_class": "skdfal.DFAL", "model_version": self.model_version,
                "n_labels": self.session.n_labels, "retrain_pending": bool(self._pending or self._busy),
                "stop": decision.reason if decision is not None and decision.stop else None}

    def setup(self, payload: dict) -> dict:
        """Check the project's label config against the session's classes; gives the model version."""
        schema = payload.get("schema") if isinstance(payload, dict) else None
        if schema:
            self._config = self._checked(choices_of(schema))
        return {"model_version": self.model_version}

    def predict(self, payload: dict) -> dict:
        """One prediction per task: the predicted class and the DFAL score (lowest: label first)."""
        tasks = payload.get("tasks") if isinstance(payload, dict) else None
        if not isinstance(tasks, list):
            raise ValueError("predict: the request has no list of tasks")
        if len(tasks) > MAX_ITEMS:
            raise ValueError(f"predict: {len(tasks)} tasks in one request, over the limit of {MAX_ITEMS}")
        config = self._config_of(payload.get("label_config"))
        ranking = self._ranking  # one consistent ranking for the whole request, whatever retrains meanwhile
        results = []
        for task in tasks:
            index = self._task_index(task, config["data_key"])
            results.append(self._prediction(index, ranking, config))
        self._heard_from(payload.get("project"))
        return {"results": results}

    def _heard_from(self, project) -> None:
        """Remember the Label Studio project a request came from (fresh predictions go there)."""
        pid = project_id(project)
        if pid is not None and self._push is not None:
            with self._lock:
                if len(self._projects) < 100:  # bounded: ids come from requests
                    self._projects.add(pid)

    def _push_ranking(self, ranking) -> None:
        """Predictions of ``ranking``'s model to every project heard from (failures logged, not raised)."""
        config = self._config_of(None)
        with self._lock:  # request threads add projects
            projects = sorted(self._projects)
        for project in projects:
            try:
                n = self._push.push(project, lambda tasks: [
                    self._prediction(self._task_index(t, config["data_key"]), ranking, config) for t in tasks],
                    ranking["version"])
            except Exception:  # Label Studio away or refusing: the labels are safe, predictions can be retrieved
                logger.exception("pushing predictions of %s to Label Studio project %d failed",
                                 ranking["version"], project)
                continue
            logger.info("pushed %d predictions of %s to Label Studio project %d", n, ranking["version"], project)

    def _config_of(self, label_config) -> dict:
        """The label config sent (checked), else the last one seen, else a default naming the session's classes."""
        if label_config:
            config = self._checked(choices_of(label_config))
            self._config = config
        return self._config or choices_of(default_config(self.session.class_names))

    def _checked(self, config) -> dict:
        if config["choices"] != self.session.class_names:
            raise ValueError(f"the project's <Choice> values {config['choices']} are not the session's classes "
                             f"{self.session.class_names} (same names, same order)")
        return config

    # ----------------------------------------------------------------- tasks
    def _task_index(self, task, data_key) -> int | None:
        """The pool position of a task's image (``None``: not in the pool, or unreadable)."""
        data = task.get("data") if isinstance(task, dict) else None
        url = data.get(data_key) if isinstance(data, dict) else None
        tid = task.get("id") if isinstance(task, dict) else None
        try:
            path = resolve_task_image(url, upload_root=self.upload_root, local_files_root=self.local_files_root)
            digest = self._digests.digest(path, self.max_image_bytes)
        except ValueError as exc:
            logger.warning("task %r: %s", tid, exc)
            return None
        index = self._by_digest.get(digest)
        if index is None:
            logger.warning("task %r: its image %s is not in the pool the backend was made from", tid, path)
        return index

    def _prediction(self, index, ranking, config) -> dict:
        version = ranking["version"]
        if index is None:
            return {"result": [], "score": 1.0, "model_version": version}
        score = float(ranking["score"][index])
        result = []
        if ranking["labels"] is not None:
            label = int(ranking["labels"][index])
            result.append({
                "from_name": config["from_name"], "to_name": config["to_name"], "type": "choices",
                "value": {"choices": [self.session.class_names[label]]},
                "score": float(ranking["proba"][index]),
            })
        prediction = {"result": result, "score": score, "model_version": version}
        cluster = ranking["clusters"].get(index)
        if cluster is not None:  # a pick of the spread batch: the k-means cluster it stands for
            prediction["cluster"] = cluster
        return prediction

    def close(self) -> None:
        """Stop the retraining thread, save a snapshot, release the session."""
        with self._lock:
            self._closing = True
            self._wake.notify_all()
        self._trainer.join(timeout=600)
        with self._lock:
            self._release(save=True)

    def _release(self, *, save) -> None:
        try:
            if self._annotations is not None:
                self._annotations.close()
            self.session.close(save=save)
        finally:
            self._folder.close()

    def __enter__(self) -> LabelStudioBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------- serving
    def serve(self, host: str = "127.0.0.1", port: int = 9090, *,
              ready: Callable[[HTTPServer], None] | None = None, auth: tuple[str, str] | None = None,
              allowed_hosts: Sequence[str] = (), max_body_bytes: int = MAX_BODY_BYTES) -> None:
        """Answer Label Studio over HTTP until interrupted (Ctrl-C), then :meth:`close`.

        ``ready(server)`` is called once the socket listens (its
        ``server_address`` gives the port when ``port=0``).  ``auth``
        (``(user, password)``: Basic auth), ``allowed_hosts`` (host names
        besides the loopback ones and ``host``) and ``max_body_bytes`` are
        described in :mod:`skdfal.labeling.frontends.label_studio._http`.
        """
        server = make_server(self, host, port, auth=auth, allowed_hosts=allowed_hosts,
                             max_body_bytes=max_body_bytes)
        if ready is not None:
            ready(server)
        logger.warning("skdfal Label Studio backend on %s port %d (model %s, %s)", *server.server_address[:2],
                       self.model_version, "Basic auth" if auth else "no authentication")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            self.close()
