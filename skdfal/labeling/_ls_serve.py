"""``serve_label_studio``: create or resume a Label Studio backend folder, then serve it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._labelstudio import LabelStudioBackend
from ._ls_files import IMAGES_FILE
from ._ls_http import check_port

__all__ = ["serve_label_studio"]


def serve_label_studio(directory: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 9090,
                       images: str | os.PathLike[str] | None = None, classes: Sequence[str] | None = None,
                       **kwargs: Any) -> None:
    """Serve the Label Studio ML backend of ``directory``, creating it from ``images`` the first time.

    Parameters
    ----------
    directory : path-like
        The backend folder (see :class:`LabelStudioBackend`).
    host, port
        Where to listen (loopback by default: Label Studio on the same machine).
    images : path-like, optional
        Folder of pool images, to create the backend (first run only).
    classes : list of str, optional
        Class names, to create the backend (the project's ``<Choice>`` values).
    **kwargs
        Passed to :meth:`LabelStudioBackend.create` or the constructor.
    """
    check_port(port)  # before a folder is made
    directory = Path(directory)
    create_keys = ("mode", "size", "estimator", "query_strategy", "n_instances", "random_state")
    if (directory / IMAGES_FILE).exists():
        if images is not None or classes is not None:
            raise ValueError(f"{directory} holds a backend already; drop --images/--classes to resume it")
        backend = LabelStudioBackend(directory, **{k: v for k, v in kwargs.items() if k not in create_keys})
    else:
        if images is None or not classes:
            raise ValueError(f"{directory} holds no backend yet: pass images= (a folder) and classes= to create one")
        backend = LabelStudioBackend.create(directory, images, classes, **kwargs)
    backend.serve(host, port)
