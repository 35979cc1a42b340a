"""MNIST-style IDX files (MNIST, Fashion-MNIST) as CNN input."""

from __future__ import annotations

import os
from typing import Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

__all__ = ["read_idx", "load_mnist", "load_fashion_mnist", "find_idx_files"]

#: ``(X, y)`` of one split; ``(X_train, y_train, X_test, y_test)`` of both.
Split: TypeAlias = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]
BothSplits: TypeAlias = tuple[
    npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.int64]
]
_Folder: TypeAlias = str | os.PathLike[str]


# --------------------------------------------------------------------- IDX files
# The IDX format (LeCun's MNIST files): a 4-byte magic number whose third byte
# is the element type (0x08 = unsigned byte) and fourth the number of
# dimensions, then one big-endian uint32 per dimension, then the data.
_IDX_UBYTE = 0x08

_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_TORCHVISION_NAMES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def read_idx(path):
    """Read one IDX file (gzip-compressed or not) into a numpy ``uint8`` array.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray of uint8, shaped as the file's header says

    Raises
    ------
    ValueError
        Naming the file, when it is not an IDX file of unsigned bytes, is
        truncated or has trailing bytes, or its gzip stream is corrupt.
    """
    import gzip
    import zlib
    from pathlib import Path

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file's name says
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot read the file (corrupt gzip stream?): {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    if raw[2] != _IDX_UBYTE:
        raise ValueError(f"{path}: IDX element type 0x{raw[2]:02x} is not unsigned byte (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dimension(s))")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=np.int64))
    got = len(raw) - header
    if got != expected:
        kind = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(
            f"{path}: file {kind}: header says shape {shape} ({expected} bytes of data), found {got}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(folder, stem, name):
    """The file for ``stem`` in ``folder``: flat, or under torchvision's ``<Name>/raw/``."""
    from pathlib import Path

    folder = Path(folder)
    places = [folder, folder / "raw", folder / _TORCHVISION_NAMES[name] / "raw"]
    for place in places:
        for suffix in (".gz", ""):
            candidate = place / (stem + suffix)
            if candidate.is_file():
                return candidate
    looked = ", ".join(str(p / (stem + "[.gz]")) for p in places)
    raise FileNotFoundError(f"no {stem} file for {name}: looked for {looked}")


def find_idx_files(folder, name):
    """The four IDX files of ``name`` (``"mnist"`` or ``"fashion-mnist"``) in ``folder``, without reading them.

    Raises ``FileNotFoundError`` naming the first one missing and where it
    was looked for (a check made before hours of work, e.g. by
    ``skdfal benchmark``).
    """
    return [_find_idx(folder, stem, name) for stems in _SPLIT_FILES.values() for stem in stems]


def _download(folder, name):
    try:
        from torchvision import datasets as tv
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("download=True needs torchvision: pip install 'skdfal[vision]'") from exc
    cls = {"mnist": tv.MNIST, "fashion-mnist": tv.FashionMNIST}[name]
    for train in (True, False):  # pragma: no cover - needs internet
        cls(str(folder), train=train, download=True)


def _load_idx_dataset(name, folder, split, download, n_classes=10):
    from pathlib import Path

    if split not in ("train", "test", "both"):
        raise ValueError(f"split must be 'train', 'test' or 'both', got {split!r}")
    folder = Path(folder)
    if download:
        _download(folder, name)
    out = {}
    for part in (("train", "test") if split == "both" else (split,)):
        images_file = _find_idx(folder, _SPLIT_FILES[part][0], name)
        labels_file = _find_idx(folder, _SPLIT_FILES[part][1], name)
        images, labels = read_idx(images_file), read_idx(labels_file)
        if images.ndim != 3:
            raise ValueError(f"{images_file}: expected 3-D images (n, rows, cols), got shape {images.shape}")
        if labels.ndim != 1:
            raise ValueError(f"{labels_file}: expected 1-D labels, got shape {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(
                f"{images_file} holds {len(images)} images but {labels_file} holds {len(labels)} labels"
            )
        if labels.size and int(labels.max()) >= n_classes:
            raise ValueError(f"{labels_file}: label {int(labels.max())} outside 0..{n_classes - 1}")
        X = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
        out[part] = (X, labels.astype(np.int64))
    if split == "both":
        return out["train"][0], out["train"][1], out["test"][0], out["test"][1]
    return out[split]


@overload
def load_mnist(
    folder: _Folder, split: Literal["train", "test"] = ..., *, download: bool = ...
) -> Split: ...
@overload
def load_mnist(
    folder: _Folder, split: Literal["both"], *, download: bool = ...
) -> BothSplits: ...
@overload
def load_mnist(
    folder: _Folder, split: str, *, download: bool = ...
) -> Split | BothSplits: ...
def load_mnist(
    folder: _Folder, split: str = "train", *, download: bool = False
) -> Split | BothSplits:
    """MNIST from a folder of the four standard IDX files (gzip-compressed or not).

    The files may lie in ``folder`` itself, in ``folder/raw`` or in
    torchvision's layout ``folder/MNIST/raw``.  Nothing is downloaded unless
    ``download=True`` (which needs torchvision and internet).

    Parameters
    ----------
    folder : str or Path
        Where the files are (nothing is assumed: pass the folder).
    split : {"train", "test", "both"}, default="train"
        ``"both"`` returns ``X_train, y_train, X_test, y_test``.
    download : bool, default=False

    Returns
    -------
    X : ndarray of shape (n, 1, 28, 28), float32 in [0, 1]
    y : ndarray of shape (n,), int64 in 0..9

    Raises
    ------
    FileNotFoundError
        When a file is missing (the message lists where it was looked for).
    ValueError
        When a file is corrupt, truncated or inconsistent (the message names it).

    Examples
    --------
    >>> from skdfal.datasets import load_mnist
    >>> X, y = load_mnist("data/mnist", split="test")  # doctest: +SKIP
    >>> X.shape, y[:3].tolist()  # doctest: +SKIP
    ((10000, 1, 28, 28), [7, 2, 1])
    """
    return _load_idx_dataset("mnist", folder, split, download)


@overload
def load_fashion_mnist(
    folder: _Folder, split: Literal["train", "test"] = ..., *, download: bool = ...
) -> Split: ...
@overload
def load_fashion_mnist(
    folder: _Folder, split: Literal["both"], *, download: bool = ...
) -> BothSplits: ...
@overload
def load_fashion_mnist(
    folder: _Folder, split: str, *, download: bool = ...
) -> Split | BothSplits: ...
def load_fashion_mnist(
    folder: _Folder, split: str = "train", *, download: bool = False
) -> Split | BothSplits:
    """Fashion-MNIST from a folder of its IDX files; same layout and checks as :func:`load_mnist`.

    torchvision keeps the files under ``folder/FashionMNIST/raw``.

    Returns
    -------
    X : ndarray of shape (n, 1, 28, 28), float32 in [0, 1]
    y : ndarray of shape (n,), int64 in 0..9
    """
    return _load_idx_dataset("fashion-mnist", folder, split, download)
