"""Which semi-supervised trainer, on validation splits of six data sets at once (issue 32, item 1).

One fit per (data set, trainer, labeled-set size, seed): a random labeled set
of ``n`` pool samples (one per class first, as the studies' initial sets),
the rest of the pool given unlabeled, accuracy on the validation samples held
out of the pool (5,000; digits 300).  Trainers: labels only (today's
``make_classifier``, ``auto`` steps: 300 below 200 labels), labels only for
900 steps (the control: the semi-supervised fits' steps), and
``SemiSupervised`` methods, FixMatch with ``auto`` steps or 900.  Rows go to ``benchmarks/results/semi_supervised_trainer.csv``
as they come; a rerun skips the fits it has.  ``--report`` prints the mean
accuracy per data set, trainer and size.

    python benchmarks/semi_supervised_trainer.py --jobs 2          # the study
    python benchmarks/semi_supervised_trainer.py --report          # the table
"""

from __future__ import annotations

import argparse
import csv
import functools
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _setup import MNIST_DIR, source_commit

DATASETS = ("digits", "mnist", "mnist-rot", "mnist-bg-rand", "mnist-bg-img", "mnist-rot-bg-img")
VALIDATION = {"digits": 300}  # held out of the pool; 5,000 elsewhere (as choose_on_hard_data.py)
SIZES = (20, 60, 200)
#: name -> (make_classifier arguments); steps are per fit.
TRAINERS = {
    "labels_only": {},
    # The control: as many steps as the semi-supervised fits, on the labels alone.
    "labels_only_900": {"train_steps": 900},
    "fixmatch_300": {"semi_supervised": {"method": "fixmatch"}},
    "fixmatch_900": {"train_steps": 900, "semi_supervised": {"method": "fixmatch"}},
    "pseudo_label_900": {"train_steps": 900, "semi_supervised": {"method": "pseudo_label"}},
}
OUTPUT = Path(__file__).resolve().parent / "results" / "semi_supervised_trainer.csv"
FIELDS = ("dataset", "trainer", "n_labels", "seed", "accuracy", "pseudo_share", "fit_time", "commit")


@functools.lru_cache(maxsize=1)  # a worker's tasks come data set by data set
def _data(dataset):
    from skdfal.experiments import load_benchmark_data

    return load_benchmark_data(dataset, MNIST_DIR, validation_size=VALIDATION.get(dataset, 5000))


def one_fit(dataset, trainer, n, seed, commit):
    import torch

    from skdfal import SemiSupervised, make_classifier
    from skdfal.experiments import initial_indices

    torch.set_num_threads(1)
    X_pool, y_pool, X_val, y_val = _data(dataset)
    labeled = initial_indices(y_pool, n, random_state=seed)
    params = dict(TRAINERS[trainer])
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


def done_keys():
    if not OUTPUT.exists():
        return set()
    with OUTPUT.open() as f:
        return {(r["dataset"], r["trainer"], int(r["n_labels"]), int(r["seed"])) for r in csv.DictReader(f)}


def report():
    import pandas as pd

    rows = pd.read_csv(OUTPUT)
    table = rows.pivot_table(index=["dataset", "n_labels"], columns="trainer", values="accuracy", aggfunc="mean")
    seeds = rows.groupby(["dataset", "n_labels"])["seed"].nunique().rename("seeds")
    print(table.join(seeds).round(3).to_markdown())
    print()
    # Seconds per fit: two fits at a time, one thread each, on a machine doing other work too.
    print(rows.pivot_table(index="dataset", columns="trainer", values="fit_time", aggfunc="median")
          .round(1).to_markdown())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--trainers", default=",".join(TRAINERS))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        report()
        return
    commit = source_commit()
    have = done_keys()
    # Seed by seed, so that a study stopped part-way compares every data set on the same seeds.
    tasks = [
        (d, t, int(n), int(s), commit)
        for s in args.seeds.split(",") for d in args.datasets.split(",")
        for n in args.sizes.split(",") for t in args.trainers.split(",")
        if (d, t, int(n), int(s)) not in have
    ]
    OUTPUT.parent.mkdir(exist_ok=True)
    new_file = not OUTPUT.exists()
    with OUTPUT.open("a", newline="") as f, ProcessPoolExecutor(args.jobs) as pool:
        writer = csv.DictWriter(f, FIELDS)
        if new_file:
            writer.writeheader()
        for row in pool.map(one_fit, *zip(*tasks, strict=True)) if tasks else ():
            writer.writerow(row)
            f.flush()
            print(row, flush=True)


if __name__ == "__main__":
    main()
