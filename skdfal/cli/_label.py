"""``skdfal label SESSION_DIR``: label a session's queries in a terminal.

The same session directory works from Jupyter (:class:`skdfal.Labeler`)
and from a shell, so a session started in a notebook continues here.  Each
sample is printed as ASCII art (with its adversarial copy for DFAL) and
written to ``SESSION_DIR/current.png``; answers are read from stdin, one per
line: a class, ``s`` (skip), ``u`` (undo), ``q`` (quit; end of input too).
"""

from __future__ import annotations

import itertools
import os
import stat
import sys
import threading
import time
from pathlib import Path

from ._args import STOP_HELP, json_object, positive_int, size_arg, steps_arg, stop_rule

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
    p.set_defaults(func=_cmd_label)


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


class _Input:
    """Answers read one line at a time; on a terminal, keys typed ahead can be discarded.

    A terminal in canonical mode hands over one line per ``read``, so what
    the person typed while the model worked stays in the terminal's queue
    until :meth:`discard` drops it (``termios.tcflush``).  A pipe or a file
    (a script, a test) is read as it is: its lines were meant in order.
    """

    def __init__(self, stream):
        self.stream = stream
        self.fd = None
        try:
            import termios  # noqa: F401  (POSIX only)

            if stream.isatty():
                self.fd = stream.fileno()
        except (ImportError, AttributeError, OSError, ValueError):
            self.fd = None

    def readline(self) -> str:
        if self.fd is None:
            return self.stream.readline()
        chunks = []
        while True:
            chunk = os.read(self.fd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                break
        return b"".join(chunks).decode(getattr(self.stream, "encoding", None) or "utf-8", "backslashreplace")

    def discard(self) -> int:
        """Drop the keys typed so far and not read; return how many bytes were dropped."""
        if self.fd is None:
            return 0
        import fcntl
        import termios

        try:
            pending = int.from_bytes(fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)
            termios.tcflush(self.fd, termios.TCIFLUSH)
        except OSError:
            return 0
        return pending


class _Working:
    """A spinner (on a terminal) or one line (elsewhere) while the model retrains and queries."""

    def __init__(self, out, message, discarding):
        self.out, self.message = out, message + (" (keys typed meanwhile are discarded)" if discarding else "")
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.done = threading.Event()
        self.thread = None

    def __enter__(self):
        self.start = time.monotonic()
        print(f"{self.message} ...", end=" " if self.tty else "\n",
              file=self.out, flush=True)
        if self.tty:
            self.thread = threading.Thread(target=self._spin, daemon=True)
            self.thread.start()
        return self

    def _spin(self):
        for frame in itertools.cycle("|/-\\"):
            if self.done.wait(0.2):
                return
            print(f"\b{frame}", end="", file=self.out, flush=True)

    def __exit__(self, *exc):
        self.done.set()
        if self.thread is not None:
            self.thread.join()
            print("\b", end="", file=self.out)
        elapsed = time.monotonic() - self.start
        print(f"{' ' if self.tty else ''}done in {elapsed:.1f} s", file=self.out, flush=True)


def _class_of(answer: str, names: list) -> int | None:
    """The class an answer names: its name (exactly, else in any case), else its number."""
    if answer in names:
        return names.index(answer)
    folded = [i for i, name in enumerate(names) if name.casefold() == answer.casefold()]
    if len(folded) == 1:
        return folded[0]
    if answer.isdecimal() and int(answer) < len(names):
        return int(answer)
    return None


def _class_list(names: list) -> str:
    return ", ".join(f"{i} {name}" for i, name in enumerate(names))


def _guess(session, index):
    """``"cat (83%)"``: the current model's prediction for pool sample ``index``, or ``None``."""
    import numpy as np

    if not session.n_labels or not hasattr(session.learner, "estimator_"):
        return None
    proba = np.asarray(session.learner.predict_proba(session.X_pool[index : index + 1]))[0]
    best = int(np.argmax(proba))
    return f"{session.class_names[best]} ({proba[best]:.0%})"


def _budget_decision(session):
    """A label budget of ``session.stopping`` that is spent already (checked on the labels in force)."""
    from sklearn.base import clone

    from ..learners import LabelBudget
    from ..learners._stopping import as_rules

    for rule in as_rules(getattr(session, "stopping", None)):
        if isinstance(rule, LabelBudget):
            decision = clone(rule).update(n_labels=session.n_labels)
            if decision.stop:
                return decision
    return None


def _needs_work(session) -> bool:
    """Whether ``session.current()`` will retrain or query (seconds), not just take the next of the batch."""
    done = set(session.labels) | set(session.skipped)
    return session.n_labels > 0 and not [i for i in session.queue if i not in done]


def run_label_loop(session, stdin, out, *, ascii_images=True, png=None, max_answers=None) -> int:
    """Ask for labels until quit, end of input, ``max_answers`` or an exhausted pool.

    ``png``: a file name in the session folder for a picture of each sample.
    Every label is durable when ``labeled ...`` is printed.  On a terminal,
    keys typed before a sample is shown (while the model retrains, above
    all) are discarded, so that no answer lands on a sample not yet seen.
    Returns an exit status.
    """
    names = list(session.class_names)
    reader = _Input(stdin)
    print(f"{session!r}\nclasses: {_class_list(names)}\n{HELP}", file=out)
    answers = 0
    shown = None
    told = None  # the stopping decision already printed
    while max_answers is None or answers < max_answers:
        # A label budget is checked on the labels in force, at once (also on resume, before anything is
        # asked); the other rules need a retrain to judge.
        decision = _budget_decision(session) or getattr(session, "stop_decision", None)
        if decision is not None and decision.stop and (told is None or str(decision) != str(told)):
            print(f"\nyou may stop: {decision.reason}", file=out, flush=True)
            told = decision
        if _needs_work(session):
            message = (f"retraining on {session.n_labels} labels and choosing the next {session.n_instances}"
                       if session.stale else f"choosing the next {session.n_instances}")
            with _Working(out, message, discarding=reader.fd is not None):
                index = session.current()
            decision = getattr(session, "stop_decision", None)
            if decision is not None and decision.stop and (told is None or str(decision) != str(told)):
                print(f"you may stop: {decision.reason}", file=out, flush=True)
                told = decision
        else:
            index = session.current()
        if index is None:
            print(f"pool exhausted: {session.n_labels} labels", file=out)
            break
        if index != shown:
            print(f"\n#{index}  ({len(session.queue)} left this round, {session.n_labels} labeled)", file=out)
            _show(session, index, out, ascii_images, png)
            guess = _guess(session, index)
            print(f"model's guess: {guess}" if guess else "model's guess: none yet (no model)", file=out)
            shown = index
            # Keys typed before this sample was shown were meant for another one.
            dropped = reader.discard()
            if dropped:
                print(f"(discarded {dropped} typed-ahead keys: they were typed before this sample was shown)",
                      file=out)
        print("label> ", end="", file=out, flush=True)
        line = reader.readline()
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
            print(f"classes: {_class_list(names)}\n{HELP}", file=out)
            continue
        else:
            label = _class_of(answer, names)
            if label is None:
                print(f"not a class: {answer!r}; classes: {_class_list(names)} (a name or its number); "
                      "s = skip, u = undo, q = quit", file=out)
                continue
            session.teach(index, label)
            print(f"labeled #{index} as {names[label]}", file=out, flush=True)
        answers += 1
    print(f"saved: {session.n_labels} labels, {len(session.skipped)} skipped in {session.directory}", file=out)
    return 0
