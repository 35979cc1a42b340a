"""Learning curves and each strategy's paired difference to a baseline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from ..learners import ActiveLearningClassifier

    #: Learning-curve rows, or fitted classifiers that carry theirs (``learning_curve_``).
    Results: TypeAlias = (
        pd.DataFrame | Iterable[Mapping[str, Any]] | ActiveLearningClassifier | Sequence[ActiveLearningClassifier]
    )

__all__ = ["plot_learning_curves", "plot_paired_differences"]


def _as_frame(results):
    import pandas as pd

    # A fitted ActiveLearningClassifier (or several) carries its own rows.
    if hasattr(results, "learning_curve_"):
        results = results.learning_curve_
    elif isinstance(results, (list, tuple)) and results and all(hasattr(r, "learning_curve_") for r in results):
        results = [row for est in results for row in est.learning_curve_]
    frame = results if isinstance(results, pd.DataFrame) else pd.DataFrame(list(results))
    missing = {"strategy", "seed", "n_labels", "accuracy"} - set(frame.columns)
    if missing:
        raise ValueError(f"results lack the column(s) {sorted(missing)}; expected learning-curve rows")
    if frame.empty:
        raise ValueError("results are empty: there is no learning curve to draw")
    return frame


def _styles(frame):
    """A line style per strategy, the same in every panel: ``random`` in black, the others
    in matplotlib's ten colours, then dashed and dotted beyond ten."""
    import matplotlib as mpl

    palette = mpl.colormaps["tab10"]
    others = sorted(n for n in frame["strategy"].unique() if n != "random")
    styles = {name: {"color": palette(i % 10), "linestyle": ("-", "--", ":")[min(i // 10, 2)]}
              for i, name in enumerate(others)}
    styles["random"] = {"color": "black", "linestyle": "-"}
    return styles


def plot_learning_curves(
    results: Results, ax: Axes | None = None, *, x: str = "n_labels", y: str = "accuracy",
    spread: Literal["ci95", "std", "minmax", "sem"] | None = "ci95", strategies: Iterable[str] | None = None,
    title: str | None = None, markers: bool = False,
) -> Axes:
    """Mean test accuracy per strategy against labels paid, with a 95% interval over seeds.

    Parameters
    ----------
    results : pandas.DataFrame or iterable of dict
        Tidy learning-curve rows with at least ``strategy``, ``seed``,
        ``n_labels`` and ``accuracy`` (see :data:`skdfal.experiments.COLUMNS`).
        A fitted :class:`skdfal.ActiveLearningClassifier`, or a list of them,
        stands for its ``learning_curve_`` rows.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    x, y : str, default="n_labels", "accuracy"
        Columns on the axes.
    spread : {"ci95", "std", "minmax", "sem", None}, default="ci95"
        Band around the mean over seeds: the 95% Student-t interval of the
        mean (the measure :func:`plot_paired_differences` shows, so that
        both panels of a figure show one), one standard deviation, the range
        of the seeds, the standard error, or no band.  The y-axis label says
        which, and so does the title unless ``title`` replaces it.
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
    >>> ax.get_title()
    'Learning curves (mean, 95% interval over 2 seed(s))'
    """
    import matplotlib.pyplot as plt

    if spread not in ("ci95", "std", "minmax", "sem", None):
        raise ValueError(f"spread must be 'ci95', 'std', 'minmax', 'sem' or None, got {spread!r}")
    frame = _as_frame(results)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    names = list(strategies) if strategies is not None else sorted(frame["strategy"].unique())
    styles = _styles(frame)
    for name in names:
        part = frame[frame["strategy"] == name]
        if part.empty:
            raise ValueError(f"no rows for strategy {name!r}")
        grouped = part.groupby(x)[y]
        mean = grouped.mean()
        xs = mean.index.to_numpy(dtype=float)
        (line,) = ax.plot(xs, mean.to_numpy(), label=name, marker="o" if markers else None, ms=3,
                          **styles[name])
        if spread is None:
            continue
        if spread == "minmax":
            low, high = grouped.min().to_numpy(), grouped.max().to_numpy()
        else:
            sd = grouped.std(ddof=1).fillna(0.0).to_numpy()
            count = grouped.count().to_numpy()
            if spread == "sem":
                sd = sd / np.sqrt(count)
            elif spread == "ci95":
                sd = _t_half_width(sd, count)
            low, high = mean.to_numpy() - sd, mean.to_numpy() + sd
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    n_seeds = frame.groupby("strategy")["seed"].nunique()
    ax.set_xlabel("labels paid" if x == "n_labels" else x)
    band = {
        "ci95": "mean, 95% interval", "std": "mean ± 1 sd", "minmax": "mean, min-max",
        "sem": "mean ± 1 sem", None: "mean",
    }[spread]
    # "accuracy" on whatever set the rows were scored on (test or validation);
    # the label names the band too, so that a caller's title cannot hide it.
    ax.set_ylabel(f"{'accuracy' if y == 'accuracy' else y} ({band} over seeds)")
    ax.set_title(title or f"Learning curves ({band} over {int(n_seeds.max())} seed(s))")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def _t_half_width(sd, count, confidence=0.95):
    """Half-width of the Student-t interval of a mean (0 where fewer than two seeds)."""
    from scipy import stats

    count = np.asarray(count, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(0.5 + confidence / 2, np.maximum(count - 1, 1))
        half = t * np.asarray(sd, dtype=float) / np.sqrt(count)
    return np.where(count >= 2, half, 0.0)


def plot_paired_differences(
    results: Results, ax: Axes | None = None, *, baseline: str = "random",
    strategies: Iterable[str] | None = None, title: str | None = None,
) -> Axes:
    """Each strategy's accuracy minus the baseline's, paired by seed, with its 95% interval.

    Above zero, a strategy beats the baseline at that label count; an
    interval that straddles zero says the seeds cannot tell.

    Parameters
    ----------
    results : pandas.DataFrame or iterable of dict
        Learning-curve rows (as for :func:`plot_learning_curves`).
    ax : matplotlib Axes, optional
    baseline : str, default="random"
    strategies : list of str, optional
        Which strategies to draw (default: all but the baseline, sorted).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdfal.plotting import plot_paired_differences
    >>> rows = [{"strategy": s, "seed": k, "n_labels": n, "accuracy": a + 0.01 * k * (s == "dfal")}
    ...         for s, a in [("dfal", 0.5), ("random", 0.4)] for k in range(3) for n in (10, 20)]
    >>> [line.get_label() for line in plot_paired_differences(rows).get_lines()][:1]
    ['dfal']
    """
    import matplotlib.pyplot as plt

    from ..learners._curves import paired_differences

    frame = _as_frame(results)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    budgets = sorted(int(n) for n in frame["n_labels"].unique())
    table = paired_differences(frame, budgets, baseline=baseline)
    names = list(strategies) if strategies is not None else sorted(
        n for n in frame["strategy"].unique() if n != baseline
    )
    styles = _styles(frame)
    for name in names:
        part = table.loc[name].dropna(subset=["mean"])
        xs = part.index.to_numpy(dtype=float)
        (line,) = ax.plot(xs, part["mean"].to_numpy(), label=name, **styles[name])
        band = part.dropna(subset=["low", "high"])
        ax.fill_between(band.index.to_numpy(dtype=float), band["low"], band["high"],
                        color=line.get_color(), alpha=0.15, linewidth=0)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("labels paid")
    ax.set_ylabel(f"accuracy minus {baseline}'s, same seed (mean, 95% interval)")
    ax.set_title(title or f"Paired difference to {baseline} (mean, 95% interval over seeds)")
    ax.grid(True, alpha=0.3)
    # Differences shrink as labels grow: the upper right is where the lines are not.
    ax.legend(loc="upper right", fontsize="small")
    return ax
