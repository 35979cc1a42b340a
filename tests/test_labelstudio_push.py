"""Fresh predictions pushed to Label Studio after a retrain (issue 33.6), against a fake SDK client."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from test_labelstudio_backend import CLASSES, CONFIG, created, digits, task, write_images  # noqa: F401

from skdfal.labeling import LabelStudioBackend
from skdfal.labeling.frontends.label_studio import serve_label_studio
from skdfal.labeling.frontends.label_studio._push import PredictionPush, project_id


class FakeLabelStudio:
    """The three ``label-studio-sdk`` calls the push makes, recorded; ``fail`` makes creating predictions fail."""

    def __init__(self, tasks, fail=False):
        self._tasks, self.fail = tasks, fail
        self.tasks, self.predictions, self.projects = self, self, self
        self.made, self.versions, self.listed = [], {}, []
        self.updated = threading.Event()

    def list(self, project, fields):
        self.listed.append(project)
        return [type("Task", (), {"id": t["id"], "data": t["data"]})() for t in self._tasks]

    def create(self, **prediction):
        if self.fail:
            raise ConnectionError("Label Studio is away")
        self.made.append(prediction)

    def update(self, id, model_version):
        self.versions[id] = model_version
        self.updated.set()


@pytest.fixture
def pushed(tmp_path, digits):  # noqa: F811 - the shared fixture
    X, y = digits
    write_images(tmp_path / "pool", X)
    uploads = tmp_path / "lsdata" / "media" / "upload" / "3"
    uploads.mkdir(parents=True)
    for i in range(len(X)):
        (uploads / f"ab12cd{i:02d}-{i:04d}.png").write_bytes((tmp_path / "pool" / f"{i:04d}.png").read_bytes())
    tasks = [task(i) for i in range(len(X))] + [{"id": 999, "data": {"picture": "/data/upload/3/none.png"}}]
    fake = FakeLabelStudio(tasks)
    backend = LabelStudioBackend.create(
        tmp_path / "backend", tmp_path / "pool", CLASSES, estimator={"max_epochs": 2}, n_instances=5,
        label_studio_data=tmp_path / "lsdata", retrain_every=5, stopping=None,
        push=PredictionPush("http://127.0.0.1:8080", "key", client=fake))
    yield backend, fake, tasks, X, y
    backend.close()


@pytest.mark.slow
def test_a_retrain_pushes_one_prediction_per_task_in_the_new_order(pushed):
    backend, fake, tasks, X, y = pushed
    # A refused webhook names a project too: nothing is pushed there.
    with pytest.raises(ValueError):
        backend.webhook({**created(0, "11"), "project": {"id": 8, "label_config": CONFIG}})
    with backend._lock:  # all ten labels in one retrain
        for i in range(10):
            backend.webhook(created(i, y[i]))
    assert fake.updated.wait(300), "no push after the retrain"
    version = backend.model_version
    assert version.endswith("-10")
    assert fake.listed == [3] and fake.versions == {3: version}  # the project's version: the new model's
    made = {p["task"]: p for p in fake.made}
    assert len(fake.made) == len(tasks) and set(made) == {t["id"] for t in tasks}
    assert all(p["model_version"] == version for p in fake.made)
    assert made[999] == {"task": 999, "result": [], "score": 1.0, "model_version": version}  # not in the pool
    # What Label Studio now orders by: labeled images last, the model's classes as pre-annotations,
    # and the lowest score on the image DFAL asks for first (independently: the learner's own query).
    proba = backend.session.learner.predict_proba(X)
    for i in range(len(X)):
        (item,) = made[task(i)["id"]]["result"]
        assert item["value"]["choices"] == [CLASSES[int(np.argmax(proba[i]))]]
    assert all(made[task(i)["id"]]["score"] == 1.0 for i in range(10))
    available = backend.session.available_indices()
    asked, _ = backend.session.learner.query(X[available], n_instances=1)
    lowest = min(range(10, len(X)), key=lambda i: made[task(i)["id"]]["score"])
    assert lowest == available[asked[0]]


@pytest.mark.slow
def test_a_failed_push_keeps_the_labels_and_the_backend(pushed, caplog):
    backend, fake, tasks, X, y = pushed
    fake.fail = True
    with backend._lock:
        for i in range(5):
            backend.webhook(created(i, y[i]))
    assert backend.wait_until_trained(300)
    end = time.monotonic() + 60
    while "pushing predictions" not in caplog.text and time.monotonic() < end:
        time.sleep(0.1)
    assert "pushing predictions" in caplog.text and "project 3 failed" in caplog.text
    assert fake.versions == {}  # the project keeps its version: no half-pushed model made current
    assert backend.session.labels == {i: int(y[i]) for i in range(5)}
    assert backend.health()["status"] == "UP"


@pytest.mark.parametrize(("value", "expected"), [
    ({"id": 3, "title": "x"}, 3), ("3.1712345678", 3), (7, 7), ("12", 12),
    (True, None), (0, None), (-1, None), ("-1.5", None), ("x.1", None), ("", None), ("3" * 40, None),
    ("\u0663.1", None), (None, None), ({"id": [3]}, None), ([3], None), (3.0, None),
])
def test_project_ids_from_requests(value, expected):
    assert project_id(value) == expected


def test_a_push_needs_an_address_and_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(ValueError, match="API key"):
        PredictionPush("http://127.0.0.1:8080", "")
    with pytest.raises(ValueError, match="API key"):
        serve_label_studio(tmp_path / "b", port=1, label_studio_url="http://127.0.0.1:8080")
    with pytest.raises(ValueError, match="label_studio_url"):
        serve_label_studio(tmp_path / "b", port=1, api_key="key")
    assert not (tmp_path / "b").exists()  # refused before a folder is made


def test_a_push_sends_the_cluster_only_when_a_prediction_has_one():
    fake = FakeLabelStudio([{"id": 1, "data": {}}, {"id": 2, "data": {}}])
    push = PredictionPush("http://127.0.0.1:8080", "key", client=fake)
    assert push.push(5, lambda tasks: [{"result": [], "score": 0.1, "model_version": "v", "cluster": 4},
                                       {"result": [], "score": 0.2, "model_version": "v"}], "v") == 2
    assert fake.made == [{"task": 1, "result": [], "score": 0.1, "model_version": "v", "cluster": 4},
                         {"task": 2, "result": [], "score": 0.2, "model_version": "v"}]
    assert fake.versions == {5: "v"}
