"""A benchmark's protocol: the strategies it may name and the record its rows are kept with."""

from __future__ import annotations

import inspect
from typing import Any

from ..strategies import QueryStrategy, all_strategies
from ..utils._validation import check_count

__all__ = ["STRATEGIES", "PROTOCOL_KEYS", "make_strategy", "benchmark_protocol"]

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


def benchmark_protocol(dataset: str, **params: Any) -> dict[str, Any]:
    """The protocol of :func:`~skdfal.experiments.run_benchmark`, checked, as its rows record it.

    ``params`` are ``run_benchmark``'s protocol keywords (``PROTOCOL_KEYS``)
    (its defaults for the others); ``dataset`` is ``"arrays"`` for rows of
    arrays given by the caller.  The dict, with ``strategy_params``, is what
    goes to the ``.protocol.json`` file beside the rows, and what a resumed
    benchmark must match.  Checked here, once: the runs (and their worker
    processes) trust it.

    Examples
    --------
    >>> from skdfal.experiments import benchmark_protocol
    >>> benchmark_protocol("digits", budget=40)["budget"]
    40
    >>> benchmark_protocol("digits", n_initial=50, budget=40)
    Traceback (most recent call last):
    ...
    ValueError: budget (40) is smaller than n_initial (50)
    """
    from ._benchmark import run_benchmark  # its signature holds the defaults, once

    unknown = sorted(set(params) - set(PROTOCOL_KEYS))
    if unknown:
        raise TypeError(f"{unknown[0]!r} is not a protocol keyword; known: {', '.join(PROTOCOL_KEYS)}")
    signature = inspect.signature(run_benchmark).parameters
    params = {key: signature[key].default for key in PROTOCOL_KEYS} | params
    n_initial, n_instances, budget, batch_size, retrain, steps, lr, subsample = (
        params[key] for key in
        ("n_initial", "n_instances", "budget", "batch_size", "retrain", "steps", "lr", "subsample"))
    if retrain not in ("scratch", "warm"):
        raise ValueError(f"retrain must be 'scratch' or 'warm', got {retrain!r}")
    n_initial, n_instances, budget, batch_size = (
        check_count(v, name) for v, name in
        ((n_initial, "n_initial"), (n_instances, "n_instances"), (budget, "budget"), (batch_size, "batch_size"))
    )
    if budget < n_initial:
        raise ValueError(f"budget ({budget}) is smaller than n_initial ({n_initial})")
    return {
        "dataset": dataset, "n_initial": n_initial,
        "n_instances": n_instances, "budget": budget, "retrain": retrain,
        "steps": steps if steps == "auto" else check_count(steps, "steps"), "model": params["model"],
        "lr": None if lr is None else float(lr),
        "batch_size": batch_size, "device": params["device"],
        "subsample": check_count(subsample, "subsample", allow_none=True),
        **{key: params[key] for key in ("pool_size", "test_size", "validation_size")},
        # Recorded even when empty: rows of an older trainer do not resume under a newer one.
        "classifier_params": dict(params["classifier_params"] or {}),
    }
