"""The fast subset (``python -m pytest -m "not slow"``) keeps a test of every module.

``slow`` marks tests that take seconds each; the fast subset leaves them out
and the full suite (``python -m pytest -q``, CI) runs them.  These checks
keep the subset honest: the marker is registered and strict, every test
module but the few named below keeps a test in it, and the marks applied by
name (modAL's tests, kept as modAL wrote them) name real tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from _marks import slow_except

TESTS = Path(__file__).resolve().parent

#: Modules left out of the fast subset as a whole, and why.
WHOLLY_SLOW = {
    "test_crash_resume.py": "kills a labeling process at every write and checks what survives",
    "test_session_races.py": "races sessions in separate processes",
    "test_session_fuzz.py": "a long Hypothesis run (test_session_hostile.py has quick cases)",
    "test_distributed.py": "starts a Dask cluster of worker processes",
}


def test_the_slow_marker_is_registered_and_markers_are_strict(pytestconfig):
    assert any(line.startswith("slow:") for line in pytestconfig.getini("markers"))
    assert pytestconfig.getoption("strict_markers") or "--strict-markers" in pytestconfig.getini("addopts")


def _needs_the_whole_folder(config):
    """Skip unless the run collects all of tests/ (a module named alone may hold only slow tests)."""
    args = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    if not any(TESTS.is_relative_to(arg) for arg in args):
        pytest.skip("checks the marks of the whole suite: runs when tests/ is collected as a whole")


def test_every_module_keeps_a_fast_test(request):
    # The session's items: the whole suite in CI; in the fast subset the slow
    # ones are already deselected, and any module seen here has a fast test.
    _needs_the_whole_folder(request.config)
    fast_seen = {}
    for item in request.session.items:
        if item.path.is_relative_to(TESTS) and item.path.name.startswith("test_"):
            fast = item.get_closest_marker("slow") is None
            fast_seen[item.path.name] = fast_seen.get(item.path.name, False) or fast
    only_slow = {name for name, fast in fast_seen.items() if not fast}
    assert only_slow <= set(WHOLLY_SLOW), (
        f"{sorted(only_slow - set(WHOLLY_SLOW))}: every test is marked slow; keep a quick one "
        "in the fast subset (or name the module in WHOLLY_SLOW with the reason)"
    )


def test_wholly_slow_modules_are_really_all_slow(request):
    for item in request.session.items:
        if item.path.is_relative_to(TESTS) and item.path.name in WHOLLY_SLOW:
            assert item.get_closest_marker("slow"), f"{item.nodeid} runs in the fast subset"


def _literal(path: Path, name: str):
    """The literal value assigned to ``name`` at the top of ``path`` (read, not imported)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path} assigns no {name}")


def test_modal_tests_marked_slow_by_name_exist():
    slow = _literal(TESTS / "modal_compat" / "conftest.py", "SLOW_IN_MODAL_CORE")
    tree = ast.parse((TESTS / "modal_compat" / "test_modal_core.py").read_text())
    tests = {f"{cls.name}::{fn.name}" for cls in tree.body if isinstance(cls, ast.ClassDef)
             for fn in cls.body if isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")}
    assert len(tests) > 50
    assert set(slow) <= tests, f"not tests of test_modal_core.py: {sorted(set(slow) - tests)}"


def test_slow_except_marks_all_but_the_fast_cases():
    params = slow_except(["a", "b", "c"], "b")
    assert params[1] == "b"
    assert [p.values for p in (params[0], params[2])] == [("a",), ("c",)]
    assert all(p.marks == (pytest.mark.slow,) for p in (params[0], params[2]))
    with pytest.raises(ValueError, match=r"fast cases \['d'\] are not among"):
        slow_except(["a", "b"], "d")
