"""A benchmark's protocol: the strategies it may name, the keys its rows are kept with, and the
estimator and step budget a protocol describes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models import SemiSupervised, auto_steps, make_classifier
from ..strategies import QueryStrategy, all_strategies

__all__ = ["STRATEGIES", "PROTOCOL_KEYS", "make_strategy", "learns_from_pool"]

#: Strategy names the harness knows (the registry's keys).
STRATEGIES = tuple(all_strategies())


def make_strategy(name: str, **params: Any) -> tuple[QueryStrategy, bool]:
    """The strategy object and adversarial flag of a registered strategy.

    Returns
    -------
    strategy : QueryStrategy
    adversarial : bool

    Examples
    --------
    >>> from skdfal.experiments import make_strategy
    >>> make_strategy("dfal_adv")[1]
    True
    """
    if name not in all_strategies():
        raise ValueError(f"unknown strategy {name!r}; choose from {sorted(STRATEGIES)}")
    entry = all_strategies()[name]
    return entry.make(**params), entry.adversarial


#: The keywords of :func:`~skdfal.experiments.run_benchmark` that make the protocol of its
#: rows: recorded beside them, and what a resumed benchmark must match.
PROTOCOL_KEYS = ("n_initial", "n_instances", "budget", "retrain", "steps", "model", "lr", "batch_size",
                 "device", "subsample", "pool_size", "test_size", "validation_size", "classifier_params")


def _steps_for(n_labels, protocol):
    """Optimiser steps of the fit after ``n_labels`` labels: the same for every strategy.

    The budget follows the labels paid, not the training-set size, so that
    a strategy whose training set also holds free adversarial copies is not
    trained longer than the others at the same labeling cost.
    """
    steps = protocol["steps"]
    return auto_steps(n_labels) if steps == "auto" else int(steps)


def _make_estimator(protocol, input_shape, n_classes, seed):
    params = dict(protocol.get("classifier_params", {}))
    if isinstance(params.get("semi_supervised"), Mapping):  # a JSON protocol's callback parameters
        params["semi_supervised"] = SemiSupervised(**params["semi_supervised"])
    return make_classifier(
        protocol["model"], input_shape=input_shape, n_classes=n_classes, lr=protocol["lr"],
        batch_size=protocol["batch_size"], device=protocol["device"], random_state=seed, **params,
    )


def learns_from_pool(protocol: Mapping[str, Any]) -> bool:
    """Whether the protocol's trainer learns from the unlabeled pool too (``semi_supervised``)."""
    return protocol.get("classifier_params", {}).get("semi_supervised") is not None
