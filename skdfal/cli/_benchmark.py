"""``skdfal benchmark``: strategies x seeds under one protocol, resumable."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._args import (
    add_command,
    add_labels_args,
    add_semi_supervised_arg,
    check_output_arg,
    device_arg,
    float_list,
    int_list_at_least,
    positive_float,
    positive_int,
    seed_list,
    steps_arg,
    subsample_arg,
    usage_error,
)

__all__ = ["add_parser"]


def _strategy_names():
    from ..experiments import STRATEGIES

    return list(STRATEGIES)


def _dataset_names():
    from ..experiments import DATASETS

    return list(DATASETS)


def _strategy_list(text: str) -> list[str]:
    """Comma-separated names of :data:`~skdfal.experiments.STRATEGIES` (argparse type)."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one strategy, e.g. random,entropy,dfal")
    known = _strategy_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown strategy {unknown[0]!r}; choose from {','.join(known)}")
    from ..strategies import all_strategies

    for name in names:
        try:
            all_strategies()[name].check_available()
        except ImportError as exc:  # an optional extra that is not installed
            raise argparse.ArgumentTypeError(str(exc)) from None
    return names


def _fraction_list(text: str) -> list[float]:
    """Comma-separated accuracies in (0, 1] (argparse type)."""
    values = float_list(text)
    wrong = [v for v in values if not 0 < v <= 1]
    if wrong:
        raise argparse.ArgumentTypeError(f"accuracies are in (0, 1], got {wrong[0]}")
    return values


#: Comma-separated label counts >= 1 (argparse type).
_count_list = int_list_at_least(1, "label counts are integers")


_DESCRIPTION = """Run query strategies x seeds on digits, MNIST, its variations or Fashion-MNIST; write
tidy rows to a CSV as they come (an interrupted run resumes), a learning-curve plot (PNG and SVG)
and a markdown summary next to it; or run a study's protocol file (--study)."""


def add_parser(sub):
    """Register ``skdfal benchmark`` on an argparse sub-parsers object."""
    p = add_command(sub, "benchmark", _cmd_benchmark, description=_DESCRIPTION,
                    help="strategies x seeds under one active learning protocol (resumable)")
    p.add_argument("--study", type=Path, default=None,
                   help="a study's protocol file (TOML: data sets, strategies, seeds, protocol, trainer, "
                        "output; docs/user_guide/benchmarks.rst): run or resume it, one seed more on every "
                        "data set in turn, then print its report; --dataset, --strategies, --seeds narrow it")
    p.add_argument("--report", action="store_true",
                   help="with --study: only print the study's tables (and write its figures) from its rows")
    # --dataset, --strategies and --seeds default to None so that, with --study, the ones given
    # are told from the ones left out (a study's own default seeds are not 0,1,2).
    p.add_argument("--dataset", default=None, choices=_dataset_names(),
                   help="digits (bundled, the default), mnist, fashion-mnist, or an MNIST variation made "
                        "from MNIST's files: mnist-rot, mnist-bg-rand, mnist-bg-img, mnist-rot-bg-img")
    p.add_argument("--data-dir", default=None, help="folder of the IDX files (every dataset but digits)")
    p.add_argument("--strategies", type=_strategy_list, default=None,
                   help=f"comma-separated, from: {','.join(_strategy_names())} (default random,entropy,dfal)")
    p.add_argument("--seeds", type=seed_list, default=None, help="comma-separated seeds (default 0,1,2)")
    add_labels_args(p, 10)
    p.add_argument("--budget", type=positive_int, default=100, help="labels to stop at (default 100)")
    p.add_argument("--retrain", choices=["scratch", "warm"], default="scratch",
                   help="retrain a fresh net every round (default) or continue training")
    p.add_argument("--steps", type=steps_arg, default="auto",
                   help="optimiser steps per fit: 'auto' (grows with the labels paid) or a number (default auto)")
    p.add_argument("--model", choices=["lenet5", "vgg8"], default="lenet5")
    p.add_argument("--lr", type=positive_float, default=None, help="peak learning rate (default: make_classifier's)")
    p.add_argument("--batch-size", type=positive_int, default=32,
                   help="samples per training step (the optimiser's minibatch; default 32)")
    p.add_argument("--class-weight", choices=["balanced"], default=None,
                   help="weigh each class's loss by the inverse of its share of the labeled set")
    add_semi_supervised_arg(p)
    p.add_argument("--device", type=device_arg, default="cpu", help="torch device (default cpu)")
    p.add_argument("--subsample", type=subsample_arg, default=1000,
                   help="score this many random unlabeled candidates per round, every strategy "
                        "(default 1000: on MNIST, DFAL did as well as on the whole pool at a "
                        "quarter of the query time, docs/results.md), or 'all'")
    p.add_argument("--pool-size", type=positive_int, default=None, help="use a random subset of the pool")
    p.add_argument("--test-size", type=positive_int, default=None, help="use a random subset of the test set")
    p.add_argument("--validation-size", type=positive_int, default=None,
                   help="evaluate on this many samples held out of the pool, not on the test set")
    p.add_argument("--output", type=Path, default=Path("skdfal-benchmark.csv"),
                   help="CSV of rows; plot and summary are written next to it")
    p.add_argument("--no-resume", action="store_true", help="discard rows already in --output")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="runs in parallel (processes, default 1; at most one per run and per CPU)")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads per process (default 1)")
    p.add_argument("--budgets", type=_count_list, default="100,200,500,1000", help="label counts for the summary")
    p.add_argument("--targets", type=_fraction_list, default="0.9,0.95,0.97", help="accuracies for the summary")
    p.add_argument("--no-progress", action="store_true")
    return p


def _cmd_benchmark(args):
    from ..experiments import run_benchmark, save_learning_curves, summarize, summary_markdown

    if args.study is not None:
        from ._study import run_study_command

        return run_study_command(args)
    if args.report:
        usage_error(args, "--report", "reports a study: give its file with --study")
    args.dataset = args.dataset or "digits"
    args.strategies = args.strategies or _strategy_list("random,entropy,dfal")
    seeds = [0, 1, 2] if args.seeds is None else args.seeds
    if not seeds:
        usage_error(args, "--seeds", "give at least one seed, e.g. 0,1,2")
    if args.dataset != "digits" and args.data_dir is None:
        usage_error(args, "--data-dir", f"{args.dataset} needs the folder that holds its IDX files")
    _check_sizes(args)
    check_output_arg(args, resume=not args.no_resume)
    _check_validation_size(args)
    started = time.perf_counter()
    frame = run_benchmark(
        args.dataset, args.strategies, seeds,
        data_dir=args.data_dir, n_initial=args.n_initial, n_instances=args.n_instances,
        budget=args.budget, retrain=args.retrain, steps=args.steps,
        model=args.model, lr=args.lr, batch_size=args.batch_size, device=args.device,
        subsample=args.subsample, pool_size=args.pool_size, test_size=args.test_size,
        validation_size=args.validation_size,
        output=args.output, resume=not args.no_resume, n_jobs=args.jobs, threads=args.threads,
        progress=not args.no_progress,
        classifier_params={
            key: value for key, value in
            (("class_weight", args.class_weight), ("semi_supervised", args.semi_supervised)) if value
        } or None,
    )
    elapsed = time.perf_counter() - started
    frame = frame[frame["n_labels"] <= args.budget]
    stem = args.output.with_suffix("")
    table = summarize(frame, budgets=args.budgets, targets=args.targets)
    text = summary_markdown(table)
    Path(f"{stem}.summary.md").write_text(text + "\n")
    save_learning_curves(frame, stem, title=f"{args.dataset}, {args.model}: test accuracy vs labels paid")
    print(text)
    print(f"\n{len(frame)} rows in {args.output}; plot {stem}.png/.svg; summary {stem}.summary.md; "
          f"{elapsed:.0f} s this invocation")
    return 0


def _check_sizes(args):
    """The label counts against each other, and the data files, named before any run."""
    if args.budget < args.n_initial:
        usage_error(args, "--budget", f"{args.budget} labels cannot pay for --n-initial {args.n_initial}")
    if args.pool_size is not None and args.pool_size < args.n_initial:
        usage_error(args, "--pool-size", f"a pool of {args.pool_size} cannot give --n-initial "
                                         f"{args.n_initial} labels")
    if args.dataset != "digits":
        from ..datasets._idx import find_idx_files

        try:
            find_idx_files(args.data_dir, "fashion-mnist" if args.dataset == "fashion-mnist" else "mnist")
        except FileNotFoundError as exc:
            usage_error(args, "--data-dir", str(exc))


def _check_validation_size(args):
    """``--validation-size`` against the pool it is held out of, named before any run."""
    if args.validation_size is None:
        return
    from ..experiments import load_benchmark_data
    from ..experiments._data import check_validation_size

    # The pool's size is known once it is loaded: loaded here once more (only
    # with --validation-size) so that the error is a usage error, not a traceback.
    n_pool = len(load_benchmark_data(args.dataset, args.data_dir)[1])
    try:
        check_validation_size(args.validation_size, n_pool, args.dataset)
    except ValueError as exc:
        usage_error(args, "--validation-size", str(exc))
