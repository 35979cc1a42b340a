"""``skdfal label SESSION_DIR``: label a session's queries in a terminal.

The same session directory works from Jupyter (:class:`skdfal.Labeler`)
and from a shell, so a session started in a notebook continues here.  Each
sample is printed as ASCII art (with its adversarial copy for DFAL) and
written to ``SESSION_DIR/current.png``; answers are read from stdin, one per
line: a class, ``s`` (skip), ``u`` (undo), ``q`` (quit; end of input too).
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from ._args import STOP_HELP, positive_int, steps_arg, stop_rule

__all__ = ["add_parser", "run_label_loop"]

HELP = "answer with a class (index or name), s = skip, u = undo, q = quit"


def add_parser(sub):
    """Register the ``label`` sub-command on an argparse sub-parsers object."""
    p = sub.add_parser(
        "label",
        help="label a session's queried samples in the terminal (resumable)",
        description=(
            "Human-in-the-loop labeling of a session directory (made in Python or Jupyter, or "
            "with --new-digits). Labels are saved as you type them; quit any time and resume. "
            + HELP[0].upper() + HELP[1:] + "."
        ),
    )
    p.add_argument("session_dir", type=Path, metavar="SESSION_DIR")
    p.add_argument(
        "--new-digits", action="store_true",
        help="create a demo session on scikit-learn's digits in SESSION_DIR if it holds none",
    )
    p.add_argument("--strategy", default="dfal_margin", help="with --new-digits: strategy (default dfal_margin)")
    p.add_argument("--n-instances", type=positive_int, default=10, help="with --new-digits: labels asked per round (default 10)")
    p.add_argument("--steps", type=steps_arg, default="auto",
                   help="with --new-digits: optimiser steps per retrain, 'auto' or a number (default auto)")
    p.add_argument("--adversarial", action="store_true", help="with --new-digits: adversarial augmentation")
    p.add_argument("--max-labels", type=positive_int, default=None, help="stop after this many answers")
    p.add_argument("--stop", type=stop_rule, action="append", default=None, metavar="RULE", help=STOP_HELP)
    p.add_argument("--no-ascii", action="store_true", help="do not print images as text")
    p.add_argument("--no-png", action="store_true", help="do not write SESSION_DIR/current.png")
    p.set_defaults(func=_cmd_label)


def _cmd_label(args) -> int:
    from ..labeling import LabelingSession, SessionError, make_digits_session

    try:
        session = None
        if args.new_digits and not (args.session_dir / "session.json").exists():
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
            session = LabelingSession(args.session_dir)
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


def _show(session, index, out, ascii_images, png):
    from ..labeling._fs import SessionDir
    from ..labeling._render import as_pixels, ascii_art, png_bytes, side_by_side

    samples = [session.X_pool[index]]
    copy = session.adversarial_copy(index) if session.shows_adversarial else None
    if copy is not None:
        samples.append(copy)
    if ascii_images:
        print(ascii_art(samples), file=out)
        if copy is not None:
            print("(left: sample, right: its DeepFool adversarial copy)", file=out)
    if png is not None:
        data = png_bytes(side_by_side(as_pixels(samples, scale=16), gap=8))
        # A file name in the session folder, replaced atomically: a link there is replaced, not followed.
        with SessionDir(session.directory) as folder:
            folder.write_bytes(str(png), data)


def run_label_loop(session, stdin, out, *, ascii_images=True, png=None, max_answers=None) -> int:
    """Ask for labels until quit, end of input, ``max_answers`` or an exhausted pool.

    ``png``: a file name in the session folder for a picture of each sample.
    Every label is durable when ``labeled ...`` is printed.  Returns an exit status.
    """
    print(f"{session!r}\n{HELP}", file=out)
    answers = 0
    shown = None
    told = None  # the stopping decision already printed
    while max_answers is None or answers < max_answers:
        index = session.current()
        decision = getattr(session, "stop_decision", None)
        if decision is not None and decision.stop and decision is not told:
            print(f"\nyou may stop: {decision.reason}", file=out, flush=True)
            told = decision
        if index is None:
            print(f"pool exhausted: {session.n_labels} labels", file=out)
            break
        if index != shown:
            print(f"\n#{index}  ({len(session.queue)} left this round, {session.n_labels} labeled)", file=out)
            _show(session, index, out, ascii_images, png)
            shown = index
        print("label> ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:  # end of input
            print("", file=out)
            break
        answer = line.strip()
        if not answer:
            continue
        if answer.lower() in ("q", "quit", "exit"):
            break
        if answer.lower() in ("s", "skip"):
            session.skip(index)
            print(f"skipped #{index}", file=out, flush=True)
        elif answer.lower() in ("u", "undo"):
            action = session.undo()
            if action is None:
                print("nothing to undo", file=out)
            else:
                print(f"undid {action['op']} of #{action['index']}", file=out, flush=True)
                shown = None
        elif answer in ("?", "h", "help"):
            print(HELP, file=out)
            continue
        else:
            label = session.class_names.index(answer) if answer in session.class_names else answer
            try:
                label = int(label)
                session.teach(index, label)
            except (TypeError, ValueError) as exc:
                print(f"not a class: {answer!r} ({exc}); {HELP}", file=out)
                continue
            print(f"labeled #{index} as {session.class_names[label]}", file=out, flush=True)
        answers += 1
    print(f"saved: {session.n_labels} labels, {len(session.skipped)} skipped in {session.directory}", file=out)
    return 0
