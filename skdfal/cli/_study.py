"""``skdfal benchmark --study FILE [--report]``: a study's protocol file, run and reported."""

from __future__ import annotations

import dataclasses

from ._args import usage_error

__all__ = ["run_study_command"]

#: The options a study file sets (its [protocol], [trainer], output and report), by destination.
_STUDY_SETS = {
    "n_initial": "--n-initial", "n_instances": "--n-instances", "budget": "--budget", "retrain": "--retrain",
    "steps": "--steps", "model": "--model", "lr": "--lr", "batch_size": "--batch-size",
    "class_weight": "--class-weight", "semi_supervised": "--semi-supervised", "device": "--device",
    "subsample": "--subsample", "pool_size": "--pool-size", "test_size": "--test-size",
    "validation_size": "--validation-size", "output": "--output", "no_resume": "--no-resume",
    "budgets": "--budgets", "targets": "--targets",
}


def run_study_command(args) -> int:
    """Run (unless ``--report``) the study of ``args.study``, then print its report."""
    from ..experiments import load_study, run_study, study_report

    try:
        study = load_study(args.study)
    except ValueError as exc:
        usage_error(args, "--study", str(exc))
    # An option given with a value other than its default would be silently overruled by the file.
    defaults = args.parser.parse_args([])
    for dest, option in _STUDY_SETS.items():
        if getattr(args, dest) != getattr(defaults, dest):
            usage_error(args, option, f"{args.study} sets it (edit the study file, or run without --study)")
    study = dataclasses.replace(
        study, datasets=study.datasets if args.dataset is None else (args.dataset,),
        strategies=study.strategies if args.strategies is None else tuple(args.strategies),
        seeds=study.seeds if args.seeds is None else tuple(args.seeds),
    )
    if not args.report:
        if args.data_dir is None and any(d != "digits" for d in study.datasets):
            usage_error(args, "--data-dir", f"{args.study} runs on {', '.join(study.datasets)}: give the folder "
                                            "that holds MNIST's IDX files")
        run_study(study, data_dir=args.data_dir, n_jobs=args.jobs, threads=args.threads,
                  progress=not args.no_progress)
    print(study_report(study))
    return 0
