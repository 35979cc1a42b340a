"""The report of the test sets with the semi-supervised trainer (``studies/semi_supervised_test.toml``).

The study (issue 32, item 6) is its protocol file: hard_data_comparison's
protocol with every fit a FixMatch fit of 900 steps that sees the whole pool
unlabeled, for random, BADGE, the paper's DFAL and the recommended DFAL.
The labels-only rows are hard_data_comparison's, read for the targets.

    skdfal benchmark --study benchmarks/studies/semi_supervised_test.toml --data-dir DIR --jobs 2
    skdfal benchmark --study benchmarks/studies/semi_supervised_test.toml --report   # tables, figures

(``python benchmarks/semi_supervised_test.py [--report]`` is the same.)  Rows
go to ``docs/results/semi_supervised/<dataset>.csv``; only runs that reached
the budget, on the seeds every strategy finished, enter the tables.
"""

from __future__ import annotations

import pandas as pd
from _setup import source_commit, study_main
from hard_data_comparison import BUDGETS, TARGETS, _common_seeds, complete

from skdfal.experiments import (
    load_study,
    save_learning_curves,
    study_rows,
    summarize,
    summary_markdown,
)


def section(study, dataset: str, frame: pd.DataFrame, alone: pd.DataFrame | None) -> str:
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
    figure = save_learning_curves(frame, study.output / dataset, title=f"{dataset}, FixMatch: test accuracy, seeds {seeds}")
    parts.append(f"![{dataset}](results/semi_supervised/{figure[0].name})\n")
    return "\n".join(parts)


def report(study, frames: dict[str, pd.DataFrame], labels_only: str) -> str:
    """Markdown for docs/results.md, and the figures; ``labels_only``: the labels-only study's file."""
    budget = study.protocol["budget"]
    alone = study_rows(load_study(study.resolve(labels_only)), frames)
    parts = [f"(rows in `docs/results/semi_supervised/`; tables from commit {source_commit()}: "
             "`skdfal benchmark --study benchmarks/studies/semi_supervised_test.toml --report`)\n"]
    for dataset, frame in frames.items():
        frame = complete(frame, budget)
        if len(frame):
            before = complete(alone[dataset], budget) if dataset in alone else None
            parts.append(section(study, dataset, _common_seeds(frame), before))
    return "\n".join(parts) if len(parts) > 1 else "no complete runs yet"


if __name__ == "__main__":
    study_main("semi_supervised_test")
