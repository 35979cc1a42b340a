"""A folder of image files as CNN input: classes from sub-folders, or an unlabeled pool.

A folder may come from anywhere (an archive, a shared drive), so it is read
as a labeling session's folder is: no symbolic link in it is followed (a
link, to a file or a folder, is skipped with a warning), only regular files
are opened (``O_NOFOLLOW``, non-blocking, relative to the open folder on
POSIX), each file is read up to a size bound and decoded by Pillow up to a
pixel bound.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..utils._files import READ_FLAGS, read_regular_fd

__all__ = ["IMAGE_SUFFIXES", "load_image_folder"]

#: Files read as images (matched case-insensitively); other files are ignored.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: Largest image file read (bytes) and decoded (pixels).
MAX_IMAGE_BYTES = 32 << 20
MAX_IMAGE_PIXELS = 64_000_000

# Opening relative to an open folder closes the gap between listing a name and opening it.
_AT = os.open in os.supports_dir_fd and os.scandir in os.supports_fd


def _check_size(size):
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    try:
        height, width = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be an int or (height, width), got {size!r}") from None
    for value in (height, width):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 1 << 16:
            raise ValueError(f"size must be positive integers (height, width), got {size!r}")
    return int(height), int(width)


class _Folder:
    """An open folder: list its entries and read its files without following links."""

    def __init__(self, path: Path, parent: _Folder | None = None, name: str | None = None):
        self.path = path
        self.fd = None
        if _AT:
            flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
            try:
                if parent is None:  # the folder the user named may be reached through a link
                    self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
                else:
                    self.fd = os.open(name, flags, dir_fd=parent.fd)
            except OSError as exc:
                raise ValueError(f"{path}: cannot open the folder ({exc.strerror})") from None

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def entries(self):
        """``(name, kind)`` sorted by name; kind is "file", "dir", "link" or "other"."""
        found = []
        try:
            with os.scandir(self.fd if self.fd is not None else self.path) as it:
                for entry in it:
                    st = entry.stat(follow_symlinks=False)
                    kind = ("link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode)
                            else "file" if stat.S_ISREG(st.st_mode) else "other")
                    found.append((entry.name, kind))
        except OSError as exc:
            raise ValueError(f"{self.path}: cannot list the folder ({exc.strerror})") from None
        return sorted(found)

    def read(self, name: str) -> bytes:
        path = self.path / name
        try:
            if self.fd is not None:
                fd = os.open(name, READ_FLAGS, dir_fd=self.fd)
            else:
                if os.path.islink(path):
                    raise ValueError(f"{path}: a link (not followed)")
                fd = os.open(path, READ_FLAGS)
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the file ({exc.strerror})") from None
        try:
            return read_regular_fd(fd, path, MAX_IMAGE_BYTES)
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the file ({exc.strerror})") from None


def _decode(data: bytes, path: Path, mode: str, size):
    """``(channels, height, width)`` float32 in [0, 1] of an image file's bytes."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{path}: {im.width}x{im.height} pixels, over the limit of {MAX_IMAGE_PIXELS}")
            if size is not None:
                im.draft(mode, (size[1], size[0]))  # JPEG: decode at a reduced scale when that is enough
            im = im.convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(im, dtype=np.float32) / np.float32(255.0)
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{path}: not an image file Pillow can read ({exc})") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def load_image_folder(
    path: str | os.PathLike[str],
    *,
    size: int | Sequence[int] | None = None,
    mode: str = "RGB",
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray | None]:
    """Read a folder of images: classes from its sub-folders, or an unlabeled pool.

    Two layouts are read (hidden files and files without an image suffix,
    ``IMAGE_SUFFIXES``, are ignored):

    * **classes from sub-folders**: ``path/<class>/<image>``; the class
      names are the sub-folders' names, sorted, and ``target`` holds their
      positions;
    * **unlabeled**: image files directly in ``path`` (a pool to label);
      ``target`` and ``target_names`` are ``None``.

    A folder holding both image files and class sub-folders is refused (which
    did you mean?).  Images are sorted by name (within each class).

    Parameters
    ----------
    path : path-like
        The folder (it may be reached through a link; links *inside* it are
        skipped with a warning, never followed).
    size : int, (height, width) or None, default=None
        Resize every image to this (bilinear).  ``None``: every image must
        have the size of the first.
    mode : {"RGB", "L"}, default="RGB"
        Colour (three channels) or grayscale (one); every image is converted.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of the Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images``: ndarray of shape (n, channels, height, width), float32
        in [0, 1]; ``target``: int64 class positions or ``None``;
        ``target_names``: list of class names or ``None``; ``filenames``:
        each image's path relative to ``path`` (``"cat/001.png"``), in the
        rows' order.

    Raises
    ------
    ValueError
        Naming the folder or the file: no image in it, a file that is not an
        image Pillow can read (or over the size bounds), images of mixed
        sizes without ``size=``, a bad ``mode`` or ``size``, both layouts at
        once.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> from skdfal.datasets import load_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for cls in ("cat", "dog"):
    ...     (root / cls).mkdir()
    ...     Image.new("RGB", (6, 4), (255, 0, 0)).save(root / cls / "a.png")
    >>> data = load_image_folder(root)
    >>> data.images.shape, data.target.tolist(), data.target_names, data.filenames
    ((2, 3, 4, 6), [0, 1], ['cat', 'dog'], ['cat/a.png', 'dog/a.png'])
    >>> float(data.images[0, 0].max()), float(data.images[0, 1].max())
    (1.0, 0.0)
    """
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' (grayscale) or 'RGB' (colour), got {mode!r}")
    size = _check_size(size)
    root_path = Path(path)
    if not root_path.is_dir():
        raise ValueError(f"{root_path}: not a folder")
    root = _Folder(root_path)
    skipped, subs = [], {}
    try:
        entries = root.entries()
        files = [name for name, kind in entries if kind == "file" and _is_image(name)]
        folders = [name for name, kind in entries if kind == "dir" and not name.startswith(".")]
        skipped += [str(root_path / name) for name, kind in entries if kind in ("link", "other")]
        # (folder or None, class position or None, file name, relative name)
        items, class_names = [], None
        for name in folders:
            sub = _Folder(root_path / name, root, name)
            sub_entries = sub.entries()
            skipped += [str(root_path / name / n) for n, kind in sub_entries if kind in ("link", "other")]
            images = [n for n, kind in sub_entries if kind == "file" and _is_image(n)]
            if images:
                subs[name] = (sub, images)
            else:
                sub.close()
        if files and subs:
            raise ValueError(
                f"{root_path}: holds image files ({files[0]}, ...) and class sub-folders ({next(iter(subs))}, "
                "...): put every image in a class sub-folder, or the unlabeled ones in a folder of their own"
            )
        if subs:
            class_names = sorted(subs)
            for position, name in enumerate(class_names):
                sub, images = subs[name]
                items += [(sub, position, image, f"{name}/{image}") for image in images]
        else:
            items = [(root, None, name, name) for name in files]
        if skipped:
            warnings.warn(f"{root_path}: {len(skipped)} links or special files skipped, not followed "
                          f"({', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''})", stacklevel=2)
        if not items:
            raise ValueError(
                f"{root_path}: no image files ({', '.join(IMAGE_SUFFIXES)}) in it or in its sub-folders"
                + (f" ({len(skipped)} links or special files skipped: links are not followed)" if skipped else "")
            )
        X = None
        first = None
        for row, (folder, _, name, relative) in enumerate(items):
            array = _decode(folder.read(name), root_path / relative, mode, size)
            if X is None:
                X = np.empty((len(items), *array.shape), dtype=np.float32)
                first = relative
            elif array.shape != X.shape[1:]:
                raise ValueError(
                    f"{root_path / relative}: {array.shape[1]}x{array.shape[2]} pixels (height x width), but "
                    f"{first} has {X.shape[2]}x{X.shape[3]}: pass size=(height, width) to resize them all"
                )
            X[row] = array
    finally:
        root.close()
        for sub, _ in subs.values():
            sub.close()
    target = None if class_names is None else np.array([item[1] for item in items], dtype=np.int64)
    if return_X_y:
        return X, target
    return Bunch(images=X, target=target, target_names=class_names, filenames=[item[3] for item in items])
