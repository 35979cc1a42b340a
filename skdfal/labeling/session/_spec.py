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
  as JSON arguments of :func:`skdfal.make_classifier` (named ones, and
  ``module__*``/``optimizer__*`` numbers); rebuilding them builds skdfal's
  own classes, and a network of your own only when you confirm it.
* **Your own network, confirmed** -- ``estimator["module"]`` is ``"lenet5"``,
  ``"vgg8"`` or an import path ``"package.module:callable"`` (a class or a
  function returning a ``torch.nn.Module``, called with the ``module__*``
  JSON arguments: ``"torchvision.models:resnet18"``).  Importing it runs
  code, so a session naming one opens only when the person opening it lists
  that path in ``allow_modules`` (``LabelingSession(directory,
  allow_modules=["torchvision.models:resnet18"])``, ``skdfal label
  --allow-module``); creating a session with one is that confirmation.  The
  folder only ever holds the path and the weights (tensors).
* **Checked twice, the same way** -- :func:`new_config` refuses a bad
  specification with a ``ValueError`` naming the parameter before anything is
  written; :func:`check_config` refuses the same faults in a file read back
  with a :class:`SessionError` naming the file.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid

from ...models._semi import METHODS
from ...utils._validation import check_count
from .._fs import SessionError
from ..store import FORMAT_VERSION, POOL_FILE
from ._network import MODULE_FACTORY, check_allowed, is_import_path, resolve_module
from ._network import NAMED_MODULES as _MODULES

#: Default network for a session: the arguments of :func:`skdfal.make_classifier`,
#: whose step trainer (chosen for few labels, docs/results.md) is written out so that
#: a session file says how its network is trained.
DEFAULT_ESTIMATOR = {"module": "lenet5", "train_steps": "auto", "batch_size": 32, "random_state": 0}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value, what, low=1, high=2**31 - 1) -> int:
    """``value`` as an int in ``[low, high]`` (numpy integers accepted), else ``ValueError``."""
    return check_count(value, what, minimum=low, maximum=high, error=ValueError)


def check_device(device, what="device") -> str:
    """``device`` if torch can use it on this machine, else ``ValueError`` naming ``what``."""
    import torch

    if not isinstance(device, str):
        raise ValueError(f"{what} must be a device name such as 'cpu' or 'cuda', got {device!r}")
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"{what}={device!r} is not a device torch knows") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (parsed.index or 0) < torch.cuda.device_count(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
    }
    if not available.get(parsed.type, False):
        raise ValueError(f"{what}={device!r} is not available on this machine (pass device='cpu')")
    return device


def resolve_strategy(name):
    """The registry entry a session's strategy name stands for.

    Accepts what :func:`skdfal.strategies.get_strategy` accepts (registry keys,
    class and function names) and, as sessions always did, lower-case class
    names (``"dfalmargin"``).

    Examples
    --------
    >>> from skdfal.labeling.session._spec import resolve_strategy
    >>> resolve_strategy("dfal_margin").name, resolve_strategy("randomsampling").name
    ('dfal', 'random')
    """
    from ...strategies import all_strategies, get_strategy

    try:
        return get_strategy(name)
    except ValueError:
        for entry in all_strategies().values():  # registration order: plain configurations first
            if isinstance(name, str) and name == entry.cls.__name__.lower():
                return entry
        raise


def _plain_scalar(obj):
    import numpy as np

    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":  # numpy scalars count as numbers
        return obj.item()
    raise TypeError(f"{type(obj).__name__} {obj!r} is not a JSON value")


def json_checked(obj, what):
    try:
        return json.loads(json.dumps(obj, allow_nan=False, default=_plain_scalar))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serialisable (plain numbers, strings, lists): {exc}") from None


def strategy_spec(strategy, params) -> dict:
    """``{"name": registry key, "params": JSON}`` for a strategy name, function or object."""
    from ...strategies import all_strategies
    from ...strategies._registry import registered_as

    if isinstance(strategy, str):
        entry, params = resolve_strategy(strategy), dict(params or {})
    elif (found := registered_as(strategy)) is not None:
        entry, own = found
        if own and params:
            raise ValueError("pass strategy parameters either in the strategy object or as strategy_params")
        params = own or dict(params or {})
    else:
        raise TypeError(
            f"a session needs a registered strategy (a name or an object of {sorted(all_strategies())}), "
            f"got {strategy!r}: custom callables cannot be saved without pickle"
        )
    params = json_checked(params, f"parameters of strategy {entry.name!r}")
    build_strategy({"name": entry.name, "params": params})  # fail now, not when the session is reopened
    return {"name": entry.name, "params": params}


def build_strategy(spec):
    """The strategy object of a strategy spec; ``ValueError`` naming what is wrong."""
    from ...strategies import all_strategies

    name, params = spec.get("name"), spec.get("params", {})
    try:
        entry = resolve_strategy(name)
    except ValueError:
        raise ValueError(f"unknown strategy {name!r} (registered: {sorted(all_strategies())})") from None
    if not isinstance(params, dict):
        raise ValueError(f"parameters of strategy {name!r} must be an object")
    try:
        return entry.make(**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for strategy {name!r}: {exc}") from None


def check_estimator_spec(spec, sample_shape, n_classes, *, device_used=True) -> None:
    """Refuse an estimator spec a session cannot rebuild (``ValueError`` naming the key).

    ``device_used=False``: the spec's device is overridden, so it need not be
    available here (a session made on a GPU machine, opened with ``device="cpu"``).
    """
    if not isinstance(spec, dict):
        raise ValueError("estimator must be a dict of make_classifier arguments")
    allowed = {"module", "input_shape", "n_classes", "train_steps", "max_epochs", "lr", "batch_size", "device",
               "random_state", "freeze", "head", "input_scale", "input_mean", "input_std", "flip", "shift",
               "semi_supervised"}
    for key, value in spec.items():
        if not isinstance(key, str) or not (key in allowed or re.fullmatch(r"(module|optimizer)__\w+", key)):
            raise ValueError(
                f"estimator[{key!r}] is not supported in a session (criterion, optimizer and callbacks are "
                f"fixed; allowed: {sorted(allowed)}, module__* and optimizer__* numbers)"
            )
        if key not in allowed and not _plain(value):
            raise ValueError(f"estimator[{key!r}] must be a number, a string, a boolean or a list of numbers")
    module = spec.get("module")
    if not (isinstance(module, str) and module.lower() in _MODULES) and not is_import_path(module):
        raise ValueError(f"estimator['module'] must be one of {list(_MODULES)} or an import path "
                         f"'package.module:callable', got {module!r}")
    if spec.get("semi_supervised") is not None and spec["semi_supervised"] not in METHODS:
        raise ValueError("estimator['semi_supervised'] must be 'fixmatch', 'pseudo_label', 'vat' or null, "
                         f"got {spec['semi_supervised']!r}")
    for key in ("freeze", "flip"):
        if not isinstance(spec.get(key, False), bool):
            raise ValueError(f"estimator[{key!r}] must be true or false")
    head = spec.get("head")
    if head is not None and not (isinstance(head, str) and re.fullmatch(r"[\w.]{1,256}", head)):
        raise ValueError(f"estimator['head'] must be a layer name such as 'fc' or null, got {head!r}")
    for key in ("input_mean", "input_std"):
        value = spec.get(key, "auto")
        if value not in ("auto", None) and not (isinstance(value, list) and value and _plain(value)):
            raise ValueError(f"estimator[{key!r}] must be 'auto', null or a list of numbers, got {value!r}")
    scale = spec.get("input_scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                              or not (math.isfinite(scale) and scale > 0)):
        raise ValueError(f"estimator['input_scale'] must be a finite number > 0 or null, got {scale!r}")
    if spec.get("shift", "auto") != "auto":
        _count(spec["shift"], "estimator['shift'] ('auto' or a count)", low=0, high=1 << 16)
    shape = spec.get("input_shape")
    if not isinstance(shape, list) or [s for s in shape if not _is_int(s)] or list(shape) != list(sample_shape):
        raise ValueError(f"estimator['input_shape'] must be the pool's sample shape {list(sample_shape)}, "
                         f"got {shape!r}")
    if len(sample_shape) != 3:
        raise ValueError(f"a session's network takes (channels, height, width) samples, the pool has "
                         f"{list(sample_shape)}")
    if spec.get("n_classes") != n_classes:
        raise ValueError(f"estimator['n_classes'] must be {n_classes}, the number of classes")
    # Either the step trainer (train_steps, a peak lr) or skorch's epoch loop (max_epochs).
    if spec.get("train_steps", "auto") != "auto":
        _count(spec["train_steps"], "estimator['train_steps'] ('auto' or a count)", high=10**7)
    if spec.get("max_epochs") is not None:
        _count(spec["max_epochs"], "estimator['max_epochs']", high=10**6)
    _count(spec.get("batch_size"), "estimator['batch_size']", high=2**31 - 1)
    lr = spec.get("lr")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))
                           or not (math.isfinite(lr) and lr > 0)):
        raise ValueError(f"estimator['lr'] must be a finite number > 0 or null, got {lr!r}")
    if spec.get("random_state") is not None:
        _count(spec["random_state"], "estimator['random_state']", low=0, high=2**32 - 1)
    if "device" in spec and (device_used or not isinstance(spec["device"], str)):
        check_device(spec["device"], "estimator['device']")


def _plain(value) -> bool:
    if isinstance(value, list):
        return len(value) <= 64 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return value is None or isinstance(value, (bool, int, float, str)) and len(str(value)) <= 256


def check_learner(learner) -> None:
    if not isinstance(learner, dict) or set(learner) - {"adversarial_augmentation", "augmentation_params",
                                                          "warm_start"}:
        raise ValueError("learner must hold adversarial_augmentation, augmentation_params and warm_start")
    for key in ("adversarial_augmentation", "warm_start"):
        if not isinstance(learner.get(key, False), bool):
            raise ValueError(f"{key} must be true or false")
    params = learner.get("augmentation_params")
    if params is not None:
        build_strategy({"name": "dfal", "params": params})


def new_config(X, *, estimator, query_strategy, strategy_params, n_instances, adversarial_augmentation,
               augmentation_params, warm_start, class_names, random_state, store_pool, device=None) -> dict:
    """The checked content of ``session.json`` for a new session with pool ``X``.

    ``device``: the device this process uses instead of the spec's, if any.
    """
    n_instances = _count(n_instances, "n_instances")
    random_state = _count(random_state, "random_state", low=0, high=2**32 - 1)
    if estimator is not None and not isinstance(estimator, dict):
        raise ValueError(f"estimator must be a dict of make_classifier arguments, got {estimator!r}")
    n_classes = (estimator or {}).get("n_classes", len(class_names) if class_names is not None else 10)
    n_classes = _count(n_classes, "n_classes (or len(class_names))", low=2, high=100_000)
    names = [str(c) for c in class_names] if class_names is not None else [str(c) for c in range(n_classes)]
    if len(names) != n_classes or len(set(names)) != len(names):
        raise ValueError(f"class_names must be {n_classes} distinct names, got {names!r}")
    spec = json_checked({**DEFAULT_ESTIMATOR, "input_shape": list(X.shape[1:]), "n_classes": n_classes,
                         **(estimator or {})}, "estimator spec")
    strategy = strategy_spec(query_strategy, strategy_params)
    learner = json_checked({
        # A configuration registered as adversarial (``"dfal_adv"``) labels the copies too.
        "adversarial_augmentation": bool(adversarial_augmentation) or resolve_strategy(strategy["name"]).adversarial,
        "augmentation_params": augmentation_params,
        "warm_start": bool(warm_start),
    }, "learner parameters")
    config = {
        "format": "skdfal-session",
        "version": FORMAT_VERSION,
        "session_id": uuid.uuid4().hex,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pool": {"file": POOL_FILE if store_pool else None, "shape": list(X.shape), "dtype": X.dtype.str,
                 "sha256": None},
        "estimator": spec,
        "strategy": strategy,
        "learner": learner,
        "n_instances": n_instances,
        "class_names": names,
        "random_state": random_state,
    }
    check_estimator_spec(spec, X.shape[1:], n_classes, device_used=device is None)
    check_learner(learner)
    return config


def check_config(config, where, *, device=None, allow_modules=None) -> None:
    """Refuse a ``session.json`` that :func:`new_config` would not have written (``SessionError``).

    ``device``: the device the session will use instead of the spec's (checked
    by the caller).  ``allow_modules``: the import paths the person opening
    it confirmed; the callable of the spec's, if confirmed, is imported here
    and kept in ``config`` under :data:`MODULE_FACTORY`.
    """
    need = {"session_id": str, "pool": dict, "estimator": dict, "strategy": dict,
            "learner": dict, "n_instances": int, "class_names": list, "random_state": int}
    for key, kind in need.items():
        if not isinstance(config.get(key), kind) or isinstance(config.get(key), bool):
            raise SessionError(f"{where}: missing or invalid {key!r}")
    pool = config["pool"]
    shape, sha = pool.get("shape"), pool.get("sha256")
    try:
        if not re.fullmatch(r"[0-9a-f]{32}", config["session_id"]):
            raise ValueError("session_id must be 32 hexadecimal digits")
        if pool.get("file") not in (POOL_FILE, None) or (pool.get("file") and not isinstance(sha, str)):
            raise ValueError(f"pool file must be {POOL_FILE!r} (with its sha256) or null")
        if not isinstance(shape, list) or len(shape) < 2 or not all(_is_int(n) and 1 <= n < 2**40 for n in shape):
            raise ValueError(f"invalid pool shape {shape!r}")
        _pool_dtype(pool.get("dtype"))
        _count(config["n_instances"], "n_instances")
        _count(config["random_state"], "random_state", low=0, high=2**32 - 1)
        names = config["class_names"]
        if not all(isinstance(c, str) for c in names) or len(set(names)) != len(names) or len(names) < 2:
            raise ValueError("class_names must be at least two distinct strings")
        check_estimator_spec(config["estimator"], shape[1:], len(names), device_used=device is None)
        build_strategy(config["strategy"])
        check_learner(config["learner"])
        check_allowed(config["estimator"], allow_modules)
        if is_import_path(config["estimator"]["module"]):
            config[MODULE_FACTORY] = resolve_module(config["estimator"]["module"])
    except (TypeError, ValueError) as exc:
        raise SessionError(f"{where}: {exc}") from None


def _pool_dtype(text):
    import numpy as np

    try:
        dtype = np.dtype(text) if isinstance(text, str) and len(text) <= 8 else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "fiu" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"invalid pool dtype {text!r} (plain numbers only)")
    return dtype
