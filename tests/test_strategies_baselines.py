"""Baseline strategies checked against independent truth (hand-made probabilities,
brute-force references, autograd)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skdfal import (
    BADGE,
    BALD,
    ActiveLearner,
    CoreSet,
    EntropySampling,
    LeastConfidence,
    LeNet5,
    MarginSampling,
    badge,
    bald,
    coreset,
    entropy_sampling,
    least_confidence,
    margin_sampling,
)
from skdfal.strategies import QueryContext
from skdfal.strategies._bayesian import mc_dropout
from skdfal.strategies._diversity import (
    gradient_embeddings,
    k_center_greedy,
    kmeans_pp_seeding,
    penultimate_features,
)

# Rows: confident, two-way tie, uniform over three, skewed.
PROBA = np.array(
    [
        [0.98, 0.01, 0.01],
        [0.5, 0.5, 0.0],
        [1 / 3, 1 / 3, 1 / 3],
        [0.6, 0.3, 0.1],
    ]
)


class FixedProba(ClassifierMixin, BaseEstimator):
    """A 'classifier' whose probabilities are PROBA rows picked by X[:, 0]."""

    def fit(self, X, y):
        self.classes_ = np.arange(3)
        return self

    def predict_proba(self, X):
        return PROBA[np.asarray(X)[:, 0].astype(int)]


@pytest.fixture
def fixed():
    return FixedProba().fit(None, None), np.arange(4, dtype=np.float32)[:, None]


def test_uncertainty_utilities_match_hand_computation():
    np.testing.assert_allclose(LeastConfidence.utility(PROBA), [0.02, 0.5, 2 / 3, 0.4])
    np.testing.assert_allclose(MarginSampling.utility(PROBA), [0.97, 0.0, 0.0, 0.3], atol=1e-12)
    expected = [-(p[p > 0] * np.log(p[p > 0])).sum() for p in PROBA]
    np.testing.assert_allclose(EntropySampling.utility(PROBA), expected)
    np.testing.assert_allclose(EntropySampling.utility(PROBA)[2], np.log(3))


def test_uncertainty_queries_on_any_sklearn_classifier(fixed):
    clf, X = fixed
    idx, scores = entropy_sampling(clf, X, n_instances=2)
    assert idx.tolist() == [2, 3]  # uniform, then the skewed row (0.898 > log 2 nats)
    np.testing.assert_allclose(scores, [np.log(3), -(0.6 * np.log(0.6) + 0.3 * np.log(0.3) + 0.1 * np.log(0.1))])
    idx, scores = margin_sampling(clf, X, n_instances=3)
    assert set(idx[:2].tolist()) == {1, 2} and idx[2] == 3
    idx, _ = least_confidence(clf, X, n_instances=1)
    assert idx.tolist() == [2]
    assert clone(EntropySampling(batch_size=2)).get_params()["batch_size"] == 2


def test_uncertainty_batches_and_pool_types(fixed):
    clf, X = fixed
    ref = EntropySampling().score(clf, X)
    for pool in (torch.as_tensor(X), [X[:3], X[3:]], torch.utils.data.TensorDataset(torch.as_tensor(X))):
        np.testing.assert_allclose(EntropySampling(batch_size=3).score(clf, pool), ref)


def test_uncertainty_on_skorch_net_learner_pipeline_and_module(fitted_net, digits):
    X, y = digits
    pool = X[600:700]
    proba = fitted_net.predict_proba(pool)
    expected = -(proba * np.log(np.clip(proba, 1e-300, None))).sum(1)
    np.testing.assert_allclose(EntropySampling().score(fitted_net, pool), expected, rtol=1e-5, atol=1e-6)
    # A bare module: softmax of its logits, same numbers.
    np.testing.assert_allclose(EntropySampling().score(fitted_net.module_, pool), expected, rtol=1e-4, atol=1e-5)
    learner = ActiveLearner(fitted_net).fit(X[:50], y[:50])
    assert EntropySampling()(learner, pool, 3)[0].shape == (3,)
    lr = make_pipeline(FunctionTransformer(lambda a: a.reshape(len(a), -1)), LogisticRegression(max_iter=200))
    lr.fit(X[:300], y[:300])
    p = lr.predict_proba(pool)
    np.testing.assert_allclose(LeastConfidence().score(lr, pool), 1 - p.max(1))


# ------------------------------------------------------------------- BALD
def test_bald_is_zero_without_dropout(fitted_net, digits):
    X, _ = digits
    module = fitted_net.module_
    no_dropout = LeNet5(input_size=8, dropout=0.0)
    no_dropout.load_state_dict(module.state_dict())
    scores = BALD(n_passes=5, random_state=0).score(no_dropout, X[:64])
    np.testing.assert_allclose(scores, 0.0, atol=1e-9)
    # With dropout the sub-networks disagree somewhere, and BALD is never negative.
    scores = BALD(n_passes=10, random_state=0).score(fitted_net, X[:64])
    assert (scores >= 0).all() and scores.max() > 1e-3


def test_bald_matches_slow_reference():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(16, 4))
    X = np.random.RandomState(0).randn(7, 3).astype(np.float32)
    got = BALD(n_passes=6, random_state=3, batch_size=7).score(net, X)
    # Reference: same seed (one batch, starting at sample 0), passes one by one
    # in train mode (only dropout is random here).
    from sklearn.utils import check_random_state

    seed = int(check_random_state(3).randint(2**31 - 1))
    with torch.random.fork_rng():
        torch.manual_seed(int(np.random.SeedSequence([seed, 0]).generate_state(1)[0]))
        net.train()
        with torch.no_grad():
            probs = np.stack([torch.softmax(net(torch.as_tensor(X)), 1).double().numpy() for _ in range(6)])
    net.eval()
    mean = probs.mean(0)
    expected = -(mean * np.log(mean)).sum(1) + (probs * np.log(probs)).sum(2).mean(0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_bald_lenet_shortcut_equals_full_forward(fitted_net, digits):
    X, _ = digits
    wrapped = torch.nn.Sequential(fitted_net.module_)  # not a LeNet5: runs whole every pass
    a = BALD(n_passes=4, random_state=1).score(fitted_net, X[:40])
    b = BALD(n_passes=4, random_state=1).score(wrapped, X[:40])
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert bald(fitted_net, X[:40], 2, n_passes=4, random_state=1)[0].tolist() == list(np.argsort(-a, kind="stable")[:2])


def test_mc_dropout_restores_modes():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2), torch.nn.Dropout(0.3))
    net.train()
    with mc_dropout(net):
        assert net[2].training and not net[1].training and not net[0].training
    assert all(m.training for m in net.modules())


# ------------------------------------------------------------- diversity
def _identity_net(d, n_classes=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(d, n_classes))


def _greedy_reference(points, centers, k):
    picked = []
    for _ in range(k):
        best, best_d = None, -1.0
        for i, p in enumerate(points):
            if i in picked:
                continue
            d = min(np.linalg.norm(p - c) for c in list(centers) + [points[j] for j in picked])
            if d > best_d:
                best, best_d = i, d
        picked.append(best)
    return picked


def test_coreset_picks_the_farthest_point():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 4.0], [3.0, 3.0], [0.5, 0.5]], dtype=np.float32)
    labeled = np.zeros((1, 2), dtype=np.float32)
    idx, dist = CoreSet(X_labeled=labeled)(_identity_net(2), X, n_instances=1)
    assert idx.tolist() == [3]
    np.testing.assert_allclose(dist, [np.sqrt(18)], rtol=1e-6)
    rng = np.random.RandomState(0)
    pts, centers = rng.randn(40, 3).astype(np.float32), rng.randn(4, 3).astype(np.float32)
    idx, _ = coreset(_identity_net(3), pts, 6, X_labeled=centers)
    assert idx.tolist() == _greedy_reference(pts, centers, 6)
    np.testing.assert_allclose(
        CoreSet(X_labeled=centers).score(_identity_net(3), pts),
        np.linalg.norm(pts[:, None] - centers[None], axis=2).min(1), rtol=1e-5,
    )


def test_coreset_uses_the_learners_paid_rows_only(digits):
    X = np.array([[0.0], [10.0], [2.0], [9.0]], dtype=np.float32)

    class Holder:  # what an active learner hands its strategies
        def query_context(self):
            return QueryContext(
                estimator=_identity_net(1), X_training=np.array([[0.0], [10.0]], dtype=np.float32),
                y_training=np.array([0, 1]), is_adversarial=np.array([False, True]), n_labels_paid=1,
            )

    idx, _ = CoreSet()(Holder(), X, n_instances=1)
    assert idx.tolist() == [1]  # the adversarial row at 10 is not a center
    assert k_center_greedy(X, None, 2, random_state=0)[0].shape == (2,)


def test_penultimate_features_are_the_lenet_embedding(fitted_net, digits):
    X, _ = digits
    module = fitted_net.module_
    with torch.no_grad():
        module.eval()
        expected = module.embedding(module.features(torch.as_tensor(X[:30]))).numpy()
    np.testing.assert_allclose(penultimate_features(fitted_net, X[:30], batch_size=7), expected, rtol=1e-5, atol=1e-6)


def test_badge_embeddings_equal_autograd_gradient(fitted_net, digits):
    X, _ = digits
    module = fitted_net.module_
    got = gradient_embeddings(fitted_net, X[:8], batch_size=3)
    module.eval()
    for i in range(8):
        x = torch.as_tensor(X[i : i + 1])
        logits = module(x)
        loss = torch.nn.functional.cross_entropy(logits, logits.argmax(1))
        (grad,) = torch.autograd.grad(loss, module.classifier.weight)
        np.testing.assert_allclose(got[i], grad.flatten().numpy(), rtol=1e-4, atol=1e-6)


def test_kmeans_pp_first_pick_is_largest_norm_and_picks_differ():
    rng = np.random.RandomState(0)
    g = rng.randn(30, 5)
    g[7] *= 10
    idx, d2 = kmeans_pp_seeding(g, 6, random_state=0)
    assert idx[0] == 7 and len(set(idx.tolist())) == 6
    np.testing.assert_allclose(d2[0], (g[7] ** 2).sum(), rtol=1e-5)
    # Duplicates carry no D^2 mass: a set of copies still yields distinct picks.
    idx, _ = kmeans_pp_seeding(np.ones((5, 2)), 3, random_state=0)
    assert len(set(idx.tolist())) == 3


def test_badge_object_and_function_forms_agree(fitted_net, digits):
    X, _ = digits
    a = BADGE(random_state=0)(fitted_net, X[600:800], 5)[0]
    b = badge(fitted_net, X[600:800], 5, random_state=0)[0]
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 5
    norms = BADGE().score(fitted_net, X[600:800])
    assert a[0] == int(np.argmax(norms))


@pytest.mark.parametrize("strategy", [EntropySampling(), BALD(n_passes=3, random_state=0), CoreSet(), BADGE(random_state=0)])
def test_strategies_accept_memmaps_datasets_and_subsample(strategy, fitted_net, digits, tmp_path):
    X, y = digits
    pool = X[600:700]
    mm = np.lib.format.open_memmap(tmp_path / "pool.npy", mode="w+", dtype=np.float32, shape=pool.shape)
    mm[:] = pool
    learner = ActiveLearner(fitted_net).fit(X[:40], y[:40])
    ref = strategy(learner, pool, 4)[0]
    assert strategy(learner, mm, 4)[0].tolist() == ref.tolist()
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(pool), torch.as_tensor(y[600:700]))
    assert strategy(learner, dataset, 4)[0].tolist() == ref.tolist()
    idx, _ = clone(strategy).set_params(subsample=30, random_state=0)(learner, pool, 4)
    assert len(set(idx.tolist())) == 4 and idx.max() < 100


def test_scikit_activeml_entropy_picks_what_our_entropy_picks(fitted_net, digits):
    # The same fitted net scored by two libraries: the top entropies agree.
    from skdfal import ActiveLearner, EntropySampling
    from skdfal.strategies import SkactivemlStrategy

    X, y = digits
    learner = ActiveLearner(fitted_net)
    learner.restore(fitted_net, X[:600], y[:600])
    ours, _ = EntropySampling()(learner, X[900:1200], n_instances=8)
    theirs, _ = SkactivemlStrategy("entropy", random_state=0)(learner, X[900:1200], n_instances=8)
    assert sorted(ours.tolist()) == sorted(theirs.tolist())
