"""Issue 23, item 3: every case says what is wrong, naming the file or parameter.

Three tables.  The command line: a usage error exits 2 and names the option
(or the file) on stderr.  The library: a callable, the exception type, and
a pattern its message must hold.  Warnings: a legal call that is probably
wrong warns, and the warning points at the caller's line (this file), not
at skdfal's insides.  Every row failed before its fix: a raw ``OSError``,
``KeyError``, ``JSONDecodeError`` or torch message, a traceback (exit 1),
a silent wrong answer, or a warning attributed to ``strategies/_base.py``.
"""

from __future__ import annotations

import errno
import io
import os
import re
import socket
import stat
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC
from torch import nn

from skdfal import (
    ActiveLearner,
    ActiveLearningClassifier,
    DFALMargin,
    LeNet5,
    deepfool,
    dfal_margin,
    entropy_sampling,
    make_classifier,
    serve_label_studio,
)
from skdfal.cli import main
from skdfal.experiments import run_benchmark
from skdfal.labeling import LabelingSession

#: Linux's /proc, where no file can be made (even by root).
NO_PROC = not Path("/proc/self").exists()

#: A benchmark that takes seconds (the rows that must stop before it runs).
TINY = ["--strategies", "random", "--seeds", "0", "--n-initial", "10", "--budget", "10", "--steps", "1",
        "--pool-size", "200", "--test-size", "50", "--no-progress"]


def case(name, *values, skip_if=False, reason=""):
    """One row of a table: its values, its name as the test id, skipped where it cannot run."""
    return pytest.param(*values, id=name, marks=pytest.mark.skipif(skip_if, reason=reason or "n/a"))


def _full_disk(monkeypatch):
    """Make every fsync of a regular file fail as on a full disk (directories still sync)."""
    real = os.fsync

    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def _full_disk_at_the_first_label(monkeypatch):
    """Make the journal's write of a label fail as on a full disk (everything before it goes through)."""
    real = os.write

    def write(fd, data):
        if b'"op":"label"' in bytes(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)


def _small_session(directory):
    from skdfal import load_digits_images

    X, _ = load_digits_images()
    session = LabelingSession.create(directory, X[:40], query_strategy="random_sampling",
                                     estimator={"max_epochs": 1}, n_instances=4)
    session.close()
    return directory


def _notes(path):
    path.write_text("my notes\nsecond line, strategy to follow\n")
    return path


def _damaged_protocol(csv):
    Path(f"{csv}.protocol.json").write_text('{"dataset": ')
    return csv


def _damaged_row(csv):
    """A results file of skdfal (its header) with a damaged row."""
    from skdfal.experiments._results import ROW_COLUMNS

    csv.write_text(",".join(ROW_COLUMNS) + "\nrandom,0,zz\n")
    return csv


def _strict_stdin(data: bytes):
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="strict")


# ------------------------------------------------------------ command line
# (id, setup(tmp, monkeypatch) -> argv, stdin bytes, exit status, stream, pattern)
CLI_CASES = [
    case("label_new_digits_on_a_full_disk",
     lambda tmp, mp: (_full_disk(mp), ["label", str(tmp / "s"), "--new-digits", "--steps", "1"])[1],
     b"q\n", 2, "err", r"No space left on device: '.*[/\\]s[/\\]pool\.npy'"),
    case("benchmark_output_is_a_folder",
     lambda tmp, mp: (tmp / "out").mkdir() or ["benchmark", *TINY, "--output", str(tmp / "out")],
     b"", 2, "err", r"argument --output: .*out is a folder"),
    case("benchmark_output_is_a_text_file",
     lambda tmp, mp: ["benchmark", *TINY, "--output", str(_notes(tmp / "notes.txt"))],
     b"", 2, "err", r"argument --output: .*notes\.txt exists and is not a results file"),
    case("benchmark_output_is_a_text_file_no_resume",
     lambda tmp, mp: ["benchmark", *TINY, "--no-resume", "--output", str(_notes(tmp / "notes.txt"))],
     b"", 2, "err", r"argument --output: .*notes\.txt exists and is not a results file"),
    case("benchmark_damaged_protocol_file",
     lambda tmp, mp: ["benchmark", *TINY, "--output", str(_damaged_protocol(tmp / "p.csv"))],
     b"", 2, "err", r"argument --output: .*p\.csv\.protocol\.json is damaged"),
    case("benchmark_damaged_row_in_the_results_file",  # not in the list: a ValueError traceback
     lambda tmp, mp: ["benchmark", *TINY, "--output", str(_damaged_row(tmp / "r.csv"))],
     b"", 2, "err", r"argument --output: .*r\.csv: line 2 is not a row of results"),
    case(
        "run_output_where_nothing_can_be_written",
        lambda tmp, mp: ["run", "--seeds", "1", "--rounds", "1", "--n-initial", "5", "--n-instances", "5",
                         "--steps", "1", "--jobs", "1", "--no-progress", "--output", "/proc/x.csv"],
        b"", 2, "err", r"argument --output: cannot write /proc/x\.csv", skip_if=NO_PROC, reason="needs /proc"),
    case("label_open_on_a_full_disk",  # the journal's fsync at open: a bare OSError before
     lambda tmp, mp: (_small_session(tmp / "s"), _full_disk(mp), ["label", str(tmp / "s"), "--no-png"])[2],
     b"q\n", 2, "err", r"No space left on device: '.*[/\\]s[/\\]journal\.jsonl'"),
    case("label_full_disk_at_a_label",  # a traceback before
     lambda tmp, mp: (_small_session(tmp / "s"), _full_disk_at_the_first_label(mp),
                      ["label", str(tmp / "s"), "--no-png", "--no-ascii"])[2],
     b"0\nq\n", 2, "err",
     r"No space left on device: '.*journal\.jsonl'; every label confirmed before it is kept: free the space"),
    case("label_current_png_is_a_folder",
     lambda tmp, mp: (_small_session(tmp / "s"), (tmp / "s" / "current.png").mkdir(), ["label", str(tmp / "s")])[2],
     b"q\n", 2, "err", r"current\.png is a folder.*--no-png"),
    case("label_non_utf8_answer_under_a_strict_locale",
     lambda tmp, mp: (_small_session(tmp / "s"), ["label", str(tmp / "s"), "--no-png", "--no-ascii"])[1],
     b"\xff\xfe\nq\n", 0, "out", r"not a class: '\\\\xff\\\\xfe'"),
    case("benchmark_lr_nan",
     lambda tmp, mp: ["benchmark", *TINY, "--output", str(tmp / "o.csv"), "--lr", "nan"],
     b"", 2, "err", r"argument --lr: expected a positive finite number, got nan"),
    case("benchmark_lr_negative",
     lambda tmp, mp: ["benchmark", *TINY, "--output", str(tmp / "o.csv"), "--lr", "-1"],
     b"", 2, "err", r"argument --lr: expected a positive finite number, got -1"),
    case(
        "benchmark_device_this_machine_lacks",
        lambda tmp, mp: ["benchmark", *TINY, "--output", str(tmp / "o.csv"), "--device", "cuda:7"],
        b"", 2, "err", r"argument --device: device='cuda:7' but",
        skip_if=torch.cuda.device_count() > 7, reason="this machine has a cuda:7"),
    case("benchmark_negative_seed",
     lambda tmp, mp: ["benchmark", *TINY[:2], "--seeds=-1", *TINY[4:], "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --seeds: seeds must be integers >= 0, got -1"),
    case("benchmark_mnist_without_data_dir",  # not in the list: found on the way
     lambda tmp, mp: ["benchmark", "--dataset", "mnist", "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --data-dir: mnist needs the folder"),
    case("serve_label_studio_port_out_of_range",  # not in the list: found on the way
     lambda tmp, mp: ["serve-label-studio", str(tmp / "ls"), "--port", "70000"],
     b"", 2, "err", r"argument --port: expected a port number in \[0, 65535\], got 70000"),
    case(
        "serve_label_studio_device_this_machine_lacks",  # as benchmark's --device
        lambda tmp, mp: ["serve-label-studio", str(tmp / "ls"), "--device", "cuda:7"],
        b"", 2, "err", r"argument --device: device='cuda:7' but",
        skip_if=torch.cuda.device_count() > 7, reason="this machine has a cuda:7"),
    # Not in the list, found on the way: each was a traceback (exit 1), or a wrong summary.
    case("benchmark_unknown_strategy",
     lambda tmp, mp: ["benchmark", *TINY[2:], "--strategies", "random,nosuch", "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --strategies: unknown strategy 'nosuch'; choose from random,"),
    case("benchmark_no_strategy",
     lambda tmp, mp: ["benchmark", *TINY[2:], "--strategies", ",", "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --strategies: give at least one strategy"),
    case("benchmark_budget_below_n_initial",
     lambda tmp, mp: ["benchmark", *TINY, "--budget", "5", "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --budget: 5 labels cannot pay for --n-initial 10"),
    case("benchmark_pool_size_below_n_initial",
     lambda tmp, mp: ["benchmark", *TINY, "--pool-size", "5", "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --pool-size: a pool of 5 cannot give --n-initial 10 labels"),
    case("benchmark_data_dir_without_the_files",
     lambda tmp, mp: ["benchmark", "--dataset", "mnist", "--data-dir", str(tmp), "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --data-dir: no train-images-idx3-ubyte file for mnist: looked for "),
    case("benchmark_summary_budget_zero",
     lambda tmp, mp: ["benchmark", *TINY, "--budgets", "0,-3", "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --budgets: label counts are integers >= 1, got 0"),
    case("benchmark_summary_target_above_one",
     lambda tmp, mp: ["benchmark", *TINY, "--targets", "0.9,2", "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --targets: accuracies are in \(0, 1\], got 2\.0"),
    case("run_n_initial_beyond_the_pool",
     lambda tmp, mp: ["run", "--n-initial", "2000", "--seeds", "1", "--jobs", "1", "--no-progress",
                      "--output", str(tmp / "o.csv")],
     b"", 2, "err", r"argument --n-initial: the pool holds 1257 digits, fewer than 2000"),
    case("benchmark_validation_size_beyond_the_pool",
     lambda tmp, mp: ["benchmark", *TINY, "--output", str(tmp / "o.csv"), "--validation-size", "100000"],
     b"", 2, "err", r"argument --validation-size: validation_size must be in \[1, 1256\]"),
]


def _cli(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's errors
        return exc.code


@pytest.mark.parametrize(
    "setup, stdin, status, stream, pattern",
    CLI_CASES,
)
def test_command_line_names_the_option_or_file(tmp_path, monkeypatch, capsys, setup, stdin, status, stream,
                                               pattern):
    argv = setup(tmp_path, monkeypatch)
    monkeypatch.setattr(sys, "stdin", _strict_stdin(stdin))
    code = _cli(argv)
    out = capsys.readouterr()
    text = out.err if stream == "err" else out.out
    assert code == status, (out.out[-2000:], out.err[-2000:])
    assert re.search(pattern, text), text[-2000:]
    assert "Traceback" not in out.err


def test_refused_files_are_left_as_they_were(tmp_path, capsys):
    notes = _notes(tmp_path / "notes.txt")
    before = notes.read_bytes()
    for extra in ([], ["--no-resume"]):
        assert _cli(["benchmark", *TINY, *extra, "--output", str(notes)]) == 2
    assert notes.read_bytes() == before
    # Nothing written beside a refused output either (no protocol file, plot or summary).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ------------------------------------------------------------ library
def _lenet_fit(X, y, **params):
    return make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1, random_state=0, **params).fit(X, y)


def _teach_on_a_full_disk(tmp, monkeypatch):
    directory = _small_session(tmp / "s")
    session = LabelingSession(directory)
    _full_disk_at_the_first_label(monkeypatch)
    try:
        session.teach(session.current(), 0)
    finally:
        monkeypatch.undo()
        session.teach(session.current(), 0)  # the same session goes on once there is space
        session.close()
        with LabelingSession(directory) as again:
            assert again.n_labels == 1


def _save_beside_a_folder_named_like_a_snapshot(tmp):
    directory = _small_session(tmp / "s")
    (directory / "snapshots").mkdir(exist_ok=True)
    (directory / "snapshots" / "labels-000000.npy").mkdir()
    from skdfal import load_digits_images

    _, y = load_digits_images()
    with LabelingSession(directory) as session:
        for _ in range(2):
            index = session.current()
            session.teach(index, int(y[index]))
            session.save()  # raised IsADirectoryError after the commit, at every save
    assert (directory / "snapshots" / "labels-000000.npy").is_dir()  # left alone
    with LabelingSession(directory) as session:
        assert session.n_labels == 2


def _bench(output, **params):
    return run_benchmark("digits", ["random"], [0], n_initial=10, n_instances=10, budget=10, steps=1,
                         pool_size=200, test_size=50, output=output, progress=False, **params)


def _serve(tmp, port):
    """``serve_label_studio`` creating a backend from six digit images, on ``port``."""
    from PIL import Image

    from skdfal import load_digits_images

    (tmp / "pool").mkdir()
    for i, image in enumerate(load_digits_images()[0][:6]):
        Image.fromarray(np.round(image[0] * 255).astype(np.uint8)).save(tmp / "pool" / f"{i}.png")
    serve_label_studio(tmp / "ls", port=port, images=tmp / "pool", classes=["a", "b"])


def _serve_on_a_port_in_use(tmp):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        _serve(tmp, busy.getsockname()[1])


def _serve_on_a_port_out_of_range(tmp):
    try:
        _serve(tmp, 70000)
    finally:
        assert not (tmp / "ls").exists()  # refused before the folder is made


# (id, call(tmp, monkeypatch, digits), exception type or None (must succeed), pattern)
LIBRARY_CASES = [
    case("create_on_a_full_disk",
     lambda tmp, mp, d: (_full_disk(mp), LabelingSession.create(tmp / "s", d[0][:40]))[1],
     OSError, r"No space left on device: '.*[/\\]s[/\\]pool\.npy'"),
    case("open_on_a_full_disk",
     lambda tmp, mp, d: (_small_session(tmp / "s"), _full_disk(mp), LabelingSession(tmp / "s"))[2],
     OSError, r"No space left on device: '.*[/\\]s[/\\]journal\.jsonl'"),
    case("teach_on_a_full_disk",
     lambda tmp, mp, d: _teach_on_a_full_disk(tmp, mp),
     OSError, r"No space left on device: '.*[/\\]s[/\\]journal\.jsonl'"),
    case("benchmark_output_is_a_folder",
     lambda tmp, mp, d: _bench((tmp / "out").mkdir() or tmp / "out"),
     ValueError, r"output: .*out is a folder"),
    case("benchmark_output_is_a_text_file",
     lambda tmp, mp, d: _bench(_notes(tmp / "notes.txt")),
     ValueError, r"notes\.txt exists and is not a results file"),
    case("benchmark_damaged_protocol_file",
     lambda tmp, mp, d: _bench(_damaged_protocol(tmp / "p.csv")),
     ValueError, r"p\.csv\.protocol\.json is damaged"),
    case("benchmark_damaged_row_in_the_results_file",
     lambda tmp, mp, d: _bench(_damaged_row(tmp / "r.csv")),
     ValueError, r"r\.csv: line 2 is not a row of results \(invalid literal"),
    case(
        "benchmark_output_where_nothing_can_be_written",
        lambda tmp, mp, d: _bench("/proc/x.csv", resume=False),
        ValueError, r"cannot write /proc/x\.csv", skip_if=NO_PROC, reason="needs /proc"),
    case("save_beside_a_folder_named_like_a_snapshot",
     lambda tmp, mp, d: _save_beside_a_folder_named_like_a_snapshot(tmp), None, None),
    case("deepfool_samples_too_small_for_the_module",
     lambda tmp, mp, d: deepfool(LeNet5(input_size=8), torch.zeros(2, 1, 3, 3)),
     ValueError, r"X samples of shape \(1, 3, 3\) do not fit the module LeNet5"),
    case("entropy_sampling_with_an_svc_without_probabilities",
     lambda tmp, mp, d: entropy_sampling(SVC().fit(d[0][:40].reshape(40, -1), d[1][:40]),
                                         d[0][40:60].reshape(20, -1), 2),
     TypeError, r"EntropySampling needs predicted class probabilities.*SVC\(probability=True\)"),
    case("n_initial_true",
     lambda tmp, mp, d: ActiveLearningClassifier(LogisticRegression(), n_initial=True, budget=3)
     .fit(d[0][:40].reshape(40, -1), d[1][:40]),
     ValueError, r"'n_initial' parameter .* must be an integer, not a bool"),
    case("labels_mixing_text_and_numbers_estimator",
     lambda tmp, mp, d: ActiveLearningClassifier(LogisticRegression(), n_initial=2, budget=3)
     .fit(d[0][:4].reshape(4, -1), np.array([1, "a", 2.5, 3], dtype=object)),
     ValueError, r"y mixes label types \(int, str, float"),
    case("labels_mixing_text_and_numbers_learner",
     lambda tmp, mp, d: ActiveLearner(LogisticRegression())
     .fit(d[0][:4].reshape(4, -1), np.array([1, "a", 2.5, 3], dtype=object)),
     ValueError, r"y mixes label types \(int, str, float"),
    case("serve_label_studio_port_in_use",  # not in the list: found on the way
     lambda tmp, mp, d: _serve_on_a_port_in_use(tmp),
     OSError, r"cannot listen on 127\.0\.0\.1:\d+: "),
    case("serve_label_studio_port_out_of_range",
     lambda tmp, mp, d: _serve_on_a_port_out_of_range(tmp),
     ValueError, r"port must be an integer in \[0, 65535\], got 70000"),
    case("regressor_with_the_default_strategy",
     lambda tmp, mp, d: ActiveLearner(GaussianProcessRegressor(), X_training=d[0][:5].reshape(5, -1),
                                      y_training=d[1][:5].astype(float)).query(d[0][5:30].reshape(25, -1)),
     ValueError, r"GaussianProcessRegressor is a regressor.*none of skdfal's registered query strategies "
                 r"does regression.*query_strategy="),
]


@pytest.mark.parametrize(
    "call, error, pattern",
    LIBRARY_CASES,
)
def test_library_names_the_parameter_or_file(tmp_path, monkeypatch, digits, call, error, pattern):
    if error is None:
        call(tmp_path, monkeypatch, digits)
        return
    with pytest.raises(error) as info:
        call(tmp_path, monkeypatch, digits)
    assert re.search(pattern, str(info.value), flags=re.S), str(info.value)


def test_no_more_processes_than_runs(tmp_path, monkeypatch):
    # --jobs 100000 forked that many processes (the machine stalled).
    import skdfal.experiments._benchmark as benchmark

    asked = []

    class Refused(Exception):
        pass

    def pool(max_workers, **kwargs):
        asked.append(max_workers)
        raise Refused

    monkeypatch.setattr(benchmark, "ProcessPoolExecutor", pool)
    with pytest.raises(Refused):
        _bench(tmp_path / "o.csv", n_jobs=100_000)
    with pytest.raises(Refused):  # 100 runs: no more processes than CPUs
        run_benchmark("digits", ["random"], list(range(100)), n_initial=10, n_instances=10, budget=10,
                      steps=1, pool_size=200, test_size=50, progress=False, n_jobs=100_000)
    assert asked == [1, min(100, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                               else os.cpu_count())]


def test_random_sampling_still_serves_a_regressor(digits):
    X, y = digits
    learner = ActiveLearner(GaussianProcessRegressor(), query_strategy=__import__("skdfal").random_sampling,
                            X_training=X[:5].reshape(5, -1), y_training=y[:5].astype(float))
    indices, _ = learner.query(X[5:30].reshape(25, -1), n_instances=3)
    assert len(set(indices.tolist())) == 3


# ------------------------------------------------------------ warnings
class WarnCtx:
    """Nets and pools the warning cases share (computed once)."""

    def __init__(self, digits):
        X, y = digits
        self.floats = X[:60].astype(np.float32)  # digits images are floats in [0, 1]
        self.uint8 = np.round(self.floats * 255).astype(np.uint8)
        self.y = y[:60]
        self.net = _lenet_fit(self.floats, self.y)
        self.learner = ActiveLearner(make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1,
                                                     random_state=0),
                                     X_training=self.floats, y_training=self.y)
        # An affine model that predicts class 1 on the whole pool (see test_weak_models).
        lin = nn.Linear(2, 3)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]))
            lin.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
        self.one_class = lin
        self.pool2 = np.random.RandomState(1).rand(30, 2).astype(np.float32) * 2
        dead = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        with torch.no_grad():
            dead[0].weight.fill_(1.0)
            dead[0].bias.fill_(-10.0)
            dead[2].bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
        self.dead = dead
        self.pool4 = np.random.RandomState(0).rand(20, 4).astype(np.float32)
        # A fitted net whose last layer favours class 1 by far: class 1 everywhere.
        net = _lenet_fit(self.floats, self.y)
        last = [m for m in net.module_.modules() if isinstance(m, nn.Linear)][-1]
        with torch.no_grad():
            last.bias[1] = 1e4
        self.one_class_learner = ActiveLearner(net, query_strategy="auto")


@pytest.fixture(scope="module")
def ctx(digits, tmp_path_factory):
    c = WarnCtx(digits)
    c.tmp = tmp_path_factory.mktemp("sessions")
    return c


def _damaged_journal(directory, *, torn):
    """A session with three labels whose journal ends in a torn record, or has a damaged line 3."""
    from skdfal import load_digits_images

    _, y = load_digits_images()
    with LabelingSession(_small_session(directory)) as session:
        for _ in range(3):
            index = session.current()
            session.teach(index, int(y[index]))
    journal = directory / "journal.jsonl"
    if torn:  # a crash in the middle of an append
        with open(journal, "ab") as fh:
            fh.write(b'{"seq": 9')
    else:
        lines = journal.read_bytes().splitlines(keepends=True)
        lines[2] = b"{not json\n"
        journal.write_bytes(b"".join(lines))
    return directory


# (id, call(ctx), pattern)
WARNING_CASES = [
    case("predict_uint8_after_training_on_floats",
     lambda c: c.net.predict(c.uint8), r"dtype uint8.*trained on floats in \[0, 1\].*input_scale=1/255"),
    case("predict_proba_uint8_tensor_after_training_on_floats",
     lambda c: c.net.predict_proba(torch.as_tensor(c.uint8)), r"dtype torch\.uint8.*input_scale=1/255"),
    case("pipeline_predict_uint8_after_training_on_floats",  # sklearn's frames are skipped too
     lambda c: make_pipeline(FunctionTransformer(), c.net).predict(c.uint8), r"dtype uint8.*input_scale=1/255"),
    case("learner_predict_uint8_after_training_on_floats",
     lambda c: c.learner.predict(c.uint8), r"dtype uint8.*input_scale=1/255"),
    case("dfal_function_form_one_class_model",
     lambda c: dfal_margin(c.one_class, c.pool2, 4), r"predicts class 1 for every sample"),
    case("dfal_object_form_one_class_model",
     lambda c: DFALMargin()(c.one_class, c.pool2, 4), r"predicts class 1 for every sample"),
    case("dfal_through_a_learner_one_class_net",
     lambda c: c.one_class_learner.query(c.floats, n_instances=4), r"predicts class 1 for every sample"),
    case("dfal_screening_one_class_model",
     lambda c: dfal_margin(c.one_class, c.pool2, 4, screening=True), r"predicts class 1 for every sample"),
    case("session_open_drops_a_torn_last_record",  # pointed at labeling/_open.py before
     lambda c: LabelingSession(_damaged_journal(c.tmp / "torn", torn=True)).close(),
     r"journal\.jsonl: line \d+: torn last line"),
    case("session_readonly_open_drops_a_torn_last_record",
     lambda c: LabelingSession(_damaged_journal(c.tmp / "torn-ro", torn=True), readonly=True).close(),
     r"journal\.jsonl: line \d+: torn last line"),
    case("session_open_skips_a_damaged_line",
     lambda c: LabelingSession(_damaged_journal(c.tmp / "skip", torn=False), on_corrupt="skip").close(),
     r"journal\.jsonl: line 3: .*; skipped"),
    case("dfal_nothing_flips",
     lambda c: DFALMargin(random_state=0)(c.dead, c.pool4, 5), r"could not flip 20 of 20"),
    case("dfal_screening_nothing_flips",
     lambda c: dfal_margin(c.dead, c.pool4, 5, screening=True, random_state=0), r"could not flip"),
]


@pytest.mark.parametrize("call, pattern", WARNING_CASES)
def test_warnings_point_at_the_callers_line(ctx, call, pattern):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(ctx)
    matching = [w for w in caught if re.search(pattern, str(w.message), flags=re.S)]
    assert matching, [str(w.message) for w in caught]
    for w in matching:
        assert w.filename == __file__, f"{w.filename}:{w.lineno}"


def test_no_scale_warning_for_integer_training_or_float_input(ctx):
    net_uint8 = _lenet_fit(ctx.uint8, ctx.y)  # trained on uint8: predicting uint8 is consistent
    scaled = _lenet_fit(ctx.uint8, ctx.y, input_scale=1 / 255)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net_uint8.predict(ctx.uint8)
        scaled.predict(ctx.uint8)
        ctx.net.predict(ctx.floats)  # floats as in training
