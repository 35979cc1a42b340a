"""Issue 33: labels a person can trust to the Label Studio backend.

Each finding of the issue, tried as an attacker would (on loopback), is a
test here: a refused update must not erase labels, a kill -9 during updates
and deletes loses no acknowledged annotation, annotations (not images) are
the unit, only the annotators reach the backend, work per request is
bounded, and the backend's files obey the session folder's rules.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import stat
import threading

import pytest
import test_labelstudio_backend as base
from test_labelstudio_backend import CLASSES, CONFIG, annotation, created, task, write_images

from skdfal import LabelStudioBackend
from skdfal.labeling import SessionError
from skdfal.labeling.frontends.label_studio._http import make_server

digits, setup = base.digits, base.setup  # 60 digits; their images, Label Studio's upload folder, a backend


def updated(i, label, aid):
    return {"action": "ANNOTATION_UPDATED", "annotation": annotation(i, label, aid=aid), "task": task(i),
            "project": {"id": 3, "label_config": CONFIG}}


def deleted(*ids):
    return {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": a} for a in ids]}


def reopen(backend, tmp):
    backend.close()
    return LabelStudioBackend(tmp / "backend", label_studio_data=tmp / "lsdata", stopping=None, retrain_every=10**6)


# ------------------------------------------------------------- 1. one change, one record
def test_a_refused_update_erases_no_label(setup):
    backend, X, y, tmp = setup
    with backend._lock:  # no retraining meanwhile (it would not matter, it only takes time)
        for i in range(8):
            backend.webhook(created(i, y[i]))
    labels = dict(backend.session.labels)
    journal = (tmp / "backend" / "session" / "journal.jsonl").read_bytes()
    wrong = updated(0, 3, 1000)
    wrong["annotation"]["result"][0]["value"]["choices"] = ["ten"]  # a class the project does not have
    with pytest.raises(ValueError, match="ten"):
        backend.webhook(wrong)
    # A <Choice> added in Label Studio, then used on an old task: refused, the config is checked.
    extra = CONFIG.replace("</Choices>", '<Choice value="ten"/></Choices>')
    with pytest.raises(ValueError, match="not the session's classes"):
        backend.webhook({**wrong, "project": {"label_config": extra}})
    assert backend.session.labels == labels
    assert (tmp / "backend" / "session" / "journal.jsonl").read_bytes() == journal  # nothing written
    again = reopen(backend, tmp)
    try:
        assert again.session.labels == labels
    finally:
        again.close()


def test_an_update_of_an_early_annotation_is_one_journal_record(setup):
    backend, X, y, tmp = setup
    with backend._lock:
        for i in range(20):
            backend.webhook(created(i, 0))
        journal = tmp / "backend" / "session" / "journal.jsonl"
        n = len(journal.read_bytes().splitlines())
        backend.webhook(updated(0, 4, 1000))
        backend.webhook(deleted(1001))
        lines = journal.read_bytes().splitlines()[n:]
    assert [json.loads(line)["op"] for line in lines] == ["relabel", "forget"]
    assert backend.session.labels == {**{i: 0 for i in range(2, 20)}, 0: 4}


# ------------------------------------------------------- 2. annotations, not images, are the unit
def test_two_annotators_on_one_image(setup):
    backend, X, y, tmp = setup
    backend.webhook(created(0, 3, aid=71))
    second = created(0, 5, aid=72)  # another annotator, the same task
    backend.webhook(second)
    assert backend.session.labels == {0: 5}  # the latest live annotation
    backend.webhook(updated(0, 6, 71))  # the first one updated: now it is the latest
    assert backend.session.labels == {0: 6}
    assert backend.webhook(deleted(71))["removed"] == 1
    assert backend.session.labels == {0: 5}  # the other annotator's still stands
    again = reopen(backend, tmp)  # the map is kept across restarts, the rule too
    try:
        assert again.session.labels == {0: 5}
        assert again.webhook(deleted(72))["removed"] == 1
        assert again.session.labels == {}
    finally:
        again.close()


def test_a_refused_annotation_is_not_remembered(setup):
    backend, X, y, tmp = setup
    bad = created(1, 2, aid=77)
    bad["annotation"]["result"][0]["value"]["choices"] = ["cat"]
    with pytest.raises(ValueError):
        backend.webhook(bad)
    backend.webhook(created(1, 2, aid=78))
    assert backend.webhook(deleted(77))["removed"] == 0  # 77 was refused: it names nothing
    assert backend.session.labels == {1: 2}


def test_a_crash_between_the_map_and_the_journal_is_caught_up_on_start(setup):
    backend, X, y, tmp = setup
    backend.webhook(created(2, 4, aid=90))
    backend.close()
    with open(tmp / "backend" / "annotations.jsonl", "ab") as fh:  # the map's append, not the journal's
        fh.write(json.dumps({"annotation": 91, "task": 103, "index": 3, "answer": 7}).encode() + b"\n")
        fh.write(json.dumps({"annotation": 90, "deleted": True}).encode() + b"\n")
    again = LabelStudioBackend(tmp / "backend", label_studio_data=tmp / "lsdata", stopping=None)
    try:
        assert again.session.labels == {3: 7}
    finally:
        again.close()


def test_annotation_maps_of_earlier_backends_are_read(setup):
    backend, X, y, tmp = setup
    backend.webhook(created(4, 1, aid=60))
    backend.close()
    # The old format: {"annotation", "index"}, no answer; the session's answer stands.
    (tmp / "backend" / "annotations.jsonl").write_bytes(b'{"annotation": 60, "index": 4}\n')
    again = LabelStudioBackend(tmp / "backend", label_studio_data=tmp / "lsdata", stopping=None)
    try:
        assert again.session.labels == {4: 1}
        assert again.webhook(deleted(60))["removed"] == 1 and again.session.labels == {}
    finally:
        again.close()


# ---------------------------------------------------------------------- 4. malformed input
@pytest.mark.parametrize("value", ["x", {"choices": {}}, {"choices": "3xyz"}, {"choices": [3]}, {"choices": ["3", "4"]}],
                         ids=["value-string", "choices-object", "choices-string", "choices-number", "two-choices"])
def test_malformed_results_are_refused(setup, value):
    backend, *_ = setup
    payload = created(5, 3)
    payload["annotation"]["result"][0]["value"] = value
    with pytest.raises(ValueError):
        backend.webhook(payload)
    assert backend.session.labels == {}


def test_one_digest_per_file_and_a_cap_on_tasks(setup):
    backend, X, *_ = setup
    for _ in range(3):
        backend.predict({"tasks": [task(i) for i in range(10)], "label_config": CONFIG})
    assert backend._digests.hashed == 10
    with pytest.raises(ValueError, match="over the limit"):
        backend.predict({"tasks": [{}] * 10_001})
    with pytest.raises(ValueError, match="over the limit"):
        backend.webhook(deleted(*range(10_001)))


# ---------------------------------------------------------------------- 5. folder discipline
def test_backend_files_are_private(setup):
    backend, X, y, tmp = setup
    backend.webhook(created(0, 1))
    folder = tmp / "backend"
    for path in [folder, *folder.rglob("*")]:
        if path.name == "lock":
            continue  # empty: filelock makes it, only to lock it
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, f"{path}: {oct(mode)}"


@pytest.mark.parametrize("kind", ["dangling-symlink", "hard-link"])
def test_a_planted_annotation_map_is_refused(setup, kind):
    backend, X, y, tmp = setup
    backend.close()
    target = tmp / "outside.jsonl"
    mapfile = tmp / "backend" / "annotations.jsonl"
    mapfile.unlink()
    if kind == "dangling-symlink":
        mapfile.symlink_to(target)
    else:
        target.write_bytes(b"")
        os.link(target, mapfile)
    with pytest.raises(SessionError, match="link"):
        LabelStudioBackend(tmp / "backend", label_studio_data=tmp / "lsdata", stopping=None)
    assert not target.exists() or target.read_bytes() == b""


def test_a_hard_link_into_the_local_files_root_is_refused(tmp_path, digits):
    X, y = digits
    write_images(tmp_path / "pool", X[:20])
    root = tmp_path / "root"
    root.mkdir()
    os.link(tmp_path / "pool" / "0003.png", root / "planted.png")  # any file of the same disk
    (root / "plain.png").write_bytes((tmp_path / "pool" / "0004.png").read_bytes())
    backend = LabelStudioBackend.create(tmp_path / "b", tmp_path / "pool", CLASSES, estimator={"max_epochs": 1},
                                        local_files_root=root, stopping=None)
    try:
        tasks = [{"id": 1, "data": {"image": "/data/local-files/?d=planted.png"}},
                 {"id": 2, "data": {"image": "/data/local-files/?d=plain.png"}}]
        assert [backend._task_index(t, "image") for t in tasks] == [None, 4]
    finally:
        backend.close()


# ------------------------------------------------------------------ 3, 4. the HTTP side
class Served:
    def __init__(self, backend, host="127.0.0.1", **kwargs):
        self.server = make_server(backend, host, 0, **kwargs)
        self.host, self.port = host, self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def request(self, method, path, body=None, headers=None, raw=False):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers if headers is not None
                     else {"Content-Type": "application/json"})
        response = conn.getresponse()
        text = response.read()
        conn.close()
        return response.status, (text if raw else json.loads(text or b"null")), dict(response.getheaders())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served(setup):
    backend, X, y, tmp = setup
    servers = []

    def serve(**kwargs):
        servers.append(Served(backend, **kwargs))
        return servers[-1]

    yield serve, backend, y
    for s in servers:
        s.close()


def test_a_cross_site_post_deletes_nothing(served):
    serve, backend, y = served
    s = serve()
    for i in range(5):
        assert s.request("POST", "/webhook", created(i, y[i]))[0] == 200
    # What a web page can send without a CORS preflight: text/plain (or a form).
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        status, body, _ = s.request("POST", "/webhook", deleted(*range(1000, 1005)),
                                    {"Content-Type": content_type, "Origin": "https://evil.example"})
        assert status == 415 and "application/json" in body["error"]
    # DNS rebinding: the page's own name, pointed at this machine.
    status, body, _ = s.request("POST", "/webhook", deleted(1000), {"Content-Type": "application/json",
                                                                     "Host": "evil.example:9090"})
    assert status == 403 and "evil.example" in body["error"]
    status, body, headers = s.request("OPTIONS", "/webhook", headers={"Origin": "https://evil.example"})
    assert status == 405 and not any(h.lower().startswith("access-control") for h in headers)
    assert backend.session.n_labels == 5


def test_basic_auth_and_allowed_hosts(served):
    serve, backend, y = served
    s = serve(auth=("annotator", "s3cret"), allowed_hosts=["labels.lan"])
    import base64

    def auth(user, password):
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode(),
                "Content-Type": "application/json"}

    status, body, headers = s.request("GET", "/health", headers={})
    assert status == 401 and "WWW-Authenticate" in headers and body["error"]
    assert s.request("POST", "/webhook", deleted(1), auth("annotator", "wrong"))[0] == 401
    assert s.request("GET", "/health", headers=auth("annotator", "s3cret"))[0] == 200
    assert s.request("GET", "/health", headers={**auth("annotator", "s3cret"), "Host": "labels.lan:9090"})[0] == 200
    assert s.request("POST", "/webhook", created(0, y[0]), auth("annotator", "s3cret"))[0] == 200
    assert backend.session.n_labels == 1


def test_listening_beyond_loopback_without_auth_warns(setup, caplog):
    backend, *_ = setup
    with caplog.at_level(logging.WARNING, logger="skdfal.labelstudio"):
        make_server(backend, "0.0.0.0", 0).server_close()
    assert "without authentication" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="skdfal.labelstudio"):
        make_server(backend, "0.0.0.0", 0, auth=("u", "p")).server_close()
        make_server(backend, "127.0.0.1", 0).server_close()
    assert "without authentication" not in caplog.text


def test_cli_basic_auth_needs_the_variables(tmp_path, monkeypatch, capsys):
    from skdfal.cli import main

    monkeypatch.delenv("BASIC_AUTH_USER", raising=False)
    monkeypatch.delenv("BASIC_AUTH_PASS", raising=False)
    assert main(["serve-label-studio", str(tmp_path / "b"), "--basic-auth"]) == 2
    assert "BASIC_AUTH_USER" in capsys.readouterr().err
    monkeypatch.setenv("BASIC_AUTH_USER", "only-the-user")
    assert main(["serve-label-studio", str(tmp_path / "b")]) == 2
    assert "BASIC_AUTH_PASS" in capsys.readouterr().err


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback(served):
    serve, backend, y = served
    s = serve(host="::1")
    status, health, _ = s.request("GET", "/health", headers={})
    assert status == 200 and health["status"] == "UP"


def test_bounded_bodies_and_json_errors(served):
    serve, backend, y = served
    s = serve(max_body_bytes=1000)
    status, body, _ = s.request("POST", "/predict", {"tasks": [task(0)] * 40, "label_config": CONFIG})
    assert status == 413 and "1000" in body["error"]
    s = serve()
    status, body, _ = s.request("POST", "/predict", b"[]", {"Content-Type": "application/json",
                                                          "Content-Length": str(64 << 20)})
    assert status == 413 and str(4 << 20) in body["error"]  # the default: 4 MiB, refused unread
    status, body, _ = s.request("POST", "/predict", b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and "error" in body  # deep JSON: an answer, not a dropped connection
    status, body, _ = s.request("POST", "/predict", {"tasks": [{}] * 10_001})
    assert status == 400 and "over the limit" in body["error"]
    for payload in ([], "x", {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": [1]}]},
                    {"action": "ANNOTATIONS_DELETED", "annotations": {"id": 1}}):
        status, body, _ = s.request("POST", "/webhook", payload)
        assert status == 400 and "error" in body, payload
    status, body, _ = s.request("BREW", "/health", headers={})
    assert 400 <= status < 600 and "error" in body  # http.server's own errors are JSON too


@pytest.mark.slow
def test_slow_clients_hold_a_bounded_number_of_threads(served, monkeypatch):
    from skdfal.labeling.frontends.label_studio import _http as _ls_http

    monkeypatch.setattr(_ls_http._Handler, "timeout", 2.0)
    serve, backend, y = served
    s = serve()
    before = threading.active_count()
    sockets = []
    for _ in range(200):  # half-sent requests: a header line, then silence
        conn = socket.create_connection(("127.0.0.1", s.port))
        conn.sendall(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n")
        sockets.append(conn)
    assert threading.active_count() <= before + 1
    for conn in sockets:
        conn.close()
    assert s.request("GET", "/health", headers={})[0] == 200  # once they time out, it answers again


def test_log_lines_escape_control_characters(setup, caplog):
    backend, *_ = setup
    with caplog.at_level(logging.WARNING, logger="skdfal.labelstudio"):
        backend.predict({"tasks": [{"id": "7\n2026-01-01 WARNING forged", "data": {"picture": "/etc\r\npasswd"}}],
                         "label_config": CONFIG})
    assert caplog.records and all("\n" not in r.getMessage() and "\r" not in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------- 1. kill -9 during updates and deletes
_SERVE = """
import sys
from skdfal import LabelStudioBackend
backend = LabelStudioBackend(sys.argv[1], label_studio_data=sys.argv[2], stopping=None, retrain_every=10**6)
backend.serve("127.0.0.1", 0, ready=lambda server: print(server.server_address[1], flush=True))
"""


def _expected(ops):
    """Each image's answer by the rule (its latest live annotation), from the acknowledged ``ops``."""
    live = {}  # annotation id -> (index, label), latest last
    for op, aid, index, label in ops:
        live.pop(aid, None)
        if op != "delete":
            live[aid] = (index, label)
    answers = {}
    for index, label in live.values():
        answers[index] = label
    return answers


@pytest.mark.slow
def test_kill_9_during_updates_and_deletes_loses_no_acknowledged_annotation(setup):
    import random
    import subprocess
    import sys
    import time

    backend, X, y, tmp = setup
    backend.close()
    rng = random.Random(0)
    acked, losses = [], []
    for round_ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(tmp / "backend"), str(tmp / "lsdata")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = int(proc.stdout.readline())
            s = Served.__new__(Served)
            s.host, s.port = "127.0.0.1", port
            if round_ == 0:  # many labels first, so that an update of the first has much after it
                for i in range(len(X)):
                    assert s.request("POST", "/webhook", created(i, i % 10, aid=1000 + i))[0] == 200
                    acked.append(("create", 1000 + i, i, i % 10))
            inflight, stop = [], threading.Event()

            def client(s=s, inflight=inflight, stop=stop):
                while not stop.is_set():
                    i = rng.randrange(len(X))
                    aid = rng.choice([1000 + i, 5000 + i])  # a second annotator on some images
                    kind = rng.choice(["update", "update", "delete"])
                    label = rng.randrange(10)
                    op = ("delete" if kind == "delete" else "update", aid, i, label)
                    inflight[:] = [op]
                    payload = deleted(aid) if kind == "delete" else updated(i, label, aid)
                    try:
                        status = s.request("POST", "/webhook", payload)[0]
                    except (OSError, http.client.HTTPException):
                        return  # killed mid-request: undecided
                    assert status == 200
                    acked.append(op)
                    inflight.clear()

            thread = threading.Thread(target=client, daemon=True)
            start = len(acked)
            thread.start()
            while len(acked) < start + 20 + 10 * round_ and thread.is_alive():
                time.sleep(0.01)
            proc.kill()  # SIGKILL, mid-request most likely
            proc.wait()
            stop.set()
            thread.join(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        again = LabelStudioBackend(tmp / "backend", label_studio_data=tmp / "lsdata", stopping=None,
                                   retrain_every=10**6)
        try:
            labels = again.session.labels
        finally:
            again.close()
        allowed = [_expected(acked)] + ([_expected(acked + inflight)] if inflight else [])
        if labels not in allowed:
            lost = {i: c for i, c in allowed[0].items() if labels.get(i) != c}
            losses.append(f"round {round_}: {len(lost)} of {len(allowed[0])} acknowledged answers lost")
        if inflight:  # settle the undecided one as the restart did
            op = inflight[0]
            if _expected(acked + inflight) == labels:
                acked.append(op)
    assert not losses, losses


# ------------------------------------------------------------------- 6. model versions
def test_model_versions_are_never_reused(setup):
    backend, X, y, tmp = setup
    versions = [backend.model_version]
    for _ in range(2):  # restarts: before, every cold start was "...-0" again
        backend = reopen(backend, tmp)
        versions.append(backend.model_version)
    backend.close()
    assert len(set(versions)) == len(versions), versions
