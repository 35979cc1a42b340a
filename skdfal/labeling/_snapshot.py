"""Snapshots of a labeling session, and its pool.

A snapshot is a generation of files in ``snapshots/`` (labels, skips,
adversarial copies as ``.npy``; weights as a tensor-only ``.pt``) made current
by atomically replacing ``snapshot.json``, which lists each file with its
sha256.  A crash at any point leaves the previous snapshot whole; the journal
holds everything taught since.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._journal import (
    SessionError,
    atomic_save_npy,
    atomic_write,
    atomic_write_json,
    decode_array,
    encode_array,
    load_json,
    load_npy,
    load_state_dict,
    sha256_file,
)
from ._spec import FORMAT_VERSION, SESSION_FILE, SNAPSHOT_DIR, SNAPSHOT_FILE

__all__ = ["load_pool", "read_snapshot", "write_snapshot"]


def load_pool(directory, config, pool=None):
    """The session's pool: ``pool.npy`` (checksummed, no pickle) or the array passed in."""
    info = config["pool"]
    where = Path(directory) / SESSION_FILE
    name = info.get("file")
    if name:
        if pool is not None:
            raise ValueError("this session stores its pool; do not pass pool=")
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise SessionError(f"{where}: invalid pool file name {name!r}")
        # Memory-mapped copy-on-write: a large pool is paged in as queries touch
        # it, the file is never modified, and torch gets a writable array.
        X = load_npy(Path(directory) / name, sha256=info.get("sha256"), mmap_mode="c")
    elif pool is None:
        raise ValueError(f"{where}: the session was created with store_pool=False; pass pool=")
    else:
        X = np.asarray(pool)
    if list(X.shape) != info.get("shape") or X.dtype.str != info.get("dtype"):
        raise SessionError(
            f"{where}: the pool is {X.dtype.str} {list(X.shape)}, the session expects "
            f"{info.get('dtype')} {info.get('shape')}"
        )
    return X


def read_snapshot(directory, session_id, sample_shape):
    """Read and check the latest snapshot of a session directory (``None`` if there is none).

    Returns
    -------
    dict with ``actions`` (sorted ``(seq, op, index, label, copy)``),
    ``queue``, ``rng_state``, ``generation``, ``stale``, ``journal_seq``,
    ``weights`` (``(path, state_dict)`` or ``None``) and ``labels_file``.
    """
    directory = Path(directory)
    path = directory / SNAPSHOT_FILE
    if not path.exists():
        return None
    manifest = load_json(path, kind="skdfal-session-snapshot", max_version=FORMAT_VERSION)
    if manifest.get("session_id") != session_id:
        raise SessionError(f"{path}: snapshot of another session (session_id does not match)")
    files = manifest.get("files")
    if not isinstance(files, dict) or not {"labels", "skips", "adversarial"} <= set(files):
        raise SessionError(f"{path}: missing file list")

    def locate(key):
        entry = files[key]
        name = entry.get("name") if isinstance(entry, dict) else None
        # Plain file names only: a manifest must not point outside snapshots/.
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise SessionError(f"{path}: invalid file name {name!r} for {key}")
        return directory / SNAPSHOT_DIR / name, entry.get("sha256")

    (labels_file, _), (skips_file, _), (adv_file, _) = map(locate, ("labels", "skips", "adversarial"))
    labels, skips, adversarial = (
        load_npy(file, sha256=digest) for file, digest in map(locate, ("labels", "skips", "adversarial"))
    )
    if labels.dtype != np.int64 or labels.ndim != 2 or labels.shape[1] != 4:
        raise SessionError(f"{labels_file}: expected an int64 (n, 4) array")
    if skips.dtype != np.int64 or skips.ndim != 2 or skips.shape[1] != 2:
        raise SessionError(f"{skips_file}: expected an int64 (n, 2) array")
    if tuple(adversarial.shape[1:]) != tuple(sample_shape) or adversarial.dtype.kind != "f":
        raise SessionError(f"{adv_file}: expected float copies of pool samples")
    actions = []
    for seq, index, label, row in labels.tolist():
        if not -1 <= row < len(adversarial):
            raise SessionError(f"{labels_file}: adversarial row {row} out of range")
        actions.append((seq, "label", index, label, adversarial[row] if row >= 0 else None))
    actions += [(seq, "skip", index, None, None) for seq, index in skips.tolist()]
    actions.sort(key=lambda action: action[0])

    rng_state = None
    if manifest.get("rng_state") is not None:
        try:
            state = manifest["rng_state"]
            key = decode_array(state["key"]).astype(np.uint32)
            rng_state = ("MT19937", key, int(state["pos"]), int(state["has_gauss"]), float(state["cached_gaussian"]))
            np.random.RandomState().set_state(rng_state)  # validates
        except (KeyError, TypeError, ValueError) as exc:
            raise SessionError(f"{path}: invalid random state: {exc}") from None
    queue = manifest.get("queue", [])
    if not isinstance(queue, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in queue):
        raise SessionError(f"{path}: invalid queue")
    weights = None
    if "weights" in files:
        weights_path, digest = locate("weights")
        weights = (weights_path, load_state_dict(weights_path, sha256=digest))
    try:
        generation, journal_seq = int(manifest.get("generation", 0)), int(manifest.get("journal_seq", 0))
    except (TypeError, ValueError):
        raise SessionError(f"{path}: invalid generation or journal_seq") from None
    return {
        "actions": actions,
        "queue": queue,
        "rng_state": rng_state,
        "generation": generation,
        "stale": bool(manifest.get("stale", True)),
        "journal_seq": journal_seq,
        "weights": weights,
        "labels_file": labels_file,
    }


def write_snapshot(directory, *, session_id, generation, journal_seq, actions, adversarial, queue,
                   rng, estimator, stale, sample_shape, dtype):
    """Write snapshot ``generation`` and make it current; returns ``generation``.

    ``actions`` are the labels and skips in force (dicts with seq, op, index
    and label), ``adversarial`` maps label seqs to copies, ``estimator`` is a
    fitted skorch net or ``None``.
    """
    directory = Path(directory)
    snapdir = directory / SNAPSHOT_DIR
    snapdir.mkdir(exist_ok=True)
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
        atomic_save_npy(snapdir / name, array)
        files[key] = {"name": name, "sha256": sha256_file(snapdir / name)}
    if estimator is not None:
        name = f"weights-{generation:06d}.pt"
        atomic_write(snapdir / name, lambda fh: estimator.save_params(f_params=fh))
        files["weights"] = {"name": name, "sha256": sha256_file(snapdir / name)}
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
    # The commit point: before this rename the previous snapshot is current.
    atomic_write_json(directory / SNAPSHOT_FILE, manifest)
    keep = {entry["name"] for entry in files.values()}
    for old in snapdir.iterdir():
        if old.name not in keep and not old.name.startswith("."):
            old.unlink(missing_ok=True)
    return generation
