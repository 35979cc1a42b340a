"""The Label Studio ML backend without a Label Studio server (issue 21.1): protocol, safety, state.

The payloads are those Label Studio 1.23 sends (label_studio/ml/api_connector.py,
webhooks/models.py); tests/test_labelstudio_integration.py runs a real server.
"""

import http.client
import json
import os
import threading

import numpy as np
import pytest
from PIL import Image

from skdfal import LabelingSession, LabelStudioBackend, load_digits_images
from skdfal.labeling import SessionError
from skdfal.labeling.frontends.label_studio._files import (
    load_image_folder,
    read_regular,
    resolve_task_image,
)
from skdfal.labeling.frontends.label_studio._http import make_server

CLASSES = [str(c) for c in range(10)]
CONFIG = ('<View><Image name="img" value="$picture"/><Choices name="digit" toName="img">'
          + "".join(f'<Choice value="{c}"/>' for c in CLASSES) + "</Choices></View>")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_images()
    return X[:60], y[:60]


def write_images(folder, X, prefix=""):
    folder.mkdir(parents=True, exist_ok=True)
    for i, x in enumerate(X):
        Image.fromarray(np.round(x[0] * 255).astype(np.uint8)).save(folder / f"{prefix}{i:04d}.png")


@pytest.fixture
def setup(tmp_path, digits):
    """Pool images, Label Studio's upload folder holding copies of them, a backend."""
    X, y = digits
    write_images(tmp_path / "pool", X)
    uploads = tmp_path / "lsdata" / "media" / "upload" / "3"
    uploads.mkdir(parents=True)
    for i in range(len(X)):  # Label Studio renames uploads <8 hex>-<name>; the bytes stay
        (uploads / f"ab12cd{i:02d}-{i:04d}.png").write_bytes((tmp_path / "pool" / f"{i:04d}.png").read_bytes())
    backend = LabelStudioBackend.create(
        tmp_path / "backend", tmp_path / "pool", CLASSES, estimator={"max_epochs": 2}, n_instances=5,
        query_strategy="dfal_margin", label_studio_data=tmp_path / "lsdata", retrain_every=5, stopping=None,
    )
    yield backend, X, y, tmp_path
    backend.close()


def task(i, tid=None):
    return {"id": tid or 100 + i, "data": {"picture": f"/data/upload/3/ab12cd{i:02d}-{i:04d}.png"}}


def annotation(i, label, aid=None, cancelled=False):
    return {"id": aid or 1000 + i, "was_cancelled": cancelled,
            "result": [] if cancelled else [{"from_name": "digit", "to_name": "img", "type": "choices",
                                             "value": {"choices": [str(label)]}}]}


def created(i, label, **kw):
    return {"action": "ANNOTATION_CREATED", "annotation": annotation(i, label, **kw), "task": task(i),
            "project": {"id": 3, "label_config": CONFIG}}


# ------------------------------------------------------------------- reading images safely
def test_task_urls_resolve_inside_their_roots(tmp_path):
    up, local = tmp_path / "up", tmp_path / "local"
    (up / "3").mkdir(parents=True)
    (local / "a b").mkdir(parents=True)
    for path in (up / "3" / "x.png", local / "a b" / "y.png"):
        path.write_bytes(b"img")
    assert resolve_task_image("/data/upload/3/x.png", upload_root=up, local_files_root=None) == up / "3" / "x.png"
    assert resolve_task_image("http://localhost:8080/data/upload/3/x.png", upload_root=up,
                              local_files_root=None) == up / "3" / "x.png"
    assert resolve_task_image("/data/local-files/?d=a%20b/y.png", upload_root=None,
                              local_files_root=local) == local / "a b" / "y.png"


@pytest.mark.parametrize("url", [
    "/data/upload/../secret.png",
    "/data/upload/3/../../secret.png",
    "/data/upload//etc/passwd",
    "/data/local-files/?d=/etc/passwd",
    "/data/local-files/?d=../secret.png",
    "/data/local-files/?d=",
    "https://example.com/image.png",
    "s3://bucket/key.png",
    "/data/upload/3/nul\x00.png",
])
def test_task_urls_leaving_their_roots_are_refused(tmp_path, url):
    (tmp_path / "root").mkdir()
    with pytest.raises(ValueError):
        resolve_task_image(url, upload_root=tmp_path / "root", local_files_root=tmp_path / "root")


def test_links_on_the_way_are_refused(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"secret")
    (root / "link.png").symlink_to(outside / "secret.png")
    (root / "dir").symlink_to(outside, target_is_directory=True)
    for url in ("/data/upload/link.png", "/data/upload/dir/secret.png"):
        with pytest.raises(ValueError, match="link"):
            resolve_task_image(url, upload_root=root, local_files_root=None)
    # No root configured: refused with the option to set.
    with pytest.raises(ValueError, match="--local-files-root"):
        resolve_task_image("/data/local-files/?d=x.png", upload_root=root, local_files_root=None)


def test_special_and_large_files_are_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_regular(fifo, 100)  # O_NONBLOCK: never waits for a writer
    big = tmp_path / "big.png"
    big.write_bytes(b"x" * 101)
    with pytest.raises(ValueError, match="over the limit"):
        read_regular(big, 100)


def test_pool_images_are_decoded_with_a_pixel_bound(tmp_path, monkeypatch):
    import skdfal.labeling.frontends.label_studio._files as ls

    write_images(tmp_path / "ok", np.zeros((2, 1, 8, 8), np.float32))
    monkeypatch.setattr(ls, "MAX_IMAGE_PIXELS", 63)
    with pytest.raises(ValueError, match="over 63"):
        load_image_folder(tmp_path / "ok")
    monkeypatch.undo()
    (tmp_path / "ok" / "9999.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="9999.png"):
        load_image_folder(tmp_path / "ok")


def test_pool_folder_sizes_and_modes(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.new("RGB", (8, 6), (255, 0, 0)).save(folder / "a.png")
    Image.new("L", (4, 4), 128).save(folder / "b.jpg")
    (folder / "notes.txt").write_text("ignored")
    os.symlink(folder / "a.png", folder / "c.png")  # links are skipped
    with pytest.raises(ValueError, match="size="):
        load_image_folder(folder)
    X, images = load_image_folder(folder, mode="RGB", size=(5, 7))
    assert X.shape == (2, 3, 5, 7) and X.dtype == np.float32
    assert [i["name"] for i in images] == ["a.png", "b.jpg"]
    assert np.allclose(X[0, 0], 1.0) and np.allclose(X[0, 1:], 0.0)  # red stays red


# ---------------------------------------------------------------------------- protocol
def test_setup_checks_the_project_classes(setup):
    backend, *_ = setup
    assert backend.setup({"project": "3.1", "schema": CONFIG})["model_version"] == backend.model_version
    wrong = CONFIG.replace('"9"', '"nine"')
    with pytest.raises(ValueError, match="nine"):
        backend.setup({"project": "3.1", "schema": wrong})
    with pytest.raises(ValueError, match="Choices"):
        backend.setup({"schema": '<View><Image name="i" value="$i"/></View>'})


def test_cold_predictions_score_every_task_without_pre_annotation(setup):
    backend, X, *_ = setup
    out = backend.predict({"tasks": [task(i) for i in range(len(X))], "label_config": CONFIG})
    results = out["results"]
    assert len(results) == len(X)
    assert all(r["result"] == [] and r["model_version"] == backend.model_version for r in results)
    scores = sorted(r["score"] for r in results)
    assert scores == [k / len(X) for k in range(len(X))]  # a full order, lowest first


def test_unknown_and_unreadable_tasks_get_an_empty_prediction(setup):
    backend, *_ = setup
    tasks = [{"id": 1, "data": {"picture": "/data/upload/3/missing.png"}},
             {"id": 2, "data": {"picture": "https://example.com/x.png"}},
             {"id": 3, "data": {}}, "not a task"]
    results = backend.predict({"tasks": tasks, "label_config": CONFIG})["results"]
    assert [r["result"] for r in results] == [[]] * 4 and all(r["score"] == 1.0 for r in results)


def test_annotations_train_and_order_the_pool_by_dfal(setup):
    backend, X, y, _ = setup
    # Holding the backend's lock keeps the retraining thread waiting, so that it sees all ten
    # labels at once (otherwise a first retraining may start after any of them, and the next
    # is due only five labels later: the model's version would depend on timing).
    with backend._lock:
        for i in range(10):
            backend.webhook(created(i, y[i]))
    assert backend.session.labels == {i: int(y[i]) for i in range(10)}  # journaled on receipt
    assert backend.wait_until_trained(300)
    assert backend.model_version.endswith("-10")
    results = backend.predict({"tasks": [task(i) for i in range(len(X))], "label_config": CONFIG})["results"]
    # Pre-annotations: the model's class, on the project's own tag names.
    proba = backend.session.learner.predict_proba(X)
    for i, r in enumerate(results):
        (item,) = r["result"]
        assert (item["from_name"], item["to_name"], item["type"]) == ("digit", "img", "choices")
        assert item["value"]["choices"] == [CLASSES[int(np.argmax(proba[i]))]]
    # Ordering: lowest score first is DFAL's order of the unlabeled images (independently:
    # the smallest DeepFool margins of the trained model); labeled images come last.
    scores = np.array([r["score"] for r in results])
    assert (scores[:10] == 1.0).all()
    import torch

    from skdfal import deepfool

    net = backend.session.learner.estimator_
    # DeepFool on the module, with the net's own input preparation (standardisation).
    norms = deepfool(net.module_, torch.as_tensor(net.transform_input(X[10:]))).norms.numpy()
    by_score = 10 + np.argsort(scores[10:], kind="stable")
    by_margin = 10 + np.argsort(norms, kind="stable")
    assert set(by_score[:5]) == set(by_margin[:5])


def test_updates_deletions_and_skips(setup):
    backend, X, y, _ = setup
    for i in range(4):
        backend.webhook(created(i, 0, aid=50 + i))
    backend.webhook({"action": "ANNOTATION_UPDATED", "annotation": annotation(1, 7, aid=51), "task": task(1),
                     "project": {"label_config": CONFIG}})
    assert backend.session.labels == {0: 0, 1: 7, 2: 0, 3: 0}
    # One relabel record: the later labels are not touched (the latest change comes last).
    assert [a["index"] for a in backend.session.history] == [0, 2, 3, 1]
    assert backend.webhook({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 52}, {"id": 999}]}) == {
        "status": "ok", "removed": 1}
    assert backend.session.labels == {0: 0, 1: 7, 3: 0}
    backend.webhook(created(5, 0, aid=55, cancelled=True))
    assert backend.session.skipped == [5]
    # The same annotation again changes nothing; an unknown action is ignored.
    n = len(backend.session.history)
    backend.webhook(created(0, 0, aid=50))
    assert len(backend.session.history) == n
    assert backend.webhook({"action": "PROJECT_UPDATED"})["status"] == "ignored"
    # A bulk import of annotations (lists).
    backend.webhook({"action": "ANNOTATIONS_CREATED", "annotation": [annotation(8, 8), annotation(9, 9)],
                     "task": [task(8), task(9)], "project": {"label_config": CONFIG}})
    assert backend.session.labels[8] == 8 and backend.session.labels[9] == 9


def test_a_reopened_backend_keeps_labels_and_annotation_ids(setup):
    backend, X, y, tmp = setup
    for i in range(3):
        backend.webhook(created(i, y[i]))
    backend.close()
    again = LabelStudioBackend(tmp / "backend", label_studio_data=tmp / "lsdata", stopping=None)
    try:
        assert again.session.labels == {i: int(y[i]) for i in range(3)}
        # annotations.jsonl maps Label Studio's ids to pool images across restarts.
        assert again.webhook({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 1001}]})["removed"] == 1
        assert 1 not in again.session.labels
    finally:
        again.close()
    # The fixture's close() again is harmless.


def test_one_backend_per_folder_and_bad_folders(setup, tmp_path):
    backend, *_ = setup
    with pytest.raises(SessionError):
        LabelStudioBackend(tmp_path / "backend")  # the session is open: its lock refuses
    with pytest.raises(SessionError, match="images.json"):
        LabelStudioBackend(tmp_path / "pool")
    with pytest.raises(ValueError, match="not empty"):
        LabelStudioBackend.create(tmp_path / "backend", tmp_path / "pool", CLASSES)
    with pytest.raises(ValueError, match="class_names"):
        LabelStudioBackend.create(tmp_path / "new", tmp_path / "pool", ["only"])


def test_stopping_rules_speak_after_retraining(tmp_path, digits):
    from skdfal import LabelBudget

    X, y = digits
    write_images(tmp_path / "pool", X)
    backend = LabelStudioBackend.create(tmp_path / "b", tmp_path / "pool", CLASSES, estimator={"max_epochs": 1},
                                        n_instances=5, local_files_root=tmp_path, stopping=LabelBudget(5))
    try:
        for i in range(5):
            ann = {"id": i, "result": [{"from_name": "choice", "value": {"choices": [str(y[i])]}}]}
            backend.webhook({"action": "ANNOTATION_CREATED", "annotation": ann,
                             "task": {"id": i, "data": {"image": f"/data/local-files/?d=pool/{i:04d}.png"}}})
        assert backend.session.n_labels == 5  # the default config's names: image, choice
        assert backend.wait_until_trained(300)
        assert backend.health()["stop"] == "the label budget is spent: 5 of 5 labels paid"
    finally:
        backend.close()


# -------------------------------------------------------------------------------- HTTP
def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    payload = json.loads(response.read() or b"null")
    conn.close()
    return response.status, payload


def test_http_routes(setup):
    backend, X, y, _ = setup
    server = make_server(backend, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        status, health = request(port, "GET", "/health")
        assert status == 200 and health["status"] == "UP" and health["model_version"] == backend.model_version
        assert request(port, "POST", "/setup", {"schema": CONFIG})[0] == 200
        assert request(port, "POST", "/setup", {"schema": "<View/>"})[0] == 400
        status, out = request(port, "POST", "/predict", {"tasks": [task(0), task(1)], "label_config": CONFIG})
        assert status == 200 and len(out["results"]) == 2
        assert request(port, "POST", "/webhook", created(2, y[2]))[0] == 200
        assert backend.session.labels == {2: int(y[2])}
        assert request(port, "POST", "/predict", b"{not json")[0] == 400
        assert request(port, "POST", "/predict", {"no": "tasks"})[0] == 400
        assert request(port, "POST", "/predict", b"x", {"Content-Length": str(1 << 40)})[0] == 413
        assert request(port, "GET", "/elsewhere")[0] == 404
        assert request(port, "GET", "/versions")[1] == {"versions": [backend.model_version]}
    finally:
        server.shutdown()
        server.server_close()


def test_cli_needs_images_and_classes_the_first_time(tmp_path, capsys):
    from skdfal.cli import main

    assert main(["serve-label-studio", str(tmp_path / "b"), "--port", "0"]) == 2
    assert "holds no backend yet" in capsys.readouterr().err
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())
    with pytest.raises(SystemExit):
        main(["serve-label-studio", str(tmp_path / "b"), "--stop", "sometimes"])


def test_labeling_session_says_when_it_may_stop(tmp_path, digits):
    from skdfal import LabelBudget

    X, y = digits
    session = LabelingSession.create(tmp_path / "s", X, estimator={"max_epochs": 1}, n_instances=4,
                                     query_strategy="random_sampling")
    session.stopping = LabelBudget(4)
    try:
        for _ in range(4):
            i = session.current()
            session.teach(i, int(y[i]))
        assert session.stop_decision is None
        session.current()  # the next batch retrains: the rules are updated
        assert session.stop_decision.stop and str(session.stop_decision).startswith("you may stop: ")
    finally:
        session.close()


def test_terminal_labeler_says_you_may_stop(tmp_path, digits):
    import io

    from skdfal import LabelBudget
    from skdfal.cli._label import run_label_loop

    X, y = digits
    session = LabelingSession.create(tmp_path / "s", X, estimator={"max_epochs": 1}, n_instances=3,
                                     query_strategy="random_sampling")
    session.stopping = [LabelBudget(3)]
    answers = io.StringIO("1\n2\n3\n4\nq\n")
    out = io.StringIO()
    with session:
        run_label_loop(session, answers, out, ascii_images=False)
    text = out.getvalue()
    assert text.count("you may stop: the label budget is spent: 3 of 3 labels paid") == 1
    assert text.index("you may stop") > text.index("labeled #")  # after the third answer, not before
