"""Marks for parametrizations: keep a few cases in the fast subset, the rest marked slow."""

from __future__ import annotations

import pytest


def slow_except(values, *fast):
    """``values`` as parameters, each marked ``slow`` unless it is one of ``fast``.

    For a parametrization whose cases each take seconds: the fast subset
    (``pytest -m "not slow"``) still runs ``fast``, the full suite runs all.
    """
    missing = [value for value in fast if value not in values]
    if missing:  # a renamed case must not silently leave the fast subset empty
        raise ValueError(f"fast cases {missing} are not among {list(values)}")
    return [value if value in fast else pytest.param(value, marks=pytest.mark.slow) for value in values]
