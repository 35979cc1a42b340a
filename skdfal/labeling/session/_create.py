"""Making a new session folder, all or nothing, by one process at a time.

1. Everything is checked before the first byte is written: the pool (numeric
   images, finite), the whole specification (the network is built once),
   the device, the initial labels.
2. The folder must be missing, empty, or hold nothing but what a create
   writes before ``session.json`` (a create at work, or one that died); a
   folder that holds a session or anything else is refused.
3. The lock is taken, the folder is looked at again under it (a creator that
   won a race has written ``session.json`` by then), and the pool, an empty
   journal and ``session.json`` (last: it marks a complete session) are
   written; the new session keeps the lock it was made under.
4. On any failure the files written, the lock file and a folder made here
   are removed and the lock is released: the folder is left as it was.
"""

from __future__ import annotations

from pathlib import Path

from .._fs import SessionDir, SessionError
from ..store import (
    JOURNAL_FILE,
    LOCK_FILE,
    POOL_FILE,
    SESSION_FILE,
    Journal,
    SessionLock,
    check_new_pool,
    dump_json,
    write_npy,
)
from ._network import MODULE_FACTORY, is_import_path, make_estimator, resolve_module
from ._open import OWNED_FILES, Held
from ._spec import check_device, new_config
from ._state import class_label, pool_index

__all__ = ["create_session"]


def _initial_pairs(initial_labels, n_pool, class_names) -> list[tuple[int, int]]:
    if initial_labels is None:
        return []
    try:
        pairs = list(initial_labels.items() if isinstance(initial_labels, dict) else zip(*initial_labels, strict=True))
    except (TypeError, ValueError):
        raise ValueError("initial_labels must be a dict {index: label} or a pair (indices, labels)") from None
    checked = []
    for index, label in pairs:
        try:
            checked.append((pool_index(index, n_pool), class_label(label, class_names)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"initial_labels: {exc}") from None
    if len({i for i, _ in checked}) != len(checked):
        raise ValueError("initial_labels: a pool index appears twice")
    return checked


def _check_folder(directory: Path, folder=None) -> None:
    """Refuse a folder that holds a session, or anything a create does not write.

    A pool or journal without ``session.json`` is a create in progress (its
    lock then refuses us) or one that died before finishing (nothing was
    labeled in it yet: labels come after ``session.json``); both are ours.
    """
    names = folder.names() if folder is not None else sorted(p.name for p in directory.iterdir())
    if SESSION_FILE in names:
        raise SessionError(f"{directory} already holds a session; open it with LabelingSession({str(directory)!r})")
    ours = {LOCK_FILE, POOL_FILE, JOURNAL_FILE}
    stray = [n for n in names if n not in ours and not (n.startswith(".") and ".tmp-" in n)]
    if stray:
        raise ValueError(
            f"directory: {directory} is not empty and holds no session ({', '.join(stray[:5])}"
            f"{' ...' if len(stray) > 5 else ''}); choose an empty or new folder"
        )


def _made_dirs(directory: Path) -> list[Path]:
    """Make ``directory`` (and missing parents); returns those made, deepest last."""
    missing = []
    for path in (directory, *directory.parents):
        if path.exists():
            break
        missing.append(path)
    directory.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def create_session(session_cls, directory, X_pool, *, initial_labels=None, store_pool=True, device=None,
                   **spec):
    """Write a new session in ``directory`` and open it as ``session_cls`` (see ``LabelingSession.create``)."""
    directory = Path(directory)
    X = check_new_pool(X_pool)
    if device is not None:
        check_device(device)
    config = new_config(X, store_pool=store_pool, device=device, **spec)
    module = config["estimator"]["module"]
    # Naming an import path here is confirming it (see _spec): import it now, and open with it.
    allowed = [module] if is_import_path(module) else None
    built = {**config, MODULE_FACTORY: resolve_module(module)} if allowed else config
    make_estimator(built, device)  # the whole spec builds a network here, before anything is written
    pairs = _initial_pairs(initial_labels, len(X), config["class_names"])
    if directory.is_symlink() or directory.exists() and not directory.is_dir():
        raise ValueError(f"directory: {directory} is a link or a file, not a folder")
    if directory.exists():
        _check_folder(directory)

    made = _made_dirs(directory)
    folder, lock, session, written = None, None, None, []
    try:
        folder = SessionDir(directory)
        lock = SessionLock(folder, LOCK_FILE).acquire()
        _check_folder(directory, folder)  # again, under the lock: a faster creator may have finished
        folder.remove_stale_temporaries(OWNED_FILES.__contains__)
        if store_pool:
            written.append(POOL_FILE)
            config["pool"]["sha256"] = write_npy(folder, POOL_FILE, X)
        written.append(JOURNAL_FILE)
        Journal(folder, JOURNAL_FILE, config["session_id"], limit=0).create()
        written.append(SESSION_FILE)
        folder.write_bytes(SESSION_FILE, dump_json(config))  # last: it marks a complete session
        # Opened under the lock it was made under: no moment without it.
        session = session_cls.__new__(session_cls)
        lock.set_owner(session)
        session._setup(directory, Held(lock), pool=None if store_pool else X, device=device,
                       on_corrupt="raise", readonly=False, allow_modules=allowed)
        for index, label in pairs:
            session.teach(index, label)
        return session
    except BaseException:
        if session is not None:
            session._detach()
        if folder is not None:
            for name in reversed(written):  # session.json first: the folder stops being a session
                folder.unlink(name)
            if lock is not None and lock.held:
                lock.release(remove_file=True)
            folder.close()
        for path in reversed(made):
            try:
                path.rmdir()
            except OSError:
                break  # something else appeared in it meanwhile: not ours to remove
        raise
