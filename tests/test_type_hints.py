"""The public API is annotated (skdfal ships ``py.typed``) and every annotation resolves.

The walk covers the ``__all__`` of ``skdfal``, ``skdfal.experiments``,
``skdfal.plotting``, ``skdfal.distributed`` and ``skdfal.utils``: every public
function, and every public method, ``__init__`` and ``__call__`` of a public
class (static and class methods included, and those a class inherits from
skdfal's own bases, such as a strategy's ``query``).
"""

from __future__ import annotations

import ast
import collections.abc
import importlib
import importlib.util
import inspect
import sys
import typing

import pytest

MODULES = ["skdfal", "skdfal.experiments", "skdfal.plotting", "skdfal.distributed", "skdfal.utils"]
#: Optional extras (``skdfal[dask]``, ``[jupyter]``, ``[peers]``): an annotation naming one of
#: their types resolves only where it is installed.
OPTIONAL = {"dask", "distributed", "ipywidgets", "skactiveml"}


def public_callables():
    """``{qualified name: function}`` of the public API."""
    found = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not inspect.isclass(obj):
                if callable(obj):
                    found[f"{module_name}.{name}"] = obj
                continue
            for klass in reversed(obj.__mro__):  # a subclass's override replaces its base's
                if not klass.__module__.startswith("skdfal"):
                    continue
                for attr, value in vars(klass).items():
                    if attr.startswith("_") and attr not in ("__init__", "__call__"):
                        continue
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    if inspect.isfunction(value):
                        found[f"{module_name}.{name}.{attr}"] = value
    return found


def missing_annotations(qualname, function):
    """Parameters (but ``self``/``cls``) without an annotation, and ``"return"`` when the
    return is not annotated (``__init__`` excepted)."""
    signature = inspect.signature(function)
    missing = [
        p.name for p in signature.parameters.values()
        if p.name not in ("self", "cls") and p.annotation is p.empty
    ]
    if signature.return_annotation is signature.empty and not qualname.endswith(".__init__"):
        missing.append("return")
    return missing


def _is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def annotation_namespace(module):
    """The module's globals plus what its ``if TYPE_CHECKING:`` blocks bind, imported for real.

    Names imported only for type checkers (pandas, matplotlib's ``Axes``, a
    class of a higher layer) are not in the module at runtime, so
    ``typing.get_type_hints`` alone cannot resolve them; running those blocks
    here resolves them, and fails on a misspelled one as a type checker would.
    """
    namespace = dict(vars(module))
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            block = ast.Module(body=node.body, type_ignores=[])
            exec(compile(block, module.__file__, "exec"), namespace)
    return namespace


def resolve_hints(function):
    """``typing.get_type_hints`` of ``function`` in its module's annotation namespace."""
    function = inspect.unwrap(function)
    module = sys.modules[function.__globals__["__name__"]]
    return typing.get_type_hints(function, globalns=annotation_namespace(module))


PUBLIC = public_callables()


def test_the_walk_finds_the_public_api():
    assert len(PUBLIC) > 100
    for name in ("skdfal.dfal_margin", "skdfal.DFALMargin.query", "skdfal.LabelingSession.create",
                 "skdfal.ActiveLearner.__init__", "skdfal.plotting.plot_query_gallery", "skdfal.utils.to_tensor"):
        assert name in PUBLIC


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_public_callable_is_annotated(qualname):
    assert missing_annotations(qualname, PUBLIC[qualname]) == []


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_annotations_resolve(qualname):
    try:
        hints = resolve_hints(PUBLIC[qualname])
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"its annotations name a type of the optional {exc.name}")
        raise
    assert qualname.endswith(".__init__") or "return" in hints


def test_function_forms_return_what_queries_return():
    from skdfal.utils._typing import QueryResult

    assert resolve_hints(PUBLIC["skdfal.dfal_margin"])["return"] == QueryResult
    assert resolve_hints(PUBLIC["skdfal.DFALMargin.query"])["return"] == QueryResult


# ------------------------------------------------------------- planted defects
def test_missing_annotations_are_reported():
    def planted(self, x, y: int = 1, *args: int, **kwargs):
        return x

    def planted_init(self, x: int):
        pass

    assert missing_annotations("tests.planted", planted) == ["x", "kwargs", "return"]
    assert missing_annotations("tests.Planted.__init__", planted_init) == []


def test_unresolvable_annotations_are_reported():
    def planted(x: int) -> None:
        pass

    planted.__annotations__ = {"x": "Sequnce[int]", "return": "None"}  # a misspelled name
    with pytest.raises(NameError):
        resolve_hints(planted)


def test_type_checking_imports_resolve_and_misspelled_ones_fail(tmp_path, monkeypatch):
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from collections.abc import {name}\n"
        "def f(x: {name}[int]) -> None:\n"
        "    pass\n"
    )
    for module_name, name, ok in [("planted_ok", "Sequence", True), ("planted_bad", "Sequnce", False)]:
        path = tmp_path / f"{module_name}.py"
        path.write_text(source.format(name=name))
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, module_name, module)
        spec.loader.exec_module(module)
        with pytest.raises(NameError):  # what plain get_type_hints does with such a name
            typing.get_type_hints(module.f)
        if ok:
            assert resolve_hints(module.f)["x"] == collections.abc.Sequence[int]
        else:
            with pytest.raises(ImportError):
                resolve_hints(module.f)
