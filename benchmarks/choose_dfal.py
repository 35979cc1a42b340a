"""Choose DFAL's batch parameters on validation splits (never the test set).

Each variant of ``dfal_batch`` (diversity space, diversity factor, cold
start) and the references (random, the paper's DFAL) run under one protocol
with evaluation on samples held out of the pool; each variant writes its own
resumable CSV, and the summary pairs every variant with random seed by seed.

    python benchmarks/choose_dfal.py --dataset mnist --data-dir ../shared/data/mnist
    python benchmarks/choose_dfal.py --dataset digits

Results go to ``benchmarks/results/choose_dfal_<dataset>/``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from skdfal.experiments import run_benchmark, save_learning_curves, summarize, summary_markdown

HERE = Path(__file__).resolve().parent

#: name -> (registered strategy, its parameters)
VARIANTS = {
    "random": ("random", {}),
    "dfal": ("dfal", {}),
    "features_k10": ("dfal_batch", {"batch_diversity": "features", "diversity_factor": 10, "cold_start": 0}),
    "directions_k10": ("dfal_batch", {"batch_diversity": "directions", "diversity_factor": 10, "cold_start": 0}),
    "features_k5": ("dfal_batch", {"batch_diversity": "features", "diversity_factor": 5, "cold_start": 0}),
    "features_k10_cold60": ("dfal_batch", {"batch_diversity": "features", "diversity_factor": 10, "cold_start": 60}),
}

PROTOCOLS = {
    # MNIST: 5,000 validation images held out of the 60,000 training images.
    "mnist": dict(n_initial=20, n_instances=20, budget=300, subsample=1000, validation_size=5000),
    # digits: 1,258 pool images (70%), 300 of them held out for validation.
    "digits": dict(n_initial=20, n_instances=20, budget=300, subsample=1000, validation_size=300),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(PROTOCOLS), default="digits")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    out_dir = HERE / "results" / f"choose_dfal_{args.dataset}"
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = []
    for variant in args.variants.split(","):
        name, params = VARIANTS[variant]
        started = time.perf_counter()
        frame = run_benchmark(
            args.dataset, [name], seeds, data_dir=args.data_dir, output=out_dir / f"{variant}.csv",
            strategy_params={name: params} if params else None, n_jobs=args.jobs, progress=False,
            **PROTOCOLS[args.dataset],
        )
        print(f"{variant}: {time.perf_counter() - started:.0f} s", flush=True)
        frames.append(frame.assign(strategy=variant))
    rows = pd.concat(frames, ignore_index=True)
    budgets = (60, 100, 200, 300)
    text = summary_markdown(summarize(rows, budgets=budgets, targets=(0.9, 0.95)))
    (out_dir / "summary.md").write_text(text + "\n")
    save_learning_curves(rows, out_dir / "curves", title=f"{args.dataset}: validation accuracy",
                         formats=("png",))
    print(text)


if __name__ == "__main__":
    main()
