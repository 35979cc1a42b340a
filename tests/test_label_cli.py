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


def _small_session(directory, names=("cat", "dog", "flower"), n=30, **kwargs):
    rng = np.random.RandomState(0)
    X = rng.rand(n, 1, 8, 8).astype(np.float32)
    return LabelingSession.create(directory, X, class_names=list(names), query_strategy="random_sampling",
                                  estimator={"max_epochs": 1}, n_instances=3, **kwargs)


def test_classes_are_listed_and_taken_by_name_or_number(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "s"
    _small_session(directory).close()
    code, out = _run(monkeypatch, capsys, [str(directory), "--no-png", "--no-ascii"],
                     "tree\nDOG\n2\n7\n0\nq\n")
    assert code == 0, out.err
    head = out.out.split("label> ")[0]
    assert "classes: 0 cat, 1 dog, 2 flower" in head  # before the first question
    assert "not a class: 'tree'; classes: 0 cat, 1 dog, 2 flower" in out.out
    assert "not a class: '7'" in out.out and "invalid literal" not in out.out
    taught = re.findall(r"labeled #(\d+) as (\w+)", out.out)
    assert [name for _, name in taught] == ["dog", "flower", "cat"]
    with LabelingSession(directory) as session:
        assert session.labels == {int(i): ["cat", "dog", "flower"].index(name) for i, name in taught}


def test_the_models_guess_is_shown_once_there_is_a_model(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "s"
    _small_session(directory).close()
    code, out = _run(monkeypatch, capsys, [str(directory), "--no-png", "--no-ascii"], "0\n1\n2\nq\n")
    assert code == 0, out.err
    assert out.out.count("model's guess: none yet") == 3  # the first batch: nothing labeled yet
    assert "retraining on 3 labels and choosing the next 3 ...\n" in out.out and "done in" in out.out
    assert "discarded" not in out.out  # read from a pipe: nothing is dropped
    guess = re.search(r"model's guess: (cat|dog|flower) \((\d+)%\)", out.out)
    assert guess is not None, out.out
    with LabelingSession(directory) as session:
        index = int(re.findall(r"^#(\d+) ", out.out, flags=re.M)[-1])
        proba = session.learner.predict_proba(session.X_pool[index:index + 1])[0]
        assert guess.group(1) == session.class_names[int(np.argmax(proba))]


def test_a_spent_budget_is_told_on_resume_before_anything_is_asked(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "s"
    with _small_session(directory) as session:
        for label in (0, 1, 2):
            session.teach(session.current(), label)
    code, out = _run(monkeypatch, capsys, [str(directory), "--no-png", "--no-ascii", "--stop", "budget=2"], "q\n")
    assert code == 0, out.err
    before = out.out.split("label> ")[0]
    assert "you may stop: the label budget is spent: 3 of 2 labels paid" in before
    assert before.index("you may stop") < before.index("retraining")  # told before the model works


def test_images_folder_creates_a_session(tmp_path, monkeypatch, capsys):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.RandomState(0)
    pixels = rng.randint(0, 256, size=(12, 9, 10, 3), dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"img{i:02d}.png")
    directory = tmp_path / "s"
    argv = [str(directory), "--images", str(folder), "--classes", "red,green", "--mode", "RGB",
            "--strategy", "random_sampling", "--n-instances", "2", "--steps", "1", "--no-png", "--no-ascii"]
    code, out = _run(monkeypatch, capsys, argv, "green\nq\n")
    assert code == 0, out.err
    assert "created a session of 12 images (3x9x10)" in out.out
    with LabelingSession(directory) as session:
        assert session.class_names == ["red", "green"] and list(session.labels.values()) == [1]
        np.testing.assert_array_equal(session.X_pool, pixels.transpose(0, 3, 1, 2) / np.float32(255))
    # Resumed with the same arguments: the session is opened, not made again.
    code, out = _run(monkeypatch, capsys, argv, "q\n")
    assert code == 0 and "created" not in out.out


@pytest.mark.parametrize("extra, message", [
    ([], "--images needs --classes"),
    (["--classes", "a,b", "--new-digits"], "--new-digits or --images, not both"),
    (["--classes", "a,b", "--size", "0x3"], "expected positive sizes"),
])
def test_images_folder_errors(tmp_path, monkeypatch, capsys, extra, message):
    folder = tmp_path / "images"
    folder.mkdir()
    try:
        code, out = _run(monkeypatch, capsys, [str(tmp_path / "s"), "--images", str(folder), *extra], "")
    except SystemExit as exc:  # argparse refuses the value itself
        code, out = exc.code, capsys.readouterr()
    assert code == 2 and message in out.err
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


def test_images_folder_with_class_subfolders_or_no_images_is_refused(tmp_path, monkeypatch, capsys):
    from PIL import Image

    (tmp_path / "images" / "cat").mkdir(parents=True)
    code, out = _run(monkeypatch, capsys, [str(tmp_path / "s"), "--images", str(tmp_path / "images"),
                                           "--classes", "a,b"], "")
    assert code == 2 and "no image files" in out.err
    Image.new("L", (4, 4)).save(tmp_path / "images" / "cat" / "x.png")
    code, out = _run(monkeypatch, capsys, [str(tmp_path / "s"), "--images", str(tmp_path / "images"),
                                           "--classes", "a,b"], "")
    assert code == 2 and "holds class sub-folders (cat)" in out.err


_PTY_CHILD = """
import pathlib, sys, time
from skdfal.cli import main
from skdfal.labeling import LabelingSession

gate = pathlib.Path(sys.argv[2])
retrain = LabelingSession.retrain

def gated(self):
    # Hold the retrain until the test has typed ahead: the keys are then surely typed while it works.
    while not gate.exists():
        time.sleep(0.01)
    return retrain(self)

LabelingSession.retrain = gated
sys.exit(main(["label", sys.argv[1], "--no-png", "--no-ascii"]))
"""


@pytest.mark.slow  # a labeler in a subprocess on a pseudo-terminal
@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_keys_typed_while_the_model_works_are_discarded_on_a_terminal(tmp_path):
    import json
    import os
    import select
    import termios

    directory, gate = tmp_path / "s", tmp_path / "go"
    _small_session(directory).close()
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO  # what is typed is not echoed into the output read here
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _PTY_CHILD, str(directory), str(gate)],
                            stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env, close_fds=True)
    os.close(slave)
    seen = b""

    def until(pattern):
        nonlocal seen
        while (m := re.search(pattern, seen[until.pos:])) is None:
            ready, _, _ = select.select([master], [], [], 120)  # a guard against a hang, not a timing
            assert ready, f"no {pattern!r} in {seen.decode(errors='replace')}"
            try:
                seen += os.read(master, 4096)
            except OSError:  # the child is gone
                raise AssertionError(seen.decode(errors="replace")) from None
        until.pos += m.end()
        return m

    until.pos = 0
    typed = {}  # sample -> the class typed once it was shown
    names = ["cat", "dog", "flower"]
    try:
        for answer in ("cat", "2", "dog"):  # the first batch (drawn at random: no model to work)
            index = int(until(rb"\n#(\d+) ").group(1))
            until(rb"label> ")
            os.write(master, answer.encode() + b"\n")
            typed[index] = _class_index(answer, names)
        # Typed ahead right after the last answer of the batch, while the model retrains (held by the
        # gate): meant for samples not shown yet.
        os.write(master, b"flower\n1\n")
        gate.touch()
        index = int(until(rb"\n#(\d+) ").group(1))
        until(rb"label> ")
        os.write(master, b"0\n")
        typed[index] = 0
        index = int(until(rb"\n#(\d+) ").group(1))
        until(rb"label> ")
        os.write(master, b"q\n")
        until(rb"saved: \d+ labels")
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    journal = [json.loads(line) for line in (directory / "journal.jsonl").read_text().splitlines()]
    saved = {r["index"]: r["label"] for r in journal if r.get("op") == "label"}
    assert saved == typed  # every saved label is the one typed for that sample, after it was shown
    text = seen.decode(errors="replace")
    after = text[text.index("retraining on 3 labels"):]  # the spinner's line, then the next sample
    assert re.search(r"model's guess: \w+ \(\d+%\)", after)
    assert "(keys typed meanwhile are discarded)" in after.splitlines()[0]
    assert "(discarded 9 typed-ahead keys: they were typed before this sample was shown)" in after


def _class_index(answer, names):
    return names.index(answer) if answer in names else int(answer)
