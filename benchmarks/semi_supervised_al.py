"""Active learning with the semi-supervised trainer, on validation splits of six data sets (issue 32).

The protocol of choose_on_hard_data.py (20 initial labels, 20 a round, 1,000
candidates, 5,000 validation samples held out of the pool; digits 300), to
200 labels, with every fit a FixMatch fit of 900 steps that also sees the
whole pool unlabeled (``skdfal benchmark --semi-supervised fixmatch --steps
900``).  The labels-only arm is choose_on_hard_data.py's rows (same
protocol, same splits, ``--steps auto``), read up to 200 labels.  Rows go to
``benchmarks/results/semi_supervised_al/DATASET.csv``; a rerun resumes.

    python benchmarks/semi_supervised_al.py --jobs 2        # the runs, seed by seed
    python benchmarks/semi_supervised_al.py --report        # area and labels to targets, both trainers
"""

from __future__ import annotations

import pandas as pd
from _setup import run_study, study_parser
from choose_on_hard_data import CLASSIFIER, DATASETS, PROTOCOL, VALIDATION
from choose_on_hard_data import OUT as LABELS_ONLY

OUT = LABELS_ONLY.parent / "semi_supervised_al"
BASE = ("random", "dfal_batch", "badge", "dfal")
#: Item 3, querying that knows the trainer: each strategy among the samples the
#: trainer does not already pseudo-label (skdfal.strategies.Unconfident).
STRATEGIES = BASE + tuple(f"{name}_unconfident" for name in BASE)
BUDGET = 200
TRAINER = {**CLASSIFIER, "semi_supervised": "fixmatch"}
STEPS = 900


def areas(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Mean validation accuracy over rounds up to BUDGET (area), per data set and strategy."""
    return pd.DataFrame({
        name: frame[frame["n_labels"] <= BUDGET].groupby("strategy")["accuracy"].mean()
        for name, frame in frames.items()
    })


def read(folder, datasets, strategies):
    frames = {}
    for d in datasets:
        path = folder / f"{d}.csv"
        if path.is_file():
            frame = pd.read_csv(path)
            frames[d] = frame[frame["strategy"].isin(strategies)]
    return frames


def main(argv=None):
    parser = study_parser(__doc__.splitlines()[0], DATASETS, STRATEGIES, "0,1,2")
    args = parser.parse_args(argv)
    datasets, strategies = args.datasets.split(","), args.strategies.split(",")
    run_study(args, OUT, validation=VALIDATION, **{**PROTOCOL, "budget": BUDGET}, steps=STEPS,
              classifier_params=TRAINER)
    semi = read(OUT, datasets, strategies)
    if not semi:
        print("no rows yet")
        return
    # The seeds the four base strategies reached, and the arms that reached them all.
    for name, frame in semi.items():
        reached = (frame.groupby(["seed", "strategy"])["n_labels"].max().unstack() >= BUDGET).reindex(
            columns=list(strategies), fill_value=False).fillna(False)
        seeds = reached.index[reached[[b for b in BASE if b in strategies]].all(axis=1)]
        arms = reached.columns[reached.loc[seeds].all()] if len(seeds) else []
        semi[name] = frame[frame["seed"].isin(seeds) & frame["strategy"].isin(arms)]
    semi = {name: frame for name, frame in semi.items() if len(frame)}
    seeds = {name: set(frame["seed"]) for name, frame in semi.items()}
    alone = {name: frame[frame["seed"].isin(seeds[name])]
             for name, frame in read(LABELS_ONLY, datasets, BASE).items() if name in semi}
    print(f"area to {BUDGET} labels (mean validation accuracy), seeds: "
          + ", ".join(f"{name} {sorted(s)}" for name, s in seeds.items()))
    for trainer, frames in (("FixMatch", semi), ("labels only", alone)):
        table = areas(frames)
        # Ranked among the arms that ran on every data set (the others are shown, not ranked).
        ranks = table[table.notna().all(axis=1)].rank(ascending=False, method="min")
        table["worst rank"], table["mean rank"] = ranks.max(axis=1), ranks.mean(axis=1).round(2)
        print(f"\n{trainer}:\n")
        print(table.sort_values(["worst rank", "mean rank"]).round(3).to_markdown())

if __name__ == "__main__":
    main()
