"""What ``pip install skdfal`` promises: every import declared, extras named, metadata complete.

Each third-party module the library imports is either in ``install_requires``
or, imported inside a function under ``try``/``except ImportError``, in an
extra that the error message names (``pip install 'skdfal[extra]'``).
"""

from __future__ import annotations

import ast
import configparser
import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skdfal"
# Import names whose distribution is called otherwise.
DISTRIBUTION = {"sklearn": "scikit-learn", "skactiveml": "scikit-activeml", "PIL": "Pillow", "yaml": "PyYAML",
                "label_studio_sdk": "label-studio-sdk"}


def _setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def _names(requirements):
    return {
        re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0].lower()
        for line in requirements.splitlines()
        if line.strip()
    }


def _third_party_imports():
    """(import name, file, line, guarded by try/except ImportError inside a function)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            in_function = guarded = False
            parent, child = parents.get(node), node
            while parent is not None:
                if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    in_function = True
                # `if TYPE_CHECKING:` imports never run: only type checkers need the extra.
                if (isinstance(parent, ast.If) and isinstance(parent.test, ast.Name)
                        and parent.test.id == "TYPE_CHECKING" and child in parent.body):
                    in_function = guarded = True
                if isinstance(parent, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                    for h in parent.handlers
                ):
                    guarded = True
                parent, child = parents.get(parent), parent
            for module in modules:
                top = module.split(".")[0]
                if top != "skdfal" and top not in sys.stdlib_module_names and top != "__future__":
                    yield top, path, node.lineno, guarded and in_function


def test_every_import_is_declared():
    cfg = _setup_cfg()
    required = _names(cfg["options"]["install_requires"])
    extras = {name: _names(reqs) for name, reqs in cfg["options.extras_require"].items()}
    problems = []
    for module, path, line, guarded in _third_party_imports():
        dist = DISTRIBUTION.get(module, module).lower()
        where = f"{path.relative_to(ROOT)}:{line}"
        if dist in required:
            continue
        offering = sorted(name for name, dists in extras.items() if dist in dists and name != "test")
        if not offering:
            problems.append(f"{where}: {module} is neither required nor in an extra")
        elif not guarded:
            problems.append(f"{where}: optional {module} imported without try/except ImportError in a function")
        elif not any(f"skdfal[{name}]" in path.read_text() for name in offering):
            problems.append(f"{where}: the ImportError for {module} names none of the extras {offering}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow  # walks every module's imports again
def test_the_audit_sees_the_heavy_imports():
    seen = {module for module, *_ in _third_party_imports()}
    assert {"torch", "numpy", "sklearn", "skorch", "pandas", "matplotlib"} <= seen


def test_metadata():
    cfg = _setup_cfg()
    classifiers = cfg["metadata"]["classifiers"]
    for expected in (
        "License :: OSI Approved :: BSD License",
        "Development Status :: 3 - Alpha",
        "Operating System :: OS Independent",
        *(f"Programming Language :: Python :: 3.{minor}" for minor in (10, 11, 12, 13)),
    ):
        assert expected in classifiers
    assert cfg["metadata"]["license"] == "BSD-3-Clause"
    license_text = (ROOT / "LICENSE").read_text()
    assert "BSD 3-Clause License" in license_text and "skdfal developers" in license_text
    assert "py.typed" in cfg["options.package_data"]["skdfal"]
    assert (PACKAGE / "py.typed").is_file()
    for name in ("CHANGELOG.md", "CITATION.cff"):
        assert (ROOT / name).is_file(), name


def test_citation_cites_the_paper():
    text = (ROOT / "CITATION.cff").read_text()
    assert "cff-version:" in text and "preferred-citation:" in text
    assert "1802.09841" in text and "Ducoffe" in text and "Precioso" in text
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load(text)
    assert cff["title"] == "skdfal" and cff["license"] == "BSD-3-Clause"
    assert cff["preferred-citation"]["type"] == "article"


def _label_studio_requirements():
    """The labelstudio extra, and what ``.ci/run`` installs in Label Studio's virtualenv."""
    from packaging.requirements import Requirement

    extra = [Requirement(line) for line in _setup_cfg()["options.extras_require"]["labelstudio"].splitlines()
             if line.strip()]
    (line,) = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
               if "label-studio-venv/bin/python -m pip install" in line]
    words = shlex.split(line)
    ci = [Requirement(word) for word in words[words.index("install") + 1:] if not word.startswith("-")]
    return {"setup.cfg's labelstudio extra": extra, ".ci/run": ci}


@pytest.mark.parametrize("where", ["setup.cfg's labelstudio extra", ".ci/run"])
def test_label_studio_is_installed_with_sentry_sdk_below_3(where):
    # Label Studio 1.23.2 does not bound sentry-sdk, and with sentry-sdk 3.0 its server exits at
    # start (TypeError: Unknown option 'send_default_pii'): 3.x must not be resolved.
    requirements = {req.name: req for req in _label_studio_requirements()[where]}
    assert "sentry-sdk" in requirements, f"{where} leaves sentry-sdk unbounded"
    sentry = requirements["sentry-sdk"].specifier
    assert not any(sentry.contains(v) for v in ("3.0.0", "3.0.1", "3.1", "4.0")), sentry
    assert sentry.contains("2.76.0"), sentry  # a release Label Studio 1.23.2 starts with
    assert {"label-studio", "label-studio-sdk"} <= set(requirements)


def test_ci_installs_versions_the_labelstudio_extra_allows():
    found = _label_studio_requirements()
    extra = {req.name: req.specifier for req in found["setup.cfg's labelstudio extra"]}
    for req in found[".ci/run"]:
        pinned = [s.version for s in req.specifier if s.operator == "=="]
        for version in pinned:
            assert extra[req.name].contains(version), f".ci/run installs {req}, outside the extra's {extra[req.name]}"


def test_the_cpu_only_install_keeps_to_skdfals_torch_bounds():
    # docs/install.rst: torch and torchvision from PyTorch's CPU index, then skdfal. A torch newer
    # than skdfal allows would be replaced by PyPI's CUDA build at `pip install -e .`.
    from packaging.requirements import Requirement

    (line,) = [line for line in (ROOT / "docs" / "install.rst").read_text().splitlines()
               if "download.pytorch.org/whl/cpu" in line and "pip install" in line]
    words = shlex.split(line)
    assert words[words.index("--index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    docs = {req.name: req.specifier for req in map(Requirement, words[2:words.index("--index-url")])}
    cfg = _setup_cfg()
    declared = {req.name: req.specifier for req in map(Requirement, (
        line for section in (cfg["options"]["install_requires"], cfg["options.extras_require"]["vision"])
        for line in section.splitlines() if line.strip()))}
    assert set(docs) == {"torch", "torchvision"}
    for name, specifier in docs.items():
        upper = {s.version for s in declared[name] if s.operator in ("<", "<=")}
        assert upper and {s.version for s in specifier if s.operator in ("<", "<=")} == upper, (name, specifier)
