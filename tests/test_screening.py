"""DFAL screening: first-order margins, then exact DeepFool on an adaptive shortlist.

Truth is independent of the code under test where it can be: on affine
models the distance to each boundary is computed by hand from the weights;
on CNNs, exact mode (DeepFool on every sample) gives the answer.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
import torch
from _pools import POOL_KINDS, make_pool
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from skdfal import DFALMargin, make_classifier
from skdfal.attacks import first_order_margins
from skdfal.strategies import _screening, _screening_rows, screen_pool

STEP_EPS = 1e-4  # DeepFool's default, added to each linearised distance


def affine(W, b):
    lin = nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(W, dtype=torch.float32))
        lin.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
    return lin


def boundary_distances(W, b, X):
    """Per sample and class: (f_c - f_j + eps) / ||w_c - w_j||, inf for the predicted class."""
    f = X.astype(np.float64) @ W.T + b
    c = f.argmax(1)
    rows = np.arange(len(X))
    dist = np.full(f.shape, np.inf)
    for j in range(W.shape[0]):
        norm = np.linalg.norm(W[c] - W[j], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (f[rows, c] - f[:, j] + STEP_EPS) / norm
        dist[:, j] = np.where(c == j, np.inf, d)
    return dist, f


@pytest.fixture(scope="module")
def random_affine():
    rng = np.random.RandomState(0)
    W, b = rng.randn(10, 12), rng.randn(10)
    X = rng.randn(1500, 12).astype(np.float32)
    return W, b, X


def test_first_order_margin_is_the_closed_form_distance(random_affine):
    W, b, X = random_affine
    dist, f = boundary_distances(W, b, X)
    ranked = np.argsort(-f, axis=1, kind="stable")  # prediction, then runner-ups
    for k in (2, 4, 10):
        expected = 1.02 * np.take_along_axis(dist, ranked[:, 1:k], axis=1).min(1)
        res = first_order_margins(affine(W, b), torch.as_tensor(X), candidates=k, batch_size=100)
        np.testing.assert_allclose(res.margins.numpy(), expected, rtol=1e-4, atol=1e-6)  # float32 logits
        np.testing.assert_array_equal(res.labels.numpy(), f.argmax(1))


@pytest.mark.parametrize("k", [2, 3, 10])
@pytest.mark.parametrize("n", [1, 10, 60])
def test_affine_screening_returns_the_exact_nearest_samples(random_affine, k, n):
    # Exact DeepFool on an affine model is one step to the nearest boundary.
    W, b, X = random_affine
    dist, _ = boundary_distances(W, b, X)
    exact = 1.02 * dist.min(1)
    idx, margins = DFALMargin(screening=True, screening_candidates=k)(affine(W, b), X, n_instances=n)
    np.testing.assert_array_equal(idx, np.argsort(exact, kind="stable")[:n])
    np.testing.assert_allclose(margins, np.sort(exact)[:n], rtol=1e-4, atol=1e-6)


def test_the_shortlist_grows_when_the_first_order_margin_misleads():
    # Class 0 is predicted everywhere and class 1 is the runner-up by logit,
    # but class 2's boundary is the nearer one: distance 0.5 - x0 (weights
    # 10 apart), against 10 - x1 to class 1.  The top-2 margin ranks the pool
    # by x1, which says nothing about the exact norm (ranked by x0).
    rng = np.random.RandomState(1)
    X = np.c_[rng.uniform(0, 0.3, 600), rng.uniform(0, 9, 600)].astype(np.float32)
    W = np.array([[0.0, 0.0], [0.0, 0.1], [10.0, 0.0]])
    b = np.array([0.0, -1.0, -5.0])
    dist, f = boundary_distances(W, b, X)
    assert (f.argmax(1) == 0).all() and (np.argsort(-f, 1)[:, 1] == 1).all()
    truth = np.argsort(dist.min(1), kind="stable")[:5]
    with pytest.warns(UserWarning, match="predicts class 0 for every sample"):
        top2 = screen_pool(affine(W, b), X, 5)
        top3 = screen_pool(affine(W, b), X, 5, screening_candidates=3)
    np.testing.assert_array_equal(top2.indices, truth)
    np.testing.assert_array_equal(top3.indices, truth)
    # Misled, it grew to every sample.  Measuring class 2 too, the first-order
    # margin is exact (ratio 1, times the safety factor): the shortlist only
    # grows to the samples within tau / 0.9.
    assert top2.shortlist_sizes[0] < top2.shortlist_size == 600 and top2.ratio < 0.1
    assert top3.shortlist_size < 100 and top3.ratio == pytest.approx(0.9, rel=1e-3)


@pytest.fixture(scope="module")
def pool(digits):
    return digits[0][1000:1400]


@pytest.fixture(scope="module")
def weak_net(digits):
    """An early-round model: LeNet5 on 20 labels (it predicts one class)."""
    X, y = digits
    # Unshuffled batches, as make_classifier trained before it shuffled: a
    # model stuck on one class.
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=10, random_state=0,
                          iterator_train__shuffle=False, input_mean=None, input_std=None)
    return net.fit(X[:20], y[:20])


@pytest.mark.parametrize("n", [1, 5, 20])
def test_lenet5_screening_picks_the_exact_top_n(fitted_net, pool, n):
    exact_idx, exact_norms = DFALMargin()(fitted_net, pool, n_instances=n)
    idx, norms = DFALMargin(screening=True)(fitted_net, pool, n_instances=n)
    np.testing.assert_array_equal(idx, exact_idx)
    np.testing.assert_allclose(norms, exact_norms, rtol=1e-5)


@pytest.mark.slow  # screens the pool with two nets
def test_a_weak_model_needs_a_longer_shortlist(fitted_net, weak_net, pool):
    strong = screen_pool(fitted_net, pool, 5)
    with pytest.warns(UserWarning, match="predicts class"):
        weak = screen_pool(weak_net, pool, 5)
        exact_idx, _ = DFALMargin()(weak_net, pool, n_instances=5)
    np.testing.assert_array_equal(weak.indices, exact_idx)
    assert weak.shortlist_sizes[0] == strong.shortlist_sizes[0] == 37  # 5 + 32
    assert weak.shortlist_size > 3 * strong.shortlist_size
    assert strong.n_attacked < len(pool) and strong.n_pool == len(pool)


def test_score_and_info(fitted_net, pool, caplog):
    # score() has no query size: it attacks every sample, screening or not.
    np.testing.assert_allclose(
        DFALMargin(screening=True).score(fitted_net, pool[:50]), DFALMargin().score(fitted_net, pool[:50])
    )
    with caplog.at_level(logging.INFO, logger="skdfal.strategies._screening"):
        res = screen_pool(fitted_net, pool, 3)
    assert f"exact DeepFool on {res.n_attacked} of 400 pool samples" in caplog.text
    assert res.threshold == res.margins[-1] and 0 < res.ratio


def test_subsample_and_screening_compose(fitted_net, pool):
    a = DFALMargin(subsample=300, random_state=3)(fitted_net, pool, n_instances=4)
    b = DFALMargin(subsample=300, random_state=3, screening=True)(fitted_net, pool, n_instances=4)
    np.testing.assert_array_equal(a[0], b[0])


@pytest.fixture
def sparse_probe(monkeypatch):
    # Few probe samples and few held rows, so that the shortlist needs rows a
    # streamed pool did not keep.
    monkeypatch.setattr(_screening_rows, "PROBE_SIZE", 8)
    monkeypatch.setattr(_screening, "HELD_ROWS_FACTOR", 1)
    monkeypatch.setattr(_screening_rows, "MIN_HELD_ROWS", 1)


# Seconds per container (a net trained, the pool screened twice); the fast
# subset screens streams through the strategy contract (dfal_screen).
@pytest.mark.slow
@pytest.mark.parametrize("kind", POOL_KINDS)
def test_every_pool_gives_the_same_picks(kind, weak_net, pool, tmp_path, sparse_probe):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = screen_pool(weak_net, pool, 5, batch_size=64)
        # Read once (a generator; a DataLoader, which might shuffle): rows it did not keep are
        # lost, and it says so.
        if kind in ("generator", "iterable_loader"):
            with pytest.warns(UserWarning, match="cannot be read again"):
                screen_pool(weak_net, make_pool(kind, pool, tmp_path), 5, batch_size=64)
            return
        res = screen_pool(weak_net, make_pool(kind, pool, tmp_path), 5, batch_size=64)
    assert ref.shortlist_size > 37 + 16  # beyond the rows a stream keeps (and the probe)
    np.testing.assert_array_equal(res.indices, ref.indices)
    np.testing.assert_allclose(res.margins, ref.margins, rtol=1e-4)
    assert res.shortlist_sizes == ref.shortlist_sizes


@pytest.mark.parametrize("kind", ["array", "batch_list", "generator"])
def test_pipeline_transforms_each_row_once(fitted_net, pool, kind, tmp_path):
    pipe = Pipeline([("scale", FunctionTransformer(lambda X: X * 0.5)), ("net", fitted_net)])
    data = pool if kind == "array" else make_pool(kind, pool, tmp_path)
    idx, norms = DFALMargin(screening=True)(pipe, data, n_instances=5)
    ref_idx, ref_norms = DFALMargin()(fitted_net, pool * 0.5, n_instances=5)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(norms, ref_norms, rtol=1e-5)


def test_unflipped_pool_keeps_exact_modes_random_draws_and_warnings():
    # Every hidden unit dead: no sample can flip; screening then attacks the
    # whole pool and draws as exact mode does.
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        m[0].weight.fill_(1.0)
        m[0].bias.fill_(-10.0)
        m[2].bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    X = np.random.RandomState(0).rand(300, 4).astype(np.float32)
    with pytest.warns(UserWarning) as caught:
        idx, scores = DFALMargin(screening=True, random_state=4)(m, X, n_instances=5)
    messages = " ".join(str(w.message) for w in caught)
    assert "predicts class 1 for every sample" in messages and "could not flip 300 of 300" in messages
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, _ = DFALMargin(random_state=4)(m, X, n_instances=5)
    np.testing.assert_array_equal(idx, ref)
    assert np.isinf(scores).all()


@pytest.mark.parametrize(
    "params, name",
    [({"screening": "yes"}, "screening"), ({"screening_candidates": 1}, "screening_candidates"),
     ({"screening": True, "screening_candidates": 2.5}, "screening_candidates")],
)
def test_bad_parameters_name_themselves(fitted_net, pool, params, name):
    with pytest.raises(ValueError, match=name):
        DFALMargin(**params)(fitted_net, pool, n_instances=2)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"candidates": 1}, "candidates"), ({"norm": 3}, "norm"), ({"overshoot": -1.0}, "overshoot"),
     ({"batch_size": 0}, "batch_size"), ({"clip": (1.0, 0.0)}, "clip")],
)
def test_first_order_margins_checks_its_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        first_order_margins(nn.Linear(3, 2), torch.zeros(4, 3), **kwargs)


def test_screen_pool_checks_its_arguments(fitted_net, pool):
    for kwargs, name in [({"screening_candidates": 1}, "screening_candidates"), ({"batch_size": 0}, "batch_size")]:
        with pytest.raises(ValueError, match=name):
            screen_pool(fitted_net, pool, 2, **kwargs)
    with pytest.raises(ValueError, match="n_instances"):
        screen_pool(fitted_net, pool, 0)
    with pytest.raises(ValueError, match="larger than the pool"):
        screen_pool(fitted_net, (b for b in [pool[:3]]), 5)
    with pytest.raises(ValueError, match="do not fit"):
        screen_pool(fitted_net, np.zeros((4, 1, 5, 5), np.float32), 2)


@pytest.mark.parametrize("space", ["features", "directions"])
def test_screening_with_batch_diversity_matches_exact_mode(fitted_net, pool, space):
    """Screening keeps the exact k * n smallest margins, so the spread batch is exact mode's."""
    params = dict(batch_diversity=space, diversity_factor=5, random_state=0)
    exact_idx, exact_norms = DFALMargin(**params)(fitted_net, pool, n_instances=4)
    idx, norms = DFALMargin(screening=True, **params)(fitted_net, pool, n_instances=4)
    np.testing.assert_array_equal(idx, exact_idx)
    np.testing.assert_allclose(norms, exact_norms, rtol=1e-5)
    # Spread, not the 4 smallest: the paper's batch differs.
    paper, _ = DFALMargin(screening=True)(fitted_net, pool, n_instances=4)
    assert set(idx.tolist()) != set(paper.tolist())
    assert len(set(idx.tolist())) == 4
