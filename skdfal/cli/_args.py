"""Argument types shared by the sub-commands: one parser for each kind of value."""

from __future__ import annotations

import argparse
import math
import sys

from ..models._semi import METHODS

__all__ = [
    "add_command",
    "add_labels_args",
    "RenamedOption",
    "positive_int",
    "positive_float",
    "steps_arg",
    "subsample_arg",
    "int_list",
    "int_list_at_least",
    "seed_list",
    "float_list",
    "device_arg",
    "port_arg",
    "usage_error",
    "check_output_arg",
    "json_object",
    "size_arg",
    "stop_rule",
]

def _stop_help() -> str:
    from ..learners._stopping_registry import STOPPING_RULES

    rules = ", ".join(f"'{spec.usage(name)}' ({spec.help})" for name, spec in STOPPING_RULES.items())
    return f"when to say 'you may stop': {rules}; repeat for several"


#: ``--stop``'s help: the choices of :data:`skdfal.learners._stopping_registry.STOPPING_RULES`.
STOP_HELP = _stop_help()


def positive_int(text: str) -> int:
    """An integer >= 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0, e.g. a learning rate (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
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


def int_list_at_least(minimum: int, what: str):
    """An argparse type: comma-separated integers >= ``minimum``, refused as ``what`` says."""

    def parse(text: str) -> list[int]:
        values = int_list(text)
        wrong = [v for v in values if v < minimum]
        if wrong:
            raise argparse.ArgumentTypeError(f"{what} >= {minimum}, got {wrong[0]}")
        return values

    return parse


#: Comma-separated seeds >= 0, e.g. ``0,1,2`` (numpy refuses negative seeds).
seed_list = int_list_at_least(0, "seeds must be integers")


def float_list(text: str) -> list[float]:
    """Comma-separated numbers, e.g. ``0.9,0.95`` (argparse type)."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def device_arg(text: str) -> str:
    """A torch device this machine has, e.g. ``cpu`` or ``cuda:0`` (argparse type)."""
    from ..utils import check_device

    try:
        return check_device(text, name="device")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port_arg(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number in [0, 65535], got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in [0, 65535], got {text}")
    return value


def add_command(sub, name: str, func, *, help: str, description: str) -> argparse.ArgumentParser:
    """A sub-command's parser on ``sub``: ``func(args)`` runs it, ``args.parser`` is the parser.

    ``description`` is rewrapped by argparse (line breaks in it do not show).
    """
    p = sub.add_parser(name, help=help, description=description)
    p.set_defaults(func=func, parser=p)
    return p


def add_labels_args(p, default: int) -> None:
    """``--n-initial`` and ``--n-instances`` (and its old name ``--query-size``, hidden, until 0.2.0)."""
    p.add_argument("--n-initial", type=positive_int, default=default, help=f"initial labels (default {default})")
    p.add_argument("--n-instances", type=positive_int, default=default,
                   help=f"labels per round (default {default})")
    p.add_argument("--query-size", dest="n_instances", type=positive_int, action=RenamedOption, new="--n-instances",
                   help=argparse.SUPPRESS)


def usage_error(args, option: str, message: str):
    """Exit as argparse does for a bad value (status 2, the command's usage), naming ``option``.

    For checks that need more than the value itself (a file on disk, the
    dataset's size), made after parsing.  ``args.parser`` is the
    sub-command's parser (set by its ``add_parser``).
    """
    args.parser.error(f"argument {option}: {message}")


def check_output_arg(args, *, resume: bool) -> None:
    """``args.output`` is a results file that can be written (else a usage error naming it)."""
    from ..experiments._results import check_output

    try:
        check_output(args.output, resume)
    except ValueError as exc:
        usage_error(args, "--output", str(exc).removeprefix("output: "))


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


def stop_rule(text: str):
    """A stopping rule named in the registry: ``stable``, ``margin``, ``budget=N`` (argparse type)."""
    from ..learners._stopping_registry import make_stopping_rule

    try:
        return make_stopping_rule(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: ``--semi-supervised``'s choices: :class:`~skdfal.models.SemiSupervised`'s methods.
SEMI_SUPERVISED = METHODS


def add_semi_supervised_arg(parser) -> None:
    """``--semi-supervised METHOD``: every fit also learns from the unlabeled pool."""
    parser.add_argument(
        "--semi-supervised", choices=SEMI_SUPERVISED, default=None, metavar="METHOD",
        help="every fit also learns from the whole pool, its labels unseen: "
        f"{', '.join(SEMI_SUPERVISED)} (default: labels only; fixmatch with --steps 900 was the "
        "best trainer on six validation splits, docs/results.md)",
    )


def size_arg(text: str) -> tuple[int, int]:
    """``HEIGHTxWIDTH`` or one number for a square (argparse type)."""
    height, sep, width = text.lower().partition("x")
    try:
        size = (int(height), int(width)) if sep else (int(height), int(height))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH (e.g. 28x28), got {text!r}") from None
    if min(size) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return size


def json_object(text: str) -> dict:
    """A JSON object (argparse type): ``'{"freeze": true}'``."""
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object {{...}}, got {text!r}")
    return value
