"""The network a session builds: a named one, or any torch classifier by a confirmed import path.

``estimator["module"]`` in ``session.json`` is ``"lenet5"``, ``"vgg8"`` or
``"package.module:callable"``.  Importing a path runs code, so a path is
imported only once the person opening the session confirmed it
(``allow_modules``) or created the session with it; the callable is then
kept in the in-memory config under :data:`MODULE_FACTORY`, a key no JSON
file can hold, so a folder cannot claim a confirmation.
"""

from __future__ import annotations

import re

__all__ = ["MODULE_FACTORY", "NAMED_MODULES", "check_allowed", "is_import_path", "make_estimator",
           "resolve_module"]

NAMED_MODULES = ("lenet5", "vgg8")
#: ``package.module:callable``, dotted names on both sides.
_IMPORT_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
#: Where a checked config keeps the callable its confirmed import path named: a key no JSON
#: file can hold (JSON keys are strings), so a folder cannot claim a confirmation.
MODULE_FACTORY = object()


def is_import_path(module) -> bool:
    return isinstance(module, str) and len(module) <= 256 and _IMPORT_PATH.fullmatch(module) is not None


def resolve_module(path: str):
    """The class or function an import path ``package.module:callable`` names (``ValueError`` if none)."""
    import importlib

    if not is_import_path(path):
        raise ValueError(f"estimator['module'] must be one of {list(NAMED_MODULES)} or an import path "
                         f"'package.module:callable', got {path!r}")
    module_name, _, attribute = path.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"estimator['module'] {path!r} cannot be imported: {exc}") from None
    if not callable(obj):
        raise ValueError(f"estimator['module'] {path!r} is not a class or function")
    return obj


def check_allowed(spec, allow_modules) -> None:
    """Refuse a spec whose import path the person opening the session did not confirm."""
    module = spec.get("module")
    if is_import_path(module) and module not in set(allow_modules or ()):
        raise ValueError(
            f"estimator['module'] is {module!r}, code this session would import and run: open the session "
            f"with allow_modules=[{module!r}] (from a shell: --allow-module {module}) if you trust it"
        )


def make_estimator(config, device=None):
    """The session's network, unfitted and initialised; ``device`` overrides the spec's.

    An import path is built from the callable :func:`check_config` (or the
    creator) put under :data:`MODULE_FACTORY`, never imported here.
    """
    import torch

    from ...models import make_classifier
    from ...utils import logits_of

    spec = dict(config["estimator"])
    spec["input_shape"] = tuple(spec["input_shape"])
    for key in ("input_mean", "input_std"):
        if isinstance(spec.get(key), list):
            spec[key] = tuple(spec[key])
    if is_import_path(spec["module"]):
        if MODULE_FACTORY not in config:
            raise ValueError(f"estimator['module'] {spec['module']!r} was not confirmed (allow_modules)")
        spec["module"] = config[MODULE_FACTORY]
    if device is not None:
        spec["device"] = device
    try:
        net = make_classifier(**spec).initialize()
    except (TypeError, ValueError, RuntimeError) as exc:  # a module__ argument the network refuses
        raise ValueError(f"the estimator spec does not build a network: {exc}") from None
    if not isinstance(net.module_, torch.nn.Module):
        raise ValueError(f"estimator['module'] {config['estimator']['module']!r} did not return a torch module")
    if MODULE_FACTORY in config:
        # A network of your own must give one logit per class: said now, not at the first retrain.
        module = net.module_
        training = module.training
        try:
            module.eval()
            with torch.no_grad():
                x = torch.zeros((1, *spec["input_shape"]), device=next(module.parameters()).device)
                n_out = logits_of(module(x)).shape[-1]
        except (RuntimeError, ValueError, TypeError, StopIteration) as exc:
            raise ValueError(f"the estimator's module does not take samples of shape "
                             f"{list(spec['input_shape'])}: {exc}") from None
        finally:
            module.train(training)
        if n_out != spec["n_classes"]:
            raise ValueError(f"the estimator's module returns {n_out} logits, the session has "
                             f"{spec['n_classes']} classes (pass its number of outputs as a module__ argument, "
                             f"e.g. module__num_classes)")
    return net


