"""The ``skdfal`` command: ``run`` (the main job), ``benchmark``, ``label``, ``serve-label-studio``, ``--version``."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import _benchmark, _label, _labelstudio, _run

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``skdfal`` argument parser (sub-commands register themselves here)."""
    parser = argparse.ArgumentParser(
        prog="skdfal", description="Adversarial active learning (DFAL) for deep networks."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (_run, _benchmark, _label, _labelstudio):
        command.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``skdfal`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
