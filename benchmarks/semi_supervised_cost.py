"""What the semi-supervised trainer costs: fit and round time per data set, with and without (issue 32, item 4).

One round of the validation protocol of semi_supervised_al.py per data set
and trainer, on an idle machine: fit on 100 labels, a ``dfal_batch`` query
of 20 among 1,000 candidates, fit again on 120 labels (seed 0, one process,
two torch threads).  "Labels only" is the trainer of docs/results.md
(``--steps auto``); "fixmatch" is the recommendation of issue 32 (FixMatch,
900 steps, the whole pool unlabeled).  A round is the query plus the fit
that follows it, what a person waits for between two batches.

    python benchmarks/semi_supervised_cost.py           # rows (timings: run on an idle machine)
    python benchmarks/semi_supervised_cost.py --report  # the table of docs/results.md

Rows go to ``benchmarks/results/semi_supervised_cost/<dataset>-<trainer>.csv``
beside the commit that produced them (``commit.txt``); a rerun with rows
present only reports (delete the folder to time again).
"""

from __future__ import annotations

import argparse

import pandas as pd
from _setup import MNIST_DIR, STUDIES, source_commit

from skdfal.experiments import load_study, run_benchmark

#: The trainers and validation splits of the two studies this one times.
LABELS_ONLY, SEMI = load_study(STUDIES / "choose_on_hard_data.toml"), load_study(STUDIES / "semi_supervised_al.toml")
OUT = SEMI.output.parent / "semi_supervised_cost"
TRAINERS = {"labels only": (LABELS_ONLY.trainer, "auto"), "fixmatch": (SEMI.trainer, SEMI.protocol["steps"])}
ROUND = dict(n_initial=100, n_instances=20, budget=120, subsample=1000)


def table(frames: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Seconds per data set and trainer: first fit, query, the fit after it, and the round."""
    rows = []
    for (dataset, trainer), frame in frames.items():
        first, second = frame.sort_values("round").iloc[0], frame.sort_values("round").iloc[1]
        rows.append({
            "data set": dataset, "trainer": trainer,
            "fit, 100 labels (s)": first["fit_time"], "query (s)": second["query_time"],
            "fit, 120 labels (s)": second["fit_time"],
            "round (s)": second["query_time"] + second["fit_time"],
        })
    return pd.DataFrame(rows).set_index(["data set", "trainer"]).unstack("trainer")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--datasets", default=",".join(SEMI.datasets))
    parser.add_argument("--strategies", default="dfal_batch")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--report", action="store_true", help="only print the table of what is there")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    frames = {}
    for dataset in args.datasets.split(","):
        for trainer, (params, steps) in TRAINERS.items():
            path = OUT / f"{dataset}-{trainer.replace(' ', '-')}.csv"
            if not args.report and not path.is_file():
                run_benchmark(
                    dataset, args.strategies.split(","), [int(s) for s in args.seeds.split(",")],
                    data_dir=args.data_dir, validation_size=SEMI.benchmark_kwargs(dataset)["validation_size"],
                    **ROUND, steps=steps, classifier_params=dict(params), output=path, threads=2, progress=False,
                )
                (OUT / "commit.txt").write_text(source_commit() + "\n")
            if path.is_file():
                frames[dataset, trainer] = pd.read_csv(path)
    if not frames:
        print("no rows yet")
        return
    commit = (OUT / "commit.txt").read_text().strip() if (OUT / "commit.txt").is_file() else "unknown"
    print(f"seconds, one process, two torch threads, commit {commit}")
    print(table(frames).round(1).to_markdown())


if __name__ == "__main__":
    main()
