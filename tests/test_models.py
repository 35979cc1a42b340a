"""LeNet5 / VGG8 adapt to their input; make_classifier is set up for active learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from skdfal import VGG8, LeNet5, make_classifier


@pytest.mark.parametrize("cls", [LeNet5, VGG8])
@pytest.mark.parametrize(
    "channels, size, n_classes", [(1, 8, 10), (1, 28, 10), (3, 32, 7), (1, (20, 12), 3)]
)
def test_networks_adapt_to_input(cls, channels, size, n_classes):
    h, w = (size, size) if isinstance(size, int) else size
    net = cls(in_channels=channels, n_classes=n_classes, input_size=size)
    out = net(torch.zeros(2, channels, h, w))
    assert out.shape == (2, n_classes)
    assert isinstance(net.classifier, nn.Linear)


def test_seeded_classifier_is_reproducible_and_leaves_global_rng(digits):
    X, y = digits
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=7).fit(X[:64], y[:64])
    assert torch.equal(torch.rand(3), expected_next)
    b = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=7).fit(X[:64], y[:64])
    c = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=8).fit(X[:64], y[:64])
    np.testing.assert_array_equal(a.predict_proba(X[:50]), b.predict_proba(X[:50]))
    assert not np.allclose(a.predict_proba(X[:50]), c.predict_proba(X[:50]))


def test_classifier_learns_digits_and_accepts_float64(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=25, random_state=0)
    net.fit(X[:800].astype(np.float64), y[:800].astype(np.int32))
    proba = net.predict_proba(X[1000:].astype(np.float64))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)  # softmax over logits
    assert (proba.argmax(1) == y[1000:]).mean() > 0.85  # chance is 0.1


def test_make_classifier_validates_arguments():
    with pytest.raises(ValueError, match="unknown module"):
        make_classifier("resnet")
    with pytest.raises(ValueError, match="input_shape"):
        make_classifier("lenet5", input_shape=(8, 8))
