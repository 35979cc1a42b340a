"""Why do accuracies drop between rounds, and which trainer keeps them steady? (issue 19, item 2)

Runs random, entropy and the paper's DFAL on validation splits of hard data
(the MNIST variations) under trainer variants, and reports per variant and
strategy: the drop rate (share of rounds losing more than 2 points), the
area under the curve, how skewed the labeled set is (largest class count
over the mean class count, averaged over rounds), and the drop rate of the
rounds whose training set leaves a small last minibatch (0 < n mod 32 <= 12).

    python benchmarks/steady_training.py --data-dir ../shared/data/mnist --jobs 2

Resumable (one CSV per data set and variant under
``benchmarks/results/steady_training/``); ``--report`` only prints the table,
and ``--doc docs/results.md`` also writes it between the ``<!-- steady:begin -->``
and ``<!-- steady:end -->`` markers, with a figure of the variations.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _setup import MNIST_DIR, source_commit  # benchmarks/, the script's folder

from skdfal.experiments import drop_rates, load_benchmark_data, run_benchmark

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "steady_training"

#: trainer variant -> make_classifier arguments
VARIANTS = {
    "ragged": {"full_batches": False},  # the trainer before this study
    "full": {"full_batches": True},
    "full_balanced": {"full_batches": True, "class_weight": "balanced"},
}
PROTOCOL = dict(n_initial=20, n_instances=20, budget=300, subsample=1000, validation_size=5000)
BEGIN, END = "<!-- steady:begin -->", "<!-- steady:end -->"


def skew(frame: pd.DataFrame, y_pool: np.ndarray, n_classes: int = 10) -> pd.Series:
    """Mean over rounds of (largest class count / mean class count) of each run's labeled set."""
    out = {}
    for (name, _), run in frame.groupby(["strategy", "seed"]):
        counts, ratios = np.zeros(n_classes), []
        for queried in run.sort_values("round")["queried"]:
            rows = np.array(str(queried).split(), dtype=int)
            counts += np.bincount(y_pool[rows], minlength=n_classes)
            ratios.append(counts.max() / counts.mean())
        out.setdefault(name, []).append(np.mean(ratios))
    return pd.Series({k: float(np.mean(v)) for k, v in out.items()}, name="skew")


def small_last_batch_drops(frame: pd.DataFrame, batch_size: int = 32) -> pd.Series:
    """Drop rate of the rounds whose training set leaves a last batch of 1-12 samples."""
    out = {}
    for name, part in frame.groupby("strategy"):
        drops = total = 0
        for _, run in part.groupby("seed"):
            run = run.sort_values("n_labels")
            acc, n = run["accuracy"].to_numpy(float), run["n_train"].to_numpy(int)
            small = (n[1:] % batch_size > 0) & (n[1:] % batch_size <= 12)
            drops += int(((np.diff(acc) < -0.02) & small).sum())
            total += int(small.sum())
        out[name] = drops / total if total else np.nan
    return pd.Series(out, name="drops_small_last")


def report(datasets, data_dir) -> pd.DataFrame:
    lines = []
    for dataset in datasets:
        y_pool = load_benchmark_data(dataset, data_dir, validation_size=PROTOCOL["validation_size"])[1]
        for variant in VARIANTS:
            path = OUT / f"{dataset}_{variant}.csv"
            if not path.is_file():
                continue
            frame = pd.read_csv(path)
            table = pd.concat([
                frame.groupby("strategy")["accuracy"].mean().rename("area"),
                drop_rates(frame), small_last_batch_drops(frame), skew(frame, y_pool),
                frame.groupby("strategy")["seed"].nunique().rename("seeds"),
            ], axis=1)
            table.insert(0, "variant", variant)
            table.insert(0, "dataset", dataset)
            lines.append(table.reset_index(names="strategy"))
    return pd.concat(lines, ignore_index=True) if lines else pd.DataFrame()


def variations_figure(data_dir, path: Path, n: int = 10) -> None:
    """The first ``n`` test images of MNIST and of each variation, one row each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skdfal.datasets import VARIATIONS, load_mnist, load_mnist_variation

    rows = [("mnist", load_mnist(data_dir, "test"))]
    rows += [(f"mnist-{v}", load_mnist_variation(v, data_dir, "test")) for v in VARIATIONS]
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.8, len(rows) * 0.9))
    for r, (name, (X, y)) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(X[c, 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
            if r == 0:
                ax.set_title(str(y[c]), fontsize=8)
    fig.savefig(path, dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def markdown(table: pd.DataFrame) -> str:
    lines = ["| data set | trainer | strategy | seeds | area | drop rate | drops, small last batch | skew |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in table.sort_values(["dataset", "strategy", "variant"]).iterrows():
        lines.append(f"| {r['dataset']} | {r['variant']} | {r['strategy']} | {int(r['seeds'])} | "
                     f"{r['area']:.4f} | {r['drop_rate']:.1%} | {r['drops_small_last']:.1%} | {r['skew']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--datasets", default="mnist-bg-img,mnist-rot")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--strategies", default="random,entropy,dfal")
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--report", action="store_true", help="only print the table of what is there")
    parser.add_argument("--doc", type=Path, default=None, help="markdown file with the steady markers")
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",")
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.report:
        seeds = [int(s) for s in args.seeds.split(",")]
        data = {d: load_benchmark_data(d, args.data_dir, validation_size=PROTOCOL["validation_size"])
                for d in datasets}
        # Two seeds at a time, every variant and data set in turn: a stopped
        # study still compares the variants on the same seeds.
        for first in range(0, len(seeds), 2):
            for dataset in datasets:
                for variant in args.variants.split(","):
                    started = time.perf_counter()
                    run_benchmark(
                        dataset, args.strategies.split(","), seeds[: first + 2], data=data[dataset],
                        **PROTOCOL, classifier_params=VARIANTS[variant],
                        output=OUT / f"{dataset}_{variant}.csv", n_jobs=args.jobs, progress=False,
                    )
                    print(f"{dataset} {variant} seeds to {seeds[first:first + 2]}: "
                          f"{time.perf_counter() - started:.0f} s", flush=True)
    table = report(datasets, args.data_dir)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.doc is not None and not table.empty:
        figure = args.doc.parent / "results" / "variations.png"
        variations_figure(args.data_dir, figure)
        text = (f"![MNIST and its variations]({figure.relative_to(args.doc.parent)})\n\n"
                + markdown(table) + f"\n\n(rows of `benchmarks/results/steady_training/`, "
                f"report at commit {source_commit()})\n")
        doc = args.doc.read_text()
        if BEGIN not in doc or END not in doc:
            raise SystemExit(f"{args.doc} has no {BEGIN} ... {END} markers")
        head, rest = doc.split(BEGIN, 1)
        args.doc.write_text(head + BEGIN + "\n" + text + END + rest.split(END, 1)[1])


if __name__ == "__main__":
    main()
