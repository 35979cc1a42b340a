"""Reading a session folder back: the pool, the learner, the snapshot, then the journal.

The latest snapshot gives the labels, skips, copies, RNG state and weights
it saw; the journal records after it are replayed on top (a torn last line
is dropped with a warning).  A reader without the lock (``readonly``) may
see the snapshot replaced while it reads it; when reading fails and
``snapshot.json`` names another generation by then, it starts again from
that one, up to :data:`SNAPSHOT_ATTEMPTS` times (see
:mod:`skdfal.labeling.store._snapshot`).  The learner takes the restored weights through
:meth:`~skdfal.ActiveLearner.restore`, so its fitted state stays its own.
Every file is read through the folder's :class:`~skdfal.labeling._fs.SessionDir`
with a bound fitted to the session's pool and network.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._fs import SessionDir, SessionError, _naming
from ..store import (
    FORMAT_VERSION,
    JOURNAL_FILE,
    LOCK_FILE,
    POOL_FILE,
    SESSION_FILE,
    SESSION_JSON_LIMIT,
    SNAPSHOT_DIR,
    SNAPSHOT_FILE,
    Journal,
    SessionLock,
    is_snapshot_file,
    load_json,
    load_pool,
    read_manifest,
    read_snapshot,
    read_state_dict,
    snapshot_generation,
)
from ._network import make_estimator
from ._spec import build_strategy, check_config, check_device
from ._state import LabelState

__all__ = ["OWNED_FILES", "SNAPSHOT_ATTEMPTS", "Held", "Loaded", "journal_limit", "load_session", "new_learner",
           "open_folder"]

#: Files of the session folder whose temporaries a session may clean up.
OWNED_FILES = frozenset({SESSION_FILE, POOL_FILE, JOURNAL_FILE, SNAPSHOT_FILE, "current.png"})

#: How many snapshot generations a reader follows before giving up on a writer
#: that commits faster than the reader can read (each commit keeps the
#: previous generation's files, so one retry is almost always the last).
SNAPSHOT_ATTEMPTS = 8


@dataclass
class Loaded:
    """Everything a :class:`~skdfal.LabelingSession` reads from its folder."""

    X_pool: np.ndarray
    learner: object
    state: LabelState
    journal: Journal
    rng: np.random.RandomState
    stale: bool
    generation: int
    saved_seq: int


class Held:
    """What an open session holds: its folder, journal and lock.

    Kept apart from the session so that a finalizer can let them go when the
    session object is dropped without ``close()`` (a notebook cell re-run):
    the descriptors close and the lock is released.
    """

    def __init__(self, lock=None):
        self.folder, self.journal, self.lock = None, None, lock

    def release(self, *, keep_lock=False) -> None:
        try:
            if self.journal is not None:
                self.journal.close()
        finally:
            if self.lock is not None and not keep_lock:
                self.lock.release()
            if self.folder is not None:
                self.folder.close()


def open_folder(directory, held, owner, *, pool, device, on_corrupt, readonly, allow_modules=None):
    """Check and read the session folder ``directory`` into ``held``; returns ``(config, Loaded)``.

    The folder is refused if it holds a link or a special file; the lock
    (unless ``held`` has one already, or ``readonly``) is taken before
    anything is cleaned up or opened for writing.  ``allow_modules``: the
    import paths of networks the opener confirmed (see :mod:`._spec`).
    """
    directory = Path(directory)
    if device is not None:
        check_device(device)
    if not directory.is_dir():
        raise SessionError(f"{directory / SESSION_FILE}: missing; is this a skdfal session directory?")
    held.folder = folder = SessionDir(directory)
    folder.check_entries()
    config = load_json(folder, SESSION_FILE, kind="skdfal-session", max_version=FORMAT_VERSION,
                       limit=SESSION_JSON_LIMIT)
    check_config(config, folder.where(SESSION_FILE), device=device, allow_modules=allow_modules)
    if not readonly and held.lock is None:
        held.lock = SessionLock(folder, LOCK_FILE, owner).acquire()
    loaded = load_session(folder, config, pool=pool, device=device, on_corrupt=on_corrupt, readonly=readonly)
    held.journal = loaded.journal
    return config, loaded


def journal_limit(n_pool: int, sample_shape) -> int:
    """The most bytes a journal may hold: room for every sample labeled four times, copies included."""
    return (256 << 20) + 4 * n_pool * (16 * math.prod(sample_shape) + 512)


def new_learner(config, device, X_pool=None):
    """An unfitted :class:`~skdfal.ActiveLearner` as a checked ``session.json`` specifies it.

    A network that learns from the pool (``estimator["semi_supervised"]``) gets ``X_pool``.
    """
    from ...learners import ActiveLearner

    params = config["learner"]
    semi = config["estimator"].get("semi_supervised") is not None
    return ActiveLearner(
        make_estimator(config, device),
        build_strategy(config["strategy"]),
        X_unlabeled=X_pool if semi else None,
        adversarial_augmentation=bool(params.get("adversarial_augmentation", False)),
        augmentation_params=params.get("augmentation_params"),
        warm_start=bool(params.get("warm_start", False)),
    )


def load_session(folder, config, *, pool, device, on_corrupt, readonly) -> Loaded:
    """Read the session in ``folder`` (a SessionDir whose checked ``session.json`` is ``config``)."""
    if not readonly:  # under the lock: no writer of ours can be at work
        folder.remove_stale_temporaries(OWNED_FILES.__contains__)
        if folder.exists(SNAPSHOT_DIR):
            with folder.subdir(SNAPSHOT_DIR) as snapdir:
                snapdir.remove_stale_temporaries(is_snapshot_file)
    X_pool = load_pool(folder, config, pool)
    sample_shape = X_pool.shape[1:]
    learner = new_learner(config, device, X_pool)
    journal = Journal(folder, JOURNAL_FILE, config["session_id"], limit=journal_limit(len(X_pool), sample_shape))
    records, valid_bytes = journal.read(on_corrupt=on_corrupt, keep_open=not readonly)
    try:
        state, rng, stale, generation, snapshot_seq = _restore(folder, config, X_pool, learner, records, device)
        last_seq = max(journal.last_seq, snapshot_seq)
        if not readonly:
            try:
                journal.open_for_append(valid_bytes, last_seq)
            except OSError as exc:  # a full disk or an I/O error says no file: name the journal
                raise _naming(exc, journal.path) from exc
        journal.last_seq = last_seq
    except BaseException:
        journal.close()
        raise
    return Loaded(X_pool, learner, state, journal, rng, stale, generation, snapshot_seq)


def _restore(folder, config, X_pool, learner, records, device):
    """The snapshot, then the journal ``records`` after it, retried while the snapshot moves under a reader.

    The journal was read first: a snapshot committed since then holds its
    records already, so any generation followed gives the state as of the
    later of the two.
    """
    for attempt in itertools.count(1):
        manifest = read_manifest(folder, config["session_id"], len(X_pool))
        try:
            return _replay(folder, config, X_pool, learner, records, device, manifest)
        except SessionError as exc:
            followed = None if manifest is None else manifest.get("generation")
            now = snapshot_generation(folder, len(X_pool))
            if now is None or now == followed:
                raise  # nothing moved: the files are what they are
            if attempt == SNAPSHOT_ATTEMPTS:
                raise SessionError(
                    f"{folder.where(SNAPSHOT_FILE)}: replaced {attempt} times while being read (another "
                    f"process is saving snapshots faster than this one reads them); try again. The last "
                    f"attempt failed with: {exc}"
                ) from exc


def _replay(folder, config, X_pool, learner, records, device, manifest):
    state = LabelState(len(X_pool), len(config["class_names"]))
    rng = np.random.RandomState(config["random_state"])
    snap = None
    if manifest is not None:
        snap = read_snapshot(folder, config["session_id"], len(X_pool), X_pool.shape[1:], manifest=manifest)
    snapshot_seq, weights, generation, stale = 0, None, 0, False
    if snap is not None:
        state.restore(snap["actions"], snap["labels_file"])
        for index in snap["queue"]:
            state.check(index, None, folder.where(SNAPSHOT_FILE))
        state.queue = list(snap["queue"])
        if snap["rng_state"] is not None:
            rng.set_state(snap["rng_state"])
        snapshot_seq, weights = snap["journal_seq"], snap["weights"]
        generation, stale = snap["generation"], snap["stale"]
    for record in records:
        if record["seq"] > snapshot_seq:
            stale = state.replay(record, folder.where(JOURNAL_FILE)) or stale
    if weights is not None and state.labels:
        _restore_model(learner, state, X_pool, weights, config, device)
    elif state.labels:
        stale = True
    return state, rng, stale, generation, snapshot_seq


def _restore_model(learner, state, X_pool, weights, config, device):
    """Give ``learner`` the saved weights and the labeled set they were trained on."""
    snapdir, name, digest = weights
    estimator = make_estimator(config, device)
    expected = sum(t.numel() * t.element_size() for t in estimator.module_.state_dict().values())
    # Room for torch's archive around the tensors, never more than the network can hold.
    state_dict = read_state_dict(snapdir, name, sha256=digest, limit=2 * expected + (1 << 20))
    try:
        estimator.module_.load_state_dict(state_dict)
    except RuntimeError as exc:
        # torch says "Error(s) in loading state_dict" for missing, extra or misshapen tensors;
        # anything else (memory, devices) is not the file's fault and keeps its own words.
        if "state_dict" not in str(exc):
            raise
        raise SessionError(f"{snapdir.where(name)}: weights do not fit the session's network: {exc}") from None
    X, y, flags = state.training_set(X_pool)
    if hasattr(estimator, "fit_input_stats"):
        # Input statistics learned by fit ("auto") are not in the state_dict:
        # learn them again from the same training set.
        estimator.fit_input_stats(X)
    learner.restore(estimator, X, y, flags)
