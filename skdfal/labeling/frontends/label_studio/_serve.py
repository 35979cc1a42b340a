"""``serve_label_studio``: create or resume a Label Studio backend folder, then serve it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ....utils._validation import check_count
from ._backend import LabelStudioBackend
from ._files import IMAGES_FILE, MAX_BODY_BYTES
from ._http import check_port
from ._push import PredictionPush

__all__ = ["auth_from_env", "serve_label_studio"]


def auth_from_env(required: bool = False) -> tuple[str, str] | None:
    """``(user, password)`` from ``BASIC_AUTH_USER`` and ``BASIC_AUTH_PASS`` (Label Studio's ML backend names).

    ``None`` when neither is set (a ``ValueError`` then if ``required``);
    one without the other is a ``ValueError``.
    """
    user, password = os.environ.get("BASIC_AUTH_USER"), os.environ.get("BASIC_AUTH_PASS")
    if not user and not password:
        if required:
            raise ValueError("Basic auth asked for, but BASIC_AUTH_USER and BASIC_AUTH_PASS are not set")
        return None
    if not user or not password:
        raise ValueError("set both BASIC_AUTH_USER and BASIC_AUTH_PASS (one of them is empty or missing)")
    return user, password


def serve_label_studio(directory: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 9090,
                       images: str | os.PathLike[str] | None = None, classes: Sequence[str] | None = None,
                       auth: tuple[str, str] | str | None = "env", allowed_hosts: Sequence[str] = (),
                       max_body_bytes: int = MAX_BODY_BYTES, label_studio_url: str | None = None,
                       api_key: str | None = None, **kwargs: Any) -> None:
    """Serve the Label Studio ML backend of ``directory``, creating it from ``images`` the first time.

    Parameters
    ----------
    directory : path-like
        The backend folder (see :class:`LabelStudioBackend`).
    host, port
        Where to listen (loopback by default: Label Studio on the same
        machine; ``"::1"`` for IPv6).
    images : path-like, optional
        Folder of pool images, to create the backend (first run only).
    classes : list of str, optional
        Class names, to create the backend (the project's ``<Choice>`` values).
    auth : (user, password), "env" or None, default="env"
        Basic auth; ``"env"``: from ``BASIC_AUTH_USER`` and ``BASIC_AUTH_PASS``
        when they are set (Label Studio's convention), else none.
    allowed_hosts : list of str, default=()
        Host names requests may use besides the loopback ones and ``host``.
    max_body_bytes : int, default=4 MiB
        The largest request body accepted.
    label_studio_url : str, optional
        Label Studio's address: after every retrain the new model's
        predictions are pushed to the projects the backend heard from
        (:mod:`skdfal.labeling.frontends.label_studio._push`), so the Data Manager's order
        follows the new model without "Retrieve predictions".
    api_key : str, optional
        The Label Studio access token for ``label_studio_url``; default
        ``LABEL_STUDIO_API_KEY`` (an environment variable, not a flag: it
        stays out of the process list).
    **kwargs
        Passed to :meth:`LabelStudioBackend.create` or the constructor.
    """
    check_port(port)  # before a folder is made
    if auth == "env":
        auth = auth_from_env()
    max_body_bytes = check_count(max_body_bytes, "max_body_bytes", error=ValueError)
    if label_studio_url:
        kwargs["push"] = PredictionPush(label_studio_url, api_key or os.environ.get("LABEL_STUDIO_API_KEY", ""))
    elif api_key:
        raise ValueError("api_key without label_studio_url: name Label Studio's address to push predictions to")
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
    backend.serve(host, port, auth=auth, allowed_hosts=allowed_hosts, max_body_bytes=max_body_bytes)
