"""``skdfal run``: the main job, DFAL vs random sampling on bundled digits.

With no arguments it simulates pool-based active learning on scikit-learn's
bundled digits (no download): the recommended DFAL (``--strategy``: any
registered strategy, ``dfal`` for the paper's rule) and random sampling from
the same initial labels and seeds, a per-round table of labels paid vs test accuracy, the rows
written to a CSV file and their learning curves to a PNG beside it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..strategies import RECOMMENDED, all_strategies
from ._args import (
    add_command,
    add_labels_args,
    add_semi_supervised_arg,
    check_output_arg,
    positive_int,
    steps_arg,
    usage_error,
)

__all__ = ["add_parser"]


_DESCRIPTION = """Pool-based active learning simulation on scikit-learn's digits (70% pool, 30% test)
with a LeNet5: DFAL (DeepFool margins; the recommended configuration unless --strategy says
otherwise) and random sampling, same initial labels and seeds, seeds in parallel processes."""


def add_parser(sub):
    """Register ``skdfal run`` on an argparse sub-parsers object."""
    p = add_command(sub, "run", _cmd_run, description=_DESCRIPTION,
                    help="simulate DFAL vs random sampling on bundled digits (the main job)")
    add_labels_args(p, 20)
    p.add_argument("--rounds", type=positive_int, default=10, help="query rounds (default 10: 220 labels)")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds per strategy (default 3)")
    p.add_argument("--steps", type=steps_arg, default="auto",
                   help="optimiser steps per fit: 'auto' (grows with the labels) or a number (default auto)")
    p.add_argument("--jobs", type=positive_int, default=min(2, os.cpu_count() or 1),
                   help="runs in parallel processes (default: 2, or 1 on a one-core machine; at most one per run "
                        "and per CPU)")
    p.add_argument(
        "--strategy", default=RECOMMENDED, choices=sorted(set(all_strategies()) - {"random"}), metavar="NAME",
        help=f"the strategy run against random sampling (default {RECOMMENDED}, the recommended DFAL; "
        "dfal: the paper's rule; any registered strategy)",
    )
    p.add_argument(
        "--adversarial", action="store_true",
        help="also run DFAL with adversarial copies labelled for free",
    )
    p.add_argument(
        "--output", type=Path, default=Path("skdfal-run.csv"),
        help="CSV file for the rows; its protocol (.protocol.json) and the learning-curve "
        "figure (.png) go beside it",
    )
    add_semi_supervised_arg(p)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _cmd_run(args) -> int:
    from ..experiments import load_benchmark_data, run_benchmark
    from ..experiments._results import protocol_path

    check_output_arg(args, resume=False)
    data = load_benchmark_data("digits")
    if args.n_initial > len(data[1]):
        usage_error(args, "--n-initial", f"the pool holds {len(data[1])} digits, fewer than {args.n_initial}")
    strategies = [args.strategy, "random"]
    if args.adversarial and args.strategy != "dfal_adv":
        strategies.insert(1, "dfal_adv")
    started = time.perf_counter()
    # The benchmark harness with a fixed protocol: one driver for every
    # simulated run, and its parallel processes for the seeds.
    frame = run_benchmark(
        "digits", strategies, list(range(args.seeds)), n_initial=args.n_initial,
        n_instances=args.n_instances, budget=args.n_initial + args.rounds * args.n_instances,
        steps=args.steps, output=args.output, resume=False, n_jobs=args.jobs, threads=1,
        progress=not args.no_progress,
        classifier_params={"semi_supervised": args.semi_supervised} if args.semi_supervised else None,
    )
    elapsed = time.perf_counter() - started
    rows = frame.to_dict("records")
    figure = _save_figure(rows, args)
    print(_table(strategies, rows))
    print(
        f"\n{len(data[1])} pool / {len(data[3])} test digits, {args.seeds} seed(s), "
        f"mean test accuracy per round; {elapsed:.0f} s. Rows written to {args.output} "
        f"(their protocol to {protocol_path(args.output)}), learning curves to {figure}"
    )
    return 0


def _save_figure(rows, args) -> Path:
    """The learning curves as a PNG beside the CSV (``rows.csv`` -> ``rows.png``)."""
    from ..experiments import save_learning_curves

    band = f"mean and 95% interval over {args.seeds} seeds" if args.seeds > 1 else "one seed"
    title = f"{args.strategy} vs random sampling on digits (LeNet-5, {band})"
    (path,) = save_learning_curves(rows, args.output.with_suffix(""), title=title, formats=("png",))
    return Path(path)


def _table(strategies, rows) -> str:
    """Mean accuracy per round and strategy, labels paid as the first column."""
    by_key = {}
    for row in rows:
        by_key.setdefault((row["round"], row["strategy"]), []).append(row)
    rounds = sorted({row["round"] for row in rows})
    header = ["round", "labels"] + strategies
    lines = [header]
    for rnd in rounds:
        first = next(v for (r, _), v in by_key.items() if r == rnd)
        cells = [str(rnd), str(first[0]["n_labels"])]
        for name in strategies:
            group = by_key.get((rnd, name), [])
            cells.append(f"{np.mean([g['accuracy'] for g in group]):.3f}" if group else "-")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines)


