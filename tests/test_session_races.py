"""Two processes at one session folder: creates and opens racing, and no confirmed label lost.

Two long-lived worker processes take orders from stdin.  For each round both
get an order naming the same folder, wait at a file barrier, then act at
the same moment: create the session (or open it, if the other made it
first), label a few samples and close.  Each prints ``confirmed <index>
<label>`` once ``teach`` has returned; after the round the folder must open
and hold every confirmed label.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from skdfal.labeling import LabelingSession

REPO = Path(__file__).resolve().parents[1]
#: Rounds per race kind; each round is two processes at one folder.
ROUNDS = 8

WORKER = r"""
import os, sys, time
import numpy as np
import torch

torch.set_num_threads(1)
from skdfal import load_digits_images
from skdfal.labeling import LabelingSession, SessionError

X = np.asarray(load_digits_images()[0][:80])


class SlowPool:  # a pool on a slow disk: reading it takes a while
    def __init__(self, seconds):
        self.seconds = seconds

    def __array__(self, dtype=None, copy=None):
        time.sleep(self.seconds)
        return X


def label(session, n, out):
    for _ in range(n):
        index = session.current()
        if index is None:
            break
        session.teach(index, index % 10)
        out.append(f"confirmed {index} {index % 10}")


print("ready", flush=True)
for line in sys.stdin:
    action, directory, go, delay, slow, n = line.split()
    while not os.path.exists(go):  # the barrier: both start together
        time.sleep(0.0005)
    time.sleep(float(delay))
    out, session = [], None
    try:
        if action == "create":
            try:
                session = LabelingSession.create(
                    directory, SlowPool(float(slow)), query_strategy="random_sampling",
                    estimator={"max_epochs": 1}, n_instances=12,
                )
                out.append("created")
            except SessionError as exc:  # the other one made it, or is making it
                out.append(f"refused {type(exc).__name__}")
        if session is None:
            for _ in range(200):  # open once the other is done with it
                try:
                    session = LabelingSession(directory)
                    out.append("opened")
                    break
                except SessionError:
                    time.sleep(0.01)
        if session is not None:
            label(session, int(n), out)
            session.close()
    except Exception as exc:  # reported: the parent fails the round on any raw error
        out.append(f"error {type(exc).__name__}: {exc}".replace("\n", " "))
    print("\n".join(out + ["end"]), flush=True)
"""


def _start():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def _reply(proc):
    lines = []
    while (line := proc.stdout.readline().strip()) != "end":
        assert line, f"worker died: {proc.stderr.read()}"
        lines.append(line)
    return lines


@pytest.fixture(scope="module")
def workers():
    procs = [_start(), _start()]
    yield procs
    for proc in procs:
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()


def _race(workers, tmp_path, actions, *, slow, seed):
    """Run ``ROUNDS`` rounds; returns (confirmed labels, outcome lines) over all of them."""
    rng = np.random.RandomState(seed)
    confirmed_total, outcomes = 0, []
    for round_ in range(ROUNDS):
        directory, go = tmp_path / f"s{round_}", tmp_path / f"go{round_}"
        if actions == ("open", "open"):
            X = np.asarray(__import__("skdfal").load_digits_images()[0][:80])
            LabelingSession.create(directory, X, query_strategy="random_sampling",
                                   estimator={"max_epochs": 1}, n_instances=12).close()
        for proc, action in zip(workers, actions, strict=True):
            # Small random offsets move the collision around inside create and open.
            proc.stdin.write(f"{action} {directory} {go} {rng.uniform(0, 0.02):.4f} {slow} 6\n")
            proc.stdin.flush()
        time.sleep(0.05)
        go.touch()
        replies = [_reply(proc) for proc in workers]
        lines = [line for reply in replies for line in reply]
        errors = [line for line in lines if line.startswith("error")]
        assert not errors, f"round {round_}: {errors}"
        confirmed = {}
        for line in lines:
            if line.startswith("confirmed"):
                _, index, label = line.split()
                assert int(index) not in confirmed, f"round {round_}: #{index} confirmed twice"
                confirmed[int(index)] = int(label)
        with LabelingSession(directory, readonly=True) as session:
            lost = {i: c for i, c in confirmed.items() if session.labels.get(i) != c}
            assert not lost, f"round {round_}: confirmed labels lost: {lost} ({replies})"
            assert session.n_labels == len(confirmed)
        confirmed_total += len(confirmed)
        outcomes.append(replies)
    return confirmed_total, outcomes


@pytest.mark.slow
@pytest.mark.parametrize("slow", [0.0, 0.3], ids=["natural-timing", "slow-pool"])
def test_two_creates_lose_no_label(workers, tmp_path, slow):
    confirmed, outcomes = _race(workers, tmp_path, ("create", "create"), slow=slow, seed=13)
    # One creator per round; the other refused (and labeled after it, if it could open in time).
    for replies in outcomes:
        assert sum("created" in reply for reply in replies) == 1, replies
    assert confirmed >= 6 * ROUNDS


@pytest.mark.slow
def test_create_racing_an_open_loses_no_label(workers, tmp_path):
    confirmed, _ = _race(workers, tmp_path, ("create", "open"), slow=0.0, seed=14)
    assert confirmed >= 6 * ROUNDS


@pytest.mark.slow
def test_two_opens_lose_no_label(workers, tmp_path):
    confirmed, _ = _race(workers, tmp_path, ("open", "open"), slow=0.0, seed=15)
    assert confirmed >= 6 * ROUNDS


@pytest.mark.slow
def test_two_new_digits_commands_lose_no_label(tmp_path):
    """``skdfal label --new-digits`` twice at once on one folder."""
    script = (  # the digits as a pool on a slow disk: reading it takes 1.5 s
        "import sys, time, skdfal.datasets as d\n"
        "X, y = d.load_digits_images()\n"
        "class Slow:\n"
        "    def __array__(self, dtype=None, copy=None):\n"
        "        time.sleep(1.5)\n"
        "        return X\n"
        "d.load_digits_images = lambda *a, **k: (Slow(), y)\n"
        "from skdfal.cli import main\n"
        "sys.exit(main())\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    directory = tmp_path / "s"
    argv = [sys.executable, "-c", script, "label", str(directory), "--new-digits", "--strategy",
            "random_sampling", "--steps", "1", "--n-instances", "12", "--no-png", "--no-ascii"]
    procs = [subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=REPO) for _ in range(2)]
    outs = [proc.communicate("".join(f"{k % 10}\n" for k in range(12)) + "q\n", timeout=300) for proc in procs]
    confirmed = {}
    for out, _ in outs:
        for line in out.splitlines():
            if "labeled #" in line:
                index, label = line.split("labeled #")[1].split(" as ")
                confirmed[int(index)] = int(label)
    assert len(confirmed) >= 12, outs
    assert sorted(proc.returncode for proc in procs) in ([0, 0], [0, 2]), outs
    with LabelingSession(directory, readonly=True) as session:
        assert {i: session.labels.get(i) for i in confirmed} == confirmed, outs
