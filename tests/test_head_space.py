"""Head-space DFAL: DeepFool on the trainable head over the backbone's embeddings.

Known answers: the margin of a linear head ``W z + b`` is the closed-form
distance of ``z`` to its nearest decision hyperplane; the strategy's picks
equal plain DFAL on the head over precomputed embeddings.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from skdfal import BackboneHead, DFALMargin, LeNet5, make_classifier, pool_embeddings
from skdfal.utils import find_head, head_space_model


def _backbone():
    torch.manual_seed(0)
    # Centred features that differ from image to image (a conv and pooling
    # over uniform noise would give nearly the same vector to every image).
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(256, 16), nn.Tanh())


def _net(n_classes=4):
    torch.manual_seed(1)
    net = BackboneHead(_backbone(), n_classes, n_features=16).eval()
    with torch.no_grad():
        # A steep head: every class is predicted somewhere.
        net.backbone[2].weight.mul_(8.0)
        net.head.weight.normal_(0.0, 1.0)
        net.head.bias.zero_()
    return net


def _pool(n=40, seed=0):
    return np.random.RandomState(seed).rand(n, 3, 8, 8).astype(np.float32)


def _closed_form(z, weight, bias, overshoot=0.0, step_eps=0.0):
    """Distance of each row of ``z`` to the nearest boundary of ``argmax(W z + b)``.

    With ``overshoot`` and ``step_eps``, what DeepFool's single linear step
    reports: ``(1 + overshoot) * (|f_k| + step_eps) / ||w_k - w_pred||``.
    """
    logits = z @ weight.T + bias
    pred = logits.argmax(1)
    out = np.empty(len(z))
    for i, p in enumerate(pred):
        dw = weight - weight[p]
        df = logits[i] - logits[i, p]
        norms = np.linalg.norm(dw, axis=1)
        keep = np.flatnonzero(np.arange(len(weight)) != p)
        k = keep[np.argmin(np.abs(df[keep]) / norms[keep])]
        out[i] = (1.0 + overshoot) * (abs(df[k]) + step_eps) / norms[k]
    return out


@pytest.mark.parametrize("overshoot", [0.0, 0.02])
def test_linear_head_margin_is_the_closed_form(overshoot):
    net, X = _net(), _pool()
    with torch.no_grad():
        z = net.backbone(torch.as_tensor(X)).double().numpy()
    assert len(np.unique(net(torch.as_tensor(X)).argmax(1))) == 4
    weight, bias = (p.detach().double().numpy() for p in (net.head.weight, net.head.bias))
    distance = _closed_form(z, weight, bias)
    margins = DFALMargin(space="head", overshoot=overshoot).score(net, X)
    # DeepFool crosses a linear boundary in one step: (1 + overshoot) times
    # the distance, plus its step_eps (1e-4) over ||w_k - w_pred||.
    np.testing.assert_allclose(margins, _closed_form(z, weight, bias, overshoot, 1e-4), rtol=1e-4)
    assert np.all(margins >= distance * (1 + overshoot))
    # An input-space margin is another quantity (a distance between images).
    assert not np.allclose(DFALMargin(overshoot=overshoot).score(net, X), distance, rtol=0.05)


def test_a_named_head_on_a_skorch_net_with_normalised_input():
    """Through make_classifier: the net's own input preparation runs before the backbone."""
    X = _pool(30)
    y = np.arange(30) % 3
    module = nn.Sequential(nn.Flatten(), nn.Linear(192, 8), nn.ReLU(), nn.Linear(8, 3))
    net = make_classifier(module, train_steps=5, input_mean=(0.5, 0.4, 0.3), input_std=(0.2, 0.3, 0.4),
                          shift=0).fit(X, y)
    scaled = (X - np.array([0.5, 0.4, 0.3], np.float32)[:, None, None]) / np.array([0.2, 0.3, 0.4], np.float32)[
        :, None, None]
    with torch.no_grad():
        z = net.module_[:3](torch.as_tensor(scaled)).double().numpy()
    last = net.module_[3]
    expected = _closed_form(z, last.weight.detach().double().numpy(), last.bias.detach().double().numpy(),
                            step_eps=1e-4)
    margins = DFALMargin(space="head", head="3", overshoot=0.0).score(net, X)
    np.testing.assert_allclose(margins, expected, rtol=1e-4)
    # head=None finds the same layer: the last nn.Linear.
    np.testing.assert_array_equal(DFALMargin(space="head", overshoot=0.0).score(net, X), margins)
    np.testing.assert_allclose(pool_embeddings(net, X), z, rtol=1e-5, atol=1e-6)


def test_head_space_picks_equal_dfal_on_cached_embeddings(tmp_path):
    net, X = _net(), _pool(60)
    picks, margins = DFALMargin(space="head")(net, X, 7)
    Z = pool_embeddings(net, X, batch_size=16)
    cached, cached_margins = DFALMargin()(net.head, Z, 7)
    np.testing.assert_array_equal(picks, cached)
    np.testing.assert_allclose(margins, cached_margins, rtol=1e-6)
    # A memory-mapped copy, written batch by batch, holds the same rows.
    stored = pool_embeddings(net, X, batch_size=16, out=tmp_path / "z.npy")
    assert isinstance(stored, np.memmap)
    np.testing.assert_array_equal(np.load(tmp_path / "z.npy"), Z)
    # Screening in head space makes the same picks.
    screened, screened_margins = DFALMargin(space="head", screening=True)(net, X, 7)
    np.testing.assert_array_equal(np.sort(screened), np.sort(picks))


def test_head_space_embeddings_skip_the_backbone_gradient():
    """The backbone runs without autograd: its parameters never get a graph."""
    net, X = _net(), _pool(10)
    seen = []
    net.backbone.register_forward_hook(lambda m, a, out: seen.append(out.requires_grad))
    DFALMargin(space="head").score(net, X)
    assert seen and not any(seen)
    seen.clear()
    DFALMargin().score(net, X)  # input space: the backbone is differentiated
    assert any(seen)


def test_find_head_conventions():
    net = _net()
    assert find_head(net) == ("head", net.head)
    lenet = LeNet5(in_channels=1, input_size=8, n_classes=10)
    name, layer = find_head(lenet)
    assert layer is dict(lenet.named_modules())[name] and isinstance(layer, nn.Linear)
    assert layer is [m for m in lenet.modules() if isinstance(m, nn.Linear)][-1]
    with pytest.raises(ValueError, match="'fc' is not a layer of LeNet5 .*features"):
        find_head(lenet, "fc")
    with pytest.raises(ValueError, match="no nn.Linear layer"):
        find_head(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()))


def test_a_head_that_is_not_the_last_layer_is_refused():
    lenet = LeNet5(in_channels=1, input_size=8, n_classes=10)
    X = np.random.RandomState(0).rand(5, 1, 8, 8).astype(np.float32)
    with pytest.raises(ValueError, match="'embedding' of LeNet5 does not produce the module's logits"):
        DFALMargin(space="head", head="embedding").score(lenet, X)


def test_a_head_that_runs_twice_is_refused():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 4)
            self.head = nn.Linear(4, 4)

        def forward(self, x):
            return self.head(self.head(self.body(x)))

    with pytest.raises(ValueError, match="ran 2 times"):
        DFALMargin(space="head", head="head").score(Twice(), np.ones((3, 4), np.float32))


def test_input_space_only_options_are_refused_in_head_space():
    net, X = _net(), _pool(5)
    with pytest.raises(ValueError, match="clip=.* bounds the input space"):
        DFALMargin(space="head", clip=(0, 1)).score(net, X)
    with pytest.raises(ValueError, match="space"):
        DFALMargin(space="features").score(net, X)


def test_head_space_model_is_the_head():
    net = _net()
    model = head_space_model(net)
    z = model.as_tensor(_pool(3))
    assert z.shape == (3, 16) and not z.requires_grad
    np.testing.assert_allclose(model.module(z).detach().numpy(), net(torch.as_tensor(_pool(3))).detach().numpy(),
                               rtol=1e-6)
