"""Active learning on a backbone pretrained on another task, frozen or fine-tuned (issue 20, item 4).

Nothing here downloads: the "pretrained" backbone is made on this machine.

1. **Pretraining.** A torchvision ResNet18 (``resnet18(num_classes=5)``, its
   own constructor, random initial weights) learns all the training images
   of digits 0-4 of the colour bg-img variation (digits over patches of
   scikit-learn's two photographs, 3x28x28; ``--pretrain-size`` of them),
   with ``make_classifier``'s trainer.  Its weights are cached in
   ``benchmarks/.cache`` by their settings (the script, not the weights, is
   what ships).
2. **The new task: digits 5-9.** A pool of ``--pool-size`` training images
   of digits 5-9 and ``--test-size`` test images of them (MNIST's test
   split: this is a comparison, not a choice of defaults), a fresh
   ``nn.Linear(512, 5)`` head on the pretrained backbone
   (:class:`~skdfal.BackboneHead`), and active learning from 20 labels, 20 a
   round, with the backbone

   * ``frozen``: ``make_classifier(freeze=True)`` trains the head only;
   * ``finetuned``: every layer trains, starting from the pretrained weights
     at every fit.

   Strategies: random, entropy, BADGE, input-space DFAL (DeepFool in pixels
   through the whole ResNet) and head-space DFAL (``DFALMargin(space="head")``,
   DeepFool on the head over the backbone's embeddings).

    python benchmarks/pretrained_backbone.py                 # resumable: finished runs are kept
    python benchmarks/pretrained_backbone.py --report        # the tables only (markdown)

Each (mode, strategy, seed) run is written to
``benchmarks/results/pretrained_backbone/<mode>-<strategy>-s<seed>.csv`` when
it is complete; an interrupted study resumes at the first missing run.  The
loop takes one seed more for every mode and strategy in turn, so that a
stopped study still compares them on the same seeds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _setup import CACHE_DIR, MNIST_DIR, source_commit  # benchmarks/, the script's folder

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "pretrained_backbone"

MODES = ("frozen", "finetuned")
STRATEGIES = {  # name in the tables: (registered strategy, its parameters)
    "random": ("random", {}),
    "entropy": ("entropy", {}),
    "badge": ("badge", {}),
    "dfal_input": ("dfal", {}),
    "dfal_head": ("dfal", {"space": "head"}),
}
SEEDS = (0, 1, 2, 3, 4)
SOURCE, TARGET = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
PROTOCOL = dict(n_initial=20, n_instances=20, budget=160, train_steps=100, pretrain_steps=600)


def colour_digits(data_dir: str) -> tuple[np.ndarray, ...]:
    from skdfal.datasets import load_mnist_variation

    return load_mnist_variation("bg-img", data_dir, split="both", colour=True)


def channel_stats(X: np.ndarray) -> tuple[list[float], list[float]]:
    return X.mean(axis=(0, 2, 3)).tolist(), X.std(axis=(0, 2, 3)).tolist()


def pretrained_weights(X_train, y_train, size: int) -> Path:
    """ResNet18 trained on ``size`` images of digits 0-4; cached by its settings."""
    from torchvision.models import resnet18

    from skdfal import make_classifier

    key = hashlib.sha256(json.dumps([size, PROTOCOL["pretrain_steps"], "bg-img", "colour"]).encode()).hexdigest()[:12]
    path = CACHE_DIR / f"pretrained_resnet18_digits0-4_{key}.pt"
    if path.exists():
        return path
    rng = np.random.RandomState(0)
    source = rng.permutation(np.flatnonzero(np.isin(y_train, SOURCE)))[:size]
    mean, std = channel_stats(X_train[source])
    net = make_classifier(resnet18(num_classes=len(SOURCE)), n_classes=len(SOURCE),
                          train_steps=PROTOCOL["pretrain_steps"], input_mean=mean, input_std=std, random_state=0)
    started = time.perf_counter()
    net.fit(X_train[source], y_train[source])
    print(f"pretrained on {size} images of digits 0-4 in {time.perf_counter() - started:.0f} s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": net.module_.state_dict(), "mean": mean, "std": std}, tmp)
    os.replace(tmp, path)
    return path


class PretrainedResNet(torch.nn.Module):
    """The cached backbone under a fresh head: rebuilt at every fit from scratch."""

    def __init__(self, weights: str, n_classes: int = len(TARGET)):
        from torchvision.models import resnet18

        super().__init__()
        backbone = resnet18(num_classes=len(SOURCE))
        backbone.load_state_dict(torch.load(weights, weights_only=True)["state_dict"])
        backbone.fc = torch.nn.Identity()  # 512 features
        self.backbone, self.head = backbone, torch.nn.Linear(512, n_classes)

    def forward(self, x):
        return self.head(self.backbone(x))


def run_one(mode, name, seed, data, weights, pool_size, test_size) -> pd.DataFrame:
    """One active-learning run on digits 5-9; one row per round."""
    from skdfal import make_classifier
    from skdfal.experiments import make_strategy, simulate

    X_train, y_train, X_test, y_test = data
    rng = np.random.RandomState(seed)
    pool = rng.permutation(np.flatnonzero(np.isin(y_train, TARGET)))[:pool_size]
    test = rng.permutation(np.flatnonzero(np.isin(y_test, TARGET)))[:test_size]
    stats = torch.load(weights, weights_only=True)
    registered, params = STRATEGIES[name]
    strategy, adversarial = make_strategy(registered, **params)
    make = lambda s: make_classifier(  # noqa: E731
        PretrainedResNet, module__weights=str(weights), classes=list(TARGET), freeze=mode == "frozen",
        train_steps=PROTOCOL["train_steps"], input_mean=stats["mean"], input_std=stats["std"], random_state=s)
    n_rounds = (PROTOCOL["budget"] - PROTOCOL["n_initial"]) // PROTOCOL["n_instances"]
    rows = simulate(make, strategy, X_train[pool], y_train[pool], X_test[test], y_test[test],
                    n_initial=PROTOCOL["n_initial"], n_instances=PROTOCOL["n_instances"], n_rounds=n_rounds,
                    adversarial_augmentation=adversarial, random_state=seed, strategy_name=name)
    frame = pd.DataFrame(rows).drop(columns=["queried", "stop"], errors="ignore")
    frame.insert(0, "mode", mode)
    return frame


def report(frame: pd.DataFrame) -> str:
    """Markdown tables per mode: area, accuracy and paired difference to random at 60, 100 and the budget."""
    from skdfal.experiments import drop_rates, paired_differences

    lines = []
    for mode, runs in frame.groupby("mode", sort=False):
        seeds = sorted(set.intersection(*(set(r["seed"]) for _, r in runs.groupby("strategy"))))
        runs = runs[runs["seed"].isin(seeds)]
        budgets = sorted({b for b in (60, 100, PROTOCOL["budget"]) if b in set(runs["n_labels"])})
        diffs = paired_differences(runs, budgets)
        drops = drop_rates(runs)
        lines += [f"\n**{mode} backbone** ({len(seeds)} seed{'s' * (len(seeds) > 1)}: {seeds})\n",
                  "| strategy | area | " + " | ".join(f"accuracy at {b}" for b in budgets)
                  + " | " + " | ".join(f"vs random at {b} (95% CI)" for b in budgets) + " | drop rate | query s/round |",
                  "|---" * (3 + 2 * len(budgets)) + "|---|"]
        for name, run in runs.groupby("strategy"):
            at = run.groupby("n_labels")["accuracy"].mean()
            vs = []
            for b in budgets:
                if name == "random":
                    vs.append("-")
                    continue
                d = diffs.loc[(name, b)]
                ci = f" ({d['low']:+.3f}, {d['high']:+.3f})" if np.isfinite(d["low"]) else ""  # one seed: none
                vs.append(f"{d['mean']:+.3f}{ci}")
            lines.append(f"| {name} | {run['accuracy'].mean():.3f} | " + " | ".join(f"{at[b]:.3f}" for b in budgets)
                         + " | " + " | ".join(vs) + f" | {drops.get(name, np.nan):.1%} | "
                         + f"{run.loc[run['round'] > 0, 'query_time'].mean():.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--pretrain-size", type=int, default=5000)
    parser.add_argument("--pool-size", type=int, default=1000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--report", action="store_true", help="only print the tables of what is there")
    args = parser.parse_args(argv)
    modes, names = args.modes.split(","), args.strategies.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.report:
        torch.set_num_threads(1)  # one core per study on a shared machine; the figures are not timings
        data = colour_digits(args.data_dir)
        weights = pretrained_weights(data[0], data[1], args.pretrain_size)
        for seed in seeds:
            for mode in modes:
                for name in names:
                    path = OUT / f"{mode}-{name}-s{seed}.csv"
                    if path.exists():
                        continue
                    started = time.perf_counter()
                    frame = run_one(mode, name, seed, data, weights, args.pool_size, args.test_size)
                    frame["commit"] = source_commit()
                    tmp = path.with_suffix(".csv.tmp")
                    frame.to_csv(tmp, index=False)
                    os.replace(tmp, path)  # complete runs only: a killed run starts again
                    print(f"{mode} {name} seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    files = sorted(OUT.glob("*-s*.csv"))
    if not files:
        print("no finished runs yet")
        return
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    print(report(frame[frame["mode"].isin(modes) & frame["strategy"].isin(names)]))


if __name__ == "__main__":
    main()
