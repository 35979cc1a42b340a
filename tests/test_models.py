"""LeNet5 / VGG8 adapt to their input; make_classifier is set up for active learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight
from skorch.callbacks import Callback
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


@pytest.mark.slow  # trains three CNNs to accuracy
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


class _BatchSizes(Callback):
    """Records the size of every training minibatch."""

    def initialize(self):
        self.sizes = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.sizes.append(len(batch[0]))


@pytest.mark.parametrize("n, full, expected", [
    (100, True, {32}),          # 100 = 3 x 32 + 4: the 4 wait for another epoch
    (100, False, {32, 4}),      # torch's default keeps the ragged last batch
    (20, True, {20}),           # fewer than a batch: one batch of all of them
    (64, True, {32}),
])
def test_full_batches_train_on_whole_batches_only(digits, n, full, expected):
    X, y = digits
    recorder = _BatchSizes()
    net = make_classifier("lenet5", input_shape=(1, 8, 8), train_steps=40, full_batches=full)
    net.set_params(callbacks=[*net.callbacks, ("sizes", recorder)])
    net.fit(X[:n], y[:n])
    recorder = dict(net.callbacks_)["sizes"]
    assert set(recorder.sizes) == expected
    # The step budget counts the batches actually taken.
    assert 40 <= len(recorder.sizes) < 40 + max(1, n // 32 if full else -(-n // 32))


def test_balanced_class_weight_is_sklearns_rule(digits):
    X, y = digits
    idx = np.r_[np.flatnonzero(y == 0)[:30], np.flatnonzero(y == 1)[:6], np.flatnonzero(y == 2)[:4]]
    net = make_classifier("lenet5", input_shape=(1, 8, 8), train_steps=5, class_weight="balanced")
    net.fit(X[idx], y[idx])
    # n / (k * n_c) with n = 40, k = 3 classes present; absent classes weigh 0.
    expected = np.zeros(10)
    expected[:3] = [40 / (3 * 30), 40 / (3 * 6), 40 / (3 * 4)]
    np.testing.assert_allclose(net.criterion_.weight.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(  # scikit-learn's own rule on the classes present
        net.class_weight_[:3], compute_class_weight("balanced", classes=np.arange(3), y=y[idx]))
    # The loss is the weighted cross-entropy computed by hand.
    logits = torch.as_tensor(net.forward(X[idx]))
    target = torch.as_tensor(y[idx])
    by_hand = (torch.as_tensor(expected, dtype=torch.float32)[target]
               * nn.functional.cross_entropy(logits, target, reduction="none")).sum() / expected[y[idx]].sum()
    assert float(net.get_loss(logits, target)) == pytest.approx(float(by_hand), rel=1e-5)
    # Turned off, the next fit is unweighted again.
    net.set_params(class_weight=None).fit(X[idx], y[idx])
    assert net.criterion_.weight is None


def test_class_weight_needs_a_cross_entropy_criterion(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), train_steps=1, class_weight="balanced",
                          criterion=nn.NLLLoss)
    with pytest.raises(ValueError, match="class_weight='balanced' needs a CrossEntropyLoss criterion, got NLLLoss"):
        net.fit(X[:20], y[:20])


def test_class_weight_is_checked():
    net = make_classifier("lenet5", input_shape=(1, 8, 8), class_weight="inverse")
    with pytest.raises(ValueError, match="class_weight must be 'balanced' or None"):
        net.initialize()
