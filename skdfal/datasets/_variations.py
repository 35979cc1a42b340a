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

``colour=True`` makes colour images ``(n, 3, 28, 28)`` from the same draws:
the grayscale digit on all three channels, over colour patches of the
photographs (bg-img, rot-bg-img) or per-channel noise (bg-rand); the luma of
a colour photograph patch is the grayscale variation's patch.
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
    random_state: int = ..., colour: bool = ...,
) -> Split: ...
@overload
def load_mnist_variation(
    name: _Variation, folder: _Folder, split: Literal["both"], *, random_state: int = ...,
    colour: bool = ...,
) -> BothSplits: ...
@overload
def load_mnist_variation(
    name: _Variation, folder: _Folder, split: str, *, random_state: int = ..., colour: bool = ...,
) -> Split | BothSplits: ...
def load_mnist_variation(
    name: _Variation, folder: _Folder, split: str = "train", *, random_state: int = 0,
    colour: bool = False,
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
    colour : bool, default=False
        Colour images, 3x28x28 (see the module's notes): for choosing and
        testing colour models offline.

    Returns
    -------
    X : ndarray of shape (n, 1, 28, 28), or (n, 3, 28, 28) with ``colour``, float32 in [0, 1]
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
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be an integer >= 0, got {random_state!r}")
    if not isinstance(colour, (bool, np.bool_)):
        raise ValueError(f"colour must be True or False, got {colour!r}")
    # load_mnist checks ``split`` (one message for every loader of the package).
    parts = ("train", "test") if split == "both" else (split,)
    out: list[np.ndarray] = []
    for part in parts:
        X, y = load_mnist(folder, part)
        rng = np.random.default_rng([int(random_state), zlib.crc32(name.encode()), _SPLIT_INDEX[part]])
        out += [make_variation(X, name, rng, colour=bool(colour)), y]
    return tuple(out)  # type: ignore[return-value]


def make_variation(
    X: npt.NDArray[np.float32], name: str, rng: np.random.Generator, *, colour: bool = False
) -> npt.NDArray[np.float32]:
    """Apply variation ``name`` to digit images ``X`` of shape ``(n, 1, h, w)`` in [0, 1].

    ``colour=True``: the digit on three channels over a colour background.
    """
    if name.startswith("rot"):
        X = rotate_images(X, rng.uniform(0.0, 360.0, size=len(X)))
    if colour:
        X = np.repeat(X, 3, axis=1)
    if name.endswith("bg-rand"):
        X = on_background(X, rng.uniform(0.0, 1.0, size=X.shape).astype(np.float32))
    elif name.endswith("bg-img"):
        patches = photo_patches(len(X), X.shape[-2:], rng, colour=colour)
        X = on_background(X, patches if colour else patches[:, None])
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


def photo_patches(
    n: int, size: tuple[int, int], rng: np.random.Generator, *, colour: bool = False
) -> npt.NDArray[np.float32]:
    """``n`` random patches of ``size`` from scikit-learn's two sample photographs.

    Grayscale ``(n, h, w)``, or ``(n, 3, h, w)`` with ``colour`` (the same
    windows for the same draws).
    """
    photos = _colour_photos() if colour else _gray_photos()
    h, w = size
    which = rng.integers(0, len(photos), size=n)
    out = np.empty((n, 3, h, w) if colour else (n, h, w), dtype=np.float32)
    for k, photo in enumerate(photos):
        rows = np.flatnonzero(which == k)
        height, width = photo.shape[-2:]
        top = rng.integers(0, height - h + 1, size=len(rows))
        left = rng.integers(0, width - w + 1, size=len(rows))
        windows = np.lib.stride_tricks.sliding_window_view(photo, (h, w), axis=(-2, -1))
        # (channels, top, left, h, w) for a colour photograph: windows first.
        out[rows] = np.moveaxis(windows[:, top, left], 0, 1) if colour else windows[top, left]
    return out


def _colour_photos() -> list[npt.NDArray[np.float32]]:
    """The two photographs as (3, height, width) float32 in [0, 1]."""
    from sklearn.datasets import load_sample_images

    return [np.moveaxis(img.astype(np.float32) / np.float32(255.0), -1, 0) for img in load_sample_images().images]


def _gray_photos() -> list[npt.NDArray[np.float32]]:
    from sklearn.datasets import load_sample_images

    # ITU-R BT.601 luma, the usual RGB -> gray weights.
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return [(img.astype(np.float32) @ weights) / np.float32(255.0) for img in load_sample_images().images]
