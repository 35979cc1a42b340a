"""Reports of a benchmark: summary table, learning-curve figures, the ``skdfal benchmark`` command.

Kept apart from :mod:`skdfal.benchmark` (which runs the experiments) and
re-exported there.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["summarize", "summary_markdown", "save_learning_curves", "add_benchmark_parser"]


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
    >>> from skdfal.benchmark import summarize
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

    from .plotting import plot_learning_curves

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


# ----------------------------------------------------------------------- CLI
def _int_list(text):
    return [int(v) for v in text.split(",") if v.strip()]


def _float_list(text):
    return [float(v) for v in text.split(",") if v.strip()]


def _strategy_names():
    from .benchmark import STRATEGIES

    return list(STRATEGIES)


def add_benchmark_parser(sub):
    """Register ``skdfal benchmark`` on an argparse sub-parsers object."""
    p = sub.add_parser(
        "benchmark",
        help="strategies x seeds under one active learning protocol (resumable)",
        description=(
            "Run query strategies x seeds on digits, MNIST or Fashion-MNIST; write tidy rows to a "
            "CSV as they come (an interrupted run resumes), a learning-curve plot (PNG and SVG) "
            "and a markdown summary next to it."
        ),
    )
    p.add_argument("--dataset", default="digits", choices=["digits", "mnist", "fashion-mnist"])
    p.add_argument("--data-dir", default=None, help="folder of the IDX files (MNIST default: ../shared/data/mnist)")
    p.add_argument("--strategies", default="random,entropy,dfal",
                   help=f"comma-separated, from: {','.join(_strategy_names())} (default random,entropy,dfal)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--n-initial", type=int, default=10, help="initial labels (default 10)")
    p.add_argument("--query-size", type=int, default=10, help="labels per round (default 10)")
    p.add_argument("--budget", type=int, default=100, help="labels to stop at (default 100)")
    p.add_argument("--retrain", choices=["scratch", "warm"], default="scratch",
                   help="retrain a fresh net every round (default) or continue training")
    p.add_argument("--epochs", type=int, default=30, help="epochs per round (default 30)")
    p.add_argument("--min-updates", type=int, default=0,
                   help="at least this many optimiser steps per round (default 0)")
    p.add_argument("--model", choices=["lenet5", "vgg8"], default="lenet5")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--pool-subsample", type=int, default=None,
                   help="score this many random unlabeled candidates per round (all strategies)")
    p.add_argument("--pool-size", type=int, default=None, help="use a random subset of the pool")
    p.add_argument("--test-size", type=int, default=None, help="use a random subset of the test set")
    p.add_argument("--output", type=Path, default=Path("skdfal-benchmark.csv"),
                   help="CSV of rows; plot and summary are written next to it")
    p.add_argument("--no-resume", action="store_true", help="discard rows already in --output")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes, default 1)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    p.add_argument("--budgets", default="100,200,500,1000", help="label counts for the summary")
    p.add_argument("--targets", default="0.9,0.95,0.97", help="accuracies for the summary")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_benchmark)
    return p


def _cmd_benchmark(args):
    from .benchmark import run_benchmark
    seeds = _int_list(args.seeds)
    if not seeds:
        raise SystemExit("--seeds: give at least one seed, e.g. 0,1,2")
    started = time.perf_counter()
    frame = run_benchmark(
        args.dataset, [s.strip() for s in args.strategies.split(",") if s.strip()], seeds,
        data_dir=args.data_dir, n_initial=args.n_initial, query_size=args.query_size,
        budget=args.budget, retrain=args.retrain, epochs=args.epochs, min_updates=args.min_updates,
        model=args.model, lr=args.lr, batch_size=args.batch_size, device=args.device,
        pool_subsample=args.pool_subsample, pool_size=args.pool_size, test_size=args.test_size,
        output=args.output, resume=not args.no_resume, n_jobs=args.jobs, threads=args.threads,
        progress=not args.no_progress,
    )
    elapsed = time.perf_counter() - started
    frame = frame[frame["n_labels"] <= args.budget]
    stem = args.output.with_suffix("")
    table = summarize(frame, budgets=_int_list(args.budgets), targets=_float_list(args.targets))
    text = summary_markdown(table)
    Path(f"{stem}.summary.md").write_text(text + "\n")
    save_learning_curves(frame, stem, title=f"{args.dataset}, {args.model}: test accuracy vs labels paid")
    print(text)
    print(f"\n{len(frame)} rows in {args.output}; plot {stem}.png/.svg; summary {stem}.summary.md; "
          f"{elapsed:.0f} s this invocation")
    return 0
