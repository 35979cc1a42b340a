"""The API reference lists every public name (the Sphinx build itself runs in CI: .ci/run)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.rst"
MODULES = ["skdfal", "skdfal.experiments", "skdfal.plotting", "skdfal.distributed"]


def _documented():
    """Names listed under each ``.. currentmodule::`` in docs/api.rst's autosummary tables."""
    found, module, in_table = {}, None, False
    for line in API.read_text().splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.strip() and not line.startswith("   "):
            in_table = False
        elif in_table and (m := re.fullmatch(r"   (\w+)", line)):
            found.setdefault(module, set()).add(m.group(1))
    return found


@pytest.mark.parametrize("name", MODULES)
def test_api_reference_lists_every_public_name(name):
    module = importlib.import_module(name)
    documented = _documented().get(name, set())
    assert set(module.__all__) == documented, (
        f"{name}: missing from docs/api.rst {sorted(set(module.__all__) - documented)}, "
        f"not public {sorted(documented - set(module.__all__))}"
    )


def test_every_example_and_guide_page_is_in_a_toctree():
    index = (ROOT / "docs" / "index.rst").read_text()
    guide = (ROOT / "docs" / "user_guide" / "index.rst").read_text()
    for page in sorted((ROOT / "docs" / "user_guide").glob("*.rst")):
        assert page.stem == "index" or f"   {page.stem}\n" in guide, page.name
    for page in ("install", "user_guide/index", "auto_examples/index", "api", "results", "performance", "changelog"):
        assert f"   {page}\n" in index, page


def test_the_strategies_guide_runs():
    # Its scorer example is the documented hook for a new scorer: it must run as printed.
    import doctest

    result = doctest.testfile(str(ROOT / "docs" / "user_guide" / "strategies.rst"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0
