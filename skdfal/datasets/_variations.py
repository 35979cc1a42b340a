"""The MNIST variations (Larochelle et al., ICML 2007), made offline from the MNIST files.

Harder data sets than MNIST for choosing defaults, generated reproducibly
from the four IDX files and the two photographs scikit-learn ships
(:func:`sklearn.datasets.load_sample_images`), so nothing is downloaded:

========== ==================================================================
name       how each image is made
========== ==================================================================
rot        the digit rotated by an angle drawn uniformly in [0, 360) degrees
bg-rand    background pixels (those of value 0) replaced by uniform noise
bg-img     background pixels replaced by a random 28x28 grayscale patch of
           one of the two photographs
rot-bg-img rotated, then on a photograph patch
========== ==================================================================

The digit's own pixels (non-zero after any rotation) are never changed by a
background.  Images stay float32 in [0, 1], shaped ``(n, 1, 28, 28)``.
"""

from __future__ import annotations

import os
import zlib
from typing import Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from ._idx import BothSplits, Split, load_mnist

__all__ = ["VARIATIONS", "load_mnist_variation"]

#: The variation names, in order of the paper's table.
VARIATIONS = ("rot", "bg-rand", "bg-img", "rot-bg-img")

_Variation: TypeAlias = Literal["rot", "bg-rand", "bg-img", "rot-bg-img"]
_Folder: TypeAlias = str | os.PathLike[str]
_SPLIT_INDEX = {"train": 0, "test": 1}


@overload
def load_mnist_variation(
    name: _Variation, folder: _Folder, split: Literal["train", "test"] = ..., *,
    random_state: int = ...,
) -> Split: ...
@overload
def load_mnist_variation(
    name: _Variation, folder: _Folder, split: Literal["both"], *, random_state: int = ...,
) -> BothSplits: ...
@overload
def load_mnist_variation(
    name: _Variation, folder: _Folder, split: str, *, random_state: int = ...,
) -> Split | BothSplits: ...
def load_mnist_variation(
    name: _Variation, folder: _Folder, split: str = "train", *, random_state: int = 0,
) -> Split | BothSplits:
    """An MNIST variation, generated from MNIST's IDX files in ``folder``.

    The same ``name``, ``split`` and ``random_state`` give the same images on
    every machine (numpy's PCG64 seeded from all three); the default seed 0
    makes the data sets of docs/results.md.  The train and test splits take
    independent draws.  Generating all 70,000 images takes a few seconds.

    Parameters
    ----------
    name : {"rot", "bg-rand", "bg-img", "rot-bg-img"}
        The variation (see the module's table).
    folder : str or Path
        Where MNIST's IDX files are (as for :func:`~skdfal.datasets.load_mnist`).
    split : {"train", "test", "both"}, default="train"
        ``"both"`` returns ``X_train, y_train, X_test, y_test``.
    random_state : int >= 0, default=0
        Seeds the angles, noise and patches.

    Returns
    -------
    X : ndarray of shape (n, 1, 28, 28), float32 in [0, 1]
    y : ndarray of shape (n,), int64 in 0..9 (MNIST's labels, unchanged)

    Raises
    ------
    ValueError
        For an unknown name or split, or a negative seed.
    FileNotFoundError
        When MNIST's files are not in ``folder``.

    Examples
    --------
    >>> from skdfal.datasets import load_mnist_variation
    >>> X, y = load_mnist_variation("rot-bg-img", "data/mnist", "test")  # doctest: +SKIP
    >>> X.shape, X.dtype.name  # doctest: +SKIP
    ((10000, 1, 28, 28), 'float32')
    """
    if name not in VARIATIONS:
        raise ValueError(f"unknown MNIST variation {name!r}; choose from {', '.join(VARIATIONS)}")
    if split not in ("train", "test", "both"):
        raise ValueError(f"split must be 'train', 'test' or 'both', got {split!r}")
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be an integer >= 0, got {random_state!r}")
    parts = ("train", "test") if split == "both" else (split,)
    out: list[np.ndarray] = []
    for part in parts:
        X, y = load_mnist(folder, part)
        rng = np.random.default_rng([int(random_state), zlib.crc32(name.encode()), _SPLIT_INDEX[part]])
        out += [make_variation(X, name, rng), y]
    return tuple(out)  # type: ignore[return-value]


def make_variation(
    X: npt.NDArray[np.float32], name: str, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Apply variation ``name`` to digit images ``X`` of shape ``(n, 1, h, w)`` in [0, 1]."""
    if name.startswith("rot"):
        X = rotate_images(X, rng.uniform(0.0, 360.0, size=len(X)))
    if name.endswith("bg-rand"):
        X = on_background(X, rng.uniform(0.0, 1.0, size=X.shape).astype(np.float32))
    elif name.endswith("bg-img"):
        X = on_background(X, photo_patches(len(X), X.shape[-2:], rng)[:, None])
    return X


def rotate_images(X: npt.NDArray[np.float32], degrees: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Rotate each image counter-clockwise about its centre, bilinear, zeros outside.

    ``degrees`` has one angle per image.  A rotation by 90 degrees equals
    ``np.rot90`` exactly (pixel centres map onto pixel centres).
    """
    from scipy import ndimage

    degrees = np.broadcast_to(np.asarray(degrees, dtype=np.float64), (len(X),))
    out = np.empty_like(X, dtype=np.float32)
    for i, angle in enumerate(degrees):
        for c in range(X.shape[1]):
            # ndimage.rotate turns counter-clockwise in the (row, col) plane as
            # displayed, as np.rot90 does; order=1 keeps values in [0, 1].
            out[i, c] = ndimage.rotate(X[i, c], angle, reshape=False, order=1, mode="constant", cval=0.0)
    return np.clip(out, 0.0, 1.0, out=out)


def on_background(digits: npt.NDArray[np.float32], background: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``digits`` where they are non-zero, ``background`` elsewhere (the digit is never altered)."""
    return np.where(digits > 0, digits, background).astype(np.float32, copy=False)


def photo_patches(n: int, size: tuple[int, int], rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """``n`` random grayscale patches of ``size`` from scikit-learn's two sample photographs."""
    photos = _gray_photos()
    h, w = size
    which = rng.integers(0, len(photos), size=n)
    out = np.empty((n, h, w), dtype=np.float32)
    for k, photo in enumerate(photos):
        rows = np.flatnonzero(which == k)
        top = rng.integers(0, photo.shape[0] - h + 1, size=len(rows))
        left = rng.integers(0, photo.shape[1] - w + 1, size=len(rows))
        windows = np.lib.stride_tricks.sliding_window_view(photo, (h, w))
        out[rows] = windows[top, left]
    return out


def _gray_photos() -> list[npt.NDArray[np.float32]]:
    from sklearn.datasets import load_sample_images

    # ITU-R BT.601 luma, the usual RGB -> gray weights.
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return [(img.astype(np.float32) @ weights) / np.float32(255.0) for img in load_sample_images().images]
