"""Reports of a benchmark: summary table and learning-curve figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["summarize", "summary_markdown", "save_learning_curves"]


# ----------------------------------------------------------------- summaries
def _mean_curves(frame):
    """Mean and std accuracy over seeds per (strategy, n_labels)."""
    grouped = frame.groupby(["strategy", "n_labels"])["accuracy"]
    return grouped.mean().rename("mean").to_frame().join(grouped.std(ddof=1).rename("std"))


def summarize(results, *, budgets=(100, 200, 500, 1000), targets=(0.90, 0.95, 0.97)):
    """One line per strategy: accuracy at budgets, labels to reach targets, AULC.

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

    Returns
    -------
    pandas.DataFrame
        Indexed by strategy, with ``seeds``, ``acc@B``, ``acc@B_std``,
        ``labels_to_T``, ``best_acc``, ``labels_at_best``, ``aulc`` (area
        under the mean curve divided by its label range: the mean accuracy
        over the labels spent), ``query_s`` and ``fit_s`` (mean seconds per
        round).

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
        for key in ("query_time", "fit_time"):
            if key in part:
                # Round 0 queries nothing: leave it out of the query time.
                queried = "round" in part and key == "query_time"
                rounds = part[part["round"].astype(int) > 0] if queried else part
                line[key.replace("_time", "_s")] = float(rounds[key].astype(float).mean())
        out[name] = line
    table = pd.DataFrame.from_dict(out, orient="index")
    table.index.name = "strategy"
    return table.sort_values("aulc", ascending=False)


def summary_markdown(table, *, digits=4):
    """A markdown table of :func:`summarize`'s output (mean ± std cells)."""
    cols = [c for c in table.columns if not c.endswith("_std")]
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
                cells.append(f"{value:.{digits}f}" + (f" ± {std:.{digits}f}" if std == std else ""))
            elif col in ("best_acc", "aulc"):
                cells.append(f"{value:.{digits}f}")
            elif col.endswith("_s"):
                cells.append(f"{value:.2f}")
            else:
                cells.append(str(int(value)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_learning_curves(results, stem, *, title=None, formats=("png", "svg")):
    """Draw :func:`skdfal.plotting.plot_learning_curves` and save ``stem.png`` / ``stem.svg``.

    Returns
    -------
    list of Path
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "svg", "pdf"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import plot_learning_curves

    fig, ax = plt.subplots(figsize=(8, 5))
    plot_learning_curves(results, ax=ax, title=title)
    fig.tight_layout()
    paths = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=130)
        paths.append(path)
    plt.close(fig)
    return paths
