"""``skdfal run``: the main job, DFAL vs random sampling on bundled digits.

With no arguments it simulates pool-based active learning on scikit-learn's
bundled digits (no download): DFAL and random sampling from the same initial
labels and seeds, a per-round table of labels paid vs test accuracy, the rows
written to a CSV file and their learning curves to a PNG beside it.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from ._args import positive_int

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser(
        "run",
        help="simulate DFAL vs random sampling on bundled digits (the main job)",
        description=(
            "Pool-based active learning simulation on scikit-learn's digits with a LeNet5: "
            "DFAL (DeepFool margins) and random sampling, same initial labels and seeds."
        ),
    )
    p.add_argument("--n-initial", type=positive_int, default=20, help="initial labels (default 20)")
    p.add_argument("--n-instances", type=positive_int, default=10, help="labels per round (default 10)")
    p.add_argument("--rounds", type=positive_int, default=20, help="query rounds (default 20)")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds per strategy (default 3)")
    p.add_argument("--epochs", type=positive_int, default=40, help="training epochs per round (default 40)")
    p.add_argument("--test-size", type=float, default=0.3, help="held-out share of digits (default 0.3)")
    p.add_argument(
        "--adversarial", action="store_true",
        help="also run DFAL with adversarial copies labelled for free",
    )
    p.add_argument(
        "--output", type=Path, default=Path("skdfal-run.csv"),
        help="CSV file for the rows; the learning-curve figure goes beside it (.png)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_run)


def _cmd_run(args) -> int:
    import torch
    from sklearn.model_selection import train_test_split
    from tqdm.auto import tqdm

    from ..datasets import load_digits_images
    from ..experiments._simulate import simulate
    from ..models import make_classifier
    from ..strategies import DFALMargin, RandomSampling

    torch.set_num_threads(max(1, torch.get_num_threads()))
    X, y = load_digits_images()
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=args.test_size, stratify=y, random_state=0
    )

    def make_estimator(seed):
        return make_classifier(
            "lenet5", input_shape=X.shape[1:], max_epochs=args.epochs, lr=2e-3,
            batch_size=16, random_state=seed,
        )

    plans = [("dfal", lambda seed: DFALMargin(), False), ("random", lambda seed: RandomSampling(), False)]
    if args.adversarial:
        plans.insert(1, ("dfal+adv", lambda seed: DFALMargin(), True))
    total = len(plans) * args.seeds * (args.rounds + 1)
    rows = []
    started = time.perf_counter()
    with tqdm(total=total, disable=args.no_progress, desc="skdfal run", unit="round") as bar:
        for seed in range(args.seeds):
            for name, strategy_for, adversarial in plans:
                bar.set_postfix_str(f"{name} seed {seed}")
                rows += simulate(
                    make_estimator, strategy_for(seed), X_pool, y_pool, X_test, y_test,
                    n_initial=args.n_initial, n_instances=args.n_instances, n_rounds=args.rounds,
                    adversarial_augmentation=adversarial, random_state=seed,
                    strategy_name=name, on_round=lambda row: bar.update(1),
                )
    elapsed = time.perf_counter() - started
    _write_csv(rows, args.output)
    figure = _save_figure(rows, args)
    print(_table([name for name, _, _ in plans], rows))
    print(
        f"\n{len(X_pool)} pool / {len(X_test)} test digits, {args.seeds} seed(s), "
        f"mean test accuracy per round; {elapsed:.0f} s. Rows written to {args.output}, "
        f"learning curves to {figure}"
    )
    return 0


def _save_figure(rows, args) -> Path:
    """The learning curves as a PNG beside the CSV (``rows.csv`` -> ``rows.png``)."""
    from ..experiments import save_learning_curves

    band = f"mean ± 1 sd over {args.seeds} seeds" if args.seeds > 1 else "one seed"
    title = f"DFAL vs random sampling on digits (LeNet-5, {band})"
    (path,) = save_learning_curves(rows, args.output.with_suffix(""), title=title, formats=("png",))
    return Path(path)


def _write_csv(rows, path: Path):
    from ..experiments import ROW_COLUMNS

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ROW_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


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


