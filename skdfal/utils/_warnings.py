"""Warnings that point at the user's line, however deep in skdfal they are raised."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn_user"]

#: Packages whose frames are not the user's line: skdfal, and the frameworks
#: that call its estimators for the user (a grid search, a pipeline, skorch).
_SKIPPED = ("skdfal", "sklearn", "skorch")


def _prefixes() -> tuple[str, ...]:
    folders = []
    for name in _SKIPPED:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path:
            folders.append(os.path.dirname(os.path.abspath(path)) + os.sep)
    return tuple(folders)


def _external_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` called in :func:`warn_user`: the first frame outside skdfal.

    A fixed ``stacklevel`` is right for one call path only: the same
    strategy is reached through its function form, its object form, an
    active learner or a generator consumed by the selection, each at
    another depth.  Python 3.12's ``skip_file_prefixes`` does this; skdfal
    supports 3.10.  With no frame outside (a worker process), the
    outermost frame is named.
    """
    prefixes = _prefixes()
    level, frame = 2, sys._getframe(2)  # 1: warn_user, 2: its caller
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(prefixes):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside skdfal (the user's line)."""
    warnings.warn(message, category, stacklevel=_external_stacklevel())
