"""Snapshots of a labeling session.

A snapshot is a generation of files in ``snapshots/`` (labels, skips,
adversarial copies as ``.npy``; weights as a tensor-only ``.pt``) made current
by atomically replacing ``snapshot.json``, which lists each file with its
sha256.  A crash at any point leaves the previous snapshot whole; the journal
holds everything taught since.  Clean-up removes only files of older
generations, by the names this module gives them.

Readers take no lock (``readonly=True`` opens while another process
labels), so a reader may follow a ``snapshot.json`` that is replaced while
it reads the files it lists.  Three rules keep that harmless:

* **a generation's files outlive its commit by one commit** -- committing
  generation *n* removes the files of generations before *n - 1* only, never
  those of the snapshot it replaces, so a reader that has just read the old
  ``snapshot.json`` still finds every file it names;
* **generation numbers are never reused** -- a new generation is numbered
  above every file in ``snapshots/`` (left by a save that failed, even after
  its commit), so the files a committed ``snapshot.json`` names never change;
* **a reader retries a generation that moved** -- when reading the files
  fails and ``snapshot.json`` names another generation by then (two commits
  came while it read), the reader starts again from the new one (see
  :func:`snapshot_generation`; :mod:`skdfal.labeling.session._open` does it a
  bounded number of times).
"""

from __future__ import annotations

import io
import math
import re
import stat

import numpy as np

from .._fs import SessionError
from ._formats import (
    decode_array,
    dump_json,
    encode_array,
    load_json,
    read_npy,
    sha256_bytes,
    write_npy,
)
from ._layout import FORMAT_VERSION, SNAPSHOT_DIR, SNAPSHOT_FILE

__all__ = ["is_snapshot_file", "read_manifest", "read_snapshot", "snapshot_generation", "write_snapshot"]

#: Generation numbers stay below this (``snapshot.json`` holds numbers below 2**63).
_MAX_GENERATION = 2**62
_NAME = re.compile(r"(?:(?:labels|skips|adversarial)-(?P<npy>\d{6,})\.npy|weights-(?P<pt>\d{6,})\.pt)")


def is_snapshot_file(name: str) -> bool:
    """Whether ``name`` is a file name :func:`write_snapshot` gives (the only ones it removes)."""
    return _NAME.fullmatch(name) is not None


def _file_generation(name: str) -> int | None:
    """The generation number in a snapshot file's name (``None`` for any other name)."""
    match = _NAME.fullmatch(name)
    return None if match is None else int(match["npy"] or match["pt"])


def snapshot_json_limit(n_pool: int) -> int:
    """The most bytes ``snapshot.json`` can need: a fixed part plus a queue of the whole pool."""
    return (1 << 20) + 24 * n_pool


def _load_manifest(folder, n_pool):
    return load_json(folder, SNAPSHOT_FILE, kind="skdfal-session-snapshot", max_version=FORMAT_VERSION,
                     limit=snapshot_json_limit(n_pool))


def read_manifest(folder, session_id, n_pool):
    """The checked ``snapshot.json`` of a session folder (``None`` if there is none)."""
    if not folder.exists(SNAPSHOT_FILE):
        return None
    path = folder.where(SNAPSHOT_FILE)
    manifest = _load_manifest(folder, n_pool)
    if manifest.get("session_id") != session_id:
        raise SessionError(f"{path}: snapshot of another session (session_id does not match)")
    files = manifest.get("files")
    if not isinstance(files, dict) or not {"labels", "skips", "adversarial"} <= set(files):
        raise SessionError(f"{path}: missing file list")
    return manifest


def snapshot_generation(folder, n_pool):
    """The generation ``snapshot.json`` names now (``None``: no snapshot, or one that cannot be read).

    A reader whose snapshot files failed to read compares this with the
    generation it followed: another one means a writer committed meanwhile,
    and reading again is worth it; the same one means the files are damaged.
    """
    try:
        if not folder.exists(SNAPSHOT_FILE):
            return None
        return _load_manifest(folder, n_pool).get("generation")
    except SessionError:
        return None


def read_snapshot(folder, session_id, n_pool, sample_shape, manifest=None):
    """Read and check the latest snapshot of a session folder (``None`` if there is none).

    ``manifest``: the ``snapshot.json`` :func:`read_manifest` read already.

    Returns
    -------
    dict with ``actions`` (sorted ``(seq, op, index, label, copy)``),
    ``queue``, ``rng_state``, ``generation``, ``stale``, ``journal_seq``,
    ``weights`` (``(folder, name, sha256)`` or ``None``) and ``labels_file``.
    """
    path = folder.where(SNAPSHOT_FILE)
    if manifest is None:
        manifest = read_manifest(folder, session_id, n_pool)
        if manifest is None:
            return None
    files = manifest["files"]
    snapdir = folder.subdir(SNAPSHOT_DIR)
    snapdir.check_entries()

    def locate(key):
        entry = files[key]
        name = entry.get("name") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        # Names this module gives only: a manifest cannot point anywhere else.
        if not isinstance(name, str) or not is_snapshot_file(name) or not isinstance(digest, str):
            raise SessionError(f"{path}: invalid file name or checksum for {key}: {name!r}")
        return name, digest

    # Each label and skip is one row at most once per pool sample; copies are pool-sized samples.
    sample_bytes = 8 * math.prod(sample_shape)
    limits = {"labels": 32 * n_pool, "skips": 16 * n_pool, "adversarial": sample_bytes * n_pool}
    arrays = {}
    for key, limit in limits.items():
        name, digest = locate(key)
        arrays[key] = read_npy(snapdir, name, sha256=digest, limit=limit + (1 << 16))
    labels, skips, adversarial = arrays["labels"], arrays["skips"], arrays["adversarial"]
    labels_file = snapdir.where(locate("labels")[0])
    if labels.dtype != np.int64 or labels.ndim != 2 or labels.shape[1] != 4:
        raise SessionError(f"{labels_file}: expected an int64 (n, 4) array")
    if skips.dtype != np.int64 or skips.ndim != 2 or skips.shape[1] != 2:
        raise SessionError(f"{snapdir.where(locate('skips')[0])}: expected an int64 (n, 2) array")
    if tuple(adversarial.shape[1:]) != tuple(sample_shape) or adversarial.dtype.kind != "f":
        raise SessionError(f"{snapdir.where(locate('adversarial')[0])}: expected float copies of pool samples")
    actions = []
    for seq, index, label, row in labels.tolist():
        if not -1 <= row < len(adversarial):
            raise SessionError(f"{labels_file}: adversarial row {row} out of range")
        actions.append((seq, "label", index, label, adversarial[row] if row >= 0 else None))
    actions += [(seq, "skip", index, None, None) for seq, index in skips.tolist()]
    actions.sort(key=lambda action: action[0])

    queue = manifest.get("queue", [])
    if not isinstance(queue, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in queue):
        raise SessionError(f"{path}: invalid queue")
    generation, journal_seq = manifest.get("generation", 0), manifest.get("journal_seq", 0)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63 for v in (generation, journal_seq)):
        raise SessionError(f"{path}: invalid generation or journal_seq")
    weights = None
    if "weights" in files:
        weights = (snapdir, *locate("weights"))
    return {
        "actions": actions,
        "queue": queue,
        "rng_state": _rng_state(manifest.get("rng_state"), path),
        "generation": generation,
        "stale": bool(manifest.get("stale", True)),
        "journal_seq": journal_seq,
        "weights": weights,
        "labels_file": labels_file,
    }


def _rng_state(state, path):
    if state is None:
        return None
    try:
        key = decode_array(state["key"])
        if key.dtype.kind not in "iu" or key.shape != (624,):
            raise ValueError("the key must be 624 integers")
        values = (state["pos"], state["has_gauss"], state["cached_gaussian"])
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ValueError("pos, has_gauss and cached_gaussian must be numbers")
        rng_state = ("MT19937", key.astype(np.uint32), int(values[0]), int(values[1]), float(values[2]))
        np.random.RandomState().set_state(rng_state)  # validates
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise SessionError(f"{path}: invalid random state: {exc}") from None
    return rng_state


def _is_regular(snapdir, name) -> bool:
    # A folder under a snapshot's name was not written here: removing it
    # would fail (after the commit, at every save), so it is left alone.
    st = snapdir.lstat(name)
    return st is not None and stat.S_ISREG(st.st_mode)


def write_snapshot(folder, *, session_id, generation, journal_seq, actions, adversarial, queue,
                   rng, estimator, stale, sample_shape, dtype, n_pool):
    """Write a snapshot numbered ``generation`` or above and make it current; returns its number.

    ``actions`` are the answers kept, a skip under a label too (dicts with
    seq, op, index and label; at most one label and one skip per index),
    ``adversarial`` maps label seqs to copies, ``estimator`` is a
    fitted skorch net or ``None``.  The number is above every snapshot file
    in ``snapshots/`` (never reused); after the commit the files of the
    snapshot it replaced are kept (a reader may be reading them) and those
    of older ones removed.
    """
    with folder.subdir(SNAPSHOT_DIR, create=True) as snapdir:
        # A number no session reaches is a planted file (removed below), not one to count from:
        # following it would write a generation that snapshot.json may not hold.
        numbers = [n for n in map(_file_generation, snapdir.names()) if n is not None and n < _MAX_GENERATION]
        generation = max([generation, *(n + 1 for n in numbers)])
        return _write(folder, snapdir, session_id=session_id, generation=generation, journal_seq=journal_seq,
                      actions=actions, adversarial=adversarial, queue=queue, rng=rng, estimator=estimator,
                      stale=stale, sample_shape=sample_shape, dtype=dtype, n_pool=n_pool)


def _listed_files(folder, n_pool) -> set:
    """The snapshot file names the current ``snapshot.json`` lists (none if it cannot be read)."""
    try:
        files = _load_manifest(folder, n_pool).get("files") if folder.exists(SNAPSHOT_FILE) else None
    except SessionError:
        return set()  # a damaged manifest names nothing a reader could use
    entries = files.values() if isinstance(files, dict) else ()
    return {e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}


def _write(folder, snapdir, *, session_id, generation, journal_seq, actions, adversarial, queue,
           rng, estimator, stale, sample_shape, dtype, n_pool):
    rows, copies = [], []
    for a in actions:
        if a["op"] != "label":
            continue
        row = -1
        if a["seq"] in adversarial:
            row = len(copies)
            copies.append(adversarial[a["seq"]])
        rows.append((a["seq"], a["index"], a["label"], row))
    arrays = {
        "labels": np.asarray(rows, dtype=np.int64).reshape(-1, 4),
        "skips": np.asarray([(a["seq"], a["index"]) for a in actions if a["op"] == "skip"],
                            dtype=np.int64).reshape(-1, 2),
        "adversarial": (np.stack(copies).astype(dtype) if copies
                        else np.zeros((0, *sample_shape), dtype=dtype)),
    }
    files = {}
    for key, array in arrays.items():
        name = f"{key}-{generation:06d}.npy"
        files[key] = {"name": name, "sha256": write_npy(snapdir, name, array)}
    if estimator is not None:
        name = f"weights-{generation:06d}.pt"
        buffer = io.BytesIO()
        estimator.save_params(f_params=buffer)
        snapdir.write_bytes(name, buffer.getvalue())
        files["weights"] = {"name": name, "sha256": sha256_bytes(buffer.getvalue())}
    state = rng.get_state()
    manifest = {
        "format": "skdfal-session-snapshot",
        "version": FORMAT_VERSION,
        "session_id": session_id,
        "generation": generation,
        "journal_seq": journal_seq,
        "stale": bool(stale or estimator is None),
        "n_labels": len(rows),
        "queue": [int(i) for i in queue],
        "rng_state": {
            "key": encode_array(state[1]),
            "pos": int(state[2]),
            "has_gauss": int(state[3]),
            "cached_gaussian": float(state[4]),
        },
        "files": files,
    }
    # Readers without the lock may be reading the snapshot this one replaces: keep its files.
    keep = {entry["name"] for entry in files.values()} | _listed_files(folder, n_pool)
    # The commit point: before this rename the previous snapshot is current.
    folder.write_bytes(SNAPSHOT_FILE, dump_json(manifest))
    for old in snapdir.names():
        if is_snapshot_file(old) and old not in keep and _is_regular(snapdir, old):
            snapdir.unlink(old)
    snapdir.remove_stale_temporaries(is_snapshot_file)
    return generation
