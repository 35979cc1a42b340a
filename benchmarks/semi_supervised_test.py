"""The test sets of the six data sets with the semi-supervised trainer (issue 32, item 6).

hard_data_comparison.py's protocol (LeNet5, standardised inputs, 20 initial
labels, 20 a round, 1,000 candidates a round, the test set, 5 seeds to 500
labels), with every fit a FixMatch fit of 900 steps that sees the whole pool
unlabeled, for random, BADGE, the paper's DFAL and the DFAL variants in the
running.  Nothing here chooses anything: the choice is made on validation
splits (semi_supervised_al.py).  The labels-only rows are
hard_data_comparison.py's (``docs/results/hard/``), read for the targets.

    python benchmarks/semi_supervised_test.py --jobs 2     # resumable: one seed more on every data set in turn
    python benchmarks/semi_supervised_test.py --report     # markdown for docs/results.md, and the figures

Rows go to ``docs/results/semi_supervised/<dataset>.csv``; only runs that
reached 500 labels, on the seeds every strategy finished, enter the tables.
"""

from __future__ import annotations

import pandas as pd
from _setup import run_study, source_commit, study_parser
from hard_data_comparison import BUDGETS, DATASETS, PROTOCOL, TARGETS, _common_seeds, complete
from hard_data_comparison import OUT as LABELS_ONLY
from semi_supervised_al import STEPS, TRAINER

from skdfal.experiments import save_learning_curves, summarize, summary_markdown
from skdfal.strategies import RECOMMENDED

OUT = LABELS_ONLY.parent / "semi_supervised"
STRATEGIES = ("random", RECOMMENDED, "badge", "dfal")


def section(dataset: str, frame: pd.DataFrame, alone: pd.DataFrame | None) -> str:
    """Accuracy and paired differences to random of one data set, beside today's labels-only trainer."""
    seeds = sorted(int(s) for s in frame["seed"].unique())
    table = summarize(frame, budgets=BUDGETS, targets=TARGETS[dataset])
    columns = ["seeds", "aulc", *(f"labels_to_{t:g}" for t in TARGETS[dataset]),
               *(f"acc@{b}" for b in BUDGETS), "drop_rate"]
    diffs = [c for b in BUDGETS for c in (f"diff@{b}", f"diff@{b}_low", f"diff@{b}_high")]
    parts = [f"#### {dataset} ({len(seeds)} seed{'s' * (len(seeds) > 1)}: {seeds})\n",
             summary_markdown(table[columns], digits=3), "",
             "Paired difference to random (same trainer) with its 95% interval:\n",
             summary_markdown(table.drop(index="random")[diffs], digits=3), ""]
    if alone is not None and len(alone):
        # The second target's label counts, labels alone (same seeds where they exist).
        alone = alone[alone["seed"].isin(seeds) & alone["strategy"].isin(table.index)]
        before = summarize(alone, budgets=(), targets=TARGETS[dataset][1:])
        target = f"labels_to_{TARGETS[dataset][1]:g}"
        both = pd.DataFrame({"labels alone": before[target], "fixmatch": table[target]})
        parts += [f"Labels to {TARGETS[dataset][1]:g}, labels alone and with FixMatch:\n",
                  summary_markdown(both, digits=0), ""]
    figure = save_learning_curves(frame, OUT / dataset, title=f"{dataset}, FixMatch: test accuracy, seeds {seeds}")
    parts.append(f"![{dataset}](results/semi_supervised/{figure[0].name})\n")
    return "\n".join(parts)


def main(argv=None):
    parser = study_parser(__doc__.splitlines()[0], DATASETS, STRATEGIES, "0,1,2,3,4")
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",")
    run_study(args, OUT, **PROTOCOL, steps=STEPS, classifier_params=TRAINER)
    parts = [f"(rows in `docs/results/semi_supervised/`; tables from commit {source_commit()}: "
             "`python benchmarks/semi_supervised_test.py --report`)\n"]
    for dataset in datasets:
        path = OUT / f"{dataset}.csv"
        frame = complete(pd.read_csv(path)) if path.is_file() else None
        if frame is None or not len(frame):
            continue
        alone_path = LABELS_ONLY / f"{dataset}.csv"
        alone = complete(pd.read_csv(alone_path)) if alone_path.is_file() else None
        parts.append(section(dataset, _common_seeds(frame), alone))
    print("\n".join(parts) if len(parts) > 1 else "no complete runs yet")


if __name__ == "__main__":
    main()
