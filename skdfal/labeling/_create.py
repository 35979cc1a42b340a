"""Making a new session directory: the checked spec, the pool, an empty journal, ``session.json`` last."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._journal import Journal, atomic_save_npy, atomic_write_json, sha256_file
from ._spec import JOURNAL_FILE, POOL_FILE, SESSION_FILE, new_config

__all__ = ["create_session"]


def create_session(session_cls, directory, X_pool, *, initial_labels=None, store_pool=True, device=None,
                   **spec):
    """Write a new session in ``directory`` and open it as ``session_cls`` (see ``LabelingSession.create``)."""
    directory = Path(directory)
    if (directory / SESSION_FILE).exists():
        raise ValueError(f"{directory} already holds a session; open it with LabelingSession({str(directory)!r})")
    X = np.asarray(X_pool)
    config = new_config(X, store_pool=store_pool, **spec)
    directory.mkdir(parents=True, exist_ok=True)
    if store_pool:
        atomic_save_npy(directory / POOL_FILE, X)
        config["pool"]["sha256"] = sha256_file(directory / POOL_FILE)
    Journal(directory / JOURNAL_FILE, config["session_id"]).create()
    # session.json last: it marks the directory as a complete session.
    atomic_write_json(directory / SESSION_FILE, config)
    session = session_cls(directory, pool=None if store_pool else X, device=device)
    if initial_labels is not None:
        pairs = initial_labels.items() if isinstance(initial_labels, dict) else zip(*initial_labels, strict=True)
        for index, label in pairs:
            session.teach(index, label)
    return session
