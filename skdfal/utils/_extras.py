"""Modules of an optional extra, imported when first needed: a missing one names the extra that installs it."""

from __future__ import annotations

import importlib

__all__ = ["import_extra"]


def import_extra(name: str, extra: str, needs: str):
    """Module ``name``; an ImportError ``"<needs>: pip install 'skdfal[<extra>]'"`` when it is not installed.

    Examples
    --------
    >>> from skdfal.utils._extras import import_extra
    >>> import_extra("json", "none", "this example needs json").__name__
    'json'
    >>> import_extra("no_such_module_here", "peers", "this example needs it")
    Traceback (most recent call last):
    ...
    ImportError: this example needs it: pip install 'skdfal[peers]'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # depends on the environment
        raise ImportError(f"{needs}: pip install 'skdfal[{extra}]'") from exc
