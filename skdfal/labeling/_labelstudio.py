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
    ``ANNOTATIONS_DELETED``: the label goes into the session's journal (and
    is fsync'd) before the webhook is answered; a cancelled (skipped) task is
    a skip.

**The session is the source of truth.**  The backend folder holds the
session (``session/``), the list of pool images (``images.json``: names and
SHA-256 digests) and ``annotations.jsonl`` (which Label Studio annotation
labeled which pool image, so that a deletion, which names only the
annotation, can be undone).  A ``kill -9`` loses no annotation the backend
answered; a restart replays the journal and retrains.

**Retraining never blocks predictions.**  After every ``retrain_every``
new labels a background thread trains a fresh network on a copy of the
labeled set, ranks the pool by DFAL with it, and only then swaps it in;
``/predict`` answers from the latest ranking meanwhile.  Each retraining
gives a new model version, so Label Studio's "Retrieve predictions" fetches
the new scores.

**Images are read safely.**  A task's image is found by its URL: uploads
(``/data/upload/...``) under Label Studio's media folder, local files
(``/data/local-files/?d=...``) under its document root.  A path that leaves
its root (``..``, an absolute path, a link anywhere on the way), a special
file or a file over ``max_image_bytes`` is refused; tasks are matched to pool
images by the SHA-256 of the file, so no image from Label Studio is decoded
at all.  The pool images themselves are decoded once, when the backend is
created, by Pillow with a pixel bound.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from ._fs import SessionError
from ._session import LabelingSession

__all__ = ["IMAGE_SUFFIXES", "LabelStudioBackend", "load_image_folder", "resolve_task_image", "serve_label_studio"]

logger = logging.getLogger("skdfal.labelstudio")

#: Image files a pool folder may hold (others are ignored).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: Largest image file read (bytes) and decoded (pixels).
MAX_IMAGE_BYTES = 32 << 20
MAX_IMAGE_PIXELS = 64_000_000
#: Largest request body accepted (a /predict of thousands of tasks stays far below).
MAX_BODY_BYTES = 64 << 20
IMAGES_FILE = "images.json"
ANNOTATIONS_FILE = "annotations.jsonl"
SESSION_DIR = "session"


# ----------------------------------------------------------------- reading files safely
def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (not followed if a link), at most ``limit``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ValueError(f"{path}: cannot open ({exc.strerror}; a link or a missing file is refused)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path}: not a regular file (refused)")
        if st.st_size > limit:
            raise ValueError(f"{path}: {st.st_size} bytes, over the limit of {limit} (refused)")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"{path}: grew over the limit of {limit} bytes while read (refused)")
    return data


def _inside(root: str | os.PathLike[str], relative: str) -> Path:
    """``root / relative``, refused unless it stays inside ``root`` with no link on the way."""
    if not relative or "\x00" in relative:
        raise ValueError(f"empty or malformed path {relative!r}")
    relative = relative.replace("\\", "/")
    parts = relative.split("/")
    if relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"path {relative!r} is absolute or leaves its folder (refused)")
    base = os.path.realpath(root)
    path = os.path.join(base, *parts)
    # realpath resolves every link: a path with a link in it no longer equals itself.
    if os.path.realpath(path) != path:
        raise ValueError(f"path {relative!r} goes through a link (refused)")
    return Path(path)


def resolve_task_image(url: str, *, upload_root: str | os.PathLike[str] | None,
                       local_files_root: str | os.PathLike[str] | None) -> Path:
    """The file a Label Studio task's image URL names, inside the allowed roots.

    Parameters
    ----------
    url : str
        ``/data/upload/<project>/<file>`` (files uploaded to Label Studio,
        kept under ``<data dir>/media/upload``) or
        ``/data/local-files/?d=<path>`` (Label Studio's local files storage,
        relative to its ``LOCAL_FILES_DOCUMENT_ROOT``), optionally with a
        scheme and host.
    upload_root : path-like or None
        Label Studio's upload folder (``<data dir>/media/upload``).
    local_files_root : path-like or None
        Label Studio's ``LOCAL_FILES_DOCUMENT_ROOT``.

    Raises
    ------
    ValueError
        Another kind of URL (cloud storage, a remote address), a root not
        configured, or a path leaving its root.
    """
    if not isinstance(url, str):
        raise ValueError(f"the task's image is not a URL string: {url!r}")
    parsed = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parsed.path)
    if path.startswith("/data/upload/"):
        if upload_root is None:
            raise ValueError(f"{url}: an uploaded file, but Label Studio's data folder is not set (--label-studio-data)")
        return _inside(upload_root, path[len("/data/upload/"):])
    if path.rstrip("/") == "/data/local-files":
        values = urllib.parse.parse_qs(parsed.query).get("d")
        if not values:
            raise ValueError(f"{url}: a local file URL without ?d=")
        if local_files_root is None:
            raise ValueError(f"{url}: a local file, but the local files root is not set (--local-files-root)")
        return _inside(local_files_root, values[0])
    raise ValueError(f"{url}: not an uploaded or local file of Label Studio (cloud and remote URLs are not read)")


def _decode_image(data: bytes, name: str, mode: str, size: tuple[int, int] | None):
    """Decode image bytes with Pillow (pixel bound first), as ``mode``, resized to ``size``."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{name}: {im.width}x{im.height} pixels, over {MAX_IMAGE_PIXELS} (refused)")
            im.draft(mode, size)  # JPEG: decode at a reduced scale when that is enough
            im = im.convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(f"{name}: not an image Pillow can decode safely ({exc})") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def load_image_folder(folder: str | os.PathLike[str], *, mode: str = "L",
                      size: tuple[int, int] | None = None) -> tuple[np.ndarray, list[dict]]:
    """The images of ``folder`` (sorted by name) as a pool, and their names and SHA-256 digests.

    Parameters
    ----------
    folder : path-like
        A folder of image files (``IMAGE_SUFFIXES``); links, special files
        and sub-folders in it are skipped.
    mode : {"L", "RGB"}, default="L"
        Grayscale (one channel) or colour (three).
    size : (height, width) or None
        Resize every image to this; ``None``: all images must share a size.

    Returns
    -------
    X : ndarray of shape (n, channels, height, width), float32 in [0, 1]
    images : list of dict
        ``{"name", "sha256"}`` per pool position.
    """
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"images: {folder} is not a folder")
    arrays, images = [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.name.lower().endswith(IMAGE_SUFFIXES) or not entry.is_file(follow_symlinks=False):
            continue
        data = _read_regular(Path(entry.path), MAX_IMAGE_BYTES)
        array = _decode_image(data, entry.path, mode, size)
        if arrays and array.shape != arrays[0].shape:
            raise ValueError(
                f"{entry.path}: {array.shape[1]}x{array.shape[2]} pixels, the first image has "
                f"{arrays[0].shape[1]}x{arrays[0].shape[2]}; pass size=(height, width)"
            )
        arrays.append(array)
        images.append({"name": entry.name, "sha256": hashlib.sha256(data).hexdigest()})
    if not arrays:
        raise ValueError(f"images: no image files ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return np.stack(arrays), images


# ------------------------------------------------------------------ the label config
def _choices_of(label_config: str) -> dict:
    """``{"from_name", "to_name", "data_key", "choices"}`` of a label config's first ``<Choices>``."""
    if not isinstance(label_config, str) or len(label_config) > (1 << 20):
        raise ValueError("the label config is missing or too large")
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError as exc:
        raise ValueError(f"the label config is not valid XML: {exc}") from None
    choices = next(root.iter("Choices"), None)
    if choices is None:
        raise ValueError("the label config has no <Choices>: skdfal classifies whole images")
    to_name = choices.get("toName", "")
    image = next((im for im in root.iter("Image") if im.get("name") == to_name), None)
    if image is None:
        raise ValueError(f"the label config's <Choices> points to {to_name!r}, which is no <Image>")
    data_key = image.get("value", "").lstrip("$")
    return {"from_name": choices.get("name", ""), "to_name": to_name, "data_key": data_key,
            "choices": [c.get("value", "") for c in choices.iter("Choice")]}


# ---------------------------------------------------------------------- the backend
class LabelStudioBackend:
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
    device : str, default=None
        Passed to :class:`~skdfal.LabelingSession`.
    max_image_bytes : int, default=32 MiB
        Largest task image file read.

    Attributes
    ----------
    session : LabelingSession
    model_version : str
        Changes with every retraining.
    stop_decision : StopDecision or None
        The stopping rules' latest decision.
    """

    def __init__(self, directory, *, label_studio_data=None, local_files_root=None, retrain_every=None,
                 stopping="default", device=None, max_image_bytes=MAX_IMAGE_BYTES):
        self.directory = Path(directory)
        info = _read_images_file(self.directory)
        self.session = LabelingSession(self.directory / SESSION_DIR, device=device)
        self._device = device
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
            self.retrain_every = int(retrain_every or self.session.n_instances)
            if self.retrain_every < 1:
                raise ValueError(f"retrain_every must be a positive integer, got {retrain_every!r}")
            self.max_image_bytes = int(max_image_bytes)
            if stopping == "default":
                from ..learners import StabilizingPredictions

                stopping = StabilizingPredictions(stop_set_size=min(1000, len(self.session.X_pool)))
            self.stopping = stopping
            self.stop_decision = None
            self._lock = threading.RLock()  # the session and the annotation map
            self._wake = threading.Condition(self._lock)
            self._closing = False
            self._annotations = _load_annotations(self.directory / ANNOTATIONS_FILE)
            self._annotation_log = open(self.directory / ANNOTATIONS_FILE, "ab")  # noqa: SIM115
            self._pending = self.session.stale
            self._busy = False
            self._config = None  # the project's label config, once Label Studio sent it
            self._trained_labels = None if self.session.stale else dict(self.session.labels)
            self._ranking = self._cold_ranking()
            self._trainer = threading.Thread(target=self._train_loop, name="skdfal-retrain", daemon=True)
            self._trainer.start()
        except BaseException:
            self.session.close(save=False)
            raise

    # ---------------------------------------------------------------- creating
    @classmethod
    def create(cls, directory, images, class_names, *, mode="L", size=None, estimator=None,
               query_strategy="dfal_margin", n_instances=10, random_state=0, **kwargs) -> LabelStudioBackend:
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
        directory.mkdir(parents=True, exist_ok=True)
        LabelingSession.create(directory / SESSION_DIR, X, class_names=names, estimator=estimator,
                               query_strategy=query_strategy, n_instances=n_instances,
                               random_state=random_state).close()
        tmp = directory / (IMAGES_FILE + ".tmp")
        tmp.write_text(json.dumps({"kind": "skdfal-label-studio", "version": 1, "images": listed}))
        os.replace(tmp, directory / IMAGES_FILE)
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
            config = _choices_of(schema)
            choices = config["choices"]
            if choices != self.session.class_names:
                raise ValueError(f"the project's <Choice> values {choices} are not the session's classes "
                                 f"{self.session.class_names} (same names, same order)")
            self._config = config
        return {"model_version": self.model_version}

    def predict(self, payload: dict) -> dict:
        """One prediction per task: the predicted class and the DFAL score (lowest: label first)."""
        tasks = payload.get("tasks") if isinstance(payload, dict) else None
        if not isinstance(tasks, list):
            raise ValueError("predict: the request has no list of tasks")
        config = self._config_of(payload.get("label_config"))
        ranking = self._ranking  # one consistent ranking for the whole request, whatever retrains meanwhile
        results = []
        for task in tasks:
            index = self._task_index(task, config["data_key"])
            results.append(self._prediction(index, ranking, config))
        return {"results": results}

    def webhook(self, payload: dict) -> dict:
        """Record what Label Studio says happened to annotations (durable before answering)."""
        action = payload.get("action") if isinstance(payload, dict) else None
        if action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED"):
            annotations, tasks = payload.get("annotation"), payload.get("task")
            if not isinstance(annotations, list):
                annotations, tasks = [annotations], [tasks]
            if not isinstance(tasks, list) or len(tasks) != len(annotations):
                tasks = [None] * len(annotations)
            project = payload.get("project")
            config = self._config_of(project.get("label_config") if isinstance(project, dict) else None)
            done = [self._record(a, t, config) for a, t in zip(annotations, tasks, strict=True)]
            return {"status": "ok", "recorded": sum(done)}
        if action == "ANNOTATIONS_DELETED":
            removed = 0
            for annotation in payload.get("annotations") or []:
                if isinstance(annotation, dict):
                    removed += self._forget(annotation.get("id"))
            return {"status": "ok", "removed": removed}
        return {"status": "ignored", "action": action}

    def _config_of(self, label_config) -> dict:
        """The label config sent, else the last one seen, else a default naming the session's classes."""
        if label_config:
            self._config = _choices_of(label_config)
        return self._config or _choices_of(_default_config(self.session.class_names))

    # ----------------------------------------------------------------- tasks
    def _task_index(self, task, data_key) -> int | None:
        """The pool position of a task's image (``None``: not in the pool, or unreadable)."""
        data = task.get("data") if isinstance(task, dict) else None
        url = data.get(data_key) if isinstance(data, dict) else None
        try:
            path = resolve_task_image(url, upload_root=self.upload_root, local_files_root=self.local_files_root)
            digest = hashlib.sha256(_read_regular(path, self.max_image_bytes)).hexdigest()
        except ValueError as exc:
            logger.warning("task %s: %s", task.get("id") if isinstance(task, dict) else "?", exc)
            return None
        index = self._by_digest.get(digest)
        if index is None:
            logger.warning("task %s: its image %s is not in the pool the backend was made from",
                           task.get("id"), path)
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
        return {"result": result, "score": score, "model_version": version}

    # ----------------------------------------------------------- annotations
    def _record(self, annotation, task, config) -> bool:
        if not isinstance(annotation, dict):
            return False
        if task is None or not isinstance(task, dict):
            task = annotation.get("task") if isinstance(annotation.get("task"), dict) else None
        index = self._task_index(task, config["data_key"]) if task is not None else None
        if index is None:
            return False
        label = None
        if not annotation.get("was_cancelled"):
            for item in annotation.get("result") or []:
                if isinstance(item, dict) and item.get("from_name") == config["from_name"]:
                    picked = (item.get("value") or {}).get("choices") or []
                    if picked:
                        label = picked[0]
            if label is None:
                logger.warning("annotation %s: no choice for %r; ignored", annotation.get("id"), config["from_name"])
                return False
        with self._lock:
            self._remember(annotation.get("id"), index)
            self._apply(index, label)
            self._wake.notify_all()
        return True

    def _remember(self, annotation_id, index) -> None:
        if annotation_id is None or self._annotations.get(annotation_id) == index:
            return
        line = json.dumps({"annotation": annotation_id, "index": index}).encode() + b"\n"
        self._annotation_log.write(line)
        self._annotation_log.flush()
        os.fsync(self._annotation_log.fileno())
        self._annotations[annotation_id] = index

    def _forget(self, annotation_id) -> int:
        with self._lock:
            index = self._annotations.get(annotation_id)
            if index is None or index not in self.session.labels and index not in self.session.skipped:
                return 0
            self._apply(index, None, remove=True)
            self._wake.notify_all()
            return 1

    def _apply(self, index, label, *, remove=False) -> None:
        """Label (``label``), skip (``None``) or forget (``remove``) pool image ``index`` (under the lock).

        A change to an earlier answer undoes back to it and answers the later
        ones again, in order: the session keeps its labels as a stack.
        """
        session = self.session
        history = session.history
        position = next((p for p, a in enumerate(history) if a["index"] == index), None)
        if position is not None:
            current = history[position]
            same = (current["op"] == "skip" and label is None) if not remove else False
            if not remove and current["op"] == "label" and label is not None:
                same = session.class_names[current["label"]] == label or current["label"] == label
            if same:
                return
            later = history[position + 1:]
            for _ in range(len(history) - position):
                session.undo()
        else:
            later = []
        if not remove:
            if label is None:
                session.skip(index)
            else:
                session.teach(index, label)
        for action in later:
            if action["op"] == "label":
                session.teach(action["index"], action["label"])
            else:
                session.skip(action["index"])
        self._pending = True

    # -------------------------------------------------------------- training
    def _cold_ranking(self) -> dict:
        """Before any model: the session's own random order (seeded), no pre-annotations."""
        n = len(self.session.X_pool)
        order = np.random.RandomState(self.session.config["random_state"]).permutation(n)
        score = np.empty(n)
        score[order] = np.arange(n) / n
        if self._trained_labels is not None and self.session.n_labels and hasattr(self.session.learner, "estimator_"):
            return self._rank(self.session.learner, self.session.available_indices(), self.session.n_labels)
        return {"version": f"skdfal-{self.session.config['session_id'][:8]}-0", "score": score,
                "labels": None, "proba": None}

    def _rank(self, learner, available, n_labels) -> dict:
        """Scores in ``[0, 1)``: the DFAL order of ``available`` (labeled images: 1); predictions."""
        X_pool = self.session.X_pool
        n = len(X_pool)
        score = np.ones(n)
        if len(available):
            order, _ = learner.query(X_pool[available], n_instances=len(available))
            score[available[np.asarray(order, dtype=np.int64)]] = np.arange(len(available)) / len(available)
        proba = learner.predict_proba(X_pool)
        return {"version": f"skdfal-{self.session.config['session_id'][:8]}-{n_labels}", "score": score,
                "labels": np.argmax(proba, axis=1), "proba": np.max(proba, axis=1)}

    def _train_loop(self) -> None:
        from ..learners._stopping import check_stopping
        from ._open import new_learner

        while True:
            with self._lock:
                while not self._closing and not self._due():
                    self._wake.wait(timeout=1.0)
                if self._closing:
                    return
                labels = dict(self.session.labels)
                X, y, flags = self.session._state.training_set(self.session.X_pool)
                available = self.session.available_indices()
                self._pending = False
                self._busy = True
            try:
                learner = new_learner(self.session.config, self._device)
                learner.fit(X, y)
                if flags.any():
                    learner.restore(learner.estimator_, X, y, flags)
                ranking = self._rank(learner, available, len(labels))
                decision = check_stopping(self.stopping, learner, self.session.X_pool)
            except Exception:  # a failed retraining must not end the server: logged, retried on the next label
                logger.exception("retraining on %d labels failed", len(labels))
                with self._lock:
                    self._busy = False
                continue
            with self._lock:
                self._busy = False
                if self._closing:
                    return
                self.session.learner.restore(learner.estimator_, X, y, flags)
                self.session._stale = self.session.labels != labels
                self._pending = self._pending or self.session._stale
                try:
                    self.session.save()
                except OSError:
                    logger.exception("saving the snapshot failed (the journal keeps every label)")
                self._trained_labels = labels
                self._ranking = ranking
                self.stop_decision = decision
            logger.info("retrained on %d labels: model version %s", len(labels), ranking["version"])
            if decision is not None and decision.stop:
                logger.warning("you may stop: %s", decision.reason)

    def _due(self) -> bool:
        if not self._pending or not self.session.labels:
            return False
        if self._trained_labels is None:
            return True
        changed = sum(1 for i, lab in self.session.labels.items() if self._trained_labels.get(i) != lab)
        removed = sum(1 for i in self._trained_labels if i not in self.session.labels)
        return changed + removed >= self.retrain_every

    def wait_until_trained(self, timeout: float = 60.0) -> bool:
        """Block until no retraining is due or running (tests, scripts); ``False`` on timeout."""
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not self._busy and not self._due():
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        """Stop the retraining thread, save a snapshot, release the session."""
        with self._lock:
            self._closing = True
            self._wake.notify_all()
        self._trainer.join(timeout=600)
        with self._lock:
            self._annotation_log.close()
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- serving
    def serve(self, host: str = "127.0.0.1", port: int = 9090, *, ready=None) -> None:
        """Answer Label Studio over HTTP until interrupted (Ctrl-C), then :meth:`close`.

        ``ready(server)`` is called once the socket listens (its
        ``server_address`` gives the port when ``port=0``).
        """
        server = make_server(self, host, port)
        if ready is not None:
            ready(server)
        logger.warning("skdfal Label Studio backend on http://%s:%d (model %s)", *server.server_address[:2],
                       self.model_version)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            self.close()


def _default_config(class_names) -> str:
    choices = "".join(f'<Choice value="{_xml_escape(c)}"/>' for c in class_names)
    return (f'<View><Image name="image" value="$image"/><Choices name="choice" toName="image">{choices}'
            f"</Choices></View>")


def _xml_escape(text: str) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr(text)[1:-1]


def _read_images_file(directory: Path) -> dict:
    path = directory / IMAGES_FILE
    if not directory.is_dir():
        raise SessionError(f"{directory}: not a folder; make a backend with LabelStudioBackend.create or "
                           "`skdfal serve-label-studio DIR --images FOLDER --classes ...`")
    try:
        info = json.loads(_read_regular(path, 256 << 20))
    except ValueError as exc:
        raise SessionError(f"{path}: missing or malformed ({exc})") from None
    images = info.get("images") if isinstance(info, dict) else None
    if info.get("kind") != "skdfal-label-studio" or not isinstance(images, list) or not all(
            isinstance(i, dict) and isinstance(i.get("sha256"), str) for i in images):
        raise SessionError(f"{path}: not a skdfal Label Studio image list")
    return info


def _load_annotations(path: Path) -> dict:
    """``{annotation id: pool index}`` from ``annotations.jsonl`` (a torn last line is ignored)."""
    found = {}
    if not path.exists():
        return found
    for line in _read_regular(path, 256 << 20).splitlines():
        try:
            record = json.loads(line)
            found[record["annotation"]] = int(record["index"])
        except (ValueError, KeyError, TypeError):
            logger.warning("%s: a damaged line skipped", path)
    return found


# ------------------------------------------------------------------- HTTP server
class _Handler(BaseHTTPRequestHandler):
    backend: LabelStudioBackend  # set on the subclass made per server
    server_version = "skdfal-label-studio"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        logger.debug("%s - %s", self.address_string(), format % args)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's name
        route = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if route in ("", "/health"):
            self._send(200, self.backend.health())
        elif route == "/versions":
            self._send(200, {"versions": [self.backend.model_version]})
        else:
            self._send(404, {"error": f"no route {route}"})

    def do_POST(self):  # noqa: N802 - http.server's name
        route = urllib.parse.urlsplit(self.path).path.rstrip("/")
        handlers = {"/setup": self.backend.setup, "/predict": self.backend.predict,
                    "/webhook": self.backend.webhook, "/train": lambda payload: {"status": "ok"}}
        if route not in handlers:
            self._send(404, {"error": f"no route {route}"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411, {"error": "Content-Length required"})
            return
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(413, {"error": f"request body over {MAX_BODY_BYTES} bytes"})
            return
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as exc:
            self._send(400, {"error": f"not JSON: {exc}"})
            return
        try:
            self._send(200, handlers[route](payload))
        except (ValueError, TypeError, SessionError) as exc:
            self._send(400, {"error": str(exc)})
        except OSError as exc:  # the journal could not be written: Label Studio must not think it was
            logger.exception("%s failed", route)
            self._send(503, {"error": f"could not record it: {exc}"})


def make_server(backend: LabelStudioBackend, host: str = "127.0.0.1", port: int = 9090) -> ThreadingHTTPServer:
    """A threading HTTP server answering Label Studio for ``backend`` (not started)."""
    handler = type("Handler", (_Handler,), {"backend": backend})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_label_studio(directory, *, host: str = "127.0.0.1", port: int = 9090, images=None, classes=None,
                       **kwargs: Any) -> None:
    """Serve the Label Studio ML backend of ``directory``, creating it from ``images`` the first time.

    Parameters
    ----------
    directory : path-like
        The backend folder (see :class:`LabelStudioBackend`).
    host, port
        Where to listen (loopback by default: Label Studio on the same machine).
    images : path-like, optional
        Folder of pool images, to create the backend (first run only).
    classes : list of str, optional
        Class names, to create the backend (the project's ``<Choice>`` values).
    **kwargs
        Passed to :meth:`LabelStudioBackend.create` or the constructor.
    """
    directory = Path(directory)
    create_keys = ("mode", "size", "estimator", "query_strategy", "n_instances", "random_state")
    if (directory / IMAGES_FILE).exists():
        if images is not None or classes is not None:
            raise ValueError(f"{directory} holds a backend already; drop --images/--classes to resume it")
        backend = LabelStudioBackend(directory, **{k: v for k, v in kwargs.items() if k not in create_keys})
    else:
        if images is None or not classes:
            raise ValueError(f"{directory} holds no backend yet: pass images= (a folder) and classes= to create one")
        backend = LabelStudioBackend.create(directory, images, classes, **kwargs)
    backend.serve(host, port)
