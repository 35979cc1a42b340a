"""scikit-learn's bundled digits as CNN input."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_digits

__all__ = ["load_digits_images"]


def load_digits_images() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), no download.

    Returns
    -------
    X : ndarray of shape (1797, 1, 8, 8), float32 in [0, 1]
    y : ndarray of shape (1797,), int64

    Examples
    --------
    >>> from skdfal import load_digits_images
    >>> X, y = load_digits_images()
    >>> X.shape, X.dtype.name, int(y.max())
    ((1797, 1, 8, 8), 'float32', 9)
    """
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return X, y.astype(np.int64)
