"""Reading a session directory back: the pool, the learner, the snapshot, then the journal.

The latest snapshot gives the labels, skips, copies, RNG state and weights
it saw; the journal records after it are replayed on top (a torn last line
is dropped with a warning).  The learner takes the restored weights through
:meth:`~skdfal.ActiveLearner.restore`, so its fitted state stays its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._journal import Journal, SessionError, remove_stale_temporaries
from ._snapshot import load_pool, read_snapshot
from ._spec import (
    JOURNAL_FILE,
    SESSION_FILE,
    SNAPSHOT_DIR,
    SNAPSHOT_FILE,
    build_strategy,
    make_estimator,
)
from ._state import LabelState

__all__ = ["Loaded", "load_session", "new_learner"]


@dataclass
class Loaded:
    """Everything a :class:`~skdfal.LabelingSession` reads from its directory."""

    X_pool: np.ndarray
    learner: object
    state: LabelState
    journal: Journal
    rng: np.random.RandomState
    stale: bool
    generation: int
    saved_seq: int


def new_learner(directory, config, sample_shape, device):
    """An unfitted :class:`~skdfal.ActiveLearner` as ``session.json`` specifies it."""
    from ..learners import ActiveLearner

    where = Path(directory) / SESSION_FILE
    params = config["learner"]
    return ActiveLearner(
        make_estimator(config, sample_shape, device, where),
        build_strategy(config["strategy"], where),
        adversarial_augmentation=bool(params.get("adversarial_augmentation", False)),
        augmentation_params=params.get("augmentation_params"),
        warm_start=bool(params.get("warm_start", False)),
    )


def load_session(directory, config, *, pool, device, on_corrupt, readonly) -> Loaded:
    """Read the session in ``directory`` (whose ``session.json`` is ``config``)."""
    directory = Path(directory)
    if not readonly:
        remove_stale_temporaries(directory)
        if (directory / SNAPSHOT_DIR).is_dir():
            remove_stale_temporaries(directory / SNAPSHOT_DIR)
    X_pool = load_pool(directory, config, pool)
    n_classes = len(config["class_names"])
    learner = new_learner(directory, config, X_pool.shape[1:], device)
    state = LabelState(len(X_pool), n_classes)
    rng = np.random.RandomState(config["random_state"])

    journal = Journal(directory / JOURNAL_FILE, config["session_id"])
    records, valid_bytes = journal.read(on_corrupt=on_corrupt)
    snap = read_snapshot(directory, config["session_id"], X_pool.shape[1:])
    snapshot_seq, weights, generation, stale = 0, None, 0, False
    if snap is not None:
        for seq, op, index, label, copy in snap["actions"]:
            state.check(index, label, snap["labels_file"])
            state.apply({"seq": seq, "op": op, "index": index, "label": label}, copy)
        for index in snap["queue"]:
            state.check(index, None, directory / SNAPSHOT_FILE)
        state.queue = list(snap["queue"])
        if snap["rng_state"] is not None:
            rng.set_state(snap["rng_state"])
        snapshot_seq, weights = snap["journal_seq"], snap["weights"]
        generation, stale = snap["generation"], snap["stale"]
    for record in records:
        if record["seq"] > snapshot_seq:
            action = state.replay(record, journal.path)
            stale = stale or (action is not None and action["op"] == "label")
    if weights is not None and state.labels:
        _restore_model(learner, state, X_pool, weights, config, directory, device)
    elif state.labels:
        stale = True
    last_seq = max(journal.last_seq, snapshot_seq)
    if not readonly:
        journal.open_for_append(valid_bytes, last_seq)
    journal.last_seq = last_seq
    return Loaded(X_pool, learner, state, journal, rng, stale, generation, snapshot_seq)


def _restore_model(learner, state, X_pool, weights, config, directory, device):
    """Give ``learner`` the saved weights and the labeled set they were trained on."""
    path, state_dict = weights
    estimator = make_estimator(config, X_pool.shape[1:], device, Path(directory) / SESSION_FILE)
    estimator.initialize()
    try:
        estimator.module_.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise SessionError(f"{path}: weights do not fit the session's network: {exc}") from None
    X, y, flags = state.training_set(X_pool)
    learner.restore(estimator, X, y, flags)
