"""scikit-learn's private API reaches skdfal through one module, and the version cap says so.

``sklearn.utils._param_validation`` may move in any release: skdfal imports
it only in ``skdfal/utils/_sklearn_compat.py``, and ``setup.cfg`` caps
scikit-learn at the versions that module is known to work with.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import sklearn
from packaging.requirements import Requirement
from packaging.version import Version

from skdfal.utils import _sklearn_compat

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skdfal"
SHIM = PACKAGE / "utils" / "_sklearn_compat.py"


def _sklearn_requirement() -> Requirement:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [line.strip() for line in cfg["options"]["install_requires"].splitlines()]
    (line,) = [line for line in lines if line.startswith("scikit-learn")]
    return Requirement(line)


def test_only_the_shim_imports_private_sklearn_modules():
    private = re.compile(r"^\s*(from|import)\s+sklearn(\.\w+)*\._\w+", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT)) for path in sorted(PACKAGE.rglob("*.py"))
        if path != SHIM and private.search(path.read_text())
    ]
    assert offenders == []
    assert private.search(SHIM.read_text())


def test_setup_cfg_caps_sklearn_as_the_shim_says():
    requirement = _sklearn_requirement()
    assert str(requirement.specifier) == str(Requirement(f"scikit-learn{_sklearn_compat.SUPPORTED_SKLEARN}").specifier)
    assert any(spec.operator in ("<", "<=") for spec in requirement.specifier), "no upper bound on scikit-learn"


def test_the_installed_sklearn_is_within_the_cap():
    assert Version(sklearn.__version__).base_version in _sklearn_requirement().specifier


def test_the_shim_gives_scikit_learns_own_classes():
    # Equal objects, not copies: scikit-learn's validation recognises them.
    from sklearn.utils import _param_validation as private

    for name in _sklearn_compat.__all__[1:]:
        assert getattr(_sklearn_compat, name) is getattr(private, name)
