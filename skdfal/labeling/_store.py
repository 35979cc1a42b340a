"""What a labeling session stores, and how: configuration specs and snapshots.

* **Specs, not pickles** -- the strategy is saved as a *registered* name
  (:func:`strategy_registry`) plus JSON parameters, the estimator as the JSON
  arguments of :func:`skdfal.make_classifier`; rebuilding them can only build
  skdfal's own classes.
* **Snapshots** -- a generation of files in ``snapshots/`` (labels, skips,
  adversarial copies as ``.npy``; weights as a tensor-only ``.pt``) made
  current by atomically replacing ``snapshot.json``, which lists each file
  with its sha256.
"""

from __future__ import annotations

import json
import re
import time
import uuid
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

FORMAT_VERSION = 1
SESSION_FILE = "session.json"
SNAPSHOT_FILE = "snapshot.json"
JOURNAL_FILE = "journal.jsonl"
POOL_FILE = "pool.npy"
LOCK_FILE = "lock"
SNAPSHOT_DIR = "snapshots"

#: Default network for a session: the arguments of :func:`skdfal.make_classifier`.
DEFAULT_ESTIMATOR = {"module": "lenet5", "max_epochs": 20, "lr": 2e-3, "batch_size": 16, "random_state": 0}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def strategy_registry() -> dict:
    """Strategies a session may name: every ``QueryStrategy`` exported by :mod:`skdfal.strategies`.

    Keys are class names, their snake-case function names and their
    lower-case forms (``"DFALMargin"``, ``"dfal_margin"``, ``"dfalmargin"``).  Only these can be rebuilt from a
    session file: a name can never import arbitrary code.

    Examples
    --------
    >>> from skdfal.labeling._store import strategy_registry
    >>> strategy_registry()["dfal_margin"].__name__
    'DFALMargin'
    """
    from .. import strategies
    from ..strategies import QueryStrategy

    registry = {}
    for name in strategies.__all__:
        obj = getattr(strategies, name)
        if isinstance(obj, type) and issubclass(obj, QueryStrategy) and obj is not QueryStrategy:
            for key in (obj.__name__, _snake(obj.__name__), obj.__name__.lower()):
                registry.setdefault(key, obj)
    return registry


def _is_exported_function(strategy, registry) -> bool:
    from .. import strategies

    name = getattr(strategy, "__name__", None)
    return name in registry and getattr(strategies, name, None) is strategy


def json_checked(obj, what):
    try:
        return json.loads(json.dumps(obj, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serialisable (plain numbers, strings, lists): {exc}") from None


def strategy_spec(strategy, params) -> dict:
    registry = strategy_registry()
    if isinstance(strategy, str):
        if strategy not in registry:
            raise ValueError(f"unknown strategy {strategy!r}; registered: {sorted(registry)}")
        name, params = strategy, dict(params or {})
    elif _is_exported_function(strategy, registry):  # dfal_margin ...
        name, params = strategy.__name__, dict(params or {})
    elif type(strategy).__name__ in registry and type(strategy) is registry[type(strategy).__name__]:
        if params:
            raise ValueError("pass strategy parameters either in the strategy object or as strategy_params")
        name, params = type(strategy).__name__, strategy.get_params(deep=False)
    else:
        raise TypeError(
            f"a session needs a registered strategy (a name or an object of {sorted(registry)}), "
            f"got {strategy!r}: custom callables cannot be saved without pickle"
        )
    params = json_checked(params, f"parameters of strategy {name!r}")
    registry[name](**params)  # fail now, not when the session is reopened
    return {"name": name, "params": params}


def build_strategy(spec, where):
    registry = strategy_registry()
    name, params = spec.get("name"), spec.get("params", {})
    if name not in registry or not isinstance(params, dict):
        raise SessionError(f"{where}: unknown strategy {name!r} (registered: {sorted(registry)})")
    try:
        return registry[name](**params)
    except TypeError as exc:
        raise SessionError(f"{where}: bad parameters for strategy {name!r}: {exc}") from None


def new_config(X, *, estimator, query_strategy, strategy_params, n_instances, adversarial_augmentation,
               augmentation_params, warm_start, class_names, random_state, store_pool) -> dict:
    """The content of ``session.json`` for a new session (checked; JSON values only)."""
    if X.dtype.kind not in "fiu" or X.ndim < 2 or len(X) == 0:
        raise ValueError(f"X_pool must be a non-empty numeric array of samples, got {X.dtype} {X.shape}")
    if isinstance(n_instances, bool) or not isinstance(n_instances, int) or n_instances < 1:
        raise ValueError(f"n_instances must be an integer >= 1, got {n_instances!r}")
    n_classes = int((estimator or {}).get("n_classes", len(class_names) if class_names else 10))
    names = [str(c) for c in class_names] if class_names is not None else [str(c) for c in range(n_classes)]
    if len(names) != n_classes:
        raise ValueError(f"{len(names)} class_names for n_classes={n_classes}")
    spec = dict(DEFAULT_ESTIMATOR, input_shape=list(X.shape[1:]), n_classes=n_classes)
    spec.update(estimator or {})
    if not isinstance(spec.get("module"), str):
        raise TypeError("estimator['module'] must be a module name ('lenet5', 'vgg8'): modules cannot be saved")
    learner = {
        "adversarial_augmentation": bool(adversarial_augmentation),
        "augmentation_params": augmentation_params,
        "warm_start": bool(warm_start),
    }
    return {
        "format": "skdfal-session",
        "version": FORMAT_VERSION,
        "session_id": uuid.uuid4().hex,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pool": {"file": POOL_FILE if store_pool else None, "shape": list(X.shape), "dtype": X.dtype.str,
                 "sha256": None},
        "estimator": json_checked(spec, "estimator spec"),
        "strategy": strategy_spec(query_strategy, strategy_params),
        "learner": json_checked(learner, "learner parameters"),
        "n_instances": n_instances,
        "class_names": names,
        "random_state": int(random_state),
    }


def check_config(config, where) -> None:
    """Refuse a ``session.json`` whose fields are missing or of the wrong type."""
    need = {"session_id": str, "pool": dict, "estimator": dict, "strategy": dict,
            "learner": dict, "n_instances": int, "class_names": list, "random_state": int}
    for key, kind in need.items():
        if not isinstance(config.get(key), kind):
            raise SessionError(f"{where}: missing or invalid {key!r}")
    if not isinstance(config["estimator"].get("module"), str):
        raise SessionError(f"{where}: estimator spec needs a module name")
    if len(config["class_names"]) != config["estimator"].get("n_classes", 10):
        raise SessionError(f"{where}: class_names do not match n_classes")


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
