"""Argument types shared by the sub-commands: one parser for each kind of value."""

from __future__ import annotations

import argparse

__all__ = ["positive_int", "steps_arg", "subsample_arg", "int_list", "float_list"]


def positive_int(text: str) -> int:
    """An integer >= 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def steps_arg(text: str):
    """``auto`` or an integer >= 1: a training budget in optimiser steps (argparse type)."""
    return "auto" if text == "auto" else positive_int(text)


def subsample_arg(text: str) -> int | None:
    """``all`` (``None``: every unlabeled sample) or an integer >= 1 (argparse type)."""
    return None if text == "all" else positive_int(text)


def int_list(text: str) -> list[int]:
    """Comma-separated integers, e.g. ``0,1,2`` (argparse type)."""
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def float_list(text: str) -> list[float]:
    """Comma-separated numbers, e.g. ``0.9,0.95`` (argparse type)."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
