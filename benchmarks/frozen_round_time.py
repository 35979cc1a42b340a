"""Round time with a frozen ResNet18, the embedding cache off and on (issue 35, item 3).

Run from the repository root (nothing downloads; the figures depend on the
machine and its load, so say which when you quote them)::

    python benchmarks/frozen_round_time.py                       # 600-image folder and 10,000 images
    python benchmarks/frozen_round_time.py --pools folder --rounds 2   # a quicker look

Pools:

* ``folder``: a synthetic colour folder written to a temporary directory,
  ``--folder-size`` PNG images of ``--folder-pixels`` square pixels in three
  class sub-folders (a coloured disc, square or bar on noise), read back with
  :func:`skdfal.load_image_folder`;
* ``large``: ``--large-size`` such images of 32x32 pixels, made in memory.

For each pool and each setting, ``embedding_cache=False`` (before: the frozen
backbone runs on every training batch of every fit, and on the whole pool at
every query) and ``embedding_cache="auto"`` (after: once per sample), a
torchvision ``resnet18(weights=None)`` (random weights) with ``freeze=True,
head="fc"``, ImageNet's input statistics and no augmentation learns from
``--start`` labels, ``--batch`` more a round, with head-space DFAL
(``DFALMargin(space="head", head="fc")``).  Each round, ``query`` then
``teach``, is timed; the script prints every round's time, the median of
the rounds after the first (the first fills the cache), and how many samples
the backbone saw in all.  The picks of the two settings are compared round
by round (they agree up to float rounding).  Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from _setup import source_commit  # noqa: E402
from _timing import run_meta  # noqa: E402

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def synthetic_images(n, pixels, seed=0):
    """``(n, 3, pixels, pixels)`` uint8 images of three classes, and their labels."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    rng.shuffle(y)
    X = rng.randint(0, 96, size=(n, 3, pixels, pixels)).astype(np.uint8)
    rows, cols = np.mgrid[:pixels, :pixels]
    for i, label in enumerate(y):
        cy, cx = rng.randint(pixels // 4, 3 * pixels // 4, size=2)
        r = rng.randint(pixels // 8, pixels // 4)
        if label == 0:
            mask = (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r
        elif label == 1:
            mask = (abs(rows - cy) <= r) & (abs(cols - cx) <= r)
        else:
            mask = abs(cols - cx) <= max(1, r // 3)
        X[i][:, mask] = rng.randint(128, 256, size=(3, 1), dtype=np.int64).astype(np.uint8)
    return X, y


def folder_pool(n, pixels, root):
    """Write ``n`` synthetic PNGs in class sub-folders under ``root``; read them back."""
    from PIL import Image

    from skdfal import load_image_folder

    X, y = synthetic_images(n, pixels, seed=1)
    names = ("disc", "square", "bar")
    for i, (img, label) in enumerate(zip(X, y, strict=True)):
        folder = Path(root) / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.transpose(1, 2, 0)).save(folder / f"{i:05d}.png")
    data = load_image_folder(root)
    return np.asarray(data.images, dtype=np.float32), np.asarray(data.target)


def run(X, y, *, cache, args):
    """Time ``args.rounds`` rounds of query + teach; ``(round times, picks, backbone samples)``."""
    from torchvision.models import resnet18

    from skdfal import ActiveLearner, DFALMargin, make_classifier

    torch.manual_seed(0)
    module = resnet18(weights=None, num_classes=3)
    seen = [0]
    module.conv1.register_forward_hook(lambda m, a, out: seen.__setitem__(0, seen[0] + len(a[0])))
    net = make_classifier(
        module, n_classes=3, freeze=True, head="fc", input_mean=IMAGENET[0], input_std=IMAGENET[1],
        shift=0, flip=False, embedding_cache="auto" if cache else False, device=args.device,
        batch_size=32, random_state=0,
    )
    rng = np.random.RandomState(0)
    start = rng.choice(len(X), args.start, replace=False)
    learner = ActiveLearner(net, query_strategy=DFALMargin(space="head", head="fc"),
                            X_training=X[start], y_training=y[start])
    pool = np.setdiff1d(np.arange(len(X)), start)
    times, picks = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        idx = learner.query(X[pool], args.batch)[0]
        learner.teach(X[pool[idx]], y[pool[idx]])
        times.append(time.perf_counter() - t0)
        picks.append(pool[idx])
        pool = np.delete(pool, idx)
    return times, picks, seen[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", nargs="+", choices=("folder", "large"), default=("folder", "large"))
    parser.add_argument("--folder-size", type=int, default=600)
    parser.add_argument("--folder-pixels", type=int, default=64)
    parser.add_argument("--large-size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--start", type=int, default=20)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--settings", nargs="+", choices=("off", "on"), default=("off", "on"),
                        help="embedding_cache=False (off), 'auto' (on), or both")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    meta = run_meta("frozen_round_time.py", argv, args.device)
    print(f"skdfal {source_commit()}, torch {meta['torch']}, {meta['threads']} threads, device {args.device} "
          f"({meta['machine']}; load {meta['load_before']}); {args.rounds} rounds of query {args.batch} + teach "
          f"from {args.start} labels")
    with tempfile.TemporaryDirectory(prefix="skdfal-frozen-") as root:
        for name in args.pools:
            if name == "folder":
                X, y = folder_pool(args.folder_size, args.folder_pixels, root)
                label = f"{len(X)}-image folder, 3x{args.folder_pixels}x{args.folder_pixels}"
            else:
                X, y = synthetic_images(args.large_size, 32, seed=2)
                X = X.astype(np.float32) / 255
                label = f"{len(X):,} images in memory, 3x32x32"
            results = {}
            for cache in (setting == "on" for setting in args.settings):
                times, picks, seen = run(X, y, cache=cache, args=args)
                results[cache] = picks
                later = statistics.median(times[1:]) if len(times) > 1 else float("nan")
                print(f"{label:38s} cache {'on ' if cache else 'off'}: rounds "
                      f"{' '.join(f'{t:6.1f}' for t in times)} s; median after the first {later:6.1f} s; "
                      f"backbone saw {seen:,} samples ({seen / len(X):.1f} per pool sample)")
            if len(results) < 2:
                continue
            same = [len(np.intersect1d(a, b)) for a, b in zip(results[False], results[True], strict=True)]
            print(f"{label:38s} picks shared by cache off and on, per round: {same} of {args.batch}")


if __name__ == "__main__":
    main()
