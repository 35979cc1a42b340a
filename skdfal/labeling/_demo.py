"""A ready demo session on scikit-learn's bundled digits."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._session import LabelingSession
from ._spec import resolve_strategy

if TYPE_CHECKING:
    from ..strategies import QueryStrategy

__all__ = ["make_digits_session"]


def make_digits_session(
    directory: str | os.PathLike[str],
    *,
    query_strategy: str | QueryStrategy = "dfal_margin",
    strategy_params: dict[str, Any] | None = None,
    n_instances: int = 10,
    max_epochs: int = 30,
    subsample: int | float | None = 200,
    adversarial_augmentation: bool = False,
    random_state: int = 0,
) -> LabelingSession:
    """A demo session on scikit-learn's bundled digits (1,797 8x8 images), LeNet5.

    ``subsample`` (the pool share DeepFool scores per query, as in the paper)
    keeps DFAL queries interactive; ignored by strategies without it.

    Returns
    -------
    LabelingSession
        Open; the true labels are ``skdfal.load_digits_images()[1]``.

    Examples
    --------
    >>> import tempfile
    >>> from skdfal import make_digits_session
    >>> session = make_digits_session(tempfile.mkdtemp(), max_epochs=1)
    >>> len(session.X_pool), session.class_names[:3]
    (1797, ['0', '1', '2'])
    >>> session.close()
    """
    from ..datasets import load_digits_images

    X, _ = load_digits_images()
    params = dict(strategy_params or {})
    entry = resolve_strategy(query_strategy) if isinstance(query_strategy, str) else None
    if entry is not None and "subsample" in entry.make().get_params() and subsample is not None:
        params.setdefault("subsample", subsample)
    return LabelingSession.create(
        directory,
        X,
        # Small batches and a brisk rate: the labeled set starts tiny.
        estimator={"max_epochs": max_epochs, "lr": 5e-3, "batch_size": 8, "random_state": random_state},
        query_strategy=query_strategy,
        strategy_params=params,
        n_instances=n_instances,
        adversarial_augmentation=adversarial_augmentation,
        random_state=random_state,
    )
