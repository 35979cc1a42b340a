"""Labeling sessions that survive crashes: a pool, an active learner and a label journal.

A person labels for hours; kernels crash and processes get killed.  A
:class:`LabelingSession` keeps everything in one directory (the files are
listed in :mod:`skdfal.labeling.store._layout`).

**The journal is the source of truth.**  :meth:`LabelingSession.teach`
appends the label to ``journal.jsonl`` and fsyncs it before returning, so a
label is durable as soon as ``teach`` returns.  On opening, the latest
snapshot is loaded and the journal records after it are replayed (see
:mod:`skdfal.labeling.session._open`).  A change to any earlier answer
(:meth:`~LabelingSession.relabel`, :meth:`~LabelingSession.skip`,
:meth:`~LabelingSession.forget`, undo) appends one record; nothing is ever
rewritten (see :mod:`skdfal.labeling.session._answers`).

**A full disk loses nothing confirmed.**  When a write or fsync fails
(``ENOSPC``, ``EIO``), ``teach``, ``skip`` or ``undo`` raises the
``OSError`` and the journal is truncated back to its last confirmed record,
so the same session object can go on once space is freed; a record whose
fsync failed counts as not confirmed.  Should the truncation fail too, the
session refuses further changes with a :class:`SessionError` until it is
reopened.  A snapshot that fails to save leaves the previous one current.

**Readers never see half a snapshot.**  A snapshot generation's files are
kept until the next one is committed, and a reader whose generation was
replaced while it read (another process retraining) starts again from the
new ``snapshot.json``, a bounded number of times.

**Retraining is lazy.**  ``teach`` only records the label (milliseconds).  The
model is retrained on the whole labeled set when the next batch is queried
(:meth:`~LabelingSession.query`, :meth:`~LabelingSession.current`) or on
:meth:`~LabelingSession.retrain`; a snapshot (weights included) is written
after each retrain and on :meth:`~LabelingSession.close`.  A session resumed
after a crash therefore retrains once, on its first query, if labels arrived
after the last snapshot.

**A folder from someone else is safe to open.**  Nothing in it is
unpickled, no link in it is followed, no pipe in it is waited on, and a
malformed file is a :class:`SessionError` naming it (see
:mod:`skdfal.labeling._fs` and :mod:`skdfal.labeling.store._formats`).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .._fs import SessionError
from ..store import LOCK_FILE, SNAPSHOT_DIR, write_snapshot
from ._answers import SessionAnswers
from ._create import create_session
from ._model import SessionModel
from ._open import OWNED_FILES, Held, open_folder
from ._training import SessionTraining

if TYPE_CHECKING:
    from ...strategies import QueryStrategy

__all__ = ["LabelingSession"]


class LabelingSession(SessionAnswers, SessionModel, SessionTraining):
    """A persistent, crash-safe human-in-the-loop active learning session.

    Open an existing session directory with ``LabelingSession(directory)``;
    create one with :meth:`create` (or :func:`make_digits_session`).  Close it
    (or use ``with``) to release the directory's lock and write a snapshot.

    Parameters
    ----------
    directory : path-like
        A directory made by :meth:`create`.  It may be reached through a
        link; a link or a special file *inside* it is refused.
    pool : array-like, default=None
        The pool, when the session was created with ``store_pool=False``.
    device : str, default=None
        Override the estimator's device (e.g. ``"cpu"`` for a session made on
        a GPU machine); refused (``ValueError``) if this machine lacks it.
    on_corrupt : {"raise", "skip"}, default="raise"
        What to do with a damaged journal line that is not the last one.
    readonly : bool, default=False
        Inspect without the lock; ``teach``, ``skip``, ``undo`` and saving
        are refused.
    allow_modules : list of str, default=None
        Import paths of networks you trust: a session naming one (importing
        it runs code) opens only when it is listed here.

    Attributes
    ----------
    directory : Path
    learner : ActiveLearner
        The learner; fitted once there are labels and a query or
        :meth:`retrain` happened (see ``stale``).
    X_pool : ndarray
    n_classes : int
    class_names : list of str
    stopping : stopping rule, list of rules or None
        Set it (``session.stopping = skdfal.StabilizingPredictions()``) to
        have every retraining update the rules (not saved in the folder).
    stop_decision : StopDecision or None
        Their latest decision: ``str(session.stop_decision)`` reads "you may
        stop: ..." with the reason once a rule says so.

    Raises
    ------
    SessionError
        A file of the folder is missing, damaged, foreign, unsafe (a link, a
        pipe, a pickle) or from a newer skdfal, naming it; or the session is
        open for writing elsewhere.

    Examples
    --------
    >>> import tempfile
    >>> from skdfal import load_digits_images
    >>> from skdfal import LabelingSession
    >>> X, y = load_digits_images()
    >>> directory = tempfile.mkdtemp()
    >>> with LabelingSession.create(directory, X[:200], query_strategy="random_sampling",
    ...                             estimator={"max_epochs": 1}, n_instances=5) as session:
    ...     for _ in range(3):
    ...         i = session.current()
    ...         _ = session.teach(i, y[i])
    >>> with LabelingSession(directory) as session:  # after a restart, or kill -9
    ...     session.n_labels
    3
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, pool: npt.ArrayLike | None = None,
        device: str | None = None, on_corrupt: Literal["raise", "skip"] = "raise", readonly: bool = False,
        allow_modules: Sequence[str] | None = None,
    ):
        self._setup(directory, Held(), pool=pool, device=device, on_corrupt=on_corrupt, readonly=readonly,
                    allow_modules=allow_modules)

    def _setup(self, directory, held, *, pool, device, on_corrupt, readonly, allow_modules=None):
        # Also how a session just created opens, with the lock it was made under in ``held``.
        self.directory = Path(directory)
        self.readonly = bool(readonly)
        self._device = device  # new learners (``new_learner``) on the device this session was opened with
        self._held = held
        # Dropped without close(): descriptors closed, lock released all the same.
        self._finalizer = weakref.finalize(self, held.release)
        given_lock = held.lock is not None  # a create's: it cleans up under it, then lets it go
        try:
            self.config, loaded = open_folder(self.directory, held, self, pool=pool, device=device,
                                              on_corrupt=on_corrupt, readonly=self.readonly,
                                              allow_modules=allow_modules)
        except BaseException:
            self._finalizer.detach()
            held.release(keep_lock=given_lock)
            raise
        self.X_pool, self.learner, self._journal = loaded.X_pool, loaded.learner, loaded.journal
        self._state, self._rng, self._stale = loaded.state, loaded.rng, loaded.stale
        self._generation, self._saved_seq = loaded.generation, loaded.saved_seq
        self.class_names = list(self.config["class_names"])
        self.n_classes = len(self.class_names)
        self._display = {}  # pool index -> adversarial copy of the current batch (or None)
        self.stopping = None
        self.stop_decision = None

    # ----------------------------------------------------------------- creating
    @classmethod
    def create(
        cls,
        directory: str | os.PathLike[str],
        X_pool: npt.ArrayLike,
        *,
        estimator: dict[str, Any] | None = None,
        query_strategy: str | QueryStrategy = "dfal_margin",
        strategy_params: dict[str, Any] | None = None,
        n_instances: int = 10,
        adversarial_augmentation: bool = False,
        augmentation_params: dict[str, Any] | None = None,
        warm_start: bool = False,
        class_names: Sequence[str] | None = None,
        initial_labels: dict[int, int | str] | tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        random_state: int = 0,
        store_pool: bool = True,
        device: str | None = None,
    ) -> LabelingSession:
        """Create a session directory and open it.

        Parameters
        ----------
        directory : path-like
            Created if needed (with its parents); must be empty (a folder
            holding a session or anything else is refused).  Nothing is
            written before every argument is checked, and a create that
            fails leaves the folder as it was.
        X_pool : array-like of shape (n_samples, channels, height, width)
            The unlabeled pool (numbers, all finite).  Saved as ``pool.npy``
            unless ``store_pool=False`` (then pass it again when opening).
        estimator : dict, default=None
            Keyword arguments of :func:`skdfal.make_classifier` (JSON values
            only), merged over ``{"module": "lenet5", "train_steps": "auto",
            "batch_size": 32, "random_state": 0}``: the step trainer chosen
            for few labels, retraining from scratch after each batch
            (``{"max_epochs": n}`` gives skorch's epoch loop instead);
            ``input_shape`` defaults to the pool's sample shape and
            ``n_classes`` to ``len(class_names)`` or 10.  ``module``: ``"lenet5"``,
            ``"vgg8"`` or any torch classifier's import path (a class or function,
            called with the ``module__*`` arguments: ``{"module":
            "torchvision.models:resnet18", "module__num_classes": 3, "freeze": True,
            "head": "fc"}``), which reopening needs in ``allow_modules``.
        query_strategy : str or QueryStrategy, default="dfal_margin"
            A strategy registered in :func:`skdfal.all_strategies`, by name or
            as an object with JSON-able parameters.
        strategy_params : dict, default=None
            Parameters for a strategy given by name.
        n_instances : int, default=10
            Samples per queried batch (the model is retrained between batches).
        adversarial_augmentation, augmentation_params, warm_start
            As in :class:`skdfal.ActiveLearner`.
        class_names : list of str, default=None
            Names shown to the person; labels are their positions.
        initial_labels : dict or (indices, labels), default=None
            Labels known already (journaled like any other).
        random_state : int, default=0
            Seeds the first batch, drawn at random while nothing is labeled.
        store_pool : bool, default=True
        device : str, default=None
            Device for this process only (not saved in the spec); refused if
            this machine lacks it.

        Raises
        ------
        ValueError or TypeError
            Naming the argument that cannot make a session.
        SessionError
            ``directory`` already holds a session, or another process is
            creating or labeling one there.
        """
        return create_session(
            cls, directory, X_pool, estimator=estimator, query_strategy=query_strategy,
            strategy_params=strategy_params, n_instances=n_instances,
            adversarial_augmentation=adversarial_augmentation, augmentation_params=augmentation_params,
            warm_start=warm_start, class_names=class_names, initial_labels=initial_labels,
            random_state=random_state, store_pool=store_pool, device=device,
        )

    def _writable(self):
        if self.readonly:
            raise SessionError(f"{self.directory}: session opened readonly")
        if self._journal.broken is not None:  # a failed append that could not be undone
            raise SessionError(self._journal.broken)
        if self._journal.closed:
            raise SessionError(f"{self.directory}: session is closed")

    # ------------------------------------------------------------------ saving
    def save(self) -> LabelingSession:
        """Write a snapshot (labels, skips, adversarial copies, weights, RNG state) atomically.

        Files of the new generation are written first, then ``snapshot.json``
        is replaced in one rename; a crash or a failed write (``OSError``) at
        any point leaves the previous snapshot whole.  The previous
        generation's files stay until the next save, for readers that opened
        it (``readonly=True``) while this one was written.  Labels are durable
        without saving (the journal).
        """
        self._writable()
        fitted = hasattr(self.learner, "estimator_") and bool(self._state.labels)
        self._generation = write_snapshot(
            self._held.folder,
            session_id=self.config["session_id"],
            generation=self._generation + 1,
            journal_seq=self._journal.last_seq,
            actions=self._state.kept(),
            adversarial=self._state.adversarial,
            queue=self._state.queue,
            rng=self._rng,
            estimator=self.learner.estimator_ if fitted else None,
            stale=self._stale,
            sample_shape=self.X_pool.shape[1:],
            dtype=self.X_pool.dtype if self.X_pool.dtype.kind == "f" else np.float32,
            n_pool=len(self.X_pool),
        )
        self._saved_seq = self._journal.last_seq
        return self

    def write_file(self, name: str, data: bytes) -> None:
        """Replace the file ``name`` of the session folder with ``data``, atomically.

        For a front-end's own files (the terminal's ``current.png``): written
        as the session's files are (a link at ``name`` is replaced, never
        followed; created ``0600``).  ``name`` is a plain file name that is
        not one of the session's own files, else ``ValueError``.
        """
        self._writable()
        if (not isinstance(name, str) or not name or name.startswith(".") or "/" in name or "\0" in name
                or name in OWNED_FILES - {"current.png"} or name in (LOCK_FILE, SNAPSHOT_DIR)):
            raise ValueError(f"write_file: {name!r} is not a file name a front-end may write in the session folder")
        self._held.folder.write_bytes(name, bytes(data))

    def close(self, save: bool = True) -> None:
        """Save a snapshot if labels changed since the last one, release the lock."""
        try:
            if save and not self.readonly and not self._journal.closed:
                if self._journal.last_seq != self._saved_seq:
                    self.save()
        finally:
            self._finalizer()

    def _detach(self):
        """Close the files but keep the lock, for a failed create to clean up under it."""
        self._finalizer.detach()
        self._held.release(keep_lock=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"LabelingSession({str(self.directory)!r}: {self.n_labels} labels, "
                f"{len(self._state.skipped)} skipped, pool of {len(self.X_pool)})")

