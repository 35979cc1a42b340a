"""Reading and writing a session's file formats, refusing anything that could run code or blow up.

* JSON: bounded in size, parsed without ``NaN``/``Infinity``; nesting too deep
  for the parser and integers too long to convert are refusals, not crashes;
* ``.npy``: the header is parsed by numpy's bounded header reader, then the
  array is refused unless its dtype is plain numbers and its shape accounts
  for the file's size exactly (a header cannot claim terabytes);
* weights: ``torch.load(weights_only=True)`` of bytes read with a bound.

Every refusal is a :class:`SessionError` naming the file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os

import numpy as np

from .._fs import SessionError, read_bounded

__all__ = [
    "decode_array",
    "dump_json",
    "encode_array",
    "load_json",
    "parse_json",
    "read_npy",
    "read_state_dict",
    "sha256_bytes",
    "write_npy",
]

_MAX_NPY_HEADER = 1 << 16
_MAX_NDIM = 32


def sha256_bytes(data) -> str:
    return hashlib.sha256(data).hexdigest()


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(data: bytes, where):
    """``json.loads`` whose every failure is a :class:`SessionError` naming ``where``."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise SessionError(f"{where}: not a text file (corrupt or foreign)") from None
    except RecursionError:
        raise SessionError(f"{where}: JSON nested too deeply (corrupt or hostile)") from None
    except ValueError as exc:  # JSONDecodeError, and integers beyond Python's digit limit
        raise SessionError(f"{where}: not valid JSON (corrupt or truncated): {exc}") from None


def dump_json(obj) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def load_json(folder, name, *, kind: str, max_version: int, limit: int) -> dict:
    """Read the JSON object ``name`` of ``folder`` whose ``format`` is ``kind``."""
    path = folder.where(name)
    obj = parse_json(folder.read_bytes(name, limit), path)
    if not isinstance(obj, dict) or obj.get("format") != kind:
        raise SessionError(f"{path}: not a {kind} file (foreign file?)")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SessionError(f"{path}: missing or invalid format version {version!r}")
    if version > max_version:
        raise SessionError(
            f"{path}: format version {version} was written by a newer skdfal; this one reads "
            f"versions up to {max_version}. Upgrade skdfal to open this session."
        )
    return obj


# ------------------------------------------------------------------- .npy
def write_npy(folder, name, array) -> str:
    """Atomically write ``array`` as ``.npy`` (plain numbers only); returns its sha256."""
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"refusing to write a {array.dtype} array to {folder.where(name)}: plain numbers only")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    folder.write_bytes(name, data)
    return sha256_bytes(data)


def _header(fh, where):
    try:
        major, minor = np.lib.format.read_magic(fh)
        # Look at the header's length before numpy reads that many bytes.
        start, width = fh.tell(), 2 if (major, minor) == (1, 0) else 4
        length = int.from_bytes(fh.read(width), "little")
        if length > _MAX_NPY_HEADER:
            raise ValueError(f"a header of {length:,} bytes")
        fh.seek(start)
        if (major, minor) == (1, 0):
            return np.lib.format.read_array_header_1_0(fh, max_header_size=_MAX_NPY_HEADER)
        if (major, minor) in ((2, 0), (3, 0)):
            return np.lib.format.read_array_header_2_0(fh, max_header_size=_MAX_NPY_HEADER)
    except (ValueError, TypeError, OSError, EOFError, SyntaxError, RecursionError, MemoryError) as exc:
        raise SessionError(f"{where}: not a plain numpy array file (refused): {exc}") from None
    raise SessionError(f"{where}: not a plain numpy array file (format version {major}.{minor}; refused)")


def _open_existing(folder, name, where):
    """``name`` in ``folder`` opened for reading (the folder's no-follow rules), else ``SessionError``."""
    try:
        return os.fdopen(folder.open(name), "rb")
    except FileNotFoundError:
        raise SessionError(f"{where}: missing") from None


def read_npy(folder, name, *, sha256=None, limit: int, mmap=False) -> np.ndarray:
    """A plain numeric array from ``name``; ``mmap``: mapped copy-on-write, not read.

    The checksum (when given) covers the whole file; the header must describe
    exactly the bytes that follow it, and the file must hold at most ``limit``
    bytes.
    """
    where = folder.where(name)
    with _open_existing(folder, name, where) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise SessionError(f"{where}: {size:,} bytes, more than this file can hold ({limit:,}; refused)")
        if sha256 is not None:
            digest = hashlib.sha256()
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
            if digest.hexdigest() != sha256:
                raise SessionError(f"{where}: checksum mismatch (corrupt, truncated or replaced)")
            fh.seek(0)
        shape, fortran, dtype = _header(fh, where)
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
            raise SessionError(f"{where}: not a plain numeric array ({dtype}; refused: it could need pickle)")
        if len(shape) > _MAX_NDIM:
            raise SessionError(f"{where}: {len(shape)} dimensions (refused)")
        offset = fh.tell()
        nbytes = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
        if nbytes != size - offset:
            raise SessionError(
                f"{where}: the header claims {shape} {dtype} ({nbytes:,} bytes) but the file holds "
                f"{size - offset:,} bytes after it (corrupt or hostile; refused)"
            )
        order = "F" if fortran else "C"
        if mmap and nbytes:
            # The map duplicates the descriptor: it stays valid after the file is closed.
            return np.memmap(fh, dtype=dtype, mode="c", offset=offset, shape=shape, order=order)
        data = read_bounded(fh, nbytes, where)
        return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


# ---------------------------------------------------------------- weights
def read_state_dict(folder, name, *, sha256=None, limit: int) -> dict:
    """``torch.load(weights_only=True)`` of ``name``: tensors only, never arbitrary objects."""
    import pickle

    import torch

    where = folder.where(name)
    with _open_existing(folder, name, where) as fh:
        data = read_bounded(fh, limit, where)
    if sha256 is not None and sha256_bytes(data) != sha256:
        raise SessionError(f"{where}: checksum mismatch (corrupt, truncated or replaced)")
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, TypeError,
            AttributeError, KeyError, IndexError, RecursionError, MemoryError) as exc:
        # weights_only refuses unknown globals with UnpicklingError; a damaged
        # zip archive raises RuntimeError, and torch's reader more besides.
        raise SessionError(f"{where}: not a plain tensor state dict (refused): {exc}") from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise SessionError(f"{where}: expected a dict of tensors (a module state dict)")
    return state


# ------------------------------------------------------------ arrays in JSON
def encode_array(array) -> dict:
    """A small numeric array as JSON: dtype, shape and base64 of its bytes."""
    array = np.ascontiguousarray(array)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"cannot journal an array of dtype {array.dtype}")
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def decode_array(obj) -> np.ndarray:
    """The array :func:`encode_array` encoded; ``ValueError`` for anything else."""
    if not isinstance(obj, dict) or not isinstance(obj.get("dtype"), str) or not isinstance(obj.get("data"), str):
        raise ValueError("expected an object with dtype, shape and data")
    try:
        dtype = np.dtype(obj["dtype"])
    except TypeError:
        raise ValueError(f"unknown dtype {obj['dtype']!r}") from None
    if dtype.kind not in "fiub" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"unexpected dtype {dtype}")
    shape = obj.get("shape")
    if not isinstance(shape, list) or len(shape) > _MAX_NDIM or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise ValueError(f"invalid shape {shape!r}")
    data = base64.b64decode(obj["data"], validate=True)
    if math.prod(shape) * dtype.itemsize != len(data):
        raise ValueError(f"{len(data)} bytes do not make a {dtype} array of shape {shape}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
