"""Argument types shared by the sub-commands: one parser for each kind of value."""

from __future__ import annotations

import argparse

__all__ = ["positive_int", "steps_arg", "subsample_arg", "int_list", "float_list", "stop_rule"]

STOP_HELP = ("when to say 'you may stop': 'stable' (predictions on a stop set stop changing, "
             "Bloodgood & Vijay-Shanker 2009), 'margin' (the DFAL margins stop moving) or 'budget=N'; "
             "repeat for several")


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


def stop_rule(text: str):
    """A stopping rule: ``stable``, ``margin`` or ``budget=N`` (argparse type)."""
    from ..learners import LabelBudget, MarginPlateau, StabilizingPredictions

    name, _, value = text.partition("=")
    if name == "stable" and not value:
        return StabilizingPredictions()
    if name == "margin" and not value:
        return MarginPlateau()
    if name == "budget" and value:
        return LabelBudget(positive_int(value))
    raise argparse.ArgumentTypeError(f"expected 'stable', 'margin' or 'budget=N', got {text!r}")
