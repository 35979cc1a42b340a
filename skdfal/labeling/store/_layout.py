"""The files of a session folder, by name, and the format version they carry.

A session directory::

    session.json     configuration: pool, estimator spec, strategy name + params, version
    pool.npy         the unlabeled pool (written once)
    journal.jsonl    append-only journal: one line per label, relabel, skip, forget, undo or query
    snapshot.json    manifest of the latest snapshot (file names + sha256)
    snapshots/       labels, skips, adversarial copies (.npy), model weights (.pt)
    lock             held while a process has the session open for writing

What ``session.json`` holds is the session's business
(:mod:`skdfal.labeling.session._spec`); the store only needs the names.
"""

__all__ = ["FORMAT_VERSION", "JOURNAL_FILE", "LOCK_FILE", "POOL_FILE", "SESSION_FILE", "SESSION_JSON_LIMIT",
           "SNAPSHOT_DIR", "SNAPSHOT_FILE"]

FORMAT_VERSION = 1
SESSION_FILE = "session.json"
SNAPSHOT_FILE = "snapshot.json"
JOURNAL_FILE = "journal.jsonl"
POOL_FILE = "pool.npy"
LOCK_FILE = "lock"
SNAPSHOT_DIR = "snapshots"
#: ``session.json`` is small; a larger one is refused unread.
SESSION_JSON_LIMIT = 1 << 20
