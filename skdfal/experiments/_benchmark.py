"""Benchmark harness: query strategies x seeds under one active learning protocol.

One *run* is one (strategy, seed) pair: a random initial labeled set, then
rounds of query -> oracle labels -> retrain until the label budget is spent,
with test accuracy after every round.  Rows (see
:data:`skdfal.experiments.COLUMNS`, plus ``queried``: the pool rows bought
that round) are appended to a CSV file as soon as they exist, so an
interrupted benchmark resumes where it stopped:

* a finished run is never recomputed;
* a partial run is *replayed*: the model is refitted on the labels it had
  bought (same seed, so the same network for retrain-from-scratch) and the
  run continues from its next round.  Runs whose state cannot be rebuilt
  from labels alone (adversarial copies, warm start) restart from scratch.

Every random choice of a round (the candidate subset, the strategy's own
draws) is seeded by ``(seed, round)``, so a replayed run takes the same
decisions as an uninterrupted one.

Examples
--------
>>> from skdfal.experiments import run_benchmark
>>> frame = run_benchmark("digits", ["random", "entropy"], seeds=[0], n_initial=10,
...                       n_instances=10, budget=30, steps=50, progress=False)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np

from ..learners._learner import ActiveLearner
from ..learners._loop import simulate_run
from ..strategies import all_strategies
from ..utils._validation import check_count, renamed_parameter
from ._data import load_benchmark_data
from ._protocol import PROTOCOL_KEYS, _make_estimator, _steps_for, learns_from_pool, make_strategy
from ._results import ROW_COLUMNS, append_row, check_protocol, drop_run, read_results

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["run_one", "run_benchmark", "benchmark_protocol"]

#: ``(X_pool, y_pool, X_eval, y_eval)``.
Data: TypeAlias = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def run_one(
    name: str,
    seed: int,
    data: Data,
    protocol: Mapping[str, Any],
    *,
    done_rows: Iterable[Mapping[str, Any]] = (),
    on_row: Callable[[dict[str, Any]], None] | None = None,
    strategy_params: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One (strategy, seed) run; returns its rows (replayed rows included).

    Parameters
    ----------
    name : str
        A key of :data:`STRATEGIES`.
    seed : int
        Seeds the initial set, the network and every round's random draws.
    data : tuple
        ``(X_pool, y_pool, X_eval, y_eval)``.
    protocol : dict
        See :func:`run_benchmark` (``n_initial``, ``n_instances``, ``budget``,
        ``retrain``, ``steps``, ``model``, ``lr``,
        ``batch_size``, ``device``, ``subsample``).
    done_rows : list of dict
        Rows of an interrupted earlier attempt of this run, to replay.
    on_row : callable, optional
        Called with each new row.
    strategy_params : dict, optional
        Overrides of the strategy's parameters.
    """
    X_pool, y_pool, X_eval, y_eval = data
    strategy, adversarial = make_strategy(name, **(strategy_params or {}))
    n_classes = int(max(y_pool.max(), y_eval.max()) + 1)
    warm = protocol["retrain"] == "warm"
    learner = ActiveLearner(
        _make_estimator(protocol, X_pool.shape[1:], n_classes, seed), strategy,
        adversarial_augmentation=adversarial, warm_start=warm,
        X_unlabeled=X_pool if learns_from_pool(protocol) else None,
    )
    done_rows = sorted(done_rows, key=lambda r: int(r["round"]))
    # Runs whose state cannot be rebuilt from labels alone (adversarial
    # copies, warm start) restart from scratch.
    replayable = bool(done_rows) and not adversarial and not warm
    resume = [str(row["queried"]).split() for row in done_rows] if replayable else None
    rows = [dict(row) for row in done_rows] if replayable else []
    rows += simulate_run(
        learner, X_pool, y_pool, X_eval, y_eval, seed=int(seed), strategy_name=name,
        n_initial=protocol["n_initial"], n_instances=protocol["n_instances"],
        budget=protocol["budget"], subsample=protocol["subsample"], resume=resume,
        before_fit=lambda est, n_labels: est.set_params(
            callbacks__step_budget__steps=_steps_for(n_labels, protocol)
        ),
        on_row=on_row,
    )
    return rows


# ------------------------------------------------------------ parallel runs
_WORKER = {}


def _init_worker(data, queue, threads):
    import torch

    torch.set_num_threads(threads)
    _WORKER.update(data=data, queue=queue)


def _worker_run(name, seed, protocol, done_rows, strategy_params):
    queue = _WORKER["queue"]
    run_one(name, seed, _WORKER["data"], protocol, done_rows=done_rows, on_row=queue.put,
            strategy_params=strategy_params)
    queue.put(("done", name, seed))


@renamed_parameter("query_size", "n_instances")
def run_benchmark(
    dataset: str = "digits",
    strategies: Iterable[str] = ("random", "entropy", "dfal"),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    data_dir: str | os.PathLike[str] | None = None,
    data: Data | None = None,
    n_initial: int = 10,
    n_instances: int = 10,
    budget: int = 100,
    retrain: Literal["scratch", "warm"] = "scratch",
    steps: Literal["auto"] | int = "auto",
    model: Literal["lenet5", "vgg8"] = "lenet5",
    lr: float | None = None,
    batch_size: int = 32,
    device: str = "cpu",
    subsample: int | None = None,
    pool_size: int | None = None,
    test_size: int | None = None,
    validation_size: int | None = None,
    output: str | os.PathLike[str] | None = None,
    resume: bool = True,
    n_jobs: int = 1,
    threads: int = 1,
    progress: bool = True,
    strategy_params: dict[str, dict[str, Any]] | None = None,
    classifier_params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run strategies x seeds under one protocol; return all rows as a DataFrame.

    Parameters
    ----------
    dataset : str, default="digits"
        One of :data:`~skdfal.experiments.DATASETS` (see :func:`load_benchmark_data`).
    strategies : list of str
        Keys of :data:`STRATEGIES` (``"dfal"`` and ``"dfal_adv"`` are the
        paper's two DFAL variants).
    seeds : list of int
    data_dir : str or Path, optional
        Folder of the MNIST / Fashion-MNIST IDX files (every dataset but digits).
    data : tuple, optional
        ``(X_pool, y_pool, X_eval, y_eval)`` instead of a named dataset.
    n_initial, n_instances, budget : int
        Initial labels, labels per round, total labels to stop at.
    retrain : {"scratch", "warm"}, default="scratch"
        Retrain a fresh network every round, or continue training.
    steps : "auto" or int, default="auto"
        Optimiser steps of every fit, as a function of the labels paid:
        ``"auto"`` is :func:`skdfal.models.auto_steps` of the labels paid, an
        int the same budget for every fit.  Every strategy gets the same
        steps at the same label count, whatever its training-set size.
    model : {"lenet5", "vgg8"}
    lr, batch_size, device
        Training parameters (see :func:`skdfal.make_classifier`; ``lr=None``
        is its default peak learning rate).
    subsample : int, optional
        Score only this many random unlabeled candidates per round (the same
        number for every strategy).
    validation_size : int, optional
        Evaluate on that many samples held out of the pool instead of the
        test set (to choose parameters; see :func:`load_benchmark_data`).
    pool_size, test_size : int, optional
        Random subsets of the pool / test set (see :func:`load_benchmark_data`).
    output : str or Path, optional
        CSV file the rows are appended to as they come (needed to resume).
        The protocol (every parameter above but ``seeds`` and ``strategies``)
        goes beside it, to ``output + ".protocol.json"``; resuming checks
        that it matches.
    resume : bool, default=True
        Keep and reuse the rows already in ``output``.
    n_jobs : int, default=1
        Runs in parallel (processes): at most one process per run and per
        CPU this process may use.
    threads : int, default=1
        Torch threads per process.
    progress : bool, default=True
        tqdm progress bar (one tick per round).
    strategy_params : dict, optional
        ``{name: {param: value}}`` overrides of the strategies' parameters.
    classifier_params : dict, optional
        More arguments of :func:`skdfal.make_classifier` for every run
        (``{"class_weight": "balanced"}``, ``{"full_batches": False}``);
        JSON values, recorded with the protocol.  ``{"semi_supervised":
        "fixmatch"}`` (or a dict of :class:`~skdfal.models.SemiSupervised`'s
        parameters) trains every fit on the whole pool too, its labels
        unseen.

    Returns
    -------
    pandas.DataFrame
        One row per (strategy, seed, round), columns :data:`ROW_COLUMNS`.
    """
    import pandas as pd
    import torch
    from tqdm.auto import tqdm

    strategies = list(strategies)
    for name in strategies:
        make_strategy(name)  # fail early on a typo, or a missing optional extra
        all_strategies()[name].check_available()
    # The protocol's keywords are this function's own parameters: their defaults are declared once.
    protocol = benchmark_protocol(dataset if data is None else "arrays",
                                  **{key: value for key, value in locals().items() if key in PROTOCOL_KEYS})
    n_initial, n_instances, budget = protocol["n_initial"], protocol["n_instances"], protocol["budget"]
    if data is None:
        data = load_benchmark_data(
            dataset, data_dir, pool_size=pool_size, test_size=test_size, validation_size=validation_size
        )
    params = strategy_params or {}

    previous = {}
    if output is not None:
        check_protocol(output, {**protocol, "strategy_params": params}, resume)
        if resume:
            for row in read_results(output):
                previous.setdefault((row["strategy"], row["seed"]), []).append(row)
        elif Path(output).is_file():
            Path(output).unlink()

    rounds_per_run = 1 + math.ceil((budget - n_initial) / n_instances)
    tasks, finished_rows = [], []
    for seed in seeds:  # seed-major: an early stop leaves every strategy equally seeded
        for name in strategies:
            done = previous.get((name, int(seed)), [])
            if done and max(r["n_labels"] for r in done) >= budget:
                finished_rows += done
            else:
                tasks.append((name, int(seed), done))

    rows = list(finished_rows)
    bar = tqdm(
        total=rounds_per_run * len(strategies) * len(seeds),
        initial=len(finished_rows), disable=not progress, desc="benchmark", unit="round",
    )

    def record(row):
        if output is not None:
            append_row(output, row)
        rows.append(row)
        bar.update(1)
        bar.set_postfix_str(f"{row['strategy']} seed {row['seed']}: {row['n_labels']} labels, "
                            f"acc {row['accuracy']:.3f}")

    def keep_replayed(name, seed, done):
        # Replayed rows count as done; a run restarted from scratch drops them.
        _, adversarial = make_strategy(name)
        if done and not adversarial and retrain == "scratch":
            rows.extend(done)
            bar.update(len(done))
        elif done and output is not None:
            drop_run(output, name, seed)

    try:
        if n_jobs <= 1:
            previous_threads = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                for name, seed, done in tasks:
                    keep_replayed(name, seed, done)
                    run_one(name, seed, data, protocol, done_rows=done, on_row=record,
                            strategy_params=params.get(name))
            finally:
                torch.set_num_threads(previous_threads)
        else:
            _run_parallel(tasks, data, protocol, params, _n_processes(n_jobs, len(tasks)), threads, record,
                          keep_replayed)
    finally:
        bar.close()
    frame = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
    return frame.sort_values(["strategy", "seed", "round"]).reset_index(drop=True)


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
    unknown = sorted(set(params) - set(PROTOCOL_KEYS))
    if unknown:
        raise TypeError(f"{unknown[0]!r} is not a protocol keyword; known: {', '.join(PROTOCOL_KEYS)}")
    signature = inspect.signature(run_benchmark).parameters  # the defaults, once
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


def _n_processes(n_jobs, n_runs):
    """Worker processes for ``n_jobs``: no more than runs, nor than CPUs this process may use.

    More would only compete for the same cores (``--jobs 100000`` forked
    that many processes and stalled the machine).
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(n_jobs, n_runs, cpus or 1))


def _run_parallel(tasks, data, protocol, params, n_jobs, threads, record, keep_replayed):
    import queue as queue_module

    # fork shares the (read-only) arrays with the workers without pickling them.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    queue = ctx.Queue()
    with ProcessPoolExecutor(n_jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(data, queue, threads)) as pool:
        futures = []
        for name, seed, done in tasks:
            keep_replayed(name, seed, done)
            futures.append(pool.submit(_worker_run, name, seed, protocol, done, params.get(name)))
        remaining = len(futures)
        while remaining:
            try:
                item = queue.get(timeout=1.0)
            except queue_module.Empty:
                for f in futures:
                    if f.done() and f.exception() is not None:
                        raise f.exception() from None
                continue
            if isinstance(item, tuple):
                remaining -= 1
                continue
            record(item)
        for f in futures:
            f.result()
