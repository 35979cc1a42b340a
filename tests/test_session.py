"""Labeling sessions: round trip, atomic writes, journal damage, safe loading."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import warnings

import numpy as np
import pytest

from skdfal.labeling import LabelingSession, SessionError, SessionWarning, make_digits_session
from skdfal.labeling._fs import SessionDir
from skdfal.strategies import all_strategies, get_strategy


def _label_batches(session, y, n):
    """Answer ``n`` samples with the true labels, as a person would."""
    for _ in range(n):
        index = session.current()
        session.teach(index, int(y[index]))


def _crash(session):
    """Drop a session as a killed process would: no snapshot, descriptors closed."""
    session.close(save=False)


@pytest.fixture
def small_session(tmp_path):
    session = make_digits_session(
        tmp_path / "s", query_strategy="random_sampling", n_instances=4, max_epochs=1
    )
    yield session
    session.close(save=False)


# ---------------------------------------------------------------- round trip
def test_round_trip_restores_labels_copies_weights_and_queue(tmp_path, digits):
    X, y = digits
    directory = tmp_path / "s"
    session = make_digits_session(
        directory, query_strategy="dfal_margin", strategy_params={"max_iter": 20},
        subsample=40, n_instances=4, max_epochs=10, adversarial_augmentation=True,
    )
    _label_batches(session, y, 9)  # two batches, a retrain, copies from the second on
    session.skip(session.current())
    session.undo()  # the skip
    session.skip(session.current())
    labels, skipped, queue = session.labels, session.skipped, session.queue
    session.retrain()
    copies = {seq: session._state.adversarial[seq] for seq in session._state.adversarial}
    assert copies, "DFAL augmentation should have produced adversarial copies"
    proba = session.learner.predict_proba(X[:50])
    paid, n_train = session.learner.n_labels_paid_, session.learner.n_training_samples_
    session.close()

    with LabelingSession(directory) as again:
        assert again.labels == labels and list(again.labels) == list(labels)  # order kept
        assert again.skipped == skipped
        assert again.queue == queue
        assert not again.stale
        assert set(again._state.adversarial) == set(copies)
        for seq, copy in copies.items():
            np.testing.assert_array_equal(again._state.adversarial[seq], copy)
        # Weights came back: identical predictions without retraining.
        np.testing.assert_array_equal(again.learner.predict_proba(X[:50]), proba)
        assert again.learner.n_labels_paid_ == paid == 9
        assert again.learner.n_training_samples_ == n_train == 9 + len(copies)
        strategy = again.learner.query_strategy  # rebuilt from its name and JSON parameters
        assert type(strategy).__name__ == "DFALMargin"
        assert (strategy.max_iter, strategy.subsample) == (20, 40)
        # Copies taught after the snapshot travel in the journal, bit for bit.
        n_before = len(again._state.adversarial)
        for _ in range(8):  # until a copy is taught after the snapshot
            _label_batches(again, y, 1)
            if len(again._state.adversarial) > n_before:
                break
        copies = dict(again._state.adversarial)
        assert len(copies) > n_before
        n_labels = again.n_labels
        _crash(again)
    with LabelingSession(directory) as third:
        assert len(third.labels) == n_labels and third.stale
        assert set(third._state.adversarial) == set(copies)
        for seq, copy in copies.items():
            np.testing.assert_array_equal(third._state.adversarial[seq], copy)


def test_journal_is_truth_after_crash_without_snapshot(tmp_path, digits):
    _, y = digits
    session = make_digits_session(tmp_path / "s", query_strategy="random_sampling",
                                  n_instances=3, max_epochs=1)
    _label_batches(session, y, 7)
    undone = session.undo()
    labels, queue = session.labels, session.queue
    _crash(session)
    with LabelingSession(tmp_path / "s") as again:
        assert again.labels == labels and len(labels) == 6
        assert again.stale  # labels arrived after the last snapshot: retrain on next query
        assert all(int(y[i]) == lab for i, lab in again.labels.items())
        # The batch in progress comes back, the undone sample first.
        assert again.queue == queue and queue[0] == undone["index"]
        _label_batches(again, y, len(queue))
        nxt = again.current()  # a new batch: retrained on all labels first
        assert nxt not in again.labels and not again.stale
        assert again.learner.n_labels_paid_ == 6 + len(queue) == again.n_labels


def test_teach_refuses_duplicates_and_bad_labels(small_session):
    i = small_session.current()
    small_session.teach(i, 3)
    with pytest.raises(ValueError, match="labeled already"):
        small_session.teach(i, 4)
    with pytest.raises(ValueError, match="out of range"):
        small_session.teach(small_session.current(), 10)
    with pytest.raises(TypeError):
        small_session.teach(1.5, 1)
    assert small_session.labels == {i: 3}


def test_lock_and_readonly(small_session):
    with pytest.raises(SessionError, match="already open in this Python process.*close"):
        LabelingSession(small_session.directory)
    fcntl = pytest.importorskip("fcntl")
    # Another process holding the lock (flock conflicts between open files, as between processes).
    fd = os.open(small_session.directory / "lock", os.O_RDWR)
    small_session.close()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SessionError, match="open for labeling elsewhere"):
            LabelingSession(small_session.directory)
    finally:
        os.close(fd)
    with LabelingSession(small_session.directory) as session:  # free again
        session.teach(session.current(), 1)
        reader = LabelingSession(small_session.directory, readonly=True)  # no lock needed
        assert reader.n_labels == 1
        with pytest.raises(SessionError, match="readonly"):
            reader.teach(reader.current(), 2)


def test_registered_strategies_only(tmp_path, digits):
    X, _ = digits
    with pytest.raises(TypeError, match="registered strategy"):
        LabelingSession.create(tmp_path / "a", X[:20], query_strategy=lambda *a: None)
    assert get_strategy("dfal_margin").cls.__name__ == "DFALMargin"
    assert get_strategy("random_sampling") is all_strategies()["random"]
    # A session file naming anything else is refused on opening.
    LabelingSession.create(tmp_path / "b", X[:20], query_strategy="random_sampling").close()
    cfg = json.loads((tmp_path / "b" / "session.json").read_text())
    assert cfg["strategy"]["name"] == "random"  # the registry key is what is saved
    cfg["strategy"]["name"] = "os.system"
    (tmp_path / "b" / "session.json").write_text(json.dumps(cfg))
    with pytest.raises(SessionError, match=r"session\.json.*unknown strategy 'os.system'"):
        LabelingSession(tmp_path / "b")


@pytest.mark.parametrize("name", ["random_sampling", "RandomSampling", "randomsampling", "random"])
def test_sessions_saved_with_older_strategy_names_still_open(tmp_path, digits, name):
    X, _ = digits
    LabelingSession.create(tmp_path / "s", X[:20], query_strategy="random_sampling").close()
    _edit_json(tmp_path / "s" / "session.json",
               strategy={"name": name, "params": {"subsample": None, "random_state": None}})
    with LabelingSession(tmp_path / "s", readonly=True) as session:
        assert type(session.learner.query_strategy).__name__ == "RandomSampling"
        assert not session.shows_adversarial  # from the strategy's tags


def test_numpy_scalars_are_accepted_as_parameters(tmp_path, digits):
    X, y = digits
    session = LabelingSession.create(
        tmp_path / "s", X[:30], query_strategy="dfal_margin", strategy_params={"max_iter": np.int64(5)},
        estimator={"max_epochs": np.int64(1), "lr": np.float32(0.01), "input_shape": (1, 8, 8)},
        n_instances=np.int64(3), random_state=np.int64(4), class_names=np.arange(10),
        initial_labels={np.int64(0): np.int64(int(y[0]))},
    )
    with session:
        assert session.n_instances == 3 and session.labels == {0: int(y[0])}
        assert session.learner.query_strategy.max_iter == 5
        assert len(session.query()) == 3


def test_initial_labels_external_pool_and_exhaustion(tmp_path, digits):
    X, y = digits
    pool = X[:7]
    session = LabelingSession.create(
        tmp_path / "s", pool, query_strategy="random_sampling", estimator={"max_epochs": 1},
        n_instances=4, initial_labels=([0, 1], [int(y[0]), int(y[1])]), store_pool=False,
    )
    assert session.labels == {0: int(y[0]), 1: int(y[1])}
    assert not (tmp_path / "s" / "pool.npy").exists()
    seen = []
    while (index := session.current()) is not None:
        seen.append(index)
        session.teach(index, int(y[index]))
    assert sorted(seen) == [2, 3, 4, 5, 6] and session.n_labels == 7
    assert len(session.query()) == 0
    session.close()
    with pytest.raises(ValueError, match="store_pool=False; pass pool="):
        LabelingSession(tmp_path / "s")
    with pytest.raises(SessionError, match=r"session\.json: the pool is .* expects"):
        LabelingSession(tmp_path / "s", pool=X[:8])
    with LabelingSession(tmp_path / "s", pool=pool) as again:
        assert again.labels == {i: int(y[i]) for i in range(7)}


# ------------------------------------------------------------- atomic writes
def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old")

    def half_then_crash(fh):
        fh.write(b"new but incomp")
        raise RuntimeError("crash mid-write")

    with SessionDir(tmp_path) as folder:
        with pytest.raises(RuntimeError):
            folder.atomic_write("f.json", half_then_crash)
        assert target.read_text() == "old"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]  # no temp left over
        folder.atomic_write("f.json", lambda fh: fh.write(b"new"))
    assert target.read_text() == "new"


def test_crash_during_save_leaves_previous_snapshot(small_session, digits, monkeypatch):
    _, y = digits
    _label_batches(small_session, y, 5)  # a retrain, hence a snapshot with weights
    small_session.save()
    before = (small_session.directory / "snapshot.json").read_bytes()
    _label_batches(small_session, y, 2)
    net = small_session.learner.estimator_

    def torn_save(f_params):
        f_params.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(net, "save_params", torn_save)
    with pytest.raises(OSError, match="disk full"):
        small_session.save()
    assert (small_session.directory / "snapshot.json").read_bytes() == before
    labels = small_session.labels
    _crash(small_session)
    with LabelingSession(small_session.directory) as again:
        assert again.labels == labels  # the snapshot plus the journal


# ------------------------------------------------------------------- journal
def test_torn_last_line_is_skipped_with_warning_and_repaired(small_session):
    s = small_session
    for label in (1, 2, 3):
        s.teach(s.current(), label)
    labels = s.labels
    directory = s.directory
    _crash(s)
    journal = directory / "journal.jsonl"
    with open(journal, "ab") as fh:
        fh.write(b'{"check":"00","index":5,"label":4,"op":"la')  # killed mid-append
    with pytest.warns(SessionWarning, match=r"journal\.jsonl: line 6: torn"):
        again = LabelingSession(directory)
    assert again.labels == labels
    again.teach(again.current(), 7)
    labels = again.labels
    _crash(again)
    assert (directory / "journal.jsonl.torn").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: no warning any more
        with LabelingSession(directory) as third:
            assert third.labels == labels and len(labels) == 4


def test_corrupt_last_line_warns_corrupt_middle_line_names_file(small_session):
    s = small_session
    for label in (1, 2, 3):
        s.teach(s.current(), label)
    directory, labels = s.directory, s.labels
    _crash(s)
    journal = directory / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    # lines: header, the query record, three labels, "" after the final newline.
    last = lines[-2].replace(b'"label":3', b'"label":8')  # checksum no longer matches
    journal.write_bytes(b"\n".join(lines[:-2] + [last, b""]))
    with pytest.warns(SessionWarning, match="checksum mismatch"):
        with LabelingSession(directory, readonly=True) as again:
            assert len(again.labels) == 2 and again.labels.items() <= labels.items()
    middle = lines[2].replace(b'"label":1', b'"label":9')
    journal.write_bytes(b"\n".join(lines[:2] + [middle] + lines[3:]))
    with pytest.raises(SessionError, match=r"journal\.jsonl: line 3: checksum mismatch"):
        LabelingSession(directory)
    with pytest.warns(SessionWarning, match="line 3"):
        with LabelingSession(directory, on_corrupt="skip", readonly=True) as again:
            assert len(again.labels) == 2


# -------------------------------------------------- damaged / foreign files
def _edit_json(path, **changes):
    obj = json.loads(path.read_text())
    obj.update(changes)
    path.write_text(json.dumps(obj))


@pytest.fixture
def closed_session(small_session, digits):
    _, y = digits
    _label_batches(small_session, y, 5)
    small_session.close()
    return small_session.directory


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda d: _edit_json(d / "session.json", version=99), r"session\.json: format version 99.*newer"),
        (lambda d: _edit_json(d / "session.json", format="other-tool"), r"session\.json: not a skdfal-session"),
        (lambda d: (d / "session.json").write_bytes(b'{"format": "skdfal-sess'), r"session\.json: not valid JSON"),
        (lambda d: (d / "session.json").unlink(), r"session\.json: missing"),
        (lambda d: _edit_json(d / "snapshot.json", version=2), r"snapshot\.json: format version 2.*newer"),
        (lambda d: _edit_json(d / "snapshot.json", session_id="0" * 32), r"snapshot\.json: snapshot of another"),
        (lambda d: _truncate(d / "pool.npy"), r"pool\.npy: checksum mismatch"),
        (lambda d: _truncate(_current_file(d, "labels")), r"labels-\d+\.npy: checksum"),
        (lambda d: _truncate(_current_file(d, "weights")), r"weights-\d+\.pt: checksum"),
        (lambda d: _replace_keep_manifest(d, "weights", b"PK\x03\x04truncated"), r"weights-\d+\.pt: not a plain"),
        (lambda d: _replace_keep_manifest(d, "labels", b"\x93NUMPY garbage"), r"labels-\d+\.npy: not a plain"),
        (lambda d: _journal_header(d, journal_id="x"), r"journal\.jsonl: line 1: journal of another session"),
        (lambda d: _journal_header(d, version=7), r"journal\.jsonl: line 1: .*newer skdfal"),
        (lambda d: (d / "journal.jsonl").write_bytes(b""), r"journal\.jsonl: empty or truncated"),
    ],
)
def test_damaged_files_raise_clear_errors_naming_the_file(closed_session, damage, match):
    damage(closed_session)
    with pytest.raises(SessionError, match=match):
        LabelingSession(closed_session)


def sha256_file(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _current_file(directory, key):
    """The snapshot file ``snapshot.json`` names (the previous generation's stay beside it)."""
    manifest = json.loads((directory / "snapshot.json").read_text())
    return directory / "snapshots" / manifest["files"][key]["name"]


def _replace_keep_manifest(directory, key, payload):
    """Replace a snapshot file *and* fix its checksum: only the loader stands in the way."""
    manifest = json.loads((directory / "snapshot.json").read_text())
    path = directory / "snapshots" / manifest["files"][key]["name"]
    path.write_bytes(payload)
    manifest["files"][key]["sha256"] = sha256_file(path)
    (directory / "snapshot.json").write_text(json.dumps(manifest))
    return path


def _journal_header(directory, **changes):
    journal = directory / "journal.jsonl"
    header, rest = journal.read_bytes().split(b"\n", 1)
    obj = json.loads(header)
    obj.update(changes)
    journal.write_bytes(json.dumps(obj).encode() + b"\n" + rest)


# ----------------------------------------------------------- malicious pickle
class _Payload:
    """Unpickling this creates a directory: the stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_payload_is_live(tmp_path):
    # Proves the payload would run if anything unpickled it (so the next test can fail).
    pickle.loads(pickle.dumps(_Payload(tmp_path / "ran")))
    assert (tmp_path / "ran").exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch notes the foreign pickle
@pytest.mark.parametrize("target", ["weights-torch", "weights-pickle", "labels", "pool"])
def test_malicious_pickle_is_refused_not_run(closed_session, tmp_path, target):
    import torch

    marker = tmp_path / "pwned"
    payload = _Payload(marker)
    if target == "weights-torch":
        path = _replace_keep_manifest(closed_session, "weights", b"")
        torch.save({"weight": payload}, path)
        _replace_keep_manifest(closed_session, "weights", path.read_bytes())
    elif target == "weights-pickle":
        _replace_keep_manifest(closed_session, "weights", pickle.dumps(payload))
    elif target == "labels":
        path = _replace_keep_manifest(closed_session, "labels", b"")
        np.save(path, np.array([payload, 1], dtype=object), allow_pickle=True)
        _replace_keep_manifest(closed_session, "labels", path.read_bytes())
    else:  # the pool, with session.json's checksum updated too
        pool = closed_session / "pool.npy"
        np.save(pool, np.array([payload], dtype=object), allow_pickle=True)
        _edit_json(closed_session / "session.json",
                   pool=dict(json.loads((closed_session / "session.json").read_text())["pool"],
                             sha256=sha256_file(pool)))
    with pytest.raises(SessionError, match=r"(weights-\d+\.pt|labels-\d+\.npy|pool\.npy): .*refused"):
        LabelingSession(closed_session)
    assert not marker.exists()


@pytest.mark.gpu
def test_session_trained_on_gpu_resumes_on_cpu(tmp_path, digits):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    X, y = digits
    session = LabelingSession.create(tmp_path / "g", X[:100], query_strategy="random_sampling",
                                     estimator={"max_epochs": 2}, n_instances=3, device="cuda")
    _label_batches(session, y, 4)  # the fourth answer comes after a retrain on the GPU
    proba = session.learner.predict_proba(X[:10])
    session.close()
    with LabelingSession(tmp_path / "g", device="cpu") as again:
        assert str(next(again.learner.estimator_.module_.parameters()).device) == "cpu"
        np.testing.assert_allclose(again.learner.predict_proba(X[:10]), proba, atol=1e-5)


def test_new_sessions_train_with_the_step_trainer_old_ones_keep_their_epochs(tmp_path, digits):
    """The default network is make_classifier's few-label trainer; a session file
    written before it existed (an epoch loop, no train_steps) still opens as it was."""
    X, _ = digits
    LabelingSession.create(tmp_path / "new", X[:20], query_strategy="random_sampling").close()
    spec = json.loads((tmp_path / "new" / "session.json").read_text())["estimator"]
    assert spec["train_steps"] == "auto" and "max_epochs" not in spec
    with LabelingSession(tmp_path / "new", readonly=True) as session:
        net = session.learner.estimator
        assert dict(net.callbacks)["step_budget"].steps == "auto"
        assert net.lr == 5e-3 and net.batch_size == 32

    LabelingSession.create(tmp_path / "old", X[:20], query_strategy="random_sampling").close()
    _edit_json(tmp_path / "old" / "session.json", estimator={
        "module": "lenet5", "max_epochs": 20, "lr": 2e-3, "batch_size": 16, "random_state": 0,
        "input_shape": [1, 8, 8], "n_classes": 10})
    with LabelingSession(tmp_path / "old", readonly=True) as session:
        net = session.learner.estimator
        assert (net.max_epochs, net.lr, net.batch_size) == (20, 2e-3, 16)
        assert "step_budget" not in dict(net.callbacks or [])


def test_a_session_records_every_retrain_in_its_stopping_rule(small_session, digits):
    # StabilizingPredictions needs the predictions of earlier rounds: a session that only asked
    # (recording nothing) would never let it stop.
    from skdfal import StabilizingPredictions

    _, y = digits
    small_session.stopping = StabilizingPredictions(stop_set_size=50, window=1, threshold=0.0)
    for _ in range(3):
        _label_batches(small_session, y, 4)
        small_session.retrain()
    assert len(small_session.stopping.kappas_) == 2  # one agreement per retrain after the first
