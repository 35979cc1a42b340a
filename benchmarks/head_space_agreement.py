"""How head-space DFAL ranks a pool against input-space DFAL (issue 20, item 1).

Run from the repository root (MNIST's IDX files in ``--mnist-dir``; nothing downloads)::

    python benchmarks/head_space_agreement.py --mnist-dir ../shared/data/mnist --pool-size 500

Two models, each trained with ``make_classifier``'s default trainer on
``--labels`` labelled images:

* LeNet5 on MNIST (1x28x28); its head is the last linear layer;
* a torchvision ResNet18 (random initial weights, trained end to end) on the
  colour bg-img MNIST variation (3x28x28, per-channel normalisation); its
  head is ``fc``.

For each, the same pool (``--pool-size`` test images) is scored by
``DFALMargin()`` (DeepFool in pixels) and ``DFALMargin(space="head")``
(DeepFool on the head over the backbone's embeddings).  Reported: Spearman's
rank correlation of the two margins (over samples both flipped), and the
overlap of their n smallest for n in ``--top``, with what a random pick
would overlap (n / pool size) for reference.  Results go to
``benchmarks/results/head_space_agreement.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
# The checkout's skdfal, not another installed copy.
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from _setup import MNIST_DIR, source_commit  # noqa: E402

import skdfal  # noqa: E402
from skdfal import DFALMargin, make_classifier  # noqa: E402
from skdfal.datasets import load_mnist, load_mnist_variation  # noqa: E402


def agreement(input_margins, head_margins, tops):
    """Spearman's rho over samples both attacks flipped, and top-n overlaps."""
    from scipy.stats import spearmanr

    both = np.isfinite(input_margins) & np.isfinite(head_margins)
    rho = float(spearmanr(input_margins[both], head_margins[both]).statistic)
    n_pool = len(input_margins)
    # Unflipped samples (inf) rank last in both orders, as DFALMargin ranks them.
    order_in, order_head = np.argsort(input_margins, kind="stable"), np.argsort(head_margins, kind="stable")
    overlaps = {
        int(n): {
            "overlap": len(set(order_in[:n].tolist()) & set(order_head[:n].tolist())) / n,
            "random_expected": n / n_pool,
        }
        for n in tops if n <= n_pool
    }
    return {"spearman": rho, "n_both_flipped": int(both.sum()), "n_pool": n_pool, "top_n": overlaps}


def _pick(X, y, n, rng):
    idx = rng.choice(len(X), size=n, replace=False)
    return X[idx], y[idx]


def lenet5_case(args, rng):
    Xtr, ytr, Xte, yte = load_mnist(args.mnist_dir, split="both")
    X_lab, y_lab = _pick(Xtr, ytr, args.labels, rng)
    pool, y_pool = _pick(Xte, yte, args.pool_size, rng)
    net = make_classifier("lenet5", random_state=args.seed).fit(X_lab, y_lab)
    return net, pool, y_pool, {"model": "LeNet5", "data": "MNIST 1x28x28", "head": "last nn.Linear"}


def resnet18_case(args, rng):
    from torchvision.models import resnet18

    Xtr, ytr, Xte, yte = load_mnist_variation("bg-img", args.mnist_dir, split="both", colour=True)
    X_lab, y_lab = _pick(Xtr, ytr, args.labels, rng)
    pool, y_pool = _pick(Xte, yte, args.pool_size, rng)
    mean = X_lab.mean(axis=(0, 2, 3)).tolist()
    std = X_lab.std(axis=(0, 2, 3)).tolist()
    torch.manual_seed(args.seed)
    net = make_classifier(resnet18(num_classes=10), input_mean=mean, input_std=std, head="fc",
                          train_steps=args.resnet_steps, random_state=args.seed).fit(X_lab, y_lab)
    info = {"model": "torchvision ResNet18 (random init, trained end to end)",
            "data": "colour MNIST bg-img 3x28x28", "head": "fc"}
    return net, pool, y_pool, info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", type=Path, default=MNIST_DIR)
    parser.add_argument("--pool-size", type=int, default=500)
    parser.add_argument("--labels", type=int, default=1000, help="labelled training images per model")
    parser.add_argument("--resnet-steps", type=int, default=600, help="ResNet18 optimiser steps")
    parser.add_argument("--top", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--models", nargs="+", default=["lenet5", "resnet18"], choices=["lenet5", "resnet18"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "head_space_agreement.json")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cases = {"lenet5": lenet5_case, "resnet18": resnet18_case}
    results = []
    for name in args.models:
        rng = np.random.RandomState(args.seed)
        net, pool, y_pool, info = cases[name](args, rng)
        accuracy = float((net.predict(pool) == y_pool).mean())
        head = info["head"] if info["head"] != "last nn.Linear" else None
        input_m = DFALMargin().score(net, pool)
        head_m = DFALMargin(space="head", head=head).score(net, pool)
        row = {**info, "labels": args.labels, "pool_accuracy": accuracy, **agreement(input_m, head_m, args.top)}
        results.append(row)
        tops = ", ".join(f"top-{n} {v['overlap']:.2f} (random {v['random_expected']:.2f})"
                         for n, v in row["top_n"].items())
        print(f"{info['model']}: accuracy {accuracy:.3f}, Spearman {row['spearman']:.3f}, {tops}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "command": "python benchmarks/head_space_agreement.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "skdfal": skdfal.__version__, "commit": source_commit(), "torch": torch.__version__,
        "seed": args.seed, "results": results,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
