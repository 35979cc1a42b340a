"""The fits and report of the trainer study (``studies/semi_supervised_trainer.toml``; issue 32, item 1).

One fit per (data set, trainer, labeled-set size, seed): a random labeled set
of ``n`` pool samples (one per class first, as the studies' initial sets),
the rest of the pool given unlabeled, accuracy on the validation samples held
out of the pool (5,000; digits 300).  Trainers (the study file's
``[run.trainers]``): labels only (today's ``make_classifier``, ``auto``
steps: 300 below 200 labels), labels only for 900 steps (the control: the
semi-supervised fits' steps), and ``SemiSupervised`` methods, FixMatch with
``auto`` steps or 900.  Every row goes to
``benchmarks/results/semi_supervised_trainer.csv``; a rerun fits only those
missing.  The report is the mean accuracy per data set, trainer and size, and
the median seconds a fit.

    skdfal benchmark --study benchmarks/studies/semi_supervised_trainer.toml --jobs 2   # the study
    skdfal benchmark --study benchmarks/studies/semi_supervised_trainer.toml --report   # the tables
    python benchmarks/semi_supervised_trainer.py [--jobs 2] [--report]                  # the same
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
from _setup import source_commit, study_main  # benchmarks/, the script's folder


@functools.lru_cache(maxsize=1)  # a worker's fits come data set by data set
def _data(dataset, data_dir, validation_size):
    from skdfal.experiments import load_benchmark_data

    return load_benchmark_data(dataset, data_dir, validation_size=validation_size)


def one_fit(dataset, data_dir, validation_size, trainer, params, n, seed, commit):
    """One fit's row: ``make_classifier(**params)`` on ``n`` random labels (and the pool unlabeled)."""
    import torch

    from skdfal import SemiSupervised, make_classifier
    from skdfal.experiments import initial_indices

    torch.set_num_threads(1)
    X_pool, y_pool, X_val, y_val = _data(dataset, data_dir, validation_size)
    labeled = initial_indices(y_pool, n, random_state=seed)
    params = dict(params)
    semi = params.pop("semi_supervised", None)
    if semi is not None:
        params["semi_supervised"] = SemiSupervised(**semi)
    net = make_classifier("lenet5", input_shape=X_pool.shape[1:], n_classes=10, random_state=seed, **params)
    start = time.perf_counter()
    net.fit(X_pool[labeled], y_pool[labeled], X_unlabeled=X_pool if semi is not None else None)
    fit_time = time.perf_counter() - start
    callback = dict(net.callbacks_).get("semi_supervised")
    return {
        "dataset": dataset, "trainer": trainer, "n_labels": n, "seed": seed,
        "accuracy": float((net.predict(X_val) == y_val).mean()),
        "pseudo_share": "" if callback is None else round(callback.pseudo_share_, 4),
        "fit_time": round(fit_time, 2), "commit": commit,
    }


def run_one(study, dataset, seed, data_dir, have, sizes, trainers, n_jobs=1) -> pd.DataFrame:
    """The fits of one data set and seed the rows ``have`` lack: every size, then every trainer."""
    done = set() if have is None else set(zip(have["trainer"], have["n_labels"], strict=True))
    validation_size = study.benchmark_kwargs(dataset)["validation_size"]
    commit = source_commit()
    fits = [(dataset, None if dataset == "digits" else data_dir, validation_size, t, trainers[t], n, seed, commit)
            for n in sizes for t in trainers if (t, n) not in done]
    if not fits:
        return pd.DataFrame()
    with ProcessPoolExecutor(n_jobs) as pool:
        rows = list(pool.map(one_fit, *zip(*fits, strict=True)))
    for row in rows:
        print(row, flush=True)
    return pd.DataFrame(rows)


def report(study, frames) -> str:
    """Mean accuracy per data set, size and trainer (and the seeds), then the median seconds a fit."""
    if not frames:
        return "no rows yet"
    rows = pd.concat(frames.values(), ignore_index=True)
    table = rows.pivot_table(index=["dataset", "n_labels"], columns="trainer", values="accuracy", aggfunc="mean")
    seeds = rows.groupby(["dataset", "n_labels"])["seed"].nunique().rename("seeds")
    # Seconds per fit: two fits at a time, one thread each, on a machine doing other work too.
    times = rows.pivot_table(index="dataset", columns="trainer", values="fit_time", aggfunc="median")
    return table.join(seeds).round(3).to_markdown() + "\n\n" + times.round(1).to_markdown()


if __name__ == "__main__":
    study_main("semi_supervised_trainer")
