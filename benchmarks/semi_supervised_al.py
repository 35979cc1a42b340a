"""The report of active learning with the semi-supervised trainer (``studies/semi_supervised_al.toml``).

The study (issue 32) is its protocol file: choose_on_hard_data's protocol to
200 labels on validation splits of six data sets, every fit a FixMatch fit
of 900 steps that also sees the whole pool unlabeled, the base strategies
and the same among the samples the trainer does not already pseudo-label.
The labels-only arm is choose_on_hard_data's rows, read up to the budget.

    skdfal benchmark --study benchmarks/studies/semi_supervised_al.toml --data-dir DIR --jobs 2
    skdfal benchmark --study benchmarks/studies/semi_supervised_al.toml --report   # both trainers' areas

(``python benchmarks/semi_supervised_al.py [--report]`` is the same.)  Rows go
to ``benchmarks/results/semi_supervised_al/DATASET.csv``; a rerun resumes.
"""

from __future__ import annotations

import pandas as pd
from _setup import study_main

from skdfal.experiments import load_study, study_rows


def areas(frames: dict[str, pd.DataFrame], budget: int) -> pd.DataFrame:
    """Mean validation accuracy over rounds up to ``budget`` (area), per data set and strategy."""
    return pd.DataFrame({
        name: frame[frame["n_labels"] <= budget].groupby("strategy")["accuracy"].mean()
        for name, frame in frames.items()
    })


def report(study, frames: dict[str, pd.DataFrame], base, labels_only: str) -> str:
    """Area to the budget per data set and strategy, both trainers, on the seeds the ``base`` arms reached."""
    budget, strategies = study.protocol["budget"], list(study.strategies)
    semi = {name: frame[frame["strategy"].isin(strategies)] for name, frame in frames.items()}
    if not semi:
        return "no rows yet"
    # The seeds the base strategies reached, and the arms that reached them all.
    for name, frame in semi.items():
        reached = (frame.groupby(["seed", "strategy"])["n_labels"].max().unstack() >= budget).reindex(
            columns=strategies, fill_value=False).fillna(False)
        seeds = reached.index[reached[[b for b in base if b in strategies]].all(axis=1)]
        arms = reached.columns[reached.loc[seeds].all()] if len(seeds) else []
        semi[name] = frame[frame["seed"].isin(seeds) & frame["strategy"].isin(arms)]
    semi = {name: frame for name, frame in semi.items() if len(frame)}
    seeds = {name: set(frame["seed"]) for name, frame in semi.items()}
    alone = {name: frame[frame["seed"].isin(seeds[name]) & frame["strategy"].isin(base)]
             for name, frame in study_rows(load_study(study.resolve(labels_only)), semi).items()}
    lines = [f"area to {budget} labels (mean validation accuracy), seeds: "
             + ", ".join(f"{name} {sorted(s)}" for name, s in seeds.items())]
    for trainer, part in (("FixMatch", semi), ("labels only", alone)):
        table = areas(part, budget)
        # Ranked among the arms that ran on every data set (the others are shown, not ranked).
        ranks = table[table.notna().all(axis=1)].rank(ascending=False, method="min")
        table["worst rank"], table["mean rank"] = ranks.max(axis=1), ranks.mean(axis=1).round(2)
        lines += [f"\n{trainer}:\n", table.sort_values(["worst rank", "mean rank"]).round(3).to_markdown()]
    return "\n".join(lines)


if __name__ == "__main__":
    study_main("semi_supervised_al")
