"""Figures for active learning results (matplotlib; nothing is shown, axes are returned).

Every function draws on an ``ax`` it is given (or a new one) and returns it,
so figures compose in notebooks and scripts alike; none calls ``plt.show``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_learning_curves"]


def _as_frame(results):
    import pandas as pd

    frame = results if isinstance(results, pd.DataFrame) else pd.DataFrame(list(results))
    missing = {"strategy", "seed", "n_labels", "accuracy"} - set(frame.columns)
    if missing:
        raise ValueError(f"results lack the column(s) {sorted(missing)}; expected learning-curve rows")
    if frame.empty:
        raise ValueError("results are empty: there is no learning curve to draw")
    return frame


def plot_learning_curves(
    results,
    ax=None,
    *,
    x="n_labels",
    y="accuracy",
    spread="std",
    strategies=None,
    title=None,
    markers=False,
):
    """Mean test accuracy per strategy against labels paid, with a band over seeds.

    Parameters
    ----------
    results : pandas.DataFrame or iterable of dict
        Tidy learning-curve rows with at least ``strategy``, ``seed``,
        ``n_labels`` and ``accuracy`` (see :data:`skdfal.experiments.COLUMNS`).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    x, y : str, default="n_labels", "accuracy"
        Columns on the axes.
    spread : {"std", "minmax", "sem", None}, default="std"
        Band around the mean over seeds: one standard deviation, the range
        of the seeds, the standard error, or no band.
    strategies : list of str, optional
        Which strategies to draw, in this order (default: all, sorted).
    title : str, optional
    markers : bool, default=False
        Mark every measured point.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdfal.plotting import plot_learning_curves
    >>> rows = [{"strategy": s, "seed": k, "n_labels": n, "accuracy": a + 0.01 * k}
    ...         for s, a in [("dfal", 0.5), ("random", 0.4)] for k in range(2) for n in (10, 20)]
    >>> ax = plot_learning_curves(rows)
    >>> sorted(line.get_label() for line in ax.get_lines())
    ['dfal', 'random']
    """
    import matplotlib.pyplot as plt

    if spread not in ("std", "minmax", "sem", None):
        raise ValueError(f"spread must be 'std', 'minmax', 'sem' or None, got {spread!r}")
    frame = _as_frame(results)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    names = list(strategies) if strategies is not None else sorted(frame["strategy"].unique())
    for name in names:
        part = frame[frame["strategy"] == name]
        if part.empty:
            raise ValueError(f"no rows for strategy {name!r}")
        grouped = part.groupby(x)[y]
        mean = grouped.mean()
        xs = mean.index.to_numpy(dtype=float)
        (line,) = ax.plot(xs, mean.to_numpy(), label=name, marker="o" if markers else None, ms=3)
        if spread is None:
            continue
        if spread == "minmax":
            low, high = grouped.min().to_numpy(), grouped.max().to_numpy()
        else:
            sd = grouped.std(ddof=1).fillna(0.0).to_numpy()
            if spread == "sem":
                sd = sd / np.sqrt(grouped.count().to_numpy())
            low, high = mean.to_numpy() - sd, mean.to_numpy() + sd
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    n_seeds = frame.groupby("strategy")["seed"].nunique()
    ax.set_xlabel("labels paid" if x == "n_labels" else x)
    ax.set_ylabel("test accuracy" if y == "accuracy" else y)
    band = {"std": "mean ± 1 sd", "minmax": "mean, min-max", "sem": "mean ± 1 sem", None: "mean"}[spread]
    ax.set_title(title or f"Learning curves ({band} over {int(n_seeds.max())} seed(s))")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return ax
