"""When does each stopping rule fire, and what does stopping there cost? (issue 21, item 3)

One DFAL run per data set and seed goes to 500 labels (the full run), with every rule
*watching* (never stopping it): after each round the rules are updated and
the row records which of them says "you may stop".  The report gives, per
data set and rule (mean and standard deviation over the seeds):

* the labels paid when the rule first fires;
* the validation accuracy there, the accuracy at the end of the run, and
  the difference (what stopping early gave up);
* the share of the run's labels saved.

The rules: :class:`~skdfal.StabilizingPredictions` (Bloodgood &
Vijay-Shanker 2009: mean kappa of 3 rounds >= 0.99 on a stop set of 1,000
pool samples), :class:`~skdfal.MarginPlateau` (ours: margin quantiles q10
and q50 of a stop set of 500 move by at most 5% for 3 rounds), and
:class:`~skdfal.LabelBudget` (300 labels) as the plain reference.

    python benchmarks/stopping_study.py                     # resumable: finished runs are kept
    python benchmarks/stopping_study.py --report            # the table only (markdown)

Accuracy is measured on samples held out of the pool (validation), never on
a test set.  Each (data set, seed) is written to
``benchmarks/results/stopping_study/<dataset>-s<seed>.csv`` when it is
complete, so an interrupted study resumes at the first missing one.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _setup import MNIST_DIR  # benchmarks/, the script's folder

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "stopping_study"

DATASETS = ("digits", "mnist", "mnist-rot", "mnist-bg-rand", "mnist-bg-img", "mnist-rot-bg-img")
SEEDS = (0, 1, 2, 3, 4)
# Issue 21 measures what stopping gives up against the full 500-label run.
PROTOCOL = dict(n_initial=20, n_instances=20, budget=500)
VALIDATION = {"digits": 300}  # held out of the pool; 5,000 elsewhere
RULES = ("stable", "margin", "budget")
MARGIN_QUANTILES = (0.1, 0.5)


def make_rules(seed: int) -> dict:
    from skdfal import LabelBudget, MarginPlateau, StabilizingPredictions

    return {
        "stable": StabilizingPredictions(stop_set_size=1000, window=3, threshold=0.99, random_state=seed),
        "margin": MarginPlateau(quantiles=MARGIN_QUANTILES, tol=0.05, window=3, stop_set_size=500, random_state=seed),
        "budget": LabelBudget(300),
    }


def run_one(dataset: str, seed: int, data_dir: str) -> pd.DataFrame:
    """One DFAL run with every rule watching; one row per round."""
    from skdfal import make_classifier
    from skdfal.experiments import load_benchmark_data, make_strategy, simulate

    X_pool, y_pool, X_val, y_val = load_benchmark_data(
        dataset, None if dataset == "digits" else data_dir,
        validation_size=VALIDATION.get(dataset, 5000), random_state=seed,
    )
    n_classes = len(np.unique(y_pool))
    strategy, adversarial = make_strategy("dfal")
    rules = make_rules(seed)

    def record(row):
        for name, rule in rules.items():
            row[f"stop_{name}"] = bool(rule.decision_.stop)
        # What the rules watched, so that other windows and tolerances can be
        # evaluated from the rows without running again (see ``--tune``).
        kappas = getattr(rules["stable"], "kappas_", [])
        row["kappa"] = kappas[-1] if kappas else np.nan
        for q, value in zip(MARGIN_QUANTILES, rules["margin"].statistics_[-1]):
            row[f"margin_q{round(100 * q)}"] = value

    n_rounds = (PROTOCOL["budget"] - PROTOCOL["n_initial"]) // PROTOCOL["n_instances"]
    rows = simulate(
        lambda s: make_classifier("lenet5", input_shape=X_pool.shape[1:], n_classes=n_classes, random_state=s),
        strategy, X_pool, y_pool, X_val, y_val, n_initial=PROTOCOL["n_initial"],
        n_instances=PROTOCOL["n_instances"], n_rounds=n_rounds, adversarial_augmentation=adversarial,
        random_state=seed, strategy_name="dfal", on_round=record, stopping=list(rules.values()),
    )
    frame = pd.DataFrame(rows).drop(columns=["queried", "stop"], errors="ignore")
    frame.insert(0, "dataset", dataset)
    return frame


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per data set and rule: labels at the first stop, accuracy there and at the end (mean, sd)."""
    lines = []
    for (dataset, seed), run in frame.groupby(["dataset", "seed"]):
        run = run.sort_values("round")
        final = run.iloc[-1]
        for rule in RULES:
            fired = run[run[f"stop_{rule}"]]
            at = fired.iloc[0] if len(fired) else final  # never fired: it would have run to the end
            lines.append({"dataset": dataset, "rule": rule, "seed": seed, "fired": bool(len(fired)),
                          "labels": at["n_labels"], "accuracy": at["accuracy"],
                          "final accuracy": final["accuracy"], "loss": final["accuracy"] - at["accuracy"],
                          "labels saved": 1 - at["n_labels"] / final["n_labels"]})
    per_seed = pd.DataFrame(lines)
    table = per_seed.groupby(["dataset", "rule"]).agg(
        seeds=("seed", "nunique"), fired=("fired", "sum"),
        labels=("labels", "mean"), labels_sd=("labels", "std"),
        accuracy=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
        final=("final accuracy", "mean"), loss=("loss", "mean"), saved=("labels saved", "mean"),
    )
    return table


def markdown(table: pd.DataFrame) -> str:
    lines = ["| data set | rule | seeds (fired) | labels at stop | accuracy at stop | accuracy at "
             f"{PROTOCOL['budget']} | given up | labels saved |", "|---|---|---|---|---|---|---|---|"]
    for (dataset, rule), r in table.iterrows():
        lines.append(
            f"| {dataset} | {rule} | {int(r.seeds)} ({int(r.fired)}) | {r.labels:.0f} ± {np.nan_to_num(r.labels_sd):.0f} | "
            f"{r.accuracy:.3f} ± {np.nan_to_num(r.accuracy_sd):.3f} | {r.final:.3f} | {r.loss:+.3f} | {r.saved:.0%} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--report", action="store_true", help="only print the table of what is there")
    args = parser.parse_args(argv)
    datasets, seeds = args.datasets.split(","), [int(s) for s in args.seeds.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.report:
        for seed in seeds:  # one seed more on every data set in turn: a stopped study stays balanced
            for dataset in datasets:
                path = OUT / f"{dataset}-s{seed}.csv"
                if path.exists():
                    continue
                start = time.perf_counter()
                frame = run_one(dataset, seed, args.data_dir)
                tmp = path.with_suffix(".csv.tmp")
                frame.to_csv(tmp, index=False)
                os.replace(tmp, path)  # complete runs only: a killed run starts again
                print(f"{dataset} seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    files = [OUT / f"{d}-s{s}.csv" for d in datasets for s in seeds if (OUT / f"{d}-s{s}.csv").exists()]
    if not files:
        print("no finished runs yet")
        return
    print(markdown(summarize(pd.concat([pd.read_csv(f) for f in files], ignore_index=True))))


if __name__ == "__main__":
    main()
