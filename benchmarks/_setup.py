"""Data and models shared by the benchmarks: real MNIST (digits as fallback), cached nets."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
#: MNIST's IDX files: ``SKDFAL_MNIST_DIR``, else ``shared/data/mnist`` beside the
#: repository (the tests read the same folder: tests/_data.py).
MNIST_DIR = Path(os.environ.get("SKDFAL_MNIST_DIR") or REPO.parent / "shared" / "data" / "mnist")
#: Trained nets and large_pool.py's pool file: ``SKDFAL_BENCH_CACHE``, else
#: ``benchmarks/.cache`` in the checkout (git ignores it), so that a rerun
#: finds them and nothing lands in a shared ``/tmp``.
CACHE_DIR = Path(os.environ.get("SKDFAL_BENCH_CACHE") or REPO / "benchmarks" / ".cache")


def source_commit() -> str:
    """The checkout's commit, ``+changes`` when its code differs from it (published with the figures)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--", "skdfal", "benchmarks") else "")


def markdown_table(header, rows, *, spaced_rule: bool = False) -> str:
    """A markdown table: ``header`` (names), then one line per row of ``rows`` (cells, as text)."""
    rule = "| " + " | ".join("---" for _ in header) + " |" if spaced_rule else "|" + "---|" * len(header)
    return "\n".join(["| " + " | ".join(header) + " |", rule, *("| " + " | ".join(row) + " |" for row in rows)])


#: The protocol files of the learning-curve studies (skdfal.experiments.load_study).
STUDIES = REPO / "benchmarks" / "studies"


def study_main(name: str, argv=None) -> None:
    """A study script's command line: run (resume) ``studies/<name>.toml``, then print its report.

    The same as ``skdfal benchmark --study benchmarks/studies/<name>.toml``,
    with MNIST's folder found as every benchmark finds it (:data:`MNIST_DIR`)
    and ``--datasets`` / ``--strategies`` / ``--seeds`` narrowing the study.
    """
    import argparse
    import dataclasses

    from skdfal.experiments import load_study, run_study, study_report

    study = load_study(STUDIES / f"{name}.toml")
    parser = argparse.ArgumentParser(description=study.description)
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--datasets", default=",".join(study.datasets))
    parser.add_argument("--strategies", default=",".join(study.strategies))
    parser.add_argument("--seeds", default=",".join(map(str, study.seeds)))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--report", action="store_true", help="only print the tables of what is there")
    args = parser.parse_args(argv)
    study = dataclasses.replace(study, datasets=tuple(args.datasets.split(",")),
                                strategies=tuple(args.strategies.split(",")),
                                seeds=tuple(int(s) for s in args.seeds.split(",")))
    if not args.report:
        run_study(study, data_dir=args.data_dir, n_jobs=args.jobs)
    print(study_report(study))


def load_data(mnist_dir: Path | None = MNIST_DIR, *, fallback: bool = True):
    """``(X_train, y_train, X_test, y_test, name)``: images (n, 1, H, W) float32 in [0, 1].

    MNIST is read by skdfal's own IDX reader (:func:`skdfal.datasets.load_mnist`).
    Without its files in ``mnist_dir``, scikit-learn's digits stand in, unless
    ``fallback=False`` (then the reader's ``FileNotFoundError`` is raised).
    """
    from skdfal.datasets import load_mnist

    try:
        if mnist_dir is None:
            raise FileNotFoundError("no MNIST folder given")
        Xtr, ytr, Xte, yte = load_mnist(mnist_dir, split="both")
        return Xtr, ytr, Xte, yte, "MNIST"
    except FileNotFoundError:
        if not fallback:
            raise
    from skdfal import load_digits_images

    X, y = load_digits_images()
    return X[:1200], y[:1200], X[1200:], y[1200:], "digits (MNIST not found)"


def get_model(arch: str, data, *, cache_dir: Path, epochs: int = 2, n_train: int = 60000, seed: int = 0):
    """A LeNet5 or VGG8 trained on ``data`` (cached as a state dict), eval mode, float32."""
    from skdfal import VGG8, LeNet5

    Xtr, ytr, Xte, yte, name = data
    shape = Xtr.shape[1:]
    module = {"lenet5": LeNet5, "vgg8": VGG8}[arch](in_channels=shape[0], input_size=shape[1:])
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tag = name.split()[0].lower()
    path = cache_dir / f"{arch}-{tag}-e{epochs}-n{min(n_train, len(Xtr))}-s{seed}.pt"
    if path.exists():
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        trained = "loaded"
    else:
        t0 = time.perf_counter()
        _train(module, Xtr[:n_train], ytr[:n_train], epochs=epochs, seed=seed)
        torch.save(module.state_dict(), path)
        trained = f"trained in {time.perf_counter() - t0:.0f} s"
    module.eval()
    with torch.no_grad():
        pred = torch.cat([module(torch.from_numpy(Xte[i : i + 1000])).argmax(1) for i in range(0, len(Xte), 1000)])
    acc = float((pred.numpy() == yte).mean())
    return module, {"path": str(path), "status": trained, "test_accuracy": acc}


def _train(module, X, y, *, epochs, seed, batch_size=128, lr=1e-3):
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        opt = torch.optim.Adam(module.parameters(), lr=lr)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        module.train()
        for _ in range(epochs):
            order = torch.randperm(len(Xt), generator=gen)
            for i in range(0, len(Xt), batch_size):
                idx = order[i : i + batch_size]
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(module(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
    module.eval()
