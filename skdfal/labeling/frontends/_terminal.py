"""The terminal front-end: label a session's queries with a keyboard and a text screen.

``skdfal label SESSION_DIR`` (:mod:`skdfal.cli._label`) opens a session and
runs :func:`run_label_loop` on stdin and stdout.  Each sample is printed as
ASCII art (with its adversarial copy for DFAL) and written to the session
folder's ``current.png`` (:meth:`~skdfal.LabelingSession.write_file`);
answers are read one per line: a class, ``s`` (skip), ``u`` (undo), ``q``
(quit; end of input too).  Like every front-end, it uses only the session's
public API.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time

from ._render import as_pixels, ascii_art, png_bytes, side_by_side

__all__ = ["HELP", "run_label_loop"]

HELP = "answer with a class (index or name), s = skip, u = undo, q = quit"


def _show(session, index, out, ascii_images, png):
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
        session.write_file(str(png), data)


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

    from ...learners import LabelBudget
    from ...learners._stopping import as_rules

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
