"""What ``session.json`` holds, and how its specs become a network and a strategy.

A session directory::

    session.json     configuration: pool, estimator spec, strategy name + params, version
    pool.npy         the unlabeled pool (written once)
    journal.jsonl    append-only journal: one line per label, skip, undo or query
    snapshot.json    manifest of the latest snapshot (file names + sha256)
    snapshots/       labels, skips, adversarial copies (.npy), model weights (.pt)
    lock             held while a process has the session open for writing

* **Specs, not pickles** -- the strategy is saved as a name registered in
  :func:`skdfal.strategies.all_strategies` plus JSON parameters, the estimator
  as the JSON arguments of :func:`skdfal.make_classifier`; rebuilding them can
  only build skdfal's own classes.
* **Checked twice** -- :func:`new_config` refuses a bad specification with a
  ``ValueError`` or ``TypeError`` naming the parameter before anything is
  written; :func:`check_config` refuses the same faults in a file read back
  with a :class:`SessionError` naming the file.
"""

from __future__ import annotations

import json
import time
import uuid

from ._journal import SessionError

FORMAT_VERSION = 1
SESSION_FILE = "session.json"
SNAPSHOT_FILE = "snapshot.json"
JOURNAL_FILE = "journal.jsonl"
POOL_FILE = "pool.npy"
LOCK_FILE = "lock"
SNAPSHOT_DIR = "snapshots"

#: Default network for a session: the arguments of :func:`skdfal.make_classifier`.
DEFAULT_ESTIMATOR = {"module": "lenet5", "max_epochs": 20, "lr": 2e-3, "batch_size": 16, "random_state": 0}


def resolve_strategy(name):
    """The registry entry a session's strategy name stands for.

    Accepts what :func:`skdfal.strategies.get_strategy` accepts (registry keys,
    class and function names) and, as sessions always did, lower-case class
    names (``"dfalmargin"``).

    Examples
    --------
    >>> from skdfal.labeling._spec import resolve_strategy
    >>> resolve_strategy("dfal_margin").name, resolve_strategy("randomsampling").name
    ('dfal', 'random')
    """
    from ..strategies import all_strategies, get_strategy

    try:
        return get_strategy(name)
    except ValueError:
        for entry in all_strategies().values():  # registration order: plain configurations first
            if isinstance(name, str) and name == entry.cls.__name__.lower():
                return entry
        raise


def json_checked(obj, what):
    try:
        return json.loads(json.dumps(obj, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serialisable (plain numbers, strings, lists): {exc}") from None


def strategy_spec(strategy, params) -> dict:
    """``{"name": registry key, "params": JSON}`` for a strategy name, function or object."""
    from ..strategies import all_strategies

    entries = list(all_strategies().values())
    if isinstance(strategy, str):
        entry = resolve_strategy(strategy)
        params = {**entry.params, **dict(params or {})}
    elif (entry := next((e for e in entries if strategy is e.function), None)) is not None:
        params = {**entry.params, **dict(params or {})}
    elif (entry := next((e for e in entries if type(strategy) is e.cls), None)) is not None:
        if params:
            raise ValueError("pass strategy parameters either in the strategy object or as strategy_params")
        params = strategy.get_params(deep=False)
    else:
        raise TypeError(
            f"a session needs a registered strategy (a name or an object of {sorted(all_strategies())}), "
            f"got {strategy!r}: custom callables cannot be saved without pickle"
        )
    params = json_checked(params, f"parameters of strategy {entry.name!r}")
    entry.cls(**params)  # fail now, not when the session is reopened
    return {"name": entry.name, "params": params}


def build_strategy(spec, where):
    """The strategy object of a ``session.json`` strategy spec (``where``: the file, for errors)."""
    name, params = spec.get("name"), spec.get("params", {})
    try:
        entry = resolve_strategy(name)
    except ValueError:
        from ..strategies import all_strategies

        raise SessionError(f"{where}: unknown strategy {name!r} (registered: {sorted(all_strategies())})") from None
    if not isinstance(params, dict):
        raise SessionError(f"{where}: parameters of strategy {name!r} must be an object")
    try:
        return entry.cls(**params)
    except TypeError as exc:
        raise SessionError(f"{where}: bad parameters for strategy {name!r}: {exc}") from None


def make_estimator(config, sample_shape, device, where):
    """The session's network, unfitted, from the estimator spec (``device`` overrides it)."""
    from ..models import make_classifier

    spec = dict(config["estimator"])
    spec["input_shape"] = tuple(spec.get("input_shape", sample_shape))
    if device is not None:
        spec["device"] = device
    try:
        return make_classifier(**spec)
    except (TypeError, ValueError) as exc:
        raise SessionError(f"{where}: bad estimator spec: {exc}") from None


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
    strategy = strategy_spec(query_strategy, strategy_params)
    learner = {
        # A configuration registered as adversarial (``"dfal_adv"``) labels the copies too.
        "adversarial_augmentation": bool(adversarial_augmentation) or resolve_strategy(strategy["name"]).adversarial,
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
        "strategy": strategy,
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
