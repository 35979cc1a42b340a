"""Why every strategy dropped on mnist-bg-rand, and the fix: standardised inputs (issue 19, item 2).

The trainer alone, without any strategy: nested random labeled sets of 20,
40, ..., 300 samples of a variation's training split (three seeds), one fit
from scratch per size, accuracy on 2,000 held-out training images.  A drop is
a loss of more than 2 points from one size to the next: with random labels
and a steady trainer there should be none.  Trainer variants:

* ``unstandardised``: ``make_classifier(input_mean=None, input_std=None)``,
  the trainer before the fix (inputs in [0, 1] as they are);
* ``standardised``: ``make_classifier()``'s default since the fix
  (``input_mean="auto"``: each channel's mean and standard deviation over
  the training inputs of the fit);
* ``pool_standardised``: the statistics of 5,000 unlabeled pool images
  instead, for comparison.

    python benchmarks/noisy_backgrounds.py --variations bg-rand,rot      # resumable
    python benchmarks/noisy_backgrounds.py --report                      # the table only

Rows (one JSON line per variation, seed and variant) go to
``benchmarks/results/noisy_backgrounds/rows.jsonl``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _setup import MNIST_DIR, markdown_table, source_commit  # benchmarks/, the script's folder

from skdfal import make_classifier
from skdfal.datasets import load_mnist_variation

OUT = Path(__file__).resolve().parent / "results" / "noisy_backgrounds" / "rows.jsonl"
SIZES = tuple(range(20, 301, 20))
VARIANTS = ("unstandardised", "standardised", "pool_standardised")


def _params(variant, X, rest):
    if variant == "unstandardised":
        return {"input_mean": None, "input_std": None}
    if variant == "pool_standardised":
        pool = X[rest[:5000]]
        return {"input_mean": [float(pool.mean())], "input_std": [float(pool.std())]}
    return {}  # make_classifier's default, "auto"


def run(variation, seed, variant, data_dir):
    """Validation accuracy at each size of one nested random sequence of labels."""
    X, y = load_mnist_variation(variation, data_dir, split="train")
    order = np.random.RandomState(123).permutation(len(X))
    val, rest = order[:2000], order[2000:]
    labels = np.random.RandomState(seed).permutation(rest)[: max(SIZES)]
    params = _params(variant, X, rest)
    accs = []
    for n in SIZES:
        net = make_classifier(random_state=seed, **params).fit(X[labels[:n]], y[labels[:n]])
        accs.append(float(net.score(X[val], y[val])))
    return {"variation": variation, "seed": seed, "variant": variant, "accuracies": accs,
            "commit": source_commit()}


def report(rows: pd.DataFrame) -> str:
    """Markdown: per variation and variant, drops, largest drop and mean accuracy (area)."""
    def row(variation, variant, part):
        steps = np.diff(np.stack(part["accuracies"].to_list()), axis=1)
        return [variation, variant, f"{int((steps < -0.02).sum())} of {steps.size}",
                f"{-100 * min(0.0, steps.min()):.1f} pts", f"{np.mean(part['accuracies'].to_list()):.3f}"]

    return markdown_table(["variation", "trainer", "drops > 2 pts", "largest drop",
                           "area (mean accuracy, 20-300 labels)"],
                          (row(*key, part) for key, part in rows.groupby(["variation", "variant"], sort=False)),
                          spaced_rule=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--variations", default="bg-rand,rot,bg-img")
    parser.add_argument("--variants", default="unstandardised,standardised")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--report", action="store_true", help="only print the table of what is there")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if OUT.is_file():
        done = {(r["variation"], r["seed"], r["variant"]) for r in map(json.loads, OUT.read_text().splitlines())}
    if not args.report:
        for variation in args.variations.split(","):
            for seed in map(int, args.seeds.split(",")):
                for variant in args.variants.split(","):
                    if (variation, seed, variant) in done:
                        continue
                    row = run(variation, seed, variant, args.data_dir)
                    with OUT.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(variation, seed, variant, np.round(row["accuracies"], 3).tolist(), flush=True)
    if OUT.is_file():
        print(report(pd.DataFrame(map(json.loads, OUT.read_text().splitlines()))))


if __name__ == "__main__":
    main()
