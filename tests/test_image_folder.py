"""``load_image_folder``: small PNGs written here with Pillow, read back pixel for pixel."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from PIL import Image

import skdfal
from skdfal.datasets import load_image_folder


def _png(path, pixels):
    """Write ``pixels`` (uint8, (h, w) or (h, w, 3)) as a PNG; return them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def _rgb(seed, h=5, w=7):
    return np.random.RandomState(seed).randint(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_classes_from_subfolders_pixels_and_names(tmp_path):
    truth = {
        "dog/b.png": _png(tmp_path / "dog" / "b.png", _rgb(1)),
        "cat/z.png": _png(tmp_path / "cat" / "z.png", _rgb(2)),
        "cat/a.png": _png(tmp_path / "cat" / "a.png", _rgb(3)),
    }
    (tmp_path / "cat" / "notes.txt").write_text("not an image")  # ignored: no image suffix
    (tmp_path / "empty").mkdir()  # a sub-folder without images is no class
    data = load_image_folder(tmp_path)
    assert data.target_names == ["cat", "dog"]
    assert data.filenames == ["cat/a.png", "cat/z.png", "dog/b.png"]
    assert data.target.tolist() == [0, 0, 1] and data.target.dtype == np.int64
    assert data.images.shape == (3, 3, 5, 7) and data.images.dtype == np.float32
    for row, name in enumerate(data.filenames):
        np.testing.assert_array_equal(data.images[row], truth[name].transpose(2, 0, 1) / np.float32(255))
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0
    X, y = load_image_folder(tmp_path, return_X_y=True)
    np.testing.assert_array_equal(X, data.images)
    np.testing.assert_array_equal(y, data.target)


def test_top_level_api_and_unlabeled_flat_folder_in_grayscale(tmp_path):
    gray = [_png(tmp_path / f"{i:03d}.png", np.full((4, 4), 50 * i, dtype=np.uint8)) for i in range(3)]
    data = skdfal.load_image_folder(tmp_path, mode="L")
    assert data.target is None and data.target_names is None
    assert data.filenames == ["000.png", "001.png", "002.png"]
    assert data.images.shape == (3, 1, 4, 4)
    np.testing.assert_array_equal(data.images[:, 0], np.stack(gray) / np.float32(255))
    rgb = load_image_folder(tmp_path)  # grayscale files as colour: three equal channels
    assert rgb.images.shape == (3, 3, 4, 4)
    np.testing.assert_array_equal(rgb.images[:, 1], data.images[:, 0])


def test_mixed_sizes_are_named_and_size_resizes(tmp_path):
    _png(tmp_path / "a.png", _rgb(0, 5, 7))
    _png(tmp_path / "b.png", _rgb(0, 9, 3))
    with pytest.raises(ValueError, match=r"b\.png: 9x3 pixels.*a\.png has 5x7.*size="):
        load_image_folder(tmp_path)
    data = load_image_folder(tmp_path, size=(6, 8))
    assert data.images.shape == (2, 3, 6, 8)
    assert load_image_folder(tmp_path, size=4).images.shape == (2, 3, 4, 4)
    # Resizing to its own size keeps an image as it is.
    same = load_image_folder(tmp_path, size=(5, 7)).images[0]
    np.testing.assert_array_equal(same, _rgb(0, 5, 7).transpose(2, 0, 1) / np.float32(255))


@pytest.mark.parametrize("size", [0, -3, (4,), (4, 0), "8x8", (2.5, 3), True])
def test_bad_size_and_mode(tmp_path, size):
    _png(tmp_path / "a.png", _rgb(0))
    with pytest.raises(ValueError, match="size must be"):
        load_image_folder(tmp_path, size=size)
    with pytest.raises(ValueError, match="mode must be 'L'"):
        load_image_folder(tmp_path, mode="CMYK")


def test_empty_missing_and_ambiguous_folders(tmp_path):
    with pytest.raises(ValueError, match="no image files"):
        load_image_folder(tmp_path)
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="not a folder"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a folder"):
        load_image_folder(tmp_path / "readme.txt")
    _png(tmp_path / "loose.png", _rgb(0))
    _png(tmp_path / "cls" / "x.png", _rgb(1))
    with pytest.raises(ValueError, match="image files .* and class sub-folders"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"GIF89a garbage", b"hello"])
def test_unreadable_image_file_is_named(tmp_path, content):
    _png(tmp_path / "good.png", _rgb(0))
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.png: not an image file Pillow can read"):
        load_image_folder(tmp_path)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_links_are_not_followed_out_of_the_folder(tmp_path):
    outside = tmp_path / "outside"
    secret = _png(outside / "secret.png", _rgb(9))
    _png(outside / "cls" / "s.png", _rgb(8))
    root = tmp_path / "root"
    _png(root / "cat" / "a.png", _rgb(1))
    os.symlink(outside / "secret.png", root / "cat" / "link.png")   # a linked file in a class
    os.symlink(outside / "cls", root / "dog")                       # a linked class folder
    with pytest.warns(UserWarning, match="2 links or special files skipped"):
        data = load_image_folder(root)
    assert data.filenames == ["cat/a.png"] and data.target_names == ["cat"]
    assert not any(np.array_equal(img, secret.transpose(2, 0, 1) / np.float32(255)) for img in data.images)
    # A folder of links only: nothing read, and the error says why.
    flat = tmp_path / "flat"
    flat.mkdir()
    os.symlink(outside / "secret.png", flat / "x.png")
    with warnings.catch_warnings(), pytest.raises(ValueError, match="no image files.*links are not followed"):
        warnings.simplefilter("ignore")
        load_image_folder(flat)
    # The folder itself may be reached through a link: the user named it.
    os.symlink(root, tmp_path / "via-link")
    with pytest.warns(UserWarning, match="1 links"):
        assert load_image_folder(tmp_path / "via-link" / "cat").filenames == ["a.png"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_skipped_not_waited_on(tmp_path):
    _png(tmp_path / "a.png", _rgb(0))
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.warns(UserWarning, match="1 links or special files skipped"):
        assert load_image_folder(tmp_path).filenames == ["a.png"]


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    from skdfal.datasets import _folder

    _png(tmp_path / "a.png", np.zeros((20, 20), dtype=np.uint8))
    monkeypatch.setattr(_folder, "MAX_IMAGE_PIXELS", 399)
    with pytest.raises(ValueError, match=r"a\.png: 20x20 pixels, over the limit of 399"):
        load_image_folder(tmp_path)
