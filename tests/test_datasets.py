"""Dataset loaders: real MNIST properties, and synthetic IDX files for layouts and corruption."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from skdfal import load_digits_images, load_fashion_mnist, load_mnist
from skdfal.datasets import read_idx


@pytest.mark.slow  # reads all of MNIST
def test_real_mnist_matches_published_properties(mnist_dir):
    X, y = load_mnist(mnist_dir, split="train")
    assert X.shape == (60000, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert X.min() == 0.0 and X.max() == 1.0
    assert abs(float(X.mean()) - 0.1307) < 1e-4 and abs(float(X.std()) - 0.3081) < 1e-4
    X_train, y_train, X_test, y_test = load_mnist(mnist_dir, split="both")
    assert X_test.shape == (10000, 1, 28, 28) and y_test[:3].tolist() == [7, 2, 1]
    np.testing.assert_array_equal(y_train, y)


def test_digits_still_bundled():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8) and y.dtype == np.int64


def _idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def _write_set(folder, n=6, compress=True, prefix=("train", "t10k"), rng=None):
    rng = rng or np.random.RandomState(0)
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for part in prefix:
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        data[part] = (images, labels)
        for stem, arr in ((f"{part}-images-idx3-ubyte", images), (f"{part}-labels-idx1-ubyte", labels)):
            raw = _idx_bytes(arr)
            if compress:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / stem).write_bytes(raw)
    return data


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("layout", ["flat", "MNIST/raw"])
def test_synthetic_idx_layouts(tmp_path, compress, layout):
    folder = tmp_path if layout == "flat" else tmp_path / layout
    data = _write_set(folder, compress=compress)
    X, y, X_test, y_test = load_mnist(tmp_path, split="both")
    np.testing.assert_allclose(X[:, 0] * 255.0, data["train"][0], atol=1e-3)
    np.testing.assert_array_equal(y, data["train"][1])
    np.testing.assert_array_equal(y_test, data["t10k"][1])
    assert X.dtype == np.float32 and y.dtype == np.int64 and X.shape == (6, 1, 28, 28)


def test_fashion_mnist_torchvision_layout(tmp_path):
    data = _write_set(tmp_path / "FashionMNIST" / "raw")
    X, y = load_fashion_mnist(tmp_path, split="test")
    np.testing.assert_array_equal(y, data["t10k"][1])


def test_missing_file_lists_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def _corrupt(tmp_path, name, payload):
    _write_set(tmp_path)
    (tmp_path / name).write_bytes(payload)
    return tmp_path / name


def test_truncated_file_is_named(tmp_path):
    images = _idx_bytes(np.zeros((6, 28, 28)))
    bad = _corrupt(tmp_path, "train-images-idx3-ubyte.gz", gzip.compress(images[:-100]))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz.*truncated"):
        load_mnist(tmp_path)
    assert bad.exists()


def test_trailing_bytes_bad_magic_and_type(tmp_path):
    _corrupt(tmp_path, "train-labels-idx1-ubyte.gz", gzip.compress(_idx_bytes(np.zeros(6)) + b"xx"))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz.*trailing"):
        load_mnist(tmp_path)
    _corrupt(tmp_path, "train-labels-idx1-ubyte.gz", gzip.compress(b"\x12\x34\x08\x01" + bytes(10)))
    with pytest.raises(ValueError, match="magic"):
        load_mnist(tmp_path)
    _corrupt(tmp_path, "train-labels-idx1-ubyte.gz", gzip.compress(b"\x00\x00\x0d\x01" + bytes(10)))
    with pytest.raises(ValueError, match="element type"):
        load_mnist(tmp_path)


def test_corrupt_gzip_is_named(tmp_path):
    payload = gzip.compress(_idx_bytes(np.zeros((6, 28, 28))))
    _corrupt(tmp_path, "train-images-idx3-ubyte.gz", payload[:40] + b"garbage" * 5)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz"):
        load_mnist(tmp_path)


def test_labels_out_of_range_and_count_mismatch(tmp_path):
    _corrupt(tmp_path, "train-labels-idx1-ubyte.gz", gzip.compress(_idx_bytes([1, 2, 3, 4, 5, 12])))
    with pytest.raises(ValueError, match="label 12 outside"):
        load_mnist(tmp_path)
    _corrupt(tmp_path, "train-labels-idx1-ubyte.gz", gzip.compress(_idx_bytes([1, 2, 3])))
    with pytest.raises(ValueError, match="6 images but .* 3 labels"):
        load_mnist(tmp_path)


def test_read_idx_roundtrip(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(_idx_bytes(arr))
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), arr)
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, split="valid")
