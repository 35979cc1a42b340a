"""The semi-supervised trainer against known answers: a gap between two blobs, the margin rule."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from torch import nn

from skdfal import ActiveLearner, SemiSupervised, make_classifier
from skdfal.models import first_order_distance, strong_augment

N = 200


def blobs():
    """Two blobs, x in [-6, -2] and [2, 6], and two labeled points whose bisector cuts blob B.

    The line half-way between the labeled points (-2.1, -2.5) and (5.9, 2.5),
    perpendicular to them, crosses x = 3.8 at y = -3: labels alone leave a
    boundary that a net may place anywhere that separates two points.  The
    unlabeled samples say where the gap is: -2 < x < 2, the whole height.
    """
    rng = np.random.RandomState(0)
    A = np.c_[rng.uniform(-6, -2, N), rng.uniform(-3, 3, N)]
    B = np.c_[rng.uniform(2, 6, N), rng.uniform(-3, 3, N)]
    X = np.r_[A, B, [[-2.1, -2.5], [5.9, 2.5]]].astype(np.float32)
    y = np.r_[np.zeros(N), np.ones(N), [0, 1]].astype(np.int64)
    return X, y, np.array([2 * N, 2 * N + 1])


def linear_net(seed, semi=None):
    torch.manual_seed(seed)  # the module instance is built here, before the net's own seed
    return make_classifier(nn.Linear(2, 2), n_classes=2, train_steps=300, lr=0.05, semi_supervised=semi,
                           input_mean=None, input_std=None, random_state=seed)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_unlabeled_points_move_the_boundary_into_the_gap(seed):
    X, y, labeled = blobs()
    alone = linear_net(seed).fit(X[labeled], y[labeled])
    semi = linear_net(seed, SemiSupervised(method="vat")).fit(X[labeled], y[labeled], X_unlabeled=X)
    assert (alone.predict(X) == y).mean() < 0.99  # the labels alone do not find the gap
    assert (semi.predict(X) == y).all()
    # The boundary itself: where the logit gap is zero, at every height, lies in the gap.
    W = semi.module_.weight.detach().numpy().astype(np.float64)
    b = semi.module_.bias.detach().numpy().astype(np.float64)
    w, c = W[1] - W[0], b[1] - b[0]
    heights = np.linspace(-3, 3, 13)
    crossings = -(c + w[1] * heights) / w[0]
    assert np.all(np.abs(crossings) < 2), crossings


def test_without_a_pool_the_callback_changes_nothing():
    X, y, labeled = blobs()
    a = linear_net(0).fit(X[labeled], y[labeled])
    b = linear_net(0, SemiSupervised(method="vat")).fit(X[labeled], y[labeled])
    assert torch.equal(a.module_.weight, b.module_.weight)


def test_first_order_distance_is_the_exact_distance_for_a_linear_model():
    rng = np.random.RandomState(1)
    lin = nn.Linear(5, 3).double()
    x = torch.as_tensor(rng.randn(50, 5))
    got = first_order_distance(lin, x).numpy()
    # Closed form: the distance to the nearest hyperplane between the top class and the others
    # is min_j (f_top - f_j) / ||w_top - w_j||; the runner-up's plane is the rule's, so compare to it.
    W, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    logits = x.numpy() @ W.T + b
    order = np.argsort(-logits, axis=1)
    top, second = order[:, 0], order[:, 1]
    rows = np.arange(len(x))
    want = (logits[rows, top] - logits[rows, second]) / np.linalg.norm(W[top] - W[second], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert lin.weight.grad is None  # nothing reached the parameters


@settings(max_examples=30, deadline=None)
@given(
    w=st.lists(st.floats(-3, 3), min_size=2, max_size=2).filter(lambda v: abs(v[0]) + abs(v[1]) > 0.1),
    bias=st.floats(-2, 2), margin=st.floats(0.05, 2.0), seed=st.integers(0, 2**16),
)
def test_a_pseudo_label_is_never_taken_from_inside_the_margin(w, bias, margin, seed):
    X, y, labeled = blobs()
    net = linear_net(0).fit(X[labeled], y[labeled])
    with torch.no_grad():
        net.module_.weight.copy_(torch.tensor([[0.0, 0.0], w]))
        net.module_.bias.copy_(torch.tensor([0.0, bias]))
    callback = SemiSupervised(threshold=0.0, min_distance=margin)
    x = torch.as_tensor(np.random.RandomState(seed).uniform(-6, 6, size=(300, 2)), dtype=torch.float32)
    labels, taken = callback.pseudo_labels(net, x)
    distance = np.abs(x.numpy() @ np.asarray(w) + bias) / np.linalg.norm(w)  # to the line gap = 0
    taken = taken.numpy()
    assert not taken[distance < margin * (1 - 1e-4)].any()
    assert taken[distance > margin * (1 + 1e-4)].all()  # and every sample beyond it is taken
    np.testing.assert_array_equal(labels.numpy(), (x.numpy() @ np.asarray(w) + bias > 0).astype(int))


def test_the_confidence_rule_takes_exactly_the_confident_predictions():
    X, y, labeled = blobs()
    net = linear_net(0).fit(X[labeled], y[labeled])
    x = torch.as_tensor(X)
    callback = SemiSupervised(threshold=0.9)
    labels, taken = callback.pseudo_labels(net, x)
    proba = net.predict_proba(X)  # skorch's own route to the probabilities
    np.testing.assert_array_equal(taken.numpy(), proba.max(axis=1) >= 0.9)
    np.testing.assert_array_equal(labels.numpy(), proba.argmax(axis=1))


def test_the_pool_is_not_kept_with_the_net():
    X, y, labeled = blobs()
    pool = np.repeat(X, 500, axis=0)  # 1.6 MB, far more than a linear net's pickle
    net = linear_net(0, SemiSupervised(method="vat")).fit(X[labeled], y[labeled], X_unlabeled=pool)
    assert "_X_unlabeled" not in net.__dict__
    assert dict(net.callbacks_)["semi_supervised"].pool_ is None
    assert len(pickle.dumps(net)) < pool.nbytes / 10


def test_a_memory_mapped_pool_gives_the_in_memory_answer(tmp_path):
    X, y, labeled = blobs()
    mapped = np.lib.format.open_memmap(tmp_path / "pool.npy", mode="w+", dtype=X.dtype, shape=X.shape)
    mapped[:] = X
    mapped.flush()
    mapped = np.load(tmp_path / "pool.npy", mmap_mode="r")
    a = linear_net(0, SemiSupervised(method="fixmatch", threshold=0.6)).fit(X[labeled], y[labeled], X_unlabeled=X)
    b = linear_net(0, SemiSupervised(method="fixmatch", threshold=0.6)).fit(
        X[labeled], y[labeled], X_unlabeled=mapped)
    assert torch.equal(a.module_.weight, b.module_.weight)


def test_the_learner_hands_its_pool_to_every_fit_and_clones_with_it():
    X, y, labeled = blobs()
    learner = ActiveLearner(linear_net(2, SemiSupervised(method="vat")), X_unlabeled=X)
    learner.fit(X[labeled], y[labeled])
    assert (learner.predict(X) == y).all()
    plain = ActiveLearner(linear_net(2, SemiSupervised(method="vat"))).fit(X[labeled], y[labeled])
    assert (plain.predict(X) == y).mean() < 0.99  # seed 2: labels alone leave blob B cut
    np.testing.assert_array_equal(clone(learner).get_params()["X_unlabeled"], X)


def test_a_pool_for_an_estimator_that_cannot_take_it_is_a_clear_error():
    X, y, labeled = blobs()
    learner = ActiveLearner(LogisticRegression(), X_unlabeled=X)
    with pytest.raises(ValueError, match="LogisticRegression.fit does not take it"):
        learner.fit(X[:10], y[:10] * 0 + np.arange(10) % 2)


@pytest.mark.parametrize("bad, message", [
    ({"method": "mixmatch"}, "method must be one of"),
    ({"threshold": 1.0}, r"threshold must be a number in \[0, 1\)"),
    ({"weight": 0}, "weight must be a positive finite number"),
    ({"vat_eps": float("inf")}, "vat_eps must be a positive finite number"),
    ({"warmup": True}, r"warmup must be a number in \[0, 1\)"),
    ({"min_distance": -1}, "min_distance must be None or a number >= 0"),
    ({"ratio": 0}, "ratio"),
])
def test_bad_parameters_are_named_when_the_net_is_built(bad, message):
    with pytest.raises(ValueError, match=message):
        make_classifier(semi_supervised=SemiSupervised(**bad))
    with pytest.raises(ValueError, match="semi_supervised must be"):
        make_classifier(semi_supervised="mixmatch")


def test_strong_augment_keeps_the_digit_recognisable_and_changes_the_image():
    # A bar 20 pixels long is never wholly cut out: the square's side is 14, scaling shrinks it
    # by 15% at most (17 pixels); rotations of 15 degrees at most keep it upright.
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 4:24, 13:15] = 1.0
    out = strong_augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)
    bright = (out > 0.5).sum(dim=(1, 2, 3))  # the bar's 40 pixels, rotated, scaled, partly cut
    assert int(bright.min()) >= 2 and 10 <= float(bright.float().mean()) <= 40
    assert bool(((out - x).abs().sum(dim=(1, 2, 3)) > 0).all())  # every image changed
    assert strong_augment(torch.ones(3, 2)).equal(torch.ones(3, 2))  # not images: untouched


def test_a_whole_run_learns_from_its_pool_when_asked():
    from skdfal import ActiveLearningClassifier, RandomSampling

    X, y, _ = blobs()
    runs = {
        flag: ActiveLearningClassifier(
            linear_net(1, SemiSupervised(method="vat")), RandomSampling(), n_initial=2, n_instances=1,
            budget=2, random_state=0, learn_from_pool=flag,
        ).fit(X, y)
        for flag in (False, True)
    }
    assert runs[True].n_labels_paid_ == runs[False].n_labels_paid_ == 2
    assert runs[True].score(X, y) == 1.0  # the gap, found from the pool
    assert runs[False].score(X, y) < runs[True].score(X, y)
    assert clone(runs[True]).get_params()["learn_from_pool"] is True


def test_a_labeling_session_learns_from_its_own_pool(tmp_path):
    from skdfal import LabelingSession, load_digits_images
    from skdfal.labeling import SessionError

    X, y = load_digits_images()
    estimator = {"module": "lenet5", "input_shape": [1, 8, 8], "n_classes": 10, "train_steps": 5,
                 "batch_size": 32, "semi_supervised": "fixmatch"}
    session = LabelingSession.create(tmp_path / "s", X[:300], estimator=estimator,
                                     query_strategy="random_sampling", n_instances=10)
    try:
        assert session.learner.X_unlabeled is session.X_pool
        for i in range(10):
            session.teach(i, int(y[i]))
        session.retrain()
        callback = dict(session.learner.estimator_.callbacks_)["semi_supervised"]
        assert callback.n_seen_ > 0  # the retrain drew unlabeled batches of the pool
    finally:
        session.close()
    reopened = LabelingSession(tmp_path / "s")
    try:
        assert reopened.learner.X_unlabeled is reopened.X_pool
    finally:
        reopened.close()
    with pytest.raises((ValueError, SessionError), match="semi_supervised"):
        LabelingSession.create(tmp_path / "t", X[:300], estimator={**estimator, "semi_supervised": "mixmatch"})


@pytest.mark.parametrize("method", ["fixmatch", "vat"])
def test_a_frozen_backbone_stays_bit_identical_while_the_head_learns_from_the_pool(method):
    class Small(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.Flatten())
            self.fc = nn.Linear(4 * 8 * 8, 3)

        def forward(self, x):
            return self.fc(self.body(x))

    torch.manual_seed(0)
    module = Small()
    before = {k: v.clone() for k, v in module.body.state_dict().items()}
    X = np.random.RandomState(0).rand(60, 1, 8, 8).astype(np.float32)
    y = np.arange(60) % 3
    net = make_classifier(module, n_classes=3, train_steps=20, freeze=True, head="fc",
                          semi_supervised=SemiSupervised(method=method, threshold=0.0))
    net.fit(X[:6], y[:6], X_unlabeled=X)
    after = net.module_.body.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats included
    assert dict(net.callbacks_)["semi_supervised"].n_seen_ > 0


def test_a_benchmark_run_learns_from_its_pool_only_when_its_protocol_says_so():
    from skdfal.experiments import load_benchmark_data
    from skdfal.experiments._benchmark import run_one

    data = load_benchmark_data("digits", pool_size=200, test_size=100)
    protocol = {"n_initial": 10, "n_instances": 10, "budget": 10, "retrain": "scratch", "steps": 30,
                "model": "lenet5", "lr": None, "batch_size": 32, "device": "cpu", "subsample": None}
    rows = {}
    for semi in (None, {"method": "fixmatch", "threshold": 0.0}):
        params = {"classifier_params": {"semi_supervised": semi}} if semi else {}
        rows[bool(semi)] = run_one("random", 0, data, {**protocol, **params})
    # Same labels, same seed: only the pool can make the two fits differ.
    assert rows[True][0]["queried"] == rows[False][0]["queried"]
    assert rows[True][0]["accuracy"] != rows[False][0]["accuracy"]


def test_a_simulated_run_learns_from_its_pool_when_asked():
    from skdfal import RandomSampling
    from skdfal.experiments import simulate

    X, y, _ = blobs()
    rows = {
        flag: simulate(lambda s: linear_net(1, SemiSupervised(method="vat")), RandomSampling(), X, y, X, y,
                       n_initial=2, n_instances=1, n_rounds=0, learn_from_pool=flag)
        for flag in (False, True)
    }
    assert rows[True][0]["queried"] == rows[False][0]["queried"]  # the same two labels
    assert rows[True][0]["accuracy"] == 1.0 > rows[False][0]["accuracy"]  # the gap, found from the pool
