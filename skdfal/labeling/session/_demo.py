"""A ready demo session on scikit-learn's bundled digits."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from ._session import LabelingSession
from ._spec import resolve_strategy

if TYPE_CHECKING:
    from ...strategies import QueryStrategy

__all__ = ["make_digits_session"]


def make_digits_session(
    directory: str | os.PathLike[str],
    *,
    query_strategy: str | QueryStrategy = "dfal_margin",
    strategy_params: dict[str, Any] | None = None,
    n_instances: int = 10,
    train_steps: Literal["auto"] | int = "auto",
    max_epochs: int | None = None,
    subsample: int | float | None = 200,
    adversarial_augmentation: bool = False,
    random_state: int = 0,
) -> LabelingSession:
    """A demo session on scikit-learn's bundled digits (1,797 8x8 images), LeNet5.

    The network is :func:`skdfal.make_classifier`'s step trainer
    (``train_steps`` optimiser steps per retrain, ``"auto"``: 300 up to 200
    labels, then 1.5 per label up to 900), or skorch's epoch
    loop with ``max_epochs``.  ``subsample`` (the pool share DeepFool scores
    per query, as in the paper) keeps DFAL queries interactive; ignored by
    strategies without it.

    Returns
    -------
    LabelingSession
        Open; the true labels are ``skdfal.load_digits_images()[1]``.

    Examples
    --------
    >>> import tempfile
    >>> from skdfal import make_digits_session
    >>> session = make_digits_session(tempfile.mkdtemp(), train_steps=1)
    >>> len(session.X_pool), session.class_names[:3]
    (1797, ['0', '1', '2'])
    >>> session.close()
    """
    from ...datasets import load_digits_images

    X, _ = load_digits_images()
    params = dict(strategy_params or {})
    entry = resolve_strategy(query_strategy) if isinstance(query_strategy, str) else None
    if entry is not None and "subsample" in entry.scorer.get_params() and subsample is not None:
        params.setdefault("subsample", subsample)
    estimator = {"train_steps": train_steps, "random_state": random_state}
    if max_epochs is not None:
        estimator["max_epochs"] = max_epochs
    return LabelingSession.create(
        directory,
        X,
        estimator=estimator,
        query_strategy=query_strategy,
        strategy_params=params,
        n_instances=n_instances,
        adversarial_augmentation=adversarial_augmentation,
        random_state=random_state,
    )
