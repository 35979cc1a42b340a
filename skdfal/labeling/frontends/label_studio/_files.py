"""Reading Label Studio's files safely, and its label config (for :mod:`skdfal.labeling.frontends.label_studio._backend`).

Task images are found by their URL under Label Studio's upload folder or its
local-files root; a path that leaves its root (``..``, an absolute path, a
link anywhere on the way), a special file or a file over the size bound is
refused.  Pool images are decoded by Pillow with a bound on their pixels.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ....utils._files import READ_FLAGS, read_regular_fd
from ..._fs import SessionDir, SessionError

__all__ = ["ANNOTATIONS_FILE", "IMAGES_FILE", "IMAGE_SUFFIXES", "MAX_BODY_BYTES", "MAX_IMAGE_BYTES",
           "MAX_IMAGE_PIXELS", "SESSION_DIR", "DigestCache", "choices_of", "default_config",
           "load_image_folder", "open_backend_folder", "read_images_file", "read_regular", "resolve_task_image"]

logger = logging.getLogger("skdfal.labelstudio")


#: Image files a pool folder may hold (others are ignored).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: Largest image file read (bytes) and decoded (pixels).
MAX_IMAGE_BYTES = 32 << 20
MAX_IMAGE_PIXELS = 64_000_000
#: Largest request body accepted by default (a /predict of a thousand tasks stays far below).
MAX_BODY_BYTES = 4 << 20
IMAGES_FILE = "images.json"
ANNOTATIONS_FILE = "annotations.jsonl"
SESSION_DIR = "session"


# ----------------------------------------------------------------- reading files safely
def read_regular(path: Path, limit: int, *, one_link: bool = False, seen=None) -> bytes | None:
    """The bytes of the regular file ``path`` (not followed if a link), at most ``limit``.

    With ``one_link``, a file with other hard links is refused as a link
    is (a hard link can bring any file of the same disk into a root).  With
    ``seen(st)`` (called with the file's ``fstat``), nothing is read when it
    returns true, and ``None`` is returned.
    """
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError as exc:
        raise ValueError(f"{path}: cannot open ({exc.strerror}; a link or a missing file is refused)") from None
    return read_regular_fd(fd, path, limit, one_link=one_link, seen=seen)


class DigestCache:
    """SHA-256 digests of task images, each file hashed once (keyed by device, inode, size and mtime).

    A file replaced or rewritten gets another key, so it is hashed again;
    the cache forgets its oldest entries beyond ``size``.
    """

    def __init__(self, size: int = 1 << 16):
        self.size, self._known, self.hashed = int(size), {}, 0
        self._lock = threading.Lock()  # requests are answered by several threads

    def digest(self, path: Path, limit: int) -> str:
        """The digest of the task image ``path`` (read as :func:`read_regular` with ``one_link``)."""

        def seen(st):
            key.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            with self._lock:
                found.append(self._known.get(key[0]))
            return found[0] is not None

        key, found = [], []
        data = read_regular(path, limit, one_link=True, seen=seen)
        if data is None:
            return found[0]
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self.hashed += 1
            if len(self._known) >= self.size:
                self._known.pop(next(iter(self._known)))
            self._known[key[0]] = digest
        return digest


def _inside(root: str | os.PathLike[str], relative: str) -> Path:
    """``root / relative``, refused unless it stays inside ``root`` with no link on the way."""
    if not relative or "\x00" in relative:
        raise ValueError(f"empty or malformed path {relative!r}")
    relative = relative.replace("\\", "/")
    parts = relative.split("/")
    if relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"path {relative!r} is absolute or leaves its folder (refused)")
    base = os.path.realpath(root)
    path = os.path.join(base, *parts)
    # realpath resolves every link: a path with a link in it no longer equals itself.
    if os.path.realpath(path) != path:
        raise ValueError(f"path {relative!r} goes through a link (refused)")
    return Path(path)


def resolve_task_image(url: str, *, upload_root: str | os.PathLike[str] | None,
                       local_files_root: str | os.PathLike[str] | None) -> Path:
    """The file a Label Studio task's image URL names, inside the allowed roots.

    Parameters
    ----------
    url : str
        ``/data/upload/<project>/<file>`` (files uploaded to Label Studio,
        kept under ``<data dir>/media/upload``) or
        ``/data/local-files/?d=<path>`` (Label Studio's local files storage,
        relative to its ``LOCAL_FILES_DOCUMENT_ROOT``), optionally with a
        scheme and host.
    upload_root : path-like or None
        Label Studio's upload folder (``<data dir>/media/upload``).
    local_files_root : path-like or None
        Label Studio's ``LOCAL_FILES_DOCUMENT_ROOT``.

    Raises
    ------
    ValueError
        Another kind of URL (cloud storage, a remote address), a root not
        configured, or a path leaving its root.
    """
    if not isinstance(url, str):
        raise ValueError(f"the task's image is not a URL string: {url!r}")
    parsed = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parsed.path)
    if path.startswith("/data/upload/"):
        if upload_root is None:
            raise ValueError(f"{url}: an uploaded file, but Label Studio's data folder is not set (--label-studio-data)")
        return _inside(upload_root, path[len("/data/upload/"):])
    if path.rstrip("/") == "/data/local-files":
        values = urllib.parse.parse_qs(parsed.query).get("d")
        if not values:
            raise ValueError(f"{url}: a local file URL without ?d=")
        if local_files_root is None:
            raise ValueError(f"{url}: a local file, but the local files root is not set (--local-files-root)")
        return _inside(local_files_root, values[0])
    raise ValueError(f"{url}: not an uploaded or local file of Label Studio (cloud and remote URLs are not read)")


def _decode_image(data: bytes, name: str, mode: str, size: tuple[int, int] | None):
    """Decode image bytes with Pillow (pixel bound first), as ``mode``, resized to ``size``."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{name}: {im.width}x{im.height} pixels, over {MAX_IMAGE_PIXELS} (refused)")
            im.draft(mode, size)  # JPEG: decode at a reduced scale when that is enough
            im = im.convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(f"{name}: not an image Pillow can decode safely ({exc})") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def load_image_folder(folder: str | os.PathLike[str], *, mode: str = "L",
                      size: tuple[int, int] | None = None) -> tuple[np.ndarray, list[dict]]:
    """The images of ``folder`` (sorted by name) as a pool, and their names and SHA-256 digests.

    Parameters
    ----------
    folder : path-like
        A folder of image files (``IMAGE_SUFFIXES``); links, special files
        and sub-folders in it are skipped.
    mode : {"L", "RGB"}, default="L"
        Grayscale (one channel) or colour (three).
    size : (height, width) or None
        Resize every image to this; ``None``: all images must share a size.

    Returns
    -------
    X : ndarray of shape (n, channels, height, width), float32 in [0, 1]
    images : list of dict
        ``{"name", "sha256"}`` per pool position.
    """
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"images: {folder} is not a folder")
    arrays, images = [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.name.lower().endswith(IMAGE_SUFFIXES) or not entry.is_file(follow_symlinks=False):
            continue
        data = read_regular(Path(entry.path), MAX_IMAGE_BYTES)
        array = _decode_image(data, entry.path, mode, size)
        if arrays and array.shape != arrays[0].shape:
            raise ValueError(
                f"{entry.path}: {array.shape[1]}x{array.shape[2]} pixels, the first image has "
                f"{arrays[0].shape[1]}x{arrays[0].shape[2]}; pass size=(height, width)"
            )
        arrays.append(array)
        images.append({"name": entry.name, "sha256": hashlib.sha256(data).hexdigest()})
    if not arrays:
        raise ValueError(f"images: no image files ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return np.stack(arrays), images


# ------------------------------------------------------------------ the label config
def choices_of(label_config: str) -> dict:
    """``{"from_name", "to_name", "data_key", "choices"}`` of a label config's first ``<Choices>``."""
    if not isinstance(label_config, str) or len(label_config) > (1 << 20):
        raise ValueError("the label config is missing or too large")
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError as exc:
        raise ValueError(f"the label config is not valid XML: {exc}") from None
    choices = next(root.iter("Choices"), None)
    if choices is None:
        raise ValueError("the label config has no <Choices>: skdfal classifies whole images")
    to_name = choices.get("toName", "")
    image = next((im for im in root.iter("Image") if im.get("name") == to_name), None)
    if image is None:
        raise ValueError(f"the label config's <Choices> points to {to_name!r}, which is no <Image>")
    data_key = image.get("value", "").lstrip("$")
    return {"from_name": choices.get("name", ""), "to_name": to_name, "data_key": data_key,
            "choices": [c.get("value", "") for c in choices.iter("Choice")]}


def default_config(class_names) -> str:
    choices = "".join(f'<Choice value="{_xml_escape(c)}"/>' for c in class_names)
    return (f'<View><Image name="image" value="$image"/><Choices name="choice" toName="image">{choices}'
            f"</Choices></View>")


def _xml_escape(text: str) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr(text)[1:-1]


def open_backend_folder(directory: Path) -> SessionDir:
    """The backend folder, held open: its files are opened as a session's are (no link, one link)."""
    if not Path(directory).is_dir():
        raise SessionError(f"{directory}: not a folder; make a backend with LabelStudioBackend.create or "
                           "`skdfal serve-label-studio DIR --images FOLDER --classes ...`")
    folder = SessionDir(directory)
    try:
        folder.check_entries()
    except BaseException:
        folder.close()
        raise
    return folder


def read_images_file(folder: SessionDir) -> dict:
    """The checked ``images.json`` of the backend folder ``folder``."""
    path = folder.where(IMAGES_FILE)
    try:
        info = json.loads(folder.read_bytes(IMAGES_FILE, 256 << 20))
    except ValueError as exc:
        raise SessionError(f"{path}: missing or malformed ({exc})") from None
    images = info.get("images") if isinstance(info, dict) else None
    if info.get("kind") != "skdfal-label-studio" or not isinstance(images, list) or not all(
            isinstance(i, dict) and isinstance(i.get("sha256"), str) for i in images):
        raise SessionError(f"{path}: not a skdfal Label Studio image list")
    return info
