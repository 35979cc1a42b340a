"""The store of a labeling session: its folder's files, and nothing about what they mean.

The journal (one fsync'd JSON line per change, :class:`Journal`), snapshot
generations (:func:`write_snapshot`, :func:`read_snapshot`), the writer's
lock (:class:`SessionLock`), the pool file and the file formats (JSON, ``.npy``
without pickles, tensor-only ``.pt``), under the names of :mod:`._layout`.
Every file is opened through :class:`~skdfal.labeling._fs.SessionDir` (no link
followed, no file with other hard links written, created ``0600``).

The store imports neither the session (:mod:`skdfal.labeling.session`) nor a
front-end (:mod:`skdfal.labeling.frontends`), and no front-end imports it:
front-ends go through the session's public API (import-linter holds both).
"""

from ._formats import (
    decode_array,
    dump_json,
    encode_array,
    load_json,
    parse_json,
    read_npy,
    read_state_dict,
    sha256_bytes,
    write_npy,
)
from ._journal import Journal
from ._layout import (
    FORMAT_VERSION,
    JOURNAL_FILE,
    LOCK_FILE,
    POOL_FILE,
    SESSION_FILE,
    SESSION_JSON_LIMIT,
    SNAPSHOT_DIR,
    SNAPSHOT_FILE,
)
from ._lock import SessionLock
from ._pool import check_new_pool, first_non_finite, load_pool
from ._snapshot import (
    is_snapshot_file,
    read_manifest,
    read_snapshot,
    snapshot_generation,
    write_snapshot,
)

__all__ = [
    "FORMAT_VERSION",
    "JOURNAL_FILE",
    "LOCK_FILE",
    "POOL_FILE",
    "SESSION_FILE",
    "SESSION_JSON_LIMIT",
    "SNAPSHOT_DIR",
    "SNAPSHOT_FILE",
    "Journal",
    "SessionLock",
    "check_new_pool",
    "decode_array",
    "dump_json",
    "encode_array",
    "first_non_finite",
    "is_snapshot_file",
    "load_json",
    "load_pool",
    "parse_json",
    "read_manifest",
    "read_npy",
    "read_snapshot",
    "read_state_dict",
    "sha256_bytes",
    "snapshot_generation",
    "write_npy",
    "write_snapshot",
]
