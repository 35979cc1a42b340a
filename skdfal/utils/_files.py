"""Reading a file a user pointed at, safely: no links, no special files, a bounded number of bytes."""

from __future__ import annotations

import os
import stat

__all__ = ["READ_FLAGS", "read_regular_fd"]

#: Flags of such an open: a link is not followed, a FIFO does not block, the
#: descriptor does not leak into a child (binary mode on Windows).
READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
              | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def read_regular_fd(fd: int, path, limit: int, *, one_link: bool = False, seen=None) -> bytes | None:
    """The bytes of the open file ``fd`` (``path`` in messages), refused unless regular and at most ``limit`` long.

    Closes ``fd``.  The size is checked on ``fstat`` and again on the bytes
    read (a file growing while read).  With ``one_link``, a file with other
    hard links is refused as a link is (a hard link can bring any file of
    the same disk into a folder).  With ``seen(st)`` (called with the
    file's ``fstat``), nothing is read when it returns true, and ``None``
    is returned.  An ``OSError`` of the read is the caller's to word.

    Examples
    --------
    >>> import os, tempfile
    >>> from skdfal.utils._files import READ_FLAGS, read_regular_fd
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(b"hello")
    >>> read_regular_fd(os.open(path, READ_FLAGS), path, 10)
    b'hello'
    >>> read_regular_fd(os.open(path, READ_FLAGS), "a.txt", 4)
    Traceback (most recent call last):
    ...
    ValueError: a.txt: 5 bytes, over the limit of 4 (refused)
    """
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path}: not a regular file (refused)")
        if one_link and st.st_nlink > 1:
            raise ValueError(f"{path}: has {st.st_nlink} hard links (refused, as a link is)")
        if st.st_size > limit:
            raise ValueError(f"{path}: {st.st_size} bytes, over the limit of {limit} (refused)")
        if seen is not None and seen(st):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"{path}: grew over the limit of {limit} bytes while read (refused)")
    return data
