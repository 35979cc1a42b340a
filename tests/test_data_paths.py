"""Data folders: MNIST found in one place (``_data.find_mnist_dir``), no ``/tmp`` defaults."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest
from _data import MNIST_ENV, ROOT, find_mnist_dir


def test_the_variable_names_the_folder(tmp_path):
    assert find_mnist_dir({MNIST_ENV: str(tmp_path)}, root=tmp_path / "nowhere") == tmp_path


def test_a_variable_naming_no_folder_fails_instead_of_skipping(tmp_path):
    missing = tmp_path / "mnsit"
    with pytest.raises(pytest.fail.Exception, match=f"{MNIST_ENV}={missing} is not a folder"):
        find_mnist_dir({MNIST_ENV: str(missing)}, root=tmp_path)


@pytest.mark.parametrize("environ", [{}, {MNIST_ENV: ""}], ids=["unset", "empty"])
def test_the_default_is_shared_data_mnist_beside_the_repository(tmp_path, environ):
    folder = tmp_path / "shared" / "data" / "mnist"
    folder.mkdir(parents=True)
    assert find_mnist_dir(environ, root=tmp_path / "repo") == folder


def test_without_the_default_folder_the_test_is_skipped_saying_where_it_looked(tmp_path):
    with pytest.raises(pytest.skip.Exception, match=f"not in {tmp_path}/shared/data/mnist.*{MNIST_ENV}"):
        find_mnist_dir({}, root=tmp_path / "repo")


def test_the_fixture_reads_the_variable(monkeypatch, tmp_path, request):
    monkeypatch.setenv(MNIST_ENV, str(tmp_path))
    assert request.getfixturevalue("mnist_dir") == tmp_path


@functools.cache
def _code_strings(path: Path):
    """The string constants of a module's code, docstrings left out (they show commands)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return tuple(node.value for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings)


def _offenders(folders, word, found, *, allowed=()):
    """``{file: strings}`` for the modules under ``folders`` whose code strings ``found`` matches.

    Only files whose text has ``word`` are parsed (the others cannot match).
    """
    hits = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name in allowed or word not in path.read_text():
                continue
            strings = [s for s in _code_strings(path) if found(s)]
            if strings:
                hits[str(path.relative_to(ROOT))] = strings
    return hits


def test_mnist_is_located_in_one_place():
    # tests/_data.py for the tests, benchmarks/_setup.py for the benchmarks.
    hits = _offenders(["tests", "benchmarks"], "shared", lambda s: s == "shared" or "shared/data" in s,
                      allowed={"_data.py", "_setup.py", Path(__file__).name})
    assert not hits, f"these name the data folder themselves: {hits}"


def test_no_default_under_tmp():
    hits = _offenders(["skdfal", "benchmarks", "tests"], "/tmp", lambda s: s.startswith("/tmp"),
                      allowed={Path(__file__).name})
    assert not hits, f"these write under /tmp: {hits}"
