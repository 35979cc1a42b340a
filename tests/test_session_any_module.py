"""Any torch classifier in a labeling session: named by an import path, saved as weights, confirmed to open."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest
import torch

from skdfal import LabelingSession, SessionError

# A few random images and labels: the model may well predict one class, as DFAL warns.
pytestmark = pytest.mark.filterwarnings("ignore:the model predicts class")

NETS = '''
import pathlib, torch
from torch import nn

pathlib.Path(__file__).with_name("imported").touch()  # a trace of the import: code ran


class TinyNet(nn.Module):
    """A backbone (conv + pool) under a linear head, as a user writes one."""

    def __init__(self, n_out=3, width=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                                  nn.Flatten())
        self.fc = nn.Linear(4 * width, n_out)

    def forward(self, x):
        return self.fc(self.body(x))


def tiny(n_out=3):
    return TinyNet(n_out=n_out)

not_callable = 3
'''


@pytest.fixture
def nets(tmp_path, monkeypatch):
    """A module of the user's own, importable as ``user_nets`` (it leaves a file when imported)."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "user_nets.py").write_text(textwrap.dedent(NETS))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "user_nets", raising=False)
    return folder


def _pool(n=30):
    return np.random.RandomState(0).rand(n, 3, 8, 8).astype(np.float32)


SPEC = {"module": "user_nets:TinyNet", "module__n_out": 3, "freeze": True, "head": "fc", "train_steps": 5,
        "input_mean": [0.5, 0.5, 0.5], "input_std": [0.25, 0.25, 0.25]}


def _label_a_batch(session):
    for label in (0, 1, 2):
        session.teach(session.current(), label)
    session.current()  # retrains, then queries the next batch


def test_own_module_by_import_path_frozen_saved_and_confirmed_on_open(tmp_path, nets):
    directory = tmp_path / "s"
    with LabelingSession.create(directory, _pool(), estimator=SPEC, class_names=["a", "b", "c"],
                                query_strategy="dfal", strategy_params={"space": "head", "head": "fc"},
                                n_instances=3) as session:
        module = session.learner.estimator.module_
        backbone = {k: v.clone() for k, v in module.body.state_dict().items()}
        _label_a_batch(session)
        trained = session.learner.estimator_.module_
        assert type(trained).__name__ == "TinyNet"
        # freeze=True: the backbone is bit-identical after a retrain; head-space DFAL queried.
        for key, value in trained.body.state_dict().items():
            assert torch.equal(value, backbone[key])
        weights = {k: v.clone() for k, v in trained.state_dict().items()}
        queue = session.queue
    config = json.loads((directory / "session.json").read_text())
    assert config["estimator"]["module"] == "user_nets:TinyNet"  # a path and JSON, nothing pickled

    (nets / "imported").unlink()
    sys.modules.pop("user_nets", None)  # a fresh process: nothing imported yet
    with pytest.raises(SessionError, match=r"allow_modules=\['user_nets:TinyNet'\]"):
        LabelingSession(directory)
    with pytest.raises(SessionError, match="allow_modules"):
        LabelingSession(directory, allow_modules=["user_nets:tiny"])  # another path is no confirmation
    assert not (nets / "imported").exists()  # refused before anything was imported
    with LabelingSession(directory, allow_modules=["user_nets:TinyNet"]) as session:
        assert (nets / "imported").exists()
        assert session.n_labels == 3 and session.queue == queue
        for key, value in session.learner.estimator_.module_.state_dict().items():
            assert torch.equal(value, weights[key])


def test_a_function_building_the_module_is_seeded(tmp_path, nets):
    spec = {"module": "user_nets:tiny", "train_steps": 5}
    first = []
    for name in ("a", "b"):
        with LabelingSession.create(tmp_path / name, _pool(), estimator=spec, class_names=["x", "y", "z"],
                                    query_strategy="random") as session:
            first.append(torch.cat([p.detach().flatten() for p in session.learner.estimator.module_.parameters()]))
    assert torch.equal(first[0], first[1])  # the same random_state, the same initial weights


@pytest.mark.parametrize("module, message", [
    ("user_nets:missing", "cannot be imported"),
    ("no_such_package_xyz:Net", "cannot be imported"),
    ("user_nets:not_callable", "not a class or function"),
    ("user_nets", "an import path"),
    ("../user_nets:TinyNet", "an import path"),
    ("user nets:TinyNet", "an import path"),
    ("lenet6", "an import path"),
])
def test_bad_import_paths_are_named_at_create(tmp_path, nets, module, message):
    with pytest.raises(ValueError, match=message):
        LabelingSession.create(tmp_path / "s", _pool(), estimator={**SPEC, "module": module},
                               class_names=["a", "b", "c"], query_strategy="random")
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


@pytest.mark.parametrize("change, message", [
    ({"module__n_out": 5}, "returns 5 logits, the session has 3 classes"),
    ({"freeze": "yes"}, "freeze"),
    ({"head": "fc; import os"}, "head"),
    ({"input_mean": "imagenet"}, "input_mean"),
    ({"input_scale": -1}, "input_scale"),
    ({"module__n_out": {"a": 1}}, "module__n_out"),
])
def test_specs_a_session_cannot_build_are_refused_at_create(tmp_path, nets, change, message):
    with pytest.raises(ValueError, match=message):
        LabelingSession.create(tmp_path / "s", _pool(), estimator={**SPEC, **change},
                               class_names=["a", "b", "c"], query_strategy="random")


def test_a_folder_naming_code_runs_none_of_it(tmp_path, nets):
    """A session made with LeNet5 whose session.json was edited to name the user's module (or os.system)."""
    directory = tmp_path / "s"
    LabelingSession.create(directory, _pool(), class_names=["a", "b", "c"], query_strategy="random").close()
    config = json.loads((directory / "session.json").read_text())
    for module in ("user_nets:TinyNet", "os:system", "subprocess:Popen"):
        config["estimator"]["module"] = module
        (directory / "session.json").write_text(json.dumps(config))
        with pytest.raises(SessionError, match=f"allow_modules=\\['{module}'\\]"):
            LabelingSession(directory)
        with pytest.raises(SessionError, match="allow_modules"):
            LabelingSession(directory, readonly=True)
    assert not (nets / "imported").exists()


@pytest.mark.slow  # a torchvision ResNet18 (11 M parameters) trained and saved
def test_torchvision_resnet18_frozen_with_head_space_dfal(tmp_path):
    pytest.importorskip("torchvision")
    directory = tmp_path / "s"
    spec = {"module": "torchvision.models:resnet18", "module__num_classes": 3, "freeze": True, "head": "fc",
            "input_mean": [0.485, 0.456, 0.406], "input_std": [0.229, 0.224, 0.225], "train_steps": 3}
    pool = np.random.RandomState(1).rand(24, 3, 32, 32).astype(np.float32)
    with LabelingSession.create(directory, pool, estimator=spec, class_names=["a", "b", "c"],
                                query_strategy="dfal", strategy_params={"space": "head", "head": "fc"},
                                n_instances=3) as session:
        before = {k: v.clone() for k, v in session.learner.estimator.module_.state_dict().items()
                  if not k.startswith("fc.")}
        _label_a_batch(session)
        after = session.learner.estimator_.module_.state_dict()
        assert all(torch.equal(after[k], v) for k, v in before.items())  # backbone and BN statistics
        queue = session.queue
    with LabelingSession(directory, allow_modules=["torchvision.models:resnet18"]) as session:
        assert session.queue == queue and session.n_labels == 3


def test_skdfal_label_from_a_folder_with_your_own_network(tmp_path, nets, monkeypatch, capsys):
    import io

    from PIL import Image

    from skdfal.cli import main

    folder = tmp_path / "images"
    folder.mkdir()
    for i, pixels in enumerate(np.random.RandomState(0).randint(0, 256, size=(9, 8, 8, 3), dtype=np.uint8)):
        Image.fromarray(pixels).save(folder / f"{i}.png")
    spec = json.dumps({**SPEC, "train_steps": 2})

    def label(argv, text):
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        code = main(["label", str(tmp_path / "s"), "--no-png", "--no-ascii", *argv])
        return code, capsys.readouterr()

    code, out = label(["--images", str(folder), "--classes", "a,b,c", "--mode", "RGB", "--n-instances", "2",
                       "--estimator", spec, "--strategy-params", '{"space": "head", "head": "fc"}'], "a\nb\nc\nq\n")
    assert code == 0, out.err
    assert out.out.count("labeled #") == 3 and "retraining on 2 labels" in out.out
    sys.modules.pop("user_nets", None)
    code, out = label([], "q\n")
    assert code == 2 and "--allow-module user_nets:TinyNet" in out.err
    code, out = label(["--allow-module", "user_nets:TinyNet"], "c\nq\n")
    assert code == 0, out.err
    with LabelingSession(tmp_path / "s", allow_modules=["user_nets:TinyNet"]) as session:
        assert session.n_labels == 4 and session.learner.query_strategy.space == "head"
    with pytest.raises(SystemExit):
        label(["--images", str(folder), "--classes", "a,b", "--estimator", "[1]"], "")
    assert "expected a JSON object" in capsys.readouterr().err


def test_label_studio_backend_trains_your_own_network(tmp_path, nets):
    from PIL import Image

    from skdfal import DFALMargin, LabelStudioBackend

    pool = tmp_path / "pool"
    pool.mkdir()
    for i, pixels in enumerate(np.random.RandomState(0).randint(0, 256, size=(8, 8, 8, 3), dtype=np.uint8)):
        Image.fromarray(pixels).save(pool / f"{i}.png")
    backend = LabelStudioBackend.create(
        tmp_path / "b", pool, ["a", "b", "c"], mode="RGB", estimator={**SPEC, "train_steps": 2}, n_instances=2,
        query_strategy=DFALMargin(space="head", head="fc"), local_files_root=tmp_path,
        stopping=None, allow_modules=None,  # as `skdfal serve-label-studio` passes it without --allow-module
    )
    try:
        for i in range(2):
            ann = {"id": i, "result": [{"from_name": "choice", "value": {"choices": ["abc"[i]]}}]}
            backend.webhook({"action": "ANNOTATION_CREATED", "annotation": ann,
                             "task": {"id": i, "data": {"image": f"/data/local-files/?d=pool/{i}.png"}}})
        assert backend.wait_until_trained(300)  # a guard against a hang, not a timing
        assert backend.session.n_labels == 2
    finally:
        backend.close()
    sys.modules.pop("user_nets", None)
    with pytest.raises(SessionError, match="allow_modules") as refused:
        LabelStudioBackend(tmp_path / "b")
    # Either command reads the same words: the flag, not another command's name.
    assert "--allow-module user_nets:TinyNet" in str(refused.value) and "skdfal label" not in str(refused.value)
    LabelStudioBackend(tmp_path / "b", allow_modules=["user_nets:TinyNet"], stopping=None).close()


def test_serve_label_studio_passes_the_network_strategy_and_confirmation(tmp_path, monkeypatch, capsys):
    import skdfal.labeling
    from skdfal import DFALMargin
    from skdfal.cli import main

    calls = []
    monkeypatch.setattr(skdfal.labeling, "serve_label_studio", lambda directory, **kw: calls.append(kw))
    argv = ["serve-label-studio", str(tmp_path / "b"), "--images", str(tmp_path), "--classes", "a,b",
            "--estimator", '{"module": "user_nets:TinyNet", "freeze": true}', "--strategy", "dfal",
            "--strategy-params", '{"space": "head", "head": "fc"}', "--allow-module", "user_nets:TinyNet"]
    assert main(argv) == 0
    (kw,) = calls
    assert kw["estimator"] == {"train_steps": "auto", "module": "user_nets:TinyNet", "freeze": True}
    assert isinstance(kw["query_strategy"], DFALMargin)
    assert kw["query_strategy"].get_params()["space"] == "head" and kw["allow_modules"] == ["user_nets:TinyNet"]
    assert main([*argv[:-2], "--strategy-params", '{"spaec": "head"}']) == 2
    assert "--strategy-params" in capsys.readouterr().err
