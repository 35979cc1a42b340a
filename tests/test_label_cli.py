"""``skdfal label SESSION_DIR``: the terminal labeling loop, driven through stdin."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skdfal.cli import main
from skdfal.labeling import LabelingSession, make_digits_session

REPO = Path(__file__).resolve().parents[1]


def _run(monkeypatch, capsys, argv, text):
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code = main(["label", *argv])
    return code, capsys.readouterr()


def test_label_loop_teaches_skips_undoes_and_quits(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "s"
    code, out = _run(
        monkeypatch, capsys,
        [str(directory), "--new-digits", "--strategy", "random_sampling", "--n-instances", "3", "--steps", "1"],
        "7\n\n2\ns\nu\n9\nbanana\n42\n0\n5\nq\n1\n",
    )
    assert code == 0, out.err
    shown = [int(i) for i in re.findall(r"^#(\d+) ", out.out, flags=re.M)]
    taught = [(int(i), int(c)) for i, c in re.findall(r"^(?:label> )*labeled #(\d+) as (\d+)", out.out, flags=re.M)]
    assert [c for _, c in taught] == [7, 2, 9, 0, 5]
    assert "skipped #" in out.out and "undid skip of #" in out.out
    assert "not a class: 'banana'" in out.out and "not a class: '42'" in out.out
    assert shown[0] == taught[0][0]
    assert (directory / "current.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Quit saved everything; the answer after "q" was never read.
    with LabelingSession(directory) as session:
        assert session.labels == dict(taught)
        assert session.skipped == []
        assert len(session.labels) == len(set(i for i, _ in taught)) == 5


def test_shell_continues_a_session_started_in_python(tmp_path, monkeypatch, capsys, digits):
    _, y = digits
    directory = tmp_path / "s"
    session = make_digits_session(directory, query_strategy="random_sampling", n_instances=4, max_epochs=1)
    for _ in range(2):  # half a batch in "Jupyter"
        i = session.current()
        session.teach(i, int(y[i]))
    first, queue = session.labels, session.queue
    session.close()

    # The shell shows the rest of the same batch first; answer with the true digits.
    answers = "".join(f"{y[i]}\n" for i in queue)
    code, out = _run(monkeypatch, capsys, [str(directory), "--no-png"], answers)
    assert code == 0, out.err
    assert [int(i) for i in re.findall(r"^#(\d+) ", out.out, flags=re.M)][: len(queue)] == queue
    assert "@" in out.out  # ASCII art of the digit
    with LabelingSession(directory) as session:
        assert session.labels == {**first, **{i: int(y[i]) for i in queue}}


def test_max_labels_and_end_of_input(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "s"
    argv = [str(directory), "--new-digits", "--strategy", "random_sampling", "--steps", "1", "--no-ascii"]
    code, out = _run(monkeypatch, capsys, argv + ["--max-labels", "2"], "1\n1\n1\n1\n")
    assert code == 0 and out.out.count("labeled #") == 2
    code, out = _run(monkeypatch, capsys, argv, "3\n")  # end of input after one answer
    assert code == 0 and out.out.count("labeled #") == 1
    with LabelingSession(directory) as session:
        assert sorted(session.labels.values()) == [1, 1, 3]


def test_errors_are_reported_not_raised(tmp_path, monkeypatch, capsys):
    code, out = _run(monkeypatch, capsys, [str(tmp_path / "nothing")], "")
    assert code == 2 and "session.json: missing" in out.err


@pytest.mark.slow  # the console command in a fresh interpreter
def test_console_command_in_a_subprocess(tmp_path):
    directory = tmp_path / "s"
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from skdfal.cli import main; sys.exit(main())",
         "label", str(directory), "--new-digits", "--strategy", "random_sampling", "--steps", "1"],
        input="4\n6\nq\n", capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    with LabelingSession(directory) as session:
        assert sorted(session.labels.values()) == [4, 6]
        np.testing.assert_array_equal(session.X_pool.shape, (1797, 1, 8, 8))
