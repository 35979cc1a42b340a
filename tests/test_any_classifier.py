"""Any torch classifier: torchvision, timm and Hugging Face models, tuple and ``.logits``
outputs, frozen backbones, colour input with per-channel normalisation, flips.

Every model is built from its constructor or config with random weights:
nothing downloads (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch
from torch import nn

from skdfal import (
    ActiveLearner,
    BackboneHead,
    DFALMargin,
    EntropySampling,
    deepfool,
    make_classifier,
)
from skdfal.models import RandomShift
from skdfal.utils import LogitsOf, logits_of

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _colour_pool(n=24, size=16, seed=0):
    rng = np.random.RandomState(seed)
    return rng.rand(n, 3, size, size).astype(np.float32), rng.randint(0, 3, size=n)


def _small_cnn(n_classes=3):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(24, n_classes),
    )


class _TupleOut(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        logits = self.inner(x)
        return logits, logits.detach() * 0 + 1  # (logits, something else)


class _Output:
    def __init__(self, logits):
        self.logits = logits
        self.loss = None


class _ObjectOut(_TupleOut):
    def forward(self, x):
        return _Output(self.inner(x))


# --------------------------------------------------------------- logits_of
def test_logits_of_reads_every_container():
    z = torch.arange(6.0).reshape(2, 3)
    assert logits_of(z) is z
    assert logits_of((z, 1)) is z and logits_of([z]) is z
    assert logits_of(_Output(z)) is z and logits_of({"loss": 0, "logits": z}) is z
    with pytest.raises(TypeError, match="must return logits.*got str"):
        logits_of("logits")
    with pytest.raises(TypeError, match="got tuple"):
        logits_of(())


# ---------------------------------------------------- tuple / .logits outputs
@pytest.mark.parametrize("wrap", [_TupleOut, _ObjectOut], ids=["tuple", "logits-attribute"])
def test_tuple_and_logits_outputs_train_and_pick_as_the_bare_module(wrap):
    X, y = _colour_pool()
    base = _small_cnn()
    nets = {}
    for name, module in (("bare", copy.deepcopy(base)), ("wrapped", wrap(copy.deepcopy(base)))):
        nets[name] = make_classifier(module, n_classes=3, train_steps=6, random_state=0).fit(X[:12], y[:12])
    np.testing.assert_allclose(nets["wrapped"].predict_proba(X), nets["bare"].predict_proba(X), rtol=1e-5, atol=1e-6)
    for strategy in (DFALMargin(), DFALMargin(screening=True), DFALMargin(space="head"), EntropySampling()):
        bare = strategy(nets["bare"], X[12:], 4)
        wrapped = strategy(nets["wrapped"], X[12:], 4)
        np.testing.assert_array_equal(wrapped[0], bare[0])
        np.testing.assert_allclose(wrapped[1], bare[1], rtol=1e-5)


def test_a_bare_module_with_tuple_output_is_attacked_on_its_logits():
    X, _ = _colour_pool(8)
    base = _small_cnn().eval()
    bare = DFALMargin().score(base, X)
    np.testing.assert_allclose(DFALMargin().score(_TupleOut(base), X), bare, rtol=1e-5)
    np.testing.assert_allclose(DFALMargin().score(LogitsOf(_ObjectOut(base)), X), bare, rtol=1e-5)


# ------------------------------------------------------------ frozen backbone
def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("freeze", [True, False])
def test_a_frozen_backbone_is_bit_identical_after_teach(freeze):
    X, y = _colour_pool(30)
    torch.manual_seed(0)
    module = BackboneHead(_small_cnn()[:5], 3, n_features=24)
    before = _state(module)
    net = make_classifier(module, n_classes=3, train_steps=8, freeze=freeze, flip=True, random_state=0)
    learner = ActiveLearner(net, query_strategy=DFALMargin(space="head")).fit(X[:10], y[:10])
    learner.teach(X[10:20], y[10:20])
    after = _state(learner.estimator_.module_)
    backbone = [k for k in before if k.startswith("backbone.")]
    moved = [k for k in backbone if not torch.equal(before[k], after[k])]
    # The head learns either way.
    assert not torch.equal(before["head.weight"], after["head.weight"])
    if freeze:
        # Weights and batch-norm statistics alike.
        assert moved == [], moved
        assert all(not p.requires_grad for p in learner.estimator_.module_.backbone.parameters())
        assert {id(p) for g in learner.estimator_.optimizer_.param_groups for p in g["params"]} == {
            id(p) for p in learner.estimator_.module_.head.parameters()}
    else:
        assert "backbone.0.weight" in moved and "backbone.1.running_mean" in moved
    learner.query(X[20:], n_instances=3)


@pytest.mark.slow  # builds a ResNet
def test_freeze_by_layer_name_on_a_torchvision_resnet():
    torchvision = pytest.importorskip("torchvision")
    X, y = _colour_pool(12, size=32)
    torch.manual_seed(0)
    module = torchvision.models.resnet18(num_classes=3)
    before = _state(module)
    net = make_classifier(module, n_classes=3, train_steps=2, batch_size=6, freeze=True, head="fc",
                          input_mean=(0.485, 0.456, 0.406), input_std=(0.229, 0.224, 0.225))
    learner = ActiveLearner(net, query_strategy=DFALMargin(space="head", head="fc")).fit(X[:8], y[:8])
    after = _state(learner.estimator_.module_)
    assert [k for k in before if not torch.equal(before[k], after[k])] == ["fc.weight", "fc.bias"]
    picks, _ = learner.query(X[8:], n_instances=2)
    assert len(picks) == 2


def test_freeze_needs_a_head():
    X, y = _colour_pool(6)
    net = make_classifier(_small_cnn(), n_classes=3, train_steps=1, freeze=True, head="nope")
    with pytest.raises(ValueError, match="freeze=True needs the module's head: head='nope' is not a layer"):
        net.fit(X, y)
    with pytest.raises(ValueError, match="freeze must be True or False"):
        make_classifier(_small_cnn(), freeze="yes")


# -------------------------------------------------- colour input, normalised
def test_per_channel_normalisation_is_applied_and_undone():
    net = make_classifier(_small_cnn(), n_classes=3, input_scale=1 / 255, input_mean=(0.5, 0.25, 0.0),
                          input_std=(0.5, 0.25, 2.0))
    X = np.full((2, 3, 4, 4), 255, dtype=np.uint8)
    Xt = net.transform_input(X)
    np.testing.assert_allclose(Xt[:, :, 0, 0], [[1.0, 3.0, 0.5]] * 2, rtol=1e-6)
    np.testing.assert_allclose(net.inverse_transform_input(Xt), X.astype(np.float32), rtol=1e-6)
    Tt = net.transform_input(torch.as_tensor(X))
    np.testing.assert_allclose(Tt.numpy(), Xt, rtol=1e-6)
    with pytest.raises(ValueError, match="3 channels but X samples have shape \\(1, 4, 4\\)"):
        net.transform_input(np.zeros((2, 1, 4, 4), np.float32))


@pytest.mark.parametrize("bad, match", [
    (dict(input_mean=(0.5, "a", 0.5)), "input_mean must be a sequence of numbers"),
    (dict(input_std=(0.5, 0.0, 0.5)), "input_std must hold positive finite numbers"),
    (dict(input_mean=(0.5,), input_std=(1.0, 1.0)), "one value per channel each"),
])
def test_bad_normalisation_is_named(bad, match):
    X, y = _colour_pool(6)
    with pytest.raises(ValueError, match=match):
        make_classifier(_small_cnn(), n_classes=3, train_steps=1, **bad).fit(X, y)


def test_adversarial_copies_map_back_through_the_normalisation():
    X, y = _colour_pool(12)
    net = make_classifier(_small_cnn(), n_classes=3, train_steps=10, input_mean=(0.5, 0.5, 0.5),
                          input_std=(0.25, 0.25, 0.25)).fit(X, y)
    x = torch.as_tensor(net.transform_input(X))
    result = deepfool(net.module_, x)
    copies, flipped = (x + result.perturbations).detach().numpy(), result.converged.numpy()
    # In the net's (normalised) space; undone by the net's inverse, they flip it.
    raw = net.inverse_transform_input(copies)
    assert flipped.any()
    assert (net.predict(raw[flipped]) != net.predict(X[flipped])).all()


# --------------------------------------------------------------- flips
def test_flip_mirrors_about_half_the_images_and_nothing_else():
    torch.manual_seed(0)
    x = torch.rand(200, 3, 5, 7)
    batch = x.clone()
    RandomShift(max_shift=0, flip=True).on_batch_begin(None, batch=(batch, None), training=True)
    same = (batch == x).flatten(1).all(1)
    mirrored = (batch == x.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all())
    assert 70 < int(mirrored.sum()) < 130
    untouched = x.clone()
    RandomShift(max_shift=0).on_batch_begin(None, batch=(untouched, None), training=True)
    assert torch.equal(untouched, x)
    with pytest.raises(ValueError, match="flip must be True or False"):
        RandomShift(flip="yes").on_batch_begin(None, batch=(x.clone(), None), training=True)
    assert make_classifier(flip=True).callbacks[1][1].flip is True


# ------------------------------------------------------ timm, Hugging Face
def test_a_timm_model_goes_through_make_classifier_and_the_strategies():
    timm = pytest.importorskip("timm")
    X, y = _colour_pool(10, size=32)
    torch.manual_seed(0)
    module = timm.create_model("resnet18", pretrained=False, num_classes=3)
    net = make_classifier(module, n_classes=3, train_steps=2, batch_size=5, freeze=True).fit(X[:6], y[:6])
    picks_head, _ = DFALMargin(space="head")(net, X[6:], 2)
    picks_input, _ = DFALMargin(max_iter=3)(net, X[6:], 2)
    assert len(picks_head) == len(picks_input) == 2


@pytest.mark.slow  # builds a transformers model (timm's test covers foreign models quickly)
def test_a_hugging_face_image_model_goes_through_make_classifier_and_the_strategies():
    transformers = pytest.importorskip("transformers")
    X, y = _colour_pool(10, size=16)
    config = transformers.ViTConfig(image_size=16, patch_size=8, num_channels=3, hidden_size=16,
                                    num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                    num_labels=3)
    torch.manual_seed(0)
    module = transformers.ViTForImageClassification(config)
    # Inputs as they are: once standardised ("auto"), this random-weight ViT's
    # logits barely move and DeepFool cannot flip it within max_iter.
    net = make_classifier(module, n_classes=3, train_steps=3, batch_size=5, freeze=True,
                          head="classifier", input_mean=None, input_std=None).fit(X[:6], y[:6])
    proba = net.predict_proba(X)
    assert proba.shape == (10, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    head_picks, head_margins = DFALMargin(space="head", head="classifier")(net, X[6:], 2)
    picks, margins = DFALMargin()(net, X[6:], 2)
    assert len(head_picks) == len(picks) == 2 and np.isfinite(margins).all()
    # Only the classifier learned.
    assert all(not p.requires_grad for n, p in net.module_.named_parameters() if not n.startswith("classifier"))
