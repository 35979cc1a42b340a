"""The report of the choice of the recommended DFAL (``studies/choose_on_hard_data.toml``).

The study (issue 19, item 3) is its protocol file: every candidate DFAL
configuration and the references on digits, MNIST and the four MNIST
variations, evaluated on samples held out of each pool (never a test set).
The choice is the configuration with the best *worst-case rank* over the
data sets (rank 1 = largest area under the validation curve among the DFAL
candidates; ties broken by the mean rank), so that no data set alone
decides, and a configuration that is weak anywhere loses.  The report also
gives, per data set, each candidate's paired difference to random at 60 and
100 labels (mean over seeds) and its drop rate.

    skdfal benchmark --study benchmarks/studies/choose_on_hard_data.toml --data-dir DIR --jobs 2
    skdfal benchmark --study benchmarks/studies/choose_on_hard_data.toml --report   # docs/results.md's tables

(``python benchmarks/choose_on_hard_data.py [--report]`` is the same.)  Rows
go to ``benchmarks/results/choose_on_hard_data/<dataset>.csv``.
"""

from __future__ import annotations

import pandas as pd
from _setup import study_main  # benchmarks/, the script's folder

from skdfal.experiments import drop_rates, paired_differences


def choose(frames: dict[str, pd.DataFrame], candidates) -> pd.DataFrame:
    """Per candidate: area per data set, its rank there, worst and mean rank; best first."""
    areas = pd.DataFrame({
        name: frame[frame["strategy"].isin(candidates)].groupby("strategy")["accuracy"].mean()
        for name, frame in frames.items()
    })
    ranks = areas.rank(ascending=False, method="min")
    table = areas.add_prefix("area ").join(ranks.add_prefix("rank "))
    table["worst rank"] = ranks.max(axis=1)
    table["mean rank"] = ranks.mean(axis=1)
    # Not part of the rule, a check on it: the largest area a candidate gives
    # up to the best candidate on any data set (ranks ignore how far apart).
    table["worst shortfall"] = (areas.max() - areas).max(axis=1)
    return table.sort_values(["worst rank", "mean rank"])


def early_gains(frames: dict[str, pd.DataFrame], budgets=(60, 100)) -> pd.DataFrame:
    """Paired difference to random at early budgets and drop rate, per data set and strategy."""
    lines = []
    for name, frame in frames.items():
        diffs = paired_differences(frame, list(budgets))["mean"].unstack("n_labels")
        diffs.columns = [f"vs random at {b}" for b in diffs.columns]
        table = diffs.join(drop_rates(frame).rename("drop rate"))
        table.insert(0, "dataset", name)
        lines.append(table.reset_index(names="strategy"))
    return pd.concat(lines, ignore_index=True)


def markdown(frames: dict[str, pd.DataFrame], candidates) -> str:
    """The choice for docs/results.md: areas and ranks, early gains and drop rates per data set."""
    areas = pd.DataFrame({name: frame.groupby("strategy")["accuracy"].mean() for name, frame in frames.items()})
    table = choose(frames, candidates)
    order = list(table.index) + [s for s in areas.index if s not in table.index]
    names = list(frames)
    lines = ["| strategy | " + " | ".join(names) + " | worst rank | mean rank | worst shortfall |",
             "|---" * (len(names) + 4) + "|"]
    for strategy in order:
        ranked = strategy in table.index
        cells = [f"{areas.loc[strategy, n]:.3f}" + (f" ({table.loc[strategy, f'rank {n}']:.0f})" if ranked else "")
                 for n in names]
        tail = ([f"{table.loc[strategy, 'worst rank']:.0f}", f"{table.loc[strategy, 'mean rank']:.2f}",
                 f"{table.loc[strategy, 'worst shortfall']:.3f}"] if ranked else ["-", "-", "-"])
        lines.append(f"| {strategy} | " + " | ".join(cells + tail) + " |")
    gains = early_gains(frames).set_index(["strategy", "dataset"])
    lines += ["", "Paired difference to random at 60 / 100 labels, and drop rate (rounds losing more than 2 points):",
              "", "| strategy | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for strategy in order:
        if strategy == "random":
            continue
        cells = []
        for n in names:
            g = gains.loc[(strategy, n)]
            cells.append(f"{g['vs random at 60']:+.3f} / {g['vs random at 100']:+.3f}, {g['drop rate']:.0%}")
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    lines.append("| random (drop rate) | " + " | ".join(f"{gains.loc[('random', n), 'drop rate']:.0%}" for n in names) + " |")
    return "\n".join(lines)


def report(study, frames: dict[str, pd.DataFrame], candidates) -> str:
    """The tables of docs/results.md, on the seeds every data set has (ranks compare like with like)."""
    if not frames:
        return "no rows yet"
    common = set.intersection(*(set(f["seed"]) for f in frames.values()))
    frames = {d: f[f["seed"].isin(common)] for d, f in frames.items()}
    return f"seeds {sorted(common)}\n\n{markdown(frames, candidates)}"


if __name__ == "__main__":
    study_main("choose_on_hard_data")
