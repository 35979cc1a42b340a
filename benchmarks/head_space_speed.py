"""One query round of DFAL on a colour pool with ResNet18: exact, screening, head space (issue 20, item 5).

Run from the repository root on an otherwise idle machine (nothing downloads)::

    python benchmarks/head_space_speed.py --pool-size 10000 --labels 20 100
    python benchmarks/head_space_speed.py --pool-size 10000 --labels 20 100 --device cuda

The pool is ``--pool-size`` 3x32x32 images: the colour bg-img MNIST
variation padded to 32x32 (random images without MNIST's files in
``--mnist-dir``).  For each labelled-set size a torchvision ResNet18 (random
initial weights, per-channel normalisation) is trained with
``make_classifier``'s default trainer, then one query of ``--n-instances``
is timed for

* ``exact``: ``DFALMargin()``, DeepFool through the whole net, every class;
* ``screening``: ``DFALMargin(screening=True)``;
* ``head``: ``DFALMargin(space="head", head="fc")``, DeepFool on ``fc`` over
  the backbone's embeddings (one forward pass of the net per sample);
* ``embed``: ``pool_embeddings(net, pool, head="fc", out=...)``, the
  backbone's forward pass written to a memory-mapped ``.npy`` (once per pool
  when the backbone is frozen);
* ``cached``: a round with a frozen backbone: ``DFALMargin()(net.module_.fc,
  embeddings, n)`` over the memory map ``embed`` wrote (not timed again);
  its picks must be head space's;
* ``forward``: ``predict_proba`` over the pool, for reference.

Each method runs in a fresh process (the trained weights and the pool are
shared through files), so that its peak memory is its own: the growth of the
process's peak resident set over what loading took, and on CUDA torch's peak
allocated memory.  Times are the median of ``--repeats`` queries in that
process.  The picks of screening and head space are compared with exact
mode's (same picks for screening; overlap for head space).  Results go to
``benchmarks/results/head_space_speed.json`` and a markdown table to
``benchmarks/results/head_space_speed.md`` (``--out``).

``--pool-size 64 --labels 20 --resnet-steps 5`` checks the script end to end in
a few minutes on a CPU.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
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
from _setup import MNIST_DIR, source_commit  # noqa: E402
from _timing import run_meta  # noqa: E402

METHODS = ("forward", "exact", "screening", "head", "embed", "cached")


def make_pool(args):
    """``(X_pool, X_train, y_train, source)``: 3x32x32 float32 images in [0, 1]."""
    rng = np.random.RandomState(args.seed)
    try:
        from skdfal.datasets import load_mnist_variation

        Xtr, ytr, Xte, _ = load_mnist_variation("bg-img", args.mnist_dir, split="both", colour=True)
        source = "colour MNIST bg-img, padded to 32x32"
    except FileNotFoundError:
        Xtr = rng.rand(2000, 3, 28, 28).astype(np.float32)
        ytr = rng.randint(0, 10, size=2000)
        Xte = rng.rand(max(args.pool_size, 1), 3, 28, 28).astype(np.float32)
        source = "random images (MNIST not found)"
    pad = ((0, 0), (0, 0), (2, 2), (2, 2))
    pool_idx = rng.choice(len(Xte), size=args.pool_size, replace=len(Xte) < args.pool_size)
    return np.pad(Xte[pool_idx], pad), np.pad(Xtr, pad), ytr, source


def build_net(args, X_lab, y_lab, mean, std):
    from torchvision.models import resnet18

    from skdfal import make_classifier

    torch.manual_seed(args.seed)
    steps = "auto" if args.resnet_steps is None else args.resnet_steps
    return make_classifier(resnet18(num_classes=10), input_mean=mean, input_std=std, head="fc",
                           train_steps=steps, device=args.device, random_state=args.seed)


def _peak_rss_bytes():
    """The process's peak resident set (VmHWM; ru_maxrss, KiB on Linux, where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak_rss():
    """Start the peak over from the current resident set (Linux >= 4.0).

    A spawned child inherits its parent's ru_maxrss across exec, so without
    this every method would report the parent's peak (the data set it made).
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _embeddings_path(pool_path) -> Path:
    """Where ``embed`` writes the pool's embeddings and ``cached`` reads them, beside the pool."""
    return Path(pool_path).with_name("embeddings.npy")


def _run_method(method, state_path, pool_path, meta, repeats, queue):
    """In a fresh process: load the net and the pool, time one query ``repeats`` times."""
    from torchvision.models import resnet18

    from skdfal import DFALMargin, make_classifier, pool_embeddings

    if meta["threads"]:
        torch.set_num_threads(meta["threads"])
    pool = np.load(pool_path, mmap_mode="r")
    pool = np.ascontiguousarray(pool)
    net = make_classifier(resnet18(num_classes=10), input_mean=meta["mean"], input_std=meta["std"],
                          head="fc", device=meta["device"])
    net.initialize()
    net.module_.load_state_dict(torch.load(state_path, map_location=meta["device"], weights_only=True))
    cuda = meta["device"].startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    _reset_peak_rss()
    base_rss = _peak_rss_bytes()
    embeddings_path = _embeddings_path(pool_path)
    if method == "cached":  # the frozen backbone's embeddings, computed once before the rounds
        if not embeddings_path.exists():
            pool_embeddings(net, pool, head="fc", out=embeddings_path)
        embeddings = np.load(embeddings_path, mmap_mode="r")
        _reset_peak_rss()
        base_rss = _peak_rss_bytes()
    strategy = {
        "exact": DFALMargin(),
        "screening": DFALMargin(screening=True),
        "head": DFALMargin(space="head", head="fc"),
        "cached": DFALMargin(),
    }.get(method)
    times, picks = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        if method == "forward":
            net.predict_proba(pool)
        elif method == "embed":
            pool_embeddings(net, pool, head="fc", out=embeddings_path)
        elif method == "cached":
            picks, _ = strategy(net.module_.fc, embeddings, meta["n_instances"])
        else:
            picks, _ = strategy(net, pool, meta["n_instances"])
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    queue.put({
        "method": method,
        "seconds": statistics.median(times),
        "times": times,
        "peak_rss_growth_mib": (_peak_rss_bytes() - base_rss) / 2**20,
        "peak_rss_mib": _peak_rss_bytes() / 2**20,
        "cuda_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "picks": None if picks is None else np.asarray(picks).tolist(),
    })


def measure(method, state_path, pool_path, meta, repeats):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run_method, args=(method, state_path, pool_path, meta, repeats, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def markdown(report):
    lines = [
        f"One query of {report['n_instances']} on a {report['pool_size']:,}-image 3x32x32 pool "
        f"({report['pool_source']}), torchvision ResNet18, device {report['device']}, "
        f"{report['threads'] or 'default'} threads; commit {report['commit']}.",
        "",
        "| labels | method | time (s) | vs forward | exact / this | peak RSS (MiB) | growth over loading (MiB) | CUDA peak (MiB) "
        "| picks vs exact |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for case in report["cases"]:
        forward = case["methods"]["forward"]["seconds"]
        exact = case["methods"]["exact"]["seconds"]
        for method in METHODS:
            row = case["methods"][method]
            cuda = "" if row["cuda_peak_mib"] is None else f"{row['cuda_peak_mib']:.0f}"
            lines.append(
                f"| {case['labels']} | {method} | {row['seconds']:.2f} | {row['seconds'] / forward:.1f}x | {exact / row['seconds']:.1f}x | "
                f"{row['peak_rss_mib']:.0f} | {row['peak_rss_growth_mib']:.0f} | {cuda} | {row.get('agreement', '')} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", type=Path, default=MNIST_DIR)
    parser.add_argument("--pool-size", type=int, default=10_000)
    parser.add_argument("--labels", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--n-instances", type=int, default=10)
    parser.add_argument("--resnet-steps", type=int, default=None, help="optimiser steps (default: the trainer's)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "head_space_speed")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import skdfal

    pool, X_train, y_train, source = make_pool(args)
    rng = np.random.RandomState(args.seed)
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        pool_path = Path(tmp) / "pool.npy"
        np.save(pool_path, pool)
        for n_labels in args.labels:
            idx = rng.choice(len(X_train), size=n_labels, replace=False)
            X_lab, y_lab = X_train[idx], y_train[idx]
            mean, std = X_lab.mean(axis=(0, 2, 3)).tolist(), X_lab.std(axis=(0, 2, 3)).tolist()
            net = build_net(args, X_lab, y_lab, mean, std).fit(X_lab, y_lab)
            state_path = Path(tmp) / f"resnet18-{n_labels}.pt"
            torch.save(net.module_.state_dict(), state_path)
            meta = {"mean": mean, "std": std, "device": args.device, "threads": args.threads,
                    "n_instances": args.n_instances}
            methods = {m: measure(m, state_path, pool_path, meta, args.repeats) for m in METHODS}
            exact = set(methods["exact"]["picks"])
            for m in ("screening", "head", "cached"):
                shared = len(exact & set(methods[m]["picks"]))
                methods[m]["agreement"] = f"{shared}/{len(exact)} shared"
            if sorted(methods["cached"]["picks"]) != sorted(methods["head"]["picks"]):
                methods["cached"]["agreement"] += " (differs from head space!)"
            _embeddings_path(pool_path).unlink(missing_ok=True)  # the next case's net embeds anew
            cases.append({"labels": n_labels, "methods": methods})
            print(f"{n_labels} labels: " + ", ".join(f"{m} {methods[m]['seconds']:.2f} s" for m in METHODS),
                  flush=True)
    report = {
        **run_meta("head_space_speed.py", argv, args.device), "skdfal": skdfal.__version__, "commit": source_commit(),
        "pool_size": args.pool_size, "pool_source": source, "n_instances": args.n_instances, "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
