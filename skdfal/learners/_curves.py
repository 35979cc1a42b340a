"""Statistics of learning curves: paired differences between strategies, training noise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["drop_rates", "paired_differences"]


def _at_budget(part, budget):
    """Accuracy per seed at ``budget``: the last point at or below it (NaN if the run stops short)."""
    out = {}
    for seed, run in part.groupby("seed"):
        run = run.sort_values("n_labels")
        if run["n_labels"].max() < budget:
            out[seed] = np.nan
            continue
        out[seed] = float(run[run["n_labels"] <= budget]["accuracy"].iloc[-1])
    return out


def paired_differences(
    results: pd.DataFrame | Iterable[Mapping[str, Any]], budgets: Sequence[int], *,
    baseline: str = "random", confidence: float = 0.95,
) -> pd.DataFrame:
    """Each strategy's accuracy minus the baseline's, seed by seed, with a confidence interval.

    Runs with the same seed share their initial labels and network seed, so
    the paired difference removes what the seed does to both.

    Parameters
    ----------
    results : DataFrame or iterable of dict
        Learning-curve rows.
    budgets : list of int
        Label counts (the last point at or below each is used).
    baseline : str, default="random"
    confidence : float, default=0.95
        Of the Student-t interval over seeds.

    Returns
    -------
    pandas.DataFrame
        One row per (strategy, budget): ``mean``, ``low``, ``high``,
        ``n_seeds`` (NaN bounds with fewer than two paired seeds).

    Examples
    --------
    >>> from skdfal.experiments import paired_differences
    >>> rows = [{"strategy": s, "seed": k, "n_labels": 20, "accuracy": a + d}
    ...         for s, a in [("random", 0.5), ("dfal", 0.6)] for k, d in enumerate([0.0, 0.02, 0.04])]
    >>> table = paired_differences(rows, [20])
    >>> round(float(table.loc[("dfal", 20), "mean"]), 3), int(table.loc[("dfal", 20), "n_seeds"])
    (0.1, 3)
    """
    import pandas as pd
    from scipy import stats

    frame = results if isinstance(results, pd.DataFrame) else pd.DataFrame(list(results))
    base = frame[frame["strategy"] == baseline]
    if base.empty:
        raise ValueError(f"no rows for the baseline strategy {baseline!r}")
    lines = {}
    for name, part in frame.groupby("strategy"):
        for budget in budgets:
            ours, theirs = _at_budget(part, budget), _at_budget(base, budget)
            diffs = np.array([ours[k] - theirs[k] for k in ours if k in theirs], dtype=float)
            diffs = diffs[np.isfinite(diffs)]
            n = len(diffs)
            mean = float(diffs.mean()) if n else np.nan
            half = np.nan
            if n >= 2:
                sem = diffs.std(ddof=1) / np.sqrt(n)
                half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sem)
            lines[(name, budget)] = {"mean": mean, "low": mean - half, "high": mean + half, "n_seeds": n}
    table = pd.DataFrame.from_dict(lines, orient="index")
    table.index.names = ["strategy", "n_labels"]
    return table


def drop_rates(
    results: pd.DataFrame | Iterable[Mapping[str, Any]], *, threshold: float = 0.02
) -> pd.Series:
    """Share of rounds whose accuracy falls more than ``threshold`` below the previous round's.

    A measure of training noise: with a trainer that learns reliably, adding
    labels rarely costs accuracy.  Rounds are counted over all runs of a
    strategy.

    Returns
    -------
    pandas.Series
        Indexed by strategy.

    Examples
    --------
    >>> from skdfal.experiments import drop_rates
    >>> rows = [{"strategy": "a", "seed": 0, "round": r, "n_labels": 10 * r, "accuracy": acc}
    ...         for r, acc in enumerate([0.5, 0.6, 0.55, 0.7, 0.69])]
    >>> float(drop_rates(rows)["a"])
    0.25
    """
    import pandas as pd

    frame = results if isinstance(results, pd.DataFrame) else pd.DataFrame(list(results))
    out = {}
    for name, part in frame.groupby("strategy"):
        drops = total = 0
        for _, run in part.groupby("seed"):
            acc = run.sort_values("n_labels")["accuracy"].to_numpy(dtype=float)
            step = np.diff(acc)
            drops += int((step < -threshold).sum())
            total += len(step)
        out[name] = drops / total if total else np.nan
    return pd.Series(out, name="drop_rate")
