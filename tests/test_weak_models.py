"""DFAL on weak models: zero gradients, a single predicted class, no sample that flips.

Every answer here is computed by hand from the model's weights.
"""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from skdfal import ActiveLearner, DFALMargin, deepfool, make_classifier


def dead_relu_net():
    """The issue's repro: every hidden unit is dead on [0, 1]^4, outputs = bias (0, 1, -1)."""
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        m[0].weight.fill_(1.0)
        m[0].bias.fill_(-10.0)
        m[2].bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    return m


def test_zero_input_gradient_is_not_converged():
    X = torch.rand(3, 4, generator=torch.Generator().manual_seed(0))
    res = deepfool(dead_relu_net(), X)
    # Hidden = sum(x) - 10 < 0: the logits do not depend on x at all.
    assert torch.isinf(res.norms).all()
    assert not res.converged.any()
    assert torch.equal(res.labels, torch.ones(3, dtype=torch.long))
    assert torch.equal(res.adversarial_labels, res.labels)
    assert torch.count_nonzero(res.perturbations) == 0
    assert torch.equal(res.n_iter, torch.ones(3, dtype=torch.long))  # one look, then it stops


def test_a_dead_row_does_not_stop_the_live_ones():
    # Last layer rows (0, 1/8, 2/8) per hidden unit.  Row 1 (x = 2.75 each) has
    # every hidden unit at h = sum(x) - 10 = 1: logits (0, 1 + h, -1 + 2h) =
    # (0, 2, 1), class 1.  Both boundaries have input gradient (1, 1, 1, 1)
    # (norm 2): 1-vs-2 is |f2 - f1| / 2 = 0.5 away, 1-vs-0 is 2 / 2 = 1 away.
    # Row 0 sits in the dead region (sum < 10): no gradient, never flips.
    m = dead_relu_net()
    with torch.no_grad():
        m[2].weight.copy_(torch.tensor([[0.0] * 8, [1 / 8] * 8, [2 / 8] * 8]))
    X = torch.tensor([[0.1, 0.2, 0.3, 0.4], [2.75, 2.75, 2.75, 2.75]])
    res = deepfool(m, X, overshoot=0.0)
    assert res.converged.tolist() == [False, True]
    assert res.norms[0] == float("inf")
    assert float(res.norms[1]) == pytest.approx(0.5, abs=1e-3)
    assert res.adversarial_labels.tolist() == [1, 2]


def test_tied_logits_are_not_a_flip():
    # A constant model (all logits equal): the prediction is argmax's class 0,
    # nothing can move it, so no sample flips, whatever order topk ties in.
    lin = nn.Linear(3, 4)
    with torch.no_grad():
        lin.weight.zero_()
        lin.bias.zero_()
    res = deepfool(lin, torch.rand(5, 3))
    assert not res.converged.any() and torch.isinf(res.norms).all()
    assert res.labels.tolist() == [0] * 5


def test_all_unflipped_pool_is_drawn_at_random_with_a_warning():
    X = np.random.RandomState(0).rand(20, 4).astype(np.float32)
    net = dead_relu_net()
    with pytest.warns(UserWarning, match=r"could not flip 20 of 20"):
        idx0, scores = DFALMargin(random_state=0)(net, X, n_instances=5)
    assert np.isinf(scores).all()
    assert len(set(idx0.tolist())) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again, _ = DFALMargin(random_state=0)(net, X, n_instances=5)
        picks = [DFALMargin(random_state=s)(net, X, n_instances=5)[0] for s in range(200)]
    np.testing.assert_array_equal(idx0, again)  # seeded
    # Uniform over the pool: each sample is picked 5/20 of the time.  Under
    # uniform draws the count of index k over 200 runs is Binomial(200, 1/4):
    # mean 50, sd 6.1; the paper's pool-order rule gives 200 for 0..4.
    counts = np.bincount(np.concatenate(picks), minlength=20)
    assert counts.max() < 80 and counts.min() > 20, counts


def test_single_class_model_warns_and_ranks_by_the_closed_form_distance():
    # Affine model: logits W x + b with class 1 predicted everywhere on the
    # pool.  Distance to the 1-vs-k boundary is (f1 - fk) / ||w1 - wk||.
    lin = nn.Linear(2, 3)
    W = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([0.0, 5.0, 0.0])
    with torch.no_grad():
        lin.weight.copy_(W)
        lin.bias.copy_(b)
    X = np.random.RandomState(1).rand(30, 2).astype(np.float32) * 2
    f = X @ W.numpy().T + b.numpy()
    dist = np.minimum((f[:, 1] - f[:, 0]) / 1.0, (f[:, 1] - f[:, 2]) / 1.0)
    with pytest.warns(UserWarning, match="predicts class 1 for every sample"):
        idx, margins = DFALMargin(overshoot=0.0)(lin, X, n_instances=4)
    np.testing.assert_array_equal(idx, np.argsort(dist)[:4])
    np.testing.assert_allclose(margins, np.sort(dist)[:4], rtol=1e-3)


def test_adversarial_augmentation_on_a_dead_model_adds_no_copies():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1, random_state=0)
    learner = ActiveLearner(net, adversarial_augmentation=True).fit(X[:20], y[:20])
    module = learner.estimator_.module_
    with torch.no_grad():  # kill the network: zero weights give zero input gradients
        for param in module.parameters():
            param.zero_()
    X_adv, y_adv = learner.adversarial_copies(X[20:30], y[20:30])
    assert len(X_adv) == len(y_adv) == 0
    learner.teach(X[20:30], y[20:30])
    assert learner.n_training_samples_ == 30 and not learner.is_adversarial_.any()
    assert all(torch.isfinite(p).all() for p in learner.estimator_.module_.parameters())
