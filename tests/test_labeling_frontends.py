"""Front-ends use only the session's public API (issue 33 item 7).

An AST scan of every front-end module (``skdfal/labeling/frontends/`` and the
command line's labeling modules) for what only the session may touch: a
private attribute read through a session (``session._state``,
``self.session._stale``), a session private under any alias, and imports of
the session's or the store's private modules (``from ._open import
new_learner``).  import-linter keeps the store out of front-ends' imports;
this keeps them off the session's insides.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import skdfal
from skdfal.labeling import LabelingSession

ROOT = Path(skdfal.__file__).parent
SELVES = ("self", "cls")


def session_privates() -> set:
    """Private names a session object has: its methods' and those it sets on ``self``."""
    names = set()
    for klass in LabelingSession.__mro__:
        if not klass.__module__.startswith("skdfal.labeling"):
            continue
        names |= {n for n in vars(klass) if n.startswith("_") and not n.startswith("__")}
        tree = ast.parse(inspect.getsource(inspect.getmodule(klass)))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                names.add(node.attr)
    return names


def _receiver(node) -> str | None:
    """The last name of what an attribute is read on: ``session`` for ``self.session._x``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _resolved(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


def _private_module(name: str) -> bool:
    """A module of the session or store a front-end must not import (``_fs``, the folder rules, it may)."""
    parts = name.split(".")
    if parts[:2] != ["skdfal", "labeling"] or len(parts) < 3:
        return False
    if parts[2] in ("session", "store"):
        return parts[2] == "store" or any(p.startswith("_") for p in parts[3:])
    return parts[2].startswith("_") and parts[2] != "_fs"


def violations(source: str, module: str, privates: set) -> list:
    """``(line, what)`` for each use of a session's insides in a front-end module's ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            receiver = _receiver(node.value)
            if receiver is not None and "session" in receiver.lower():
                found.append((node.lineno, f"{receiver}.{node.attr}"))
            elif node.attr in privates and receiver not in SELVES:
                found.append((node.lineno, f"{receiver}.{node.attr} (a session private)"))
        elif isinstance(node, ast.ImportFrom):
            target = _resolved(module, node)
            if _private_module(target):
                found.append((node.lineno, f"import from {target}"))
            elif target.startswith("skdfal.labeling.session") or target == "skdfal.labeling":
                for alias in node.names:
                    if alias.name.startswith("_") and alias.name != "_fs" or _private_module(f"{target}.{alias.name}"):
                        found.append((node.lineno, f"import {alias.name} from {target}"))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if _private_module(a.name)]
    return sorted(found)


def frontend_modules() -> dict:
    """``{module name: path}`` of every front-end module."""
    paths = sorted((ROOT / "labeling" / "frontends").rglob("*.py")) + [ROOT / "cli" / "_label.py",
                                                                      ROOT / "cli" / "_labelstudio.py"]
    return {".".join(("skdfal",) + p.relative_to(ROOT).with_suffix("").parts): p
            for p in paths}  # a package as pkg.__init__: its relative imports start from pkg


def test_the_frontends_are_where_a_new_one_goes():
    modules = frontend_modules()
    for name in ("skdfal.labeling.frontends._widget", "skdfal.labeling.frontends._terminal",
                 "skdfal.labeling.frontends.label_studio._backend", "skdfal.labeling.frontends.label_studio._training",
                 "skdfal.labeling.frontends.label_studio._webhook"):
        assert name in modules


@pytest.mark.parametrize("module", sorted(frontend_modules()))
def test_a_frontend_uses_only_the_sessions_public_api(module):
    privates = session_privates()
    assert {"_state", "_stale", "_journal", "_writable"} <= privates  # the scan knows what to look for
    path = frontend_modules()[module]
    assert violations(path.read_text(), module, privates) == []


# What the Label Studio backend did before issue 33 item 7 (skdfal/labeling/_ls_training.py):
# the scan must see each of these.
_BEFORE = '''
def _train_loop(self):
    from ._open import new_learner
    X, y, flags = self.session._state.training_set(self.session.X_pool)
    learner = new_learner(self.session.config, self._device, self.session.X_pool)
    self.session._stale = self.session.labels != labels
    s = self.session
    s._journal.append("query", indices=[])
'''


def test_the_scan_sees_the_old_backends_reach_into_the_session():
    found = violations(_BEFORE, "skdfal.labeling._ls_training", session_privates())
    assert [what for _, what in found] == [
        "import from skdfal.labeling._open", "session._state", "session._stale", "s._journal (a session private)",
    ]
    # The same, written from the new place: the session's private modules are still refused.
    found = violations("from ...session._open import new_learner\nfrom ...session import _state\n"
                       "from ...store import Journal\n", "skdfal.labeling.frontends.label_studio._training", set())
    assert [what for _, what in found] == [
        "import from skdfal.labeling.session._open", "import _state from skdfal.labeling.session",
        "import from skdfal.labeling.store",
    ]
