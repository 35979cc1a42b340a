"""Data and models shared by the benchmarks: real MNIST (digits as fallback), cached nets."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _idx_file(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(folder / stem)


def load_data(mnist_dir: Path | None = MNIST_DIR):
    """``(X_train, y_train, X_test, y_test, name)``: images (n, 1, H, W) float32 in [0, 1]."""
    folder = Path(mnist_dir) if mnist_dir is not None else None
    if folder is not None and folder.is_dir():
        try:
            parts = [
                _read_idx(_idx_file(folder, f"{split}-{kind}"))
                for split in ("train", "t10k")
                for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
            ]
        except FileNotFoundError:
            parts = None
        if parts is not None:
            Xtr, ytr, Xte, yte = parts
            return (
                (Xtr.astype(np.float32) / 255.0)[:, None],
                ytr.astype(np.int64),
                (Xte.astype(np.float32) / 255.0)[:, None],
                yte.astype(np.int64),
                "MNIST",
            )
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
