"""The MNIST variations: known answers (a quarter turn, a background that spares the digit)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from skdfal.datasets import VARIATIONS, load_mnist, load_mnist_variation
from skdfal.datasets._variations import _gray_photos, on_background, photo_patches, rotate_images
from skdfal.experiments import DATASETS, load_benchmark_data


def _write_digits(folder: Path, n: int = 12, seed: int = 0) -> None:
    """Tiny MNIST-like files: a bright asymmetric stroke on a zero background."""
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for part in ("train", "t10k"):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for i in range(n):
            top, left = rng.randint(4, 14, size=2)
            images[i, top:top + 10, left:left + 3] = rng.randint(60, 256)   # a vertical bar
            images[i, top, left:left + 8] = 255                              # and a top arm
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        for stem, arr in ((f"{part}-images-idx3-ubyte", images), (f"{part}-labels-idx1-ubyte", labels)):
            header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
            (folder / f"{stem}.gz").write_bytes(gzip.compress(header + arr.tobytes()))


@pytest.fixture
def fake_mnist(tmp_path):
    _write_digits(tmp_path)
    return tmp_path


def test_quarter_turns_are_exact():
    X = np.random.RandomState(0).rand(3, 1, 28, 28).astype(np.float32)
    np.testing.assert_allclose(rotate_images(X, 90), np.rot90(X, k=1, axes=(2, 3)), atol=1e-6)
    np.testing.assert_allclose(rotate_images(X, 180), np.rot90(X, k=2, axes=(2, 3)), atol=1e-6)
    np.testing.assert_allclose(rotate_images(X, [270, 270, 270]), np.rot90(X, k=3, axes=(2, 3)), atol=1e-6)
    np.testing.assert_allclose(rotate_images(X, 360), X, atol=1e-6)


def test_rotation_turns_counter_clockwise_as_displayed():
    X = np.zeros((1, 1, 28, 28), dtype=np.float32)
    X[0, 0, 2, 14] = 1.0  # a dot at the top centre (row 2)
    dot = np.argwhere(rotate_images(X, 90)[0, 0] > 0.5)
    # A quarter turn counter-clockwise takes the top to the left edge.
    assert dot.tolist() == [[13, 2]]


def test_background_spares_every_digit_pixel():
    rng = np.random.RandomState(1)
    digits = np.where(rng.rand(4, 1, 28, 28) > 0.8, rng.rand(4, 1, 28, 28), 0).astype(np.float32)
    background = rng.rand(4, 1, 28, 28).astype(np.float32)
    out = on_background(digits, background)
    ink = digits > 0
    np.testing.assert_array_equal(out[ink], digits[ink])
    np.testing.assert_array_equal(out[~ink], background[~ink])


@pytest.mark.slow  # exhaustive search of the photographs
def test_photo_patches_are_cut_from_the_photographs():
    patches = photo_patches(3, (28, 28), np.random.default_rng(0))
    photos = _gray_photos()
    for patch in patches:
        # Exhaustive search of each photograph for the patch's exact pixels.
        found = any(
            np.any(np.all(np.lib.stride_tricks.sliding_window_view(photo, (28, 28)) == patch, axis=(2, 3)))
            for photo in photos
        )
        assert found


@pytest.mark.parametrize("name", VARIATIONS)
def test_variation_keeps_labels_and_is_reproducible(fake_mnist, name):
    X0, y0 = load_mnist(fake_mnist, "train")
    X, y = load_mnist_variation(name, fake_mnist, "train")
    np.testing.assert_array_equal(y, y0)
    assert X.shape == X0.shape and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    X_again, _ = load_mnist_variation(name, fake_mnist, "train")
    np.testing.assert_array_equal(X, X_again)
    other, _ = load_mnist_variation(name, fake_mnist, "train", random_state=1)
    assert not np.array_equal(X, other)
    assert not np.array_equal(X, X0)
    X_train, _, X_test, _ = load_mnist_variation(name, fake_mnist, "both")
    np.testing.assert_array_equal(X_train, X)
    # Train and test share their source digits here, but not their draws.
    assert not np.array_equal(X_train, X_test)


@pytest.mark.parametrize("name", ["bg-rand", "bg-img"])
def test_backgrounds_leave_the_digit_unchanged(fake_mnist, name):
    X0, _ = load_mnist(fake_mnist, "train")
    X, _ = load_mnist_variation(name, fake_mnist, "train")
    ink = X0 > 0
    np.testing.assert_array_equal(X[ink], X0[ink])
    assert (X[~ink] > 0).mean() > 0.9  # the background is no longer black


def test_random_background_is_uniform(fake_mnist):
    X0, _ = load_mnist(fake_mnist, "train")
    X, _ = load_mnist_variation("bg-rand", fake_mnist, "train")
    noise = X[X0 == 0]
    # Uniform on [0, 1]: mean 1/2, standard deviation 1/sqrt(12).
    assert abs(noise.mean() - 0.5) < 0.01 and abs(noise.std() - 12 ** -0.5) < 0.01


def test_rotation_moves_the_stroke_but_keeps_its_ink(fake_mnist):
    X0, _ = load_mnist(fake_mnist, "train")
    X, _ = load_mnist_variation("rot", fake_mnist, "train")
    # Bilinear rotation about the centre keeps the total ink of a stroke far
    # from the border (up to interpolation blur).
    np.testing.assert_allclose(X.sum(axis=(1, 2, 3)), X0.sum(axis=(1, 2, 3)), rtol=0.05)


@pytest.mark.parametrize("bad, match", [
    (dict(name="rotated"), "unknown MNIST variation 'rotated'"),
    (dict(split="validation"), "split must be"),
    (dict(random_state=-1), "random_state must be an integer >= 0"),
    (dict(random_state=True), "random_state must be an integer >= 0"),
])
def test_bad_arguments_are_named(fake_mnist, bad, match):
    kwargs = {"name": "rot", "folder": fake_mnist, "split": "train", **bad}
    with pytest.raises(ValueError, match=match):
        load_mnist_variation(**kwargs)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist_variation("rot", tmp_path)


def test_benchmark_datasets_include_the_variations(fake_mnist):
    assert {f"mnist-{name}" for name in VARIATIONS} <= set(DATASETS)
    X_pool, y_pool, X_eval, y_eval = load_benchmark_data("mnist-bg-img", fake_mnist)
    np.testing.assert_array_equal(X_pool, load_mnist_variation("bg-img", fake_mnist, "train")[0])
    with pytest.raises(ValueError, match="needs data_dir"):
        load_benchmark_data("mnist-rot")


@pytest.mark.slow  # reads MNIST and makes a variation of it
def test_real_variation_is_mnist_with_its_labels(mnist_dir):
    X, y = load_mnist_variation("rot-bg-img", mnist_dir, "test")
    assert X.shape == (10000, 1, 28, 28) and y[:3].tolist() == [7, 2, 1]
    # A photograph behind every digit: far more light than MNIST's 13% mean.
    assert float(X.mean()) > 0.3
