"""The colour MNIST variations: the digit kept, colour photograph patches behind it."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from test_variations import _write_digits

from skdfal.datasets import VARIATIONS, load_mnist, load_mnist_variation
from skdfal.datasets._variations import _colour_photos, photo_patches, rotate_images


@pytest.fixture
def fake_mnist(tmp_path):
    _write_digits(tmp_path)
    return tmp_path


LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _in_a_photograph(patch):
    """Exhaustive search of both photographs for a (3, h, w) patch's exact pixels."""
    h, w = patch.shape[-2:]
    for photo in _colour_photos():
        windows = np.lib.stride_tricks.sliding_window_view(photo, (h, w), axis=(1, 2))
        if np.any(np.all(windows == patch[:, None, None], axis=(0, 3, 4))):
            return True
    return False


@pytest.mark.parametrize("name", VARIATIONS)
def test_colour_images_keep_the_digit_on_every_channel(fake_mnist, name):
    X0, y0 = load_mnist(fake_mnist, "train")
    gray, _ = load_mnist_variation(name, fake_mnist, "train")
    X, y = load_mnist_variation(name, fake_mnist, "train", colour=True)
    np.testing.assert_array_equal(y, y0)
    assert X.shape == (len(X0), 3, 28, 28) and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    digit = X0
    if name.startswith("rot"):
        # The angles are the variation's first draw from its documented seed.
        angles = np.random.default_rng([0, zlib.crc32(name.encode()), 0]).uniform(0.0, 360.0, size=len(X0))
        digit = rotate_images(X0, angles)
    ink = np.broadcast_to(digit > 0, X.shape)
    assert ink.any()
    # Digit pixels are the digit's own, on all three channels.
    np.testing.assert_array_equal(X[ink], np.broadcast_to(digit, X.shape)[ink])
    again, _ = load_mnist_variation(name, fake_mnist, "train", colour=True)
    np.testing.assert_array_equal(X, again)


@pytest.mark.parametrize("name", ["bg-img", "rot-bg-img"])
def test_colour_backgrounds_are_photograph_patches_whose_luma_is_the_gray_one(fake_mnist, name):
    gray, _ = load_mnist_variation(name, fake_mnist, "train")
    X, _ = load_mnist_variation(name, fake_mnist, "train", colour=True)
    background = np.einsum("nchw,c->nhw", X, LUMA)[:, None]
    off = gray == 0  # pixels the background shows through in both
    np.testing.assert_allclose(background[off], gray[off], atol=2e-6)
    # The backgrounds are in colour: channels differ somewhere.
    assert np.abs(X[:, 0] - X[:, 2]).max() > 0.05


@pytest.mark.slow  # exhaustive search of the photographs
def test_colour_patches_are_cut_from_the_photographs():
    patches = photo_patches(3, (28, 28), np.random.default_rng(0), colour=True)
    assert patches.shape == (3, 3, 28, 28)
    assert all(_in_a_photograph(p) for p in patches)
    # ... and a patch that is not one is not found (the search can fail).
    assert not _in_a_photograph(patches[0][::-1].copy())


def test_colour_must_be_a_flag(fake_mnist):
    with pytest.raises(ValueError, match="colour must be True or False"):
        load_mnist_variation("bg-img", fake_mnist, colour="yes")
