"""Reports of a benchmark: summary table and learning-curve figures."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..learners._curves import drop_rates, paired_differences

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["summarize", "summary_markdown", "save_learning_curves"]

#: A round "drops" when accuracy falls more than this below the previous round's.
DROP_THRESHOLD = 0.02


# ----------------------------------------------------------------- summaries
def _mean_curves(frame):
    """Mean and std accuracy over seeds per (strategy, n_labels)."""
    grouped = frame.groupby(["strategy", "n_labels"])["accuracy"]
    return grouped.mean().rename("mean").to_frame().join(grouped.std(ddof=1).rename("std"))


def summarize(
    results: pd.DataFrame | Iterable[Mapping[str, Any]], *,
    budgets: Sequence[int] = (100, 200, 500, 1000), targets: Sequence[float] = (0.90, 0.95, 0.97),
    baseline: str | None = "random",
) -> pd.DataFrame:
    """One line per strategy: accuracy at budgets, labels to reach targets, AULC, noise, gain.

    Parameters
    ----------
    results : DataFrame or iterable of dict
        Learning-curve rows (columns of :data:`skdfal.experiments.COLUMNS`).
    budgets : list of int
        Label counts at which to report the mean (and std) test accuracy over
        seeds; the last measured point at or below each budget is used,
        budgets beyond all curves are left out, and a strategy whose curve
        stops short of a budget gets NaN there.
    targets : list of float
        Accuracies to reach: the smallest label count at which the mean curve
        over seeds is at least the target (NaN when never reached).
    baseline : str or None, default="random"
        When its rows are present, each budget also gets the paired
        difference to it (``diff@B``, with the 95% interval ``diff@B_low`` and
        ``diff@B_high``, see :func:`paired_differences`).

    Returns
    -------
    pandas.DataFrame
        Indexed by strategy, with ``seeds``, ``acc@B``, ``acc@B_std``,
        ``labels_to_T``, ``best_acc``, ``labels_at_best``, ``aulc`` (area
        under the mean curve divided by its label range: the mean accuracy
        over the labels spent), ``drop_rate`` (see :func:`drop_rates`),
        ``query_s``, ``fit_s`` and ``eval_s`` (mean seconds per round, when
        recorded).

    Examples
    --------
    >>> from skdfal.experiments import summarize
    >>> rows = [{"strategy": "a", "seed": 0, "n_labels": n, "accuracy": acc, "query_time": 0.0,
    ...          "fit_time": 0.0} for n, acc in [(10, 0.5), (20, 0.9), (30, 0.95)]]
    >>> table = summarize(rows, budgets=(20,), targets=(0.9,))
    >>> float(table.loc["a", "acc@20"]), int(table.loc["a", "labels_to_0.9"]), float(table.loc["a", "aulc"])
    (0.9, 20, 0.8125)
    """
    import pandas as pd

    frame = results if isinstance(results, pd.DataFrame) else pd.DataFrame(list(results))
    if frame.empty:
        raise ValueError("results are empty: nothing to summarize")
    curves = _mean_curves(frame)
    max_labels = int(frame["n_labels"].max())
    drops = drop_rates(frame, threshold=DROP_THRESHOLD)
    reachable = [b for b in budgets if b <= max_labels]
    diffs = None
    if baseline is not None and (frame["strategy"] == baseline).any() and reachable:
        diffs = paired_differences(frame, reachable, baseline=baseline)
    out = {}
    for name, curve in curves.groupby(level="strategy"):
        curve = curve.droplevel("strategy").sort_index()
        part = frame[frame["strategy"] == name]
        line = {"seeds": int(part["seed"].nunique())}
        for budget in budgets:
            if budget > max_labels:
                continue
            # Unfinished curves say nothing about budgets they have not reached.
            upto = curve[curve.index <= budget] if curve.index.max() >= budget else curve.iloc[:0]
            line[f"acc@{budget}"] = float(upto["mean"].iloc[-1]) if len(upto) else np.nan
            line[f"acc@{budget}_std"] = float(upto["std"].iloc[-1]) if len(upto) else np.nan
        for target in targets:
            hit = curve.index[curve["mean"].to_numpy() >= target]
            line[f"labels_to_{target:g}"] = int(hit[0]) if len(hit) else None
        best = int(np.argmax(curve["mean"].to_numpy()))
        line["best_acc"] = float(curve["mean"].iloc[best])
        line["labels_at_best"] = int(curve.index[best])
        xs = curve.index.to_numpy(dtype=float)
        ys = curve["mean"].to_numpy()
        span = xs[-1] - xs[0]
        line["aulc"] = float(np.trapezoid(ys, xs) / span) if span > 0 else float(ys[0])
        if diffs is not None and name != baseline:
            for budget in reachable:
                cell = diffs.loc[(name, budget)]
                line[f"diff@{budget}"] = float(cell["mean"])
                line[f"diff@{budget}_low"] = float(cell["low"])
                line[f"diff@{budget}_high"] = float(cell["high"])
        line["drop_rate"] = float(drops[name])
        for key in ("query_time", "fit_time", "eval_time"):
            if key in part:
                # Round 0 queries nothing: leave it out of the query time.
                queried = "round" in part and key == "query_time"
                rounds = part[part["round"].astype(int) > 0] if queried else part
                line[key.replace("_time", "_s")] = float(rounds[key].astype(float).mean())
        out[name] = line
    table = pd.DataFrame.from_dict(out, orient="index")
    table.index.name = "strategy"
    return table.sort_values("aulc", ascending=False)


def summary_markdown(table: pd.DataFrame, *, digits: int = 4) -> str:
    """A markdown table of :func:`summarize`'s output (mean ± std cells)."""
    cols = [c for c in table.columns if not c.endswith(("_std", "_low", "_high"))]
    header = ["strategy"] + [c.replace("labels_to_", "labels to ") for c in cols]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in table.iterrows():
        cells = [str(name)]
        for col in cols:
            value = row[col]
            if value is None or (isinstance(value, float) and np.isnan(value)):
                cells.append("not reached" if col.startswith("labels_to_") else "-")
            elif col.startswith("acc@"):
                std = row.get(col + "_std")
                cells.append(f"{value:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None and std == std else ""))
            elif col in ("best_acc", "aulc"):
                cells.append(f"{value:.{digits}f}")
            elif col.startswith("diff@"):
                low, high = row.get(col + "_low"), row.get(col + "_high")
                ci = f" [{low:+.3f}, {high:+.3f}]" if low == low else ""
                cells.append(f"{value:+.3f}{ci}")
            elif col == "drop_rate":
                cells.append(f"{100 * value:.1f}%")
            elif col.endswith("_s"):
                cells.append(f"{value:.2f}")
            else:
                cells.append(str(int(value)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_learning_curves(
    results: pd.DataFrame | Iterable[Mapping[str, Any]], stem: str | os.PathLike[str], *,
    title: str | None = None, formats: Iterable[str] = ("png", "svg"),
) -> list[Path]:
    """Draw the learning curves and save ``stem.png`` / ``stem.svg``.

    Both panels show the mean over seeds with its 95% interval.  With a
    ``random`` baseline among the strategies, a second panel shows each
    strategy's paired difference to it
    (:func:`skdfal.plotting.plot_paired_differences`), its legend giving
    each strategy's share of rounds in which accuracy fell by more than 2
    points (:func:`~skdfal.experiments.drop_rates`).

    Returns
    -------
    list of Path
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "svg", "pdf"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from ..plotting import plot_learning_curves, plot_paired_differences

    frame = results if isinstance(results, pd.DataFrame) else pd.DataFrame(list(results))
    with_baseline = (frame["strategy"] == "random").any() and frame["strategy"].nunique() > 1
    if with_baseline:
        fig, (ax, ax_diff) = plt.subplots(1, 2, figsize=(14, 5))
        plot_paired_differences(frame, ax=ax_diff)
        # Training noise beside each name, the legend's title saying what
        # the number is: the share of rounds that lost accuracy.
        rates = drop_rates(frame, threshold=DROP_THRESHOLD)
        for line in ax_diff.get_lines():
            if line.get_label() in rates:
                line.set_label(f"{line.get_label()}: {100 * rates[line.get_label()]:.0f}%")
        ax_diff.legend(
            loc="upper right", fontsize="small", title_fontsize="small",
            title=f"Share of rounds in which accuracy\nfell by more than {100 * DROP_THRESHOLD:.0f} points",
        )
    else:
        fig, ax = plt.subplots(figsize=(8, 5))
    plot_learning_curves(frame, ax=ax, title=title)
    fig.tight_layout()
    paths = []
    # The same rows give the same bytes: an SVG otherwise carries the date and
    # random element ids, and committed figures would change on every rerun.
    with matplotlib.rc_context({"svg.hashsalt": "skdfal"}):
        for fmt in formats:
            path = Path(f"{stem}.{fmt}")
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=130, metadata={"Date": None} if fmt in ("svg", "pdf") else None)
            paths.append(path)
    plt.close(fig)
    return paths
