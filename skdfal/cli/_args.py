"""Argument types shared by the sub-commands: one parser for each kind of value."""

from __future__ import annotations

import argparse
import sys

__all__ = ["RenamedOption", "positive_int", "steps_arg", "subsample_arg", "int_list", "float_list"]


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


class RenamedOption(argparse.Action):
    """An option's old name, kept for one release: stores its value, and says the new name on stderr.

    Added as ``p.add_argument("--query-size", dest="n_instances", new="--n-instances",
    action=RenamedOption, type=..., help=argparse.SUPPRESS)``.
    """

    def __init__(self, option_strings, dest, *, new, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"{parser.prog}: warning: {option_string} was renamed {self.new} in skdfal 0.1.0 and "
            f"will be removed in 0.2.0; use {self.new}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)
