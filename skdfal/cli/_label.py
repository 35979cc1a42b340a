"""``skdfal label SESSION_DIR``: label a session's queries in a terminal.

The same session directory works from Jupyter (:class:`skdfal.Labeler`)
and from a shell, so a session started in a notebook continues here.  This
module opens (or creates) the session; the terminal front-end itself
(:func:`skdfal.labeling.frontends.run_label_loop`) shows each sample and
reads the answers.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from ..labeling.frontends import HELP, run_label_loop
from ._args import STOP_HELP, add_command, json_object, positive_int, size_arg, steps_arg, stop_rule

__all__ = ["add_parser"]


def add_parser(sub):
    """Register the ``label`` sub-command on an argparse sub-parsers object."""
    description = f"""Human-in-the-loop labeling of a session directory (made in Python or Jupyter, or
    with --new-digits). Labels are saved as you type them; quit any time and resume.
    {HELP[0].upper() + HELP[1:]}."""
    p = add_command(sub, "label", _cmd_label, description=description,
                    help="label a session's queried samples in the terminal (resumable)")
    p.add_argument("session_dir", type=Path, metavar="SESSION_DIR")
    p.add_argument(
        "--new-digits", action="store_true",
        help="create a demo session on scikit-learn's digits in SESSION_DIR if it holds none",
    )
    p.add_argument(
        "--images", type=Path, default=None, metavar="DIR",
        help="create a session in SESSION_DIR, if it holds none, from the image files in DIR (a flat folder, "
             "read with skdfal.load_image_folder: pool position i is its i-th file by name); needs --classes",
    )
    p.add_argument("--classes", help="with --images: the class names, comma-separated, in order")
    p.add_argument("--mode", choices=("L", "RGB"), default="L", help="with --images: grayscale or colour (default L)")
    p.add_argument("--size", type=size_arg, default=None, help="with --images: resize images to HEIGHTxWIDTH")
    p.add_argument("--strategy", default="dfal_margin",
                   help="with --new-digits or --images: strategy (default dfal_margin)")
    p.add_argument("--n-instances", type=positive_int, default=10,
                   help="with --new-digits or --images: labels asked per round (default 10)")
    p.add_argument("--steps", type=steps_arg, default="auto",
                   help="with --new-digits or --images: optimiser steps per retrain, 'auto' or a number (default auto)")
    p.add_argument("--adversarial", action="store_true", help="with --new-digits or --images: adversarial augmentation")
    p.add_argument(
        "--estimator", type=json_object, default=None, metavar="JSON",
        help="with --images: make_classifier arguments as a JSON object, e.g. "
             "'{\"module\": \"torchvision.models:resnet18\", \"module__num_classes\": 3, \"freeze\": true, "
             "\"head\": \"fc\"}' (a module by import path: your own, torchvision, timm)",
    )
    p.add_argument("--strategy-params", type=json_object, default=None, metavar="JSON",
                   help="with --images: the strategy's parameters, e.g. '{\"space\": \"head\", \"head\": \"fc\"}' "
                        "(head-space DFAL for a frozen backbone)")
    p.add_argument(
        "--allow-module", action="append", default=None, metavar="PATH",
        help="open a session whose network is the import path PATH (package.module:callable): importing it "
             "runs code, so a session naming one opens only when you name it here (repeatable)",
    )
    p.add_argument("--max-labels", type=positive_int, default=None, help="stop after this many answers")
    p.add_argument("--stop", type=stop_rule, action="append", default=None, metavar="RULE", help=STOP_HELP)
    p.add_argument("--no-ascii", action="store_true", help="do not print images as text")
    p.add_argument("--no-png", action="store_true", help="do not write SESSION_DIR/current.png")


def _cmd_label(args) -> int:
    from ..labeling import LabelingSession, SessionError, make_digits_session

    if args.new_digits and args.images is not None:
        print("skdfal label: pass --new-digits or --images, not both", file=sys.stderr)
        return 2
    try:
        session = None
        if args.images is not None and not (args.session_dir / "session.json").exists():
            session = _new_image_session(args)
        elif args.new_digits and not (args.session_dir / "session.json").exists():
            try:
                session = make_digits_session(
                    args.session_dir, query_strategy=args.strategy, n_instances=args.n_instances,
                    train_steps=args.steps, adversarial_augmentation=args.adversarial,
                )
                print(f"created a digits session in {args.session_dir}")
            except SessionError:
                # Another `skdfal label --new-digits` made it first: open theirs (or say it is busy).
                if not (args.session_dir / "session.json").exists():
                    raise
        if session is None:
            session = LabelingSession(args.session_dir, allow_modules=args.allow_module)
    except (SessionError, ValueError, TypeError, OSError) as exc:
        # OSError: a full disk or a read-only folder while creating; it names the file.
        print(f"skdfal label: {exc}", file=sys.stderr)
        return 2
    session.stopping = args.stop
    try:
        with session:
            problem = None if args.no_png else _png_problem(session.directory / "current.png")
            if problem is not None:
                print(f"skdfal label: {problem}", file=sys.stderr)
                return 2
            try:
                return run_label_loop(
                    session, _tolerant(sys.stdin), sys.stdout, ascii_images=not args.no_ascii,
                    png=None if args.no_png else "current.png",
                    max_answers=args.max_labels,
                )
            except OSError:
                session.close(save=False)  # a snapshot would fail as well; the journal is enough
                raise
    except OSError as exc:  # a full disk while labeling (or at the snapshot on the way out)
        print(f"skdfal label: {exc}; every label confirmed before it is kept: free the space (or fix "
              f"the cause) and run skdfal label {args.session_dir} again to go on", file=sys.stderr)
        return 2


def _new_image_session(args):
    """A session on the images of ``args.images``, in ``args.session_dir``."""
    from ..datasets import load_image_folder
    from ..labeling import LabelingSession, SessionError

    if not args.classes:
        raise ValueError("--images needs --classes NAME,NAME,... (the classes to label, in order)")
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    data = load_image_folder(args.images, mode=args.mode, size=args.size)
    if data.target_names is not None:
        raise ValueError(
            f"{args.images} holds class sub-folders ({', '.join(data.target_names)}): its images are labeled "
            "already; pass a folder of the unlabeled images (known labels can be given in Python: "
            "LabelingSession.create(..., initial_labels=...))"
        )
    try:
        session = LabelingSession.create(
            args.session_dir, data.images, class_names=classes, query_strategy=args.strategy,
            n_instances=args.n_instances, estimator={"train_steps": args.steps, **(args.estimator or {})},
            strategy_params=args.strategy_params, adversarial_augmentation=args.adversarial,
        )
    except SessionError:
        # Another `skdfal label --images` made it first: open theirs (or say it is busy).
        if not (args.session_dir / "session.json").exists():
            raise
        return None
    shape = "x".join(map(str, data.images.shape[1:]))
    print(f"created a session of {len(data.filenames)} images ({shape}) from {args.images} in {args.session_dir}")
    return session


def _png_problem(path):
    """Why ``path`` cannot take the picture of each sample (``None`` when it can).

    The picture replaces ``path`` atomically (a file or a link there is
    replaced); anything else, a folder above all, would fail at the first
    sample, after the session was opened.
    """
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
        return None
    kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
    return f"{path} is {kind}, where each sample's picture is written; remove it, or pass --no-png"


def _tolerant(stream):
    """``stream`` with undecodable bytes shown as escapes instead of raising.

    Under a strict locale a stray byte (a paste, a terminal in another
    encoding) would end the session with UnicodeDecodeError; escaped, it is
    an answer that is not a class, and the loop asks again.
    """
    if hasattr(stream, "reconfigure"):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # a stream that cannot change any more: read as it is
            pass
    return stream
