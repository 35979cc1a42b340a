"""Where the tests find data that is not bundled (MNIST's IDX files); nothing is downloaded.

One place decides it, for the ``mnist_dir`` fixture of ``conftest.py``:
``SKDFAL_MNIST_DIR`` when it is set, else ``shared/data/mnist`` beside the
repository (the layout of this project's machines, also what the examples
and benchmarks read by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST_ENV = "SKDFAL_MNIST_DIR"


def find_mnist_dir(environ: Mapping[str, str] | None = None, root: Path = ROOT) -> Path:
    """MNIST's folder, or skip the calling test (fail it when the variable names no folder).

    Parameters
    ----------
    environ : mapping, default=None
        The environment to read ``SKDFAL_MNIST_DIR`` from (``os.environ`` when None).
    root : Path, default=the repository
        The repository whose sibling ``shared/data/mnist`` is the default.

    Returns
    -------
    Path
        The folder (its files are for :func:`skdfal.load_mnist` to check).
    """
    environ = os.environ if environ is None else environ
    named = environ.get(MNIST_ENV)
    if named:
        folder = Path(named)
        # Named on purpose: a typo must not quietly turn the MNIST tests into skips.
        if not folder.is_dir():
            pytest.fail(f"{MNIST_ENV}={named} is not a folder (unset it to use the default)",
                        pytrace=False)
        return folder
    folder = root.parent / "shared" / "data" / "mnist"
    if not folder.is_dir():
        pytest.skip(f"MNIST's files are not in {folder} (set {MNIST_ENV} to the folder that has them)")
    return folder
