"""dfal_margin / DFALMargin: selection, the classifiers it accepts, bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skdfal import ActiveLearner, DFALMargin, deepfool, dfal_margin, make_classifier


@pytest.fixture(scope="module")
def pool(digits):
    X, _ = digits
    return X[1000:1200]


def test_returns_exactly_the_smallest_norm_samples(fitted_net, pool):
    norms = deepfool(fitted_net.module_, torch.as_tensor(pool)).norms.numpy()
    idx, margins = dfal_margin(fitted_net, pool, n_instances=7)
    np.testing.assert_array_equal(idx, np.argsort(norms, kind="stable")[:7])
    np.testing.assert_allclose(margins, np.sort(norms)[:7], rtol=1e-5)
    assert np.all(np.diff(margins) >= 0)


def test_object_and_function_forms_agree_and_clone(fitted_net, pool):
    strategy = DFALMargin(overshoot=0.05, candidates=4)
    idx_obj, m_obj = strategy(fitted_net, pool, 5)
    idx_fn, m_fn = dfal_margin(fitted_net, pool, 5, overshoot=0.05, candidates=4)
    np.testing.assert_array_equal(idx_obj, idx_fn)
    np.testing.assert_allclose(m_obj, m_fn)
    twin = clone(strategy)
    assert twin is not strategy and twin.get_params() == strategy.get_params()
    # Per-call overrides do not mutate the strategy.
    strategy(fitted_net, pool, 5, overshoot=0.5)
    assert strategy.overshoot == 0.05


@pytest.mark.slow  # scores the pool twice
def test_progress_bar_counts_every_sample_and_changes_nothing(fitted_net, pool, capsys):
    quiet = DFALMargin(batch_size=64)(fitted_net, pool, 5)
    capsys.readouterr()
    loud = DFALMargin(batch_size=64, progress=True)(fitted_net, pool, 5)
    err = capsys.readouterr().err
    assert "DeepFool margins" in err and f"{len(pool)}/{len(pool)}" in err
    np.testing.assert_array_equal(loud[0], quiet[0])
    np.testing.assert_array_equal(loud[1], quiet[1])
    DFALMargin(batch_size=64)(fitted_net, pool, 5)
    assert "DeepFool margins" not in capsys.readouterr().err


def test_overshoot_scales_margins(fitted_net, pool):
    _, m0 = dfal_margin(fitted_net, pool, 3, overshoot=0.0)
    _, m1 = dfal_margin(fitted_net, pool, 3, overshoot=0.5)
    # Same steps (2-3 iterations), total perturbation scaled by 1.5 vs 1.0.
    assert np.all(m1 > m0)


def test_subsample_scores_only_a_subset(fitted_net, pool):
    strategy = DFALMargin(subsample=30, random_state=0)
    idx, margins = strategy(fitted_net, pool, 4)
    subset = np.sort(np.random.RandomState(0).choice(len(pool), 30, replace=False))
    assert set(idx) <= set(subset)
    norms = deepfool(fitted_net.module_, torch.as_tensor(pool[subset])).norms.numpy()
    np.testing.assert_array_equal(idx, subset[np.argsort(norms, kind="stable")[:4]])


def test_pipeline_runs_deepfool_in_net_input_space(fitted_net, pool):
    flat = pool.reshape(len(pool), -1) * 2.0  # raw space: flattened, scaled by 2
    to_image = FunctionTransformer(lambda X: (X / 2.0).reshape(-1, 1, 8, 8).astype(np.float32))
    pipe = Pipeline([("to_image", to_image), ("net", fitted_net)])
    idx_pipe, m_pipe = dfal_margin(pipe, flat, 6)
    idx_net, m_net = dfal_margin(fitted_net, pool, 6)
    np.testing.assert_array_equal(idx_pipe, idx_net)
    np.testing.assert_allclose(m_pipe, m_net, rtol=1e-5)


def test_float64_pool_is_cast_not_refused(fitted_net, pool):
    idx32, m32 = dfal_margin(fitted_net, pool, 5)
    idx64, m64 = dfal_margin(fitted_net, pool.astype(np.float64), 5)
    np.testing.assert_array_equal(idx32, idx64)
    np.testing.assert_allclose(m32, m64, rtol=1e-5)


def test_skdfal_learner_is_accepted(fitted_net, pool, digits):
    X, y = digits
    learner = ActiveLearner(fitted_net, dfal_margin).fit(X[:50], y[:50])
    idx, _ = dfal_margin(learner, pool, 3)
    expected, _ = dfal_margin(learner.estimator_, pool, 3)
    np.testing.assert_array_equal(idx, expected)


class CountingStrategy:
    def __init__(self):
        self.calls = 0

    def __call__(self, classifier, X_pool, n_instances=1, **kwargs):
        self.calls += 1
        return dfal_margin(classifier, X_pool, n_instances, **kwargs)


def test_modal_active_learner_calls_strategy_once(fitted_net, pool):
    modal = pytest.importorskip("modAL.models")
    counting = CountingStrategy()
    learner = modal.ActiveLearner(estimator=fitted_net, query_strategy=counting)
    idx, instances = learner.query(pool, n_instances=4)
    assert counting.calls == 1
    expected, _ = dfal_margin(fitted_net, pool, 4)
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_array_equal(instances, pool[expected])


def test_modal_deep_active_learner_calls_strategy_once(fitted_net, pool):
    modal = pytest.importorskip("modAL.models")
    net = copy.deepcopy(fitted_net)
    counting = CountingStrategy()
    # DeepActiveLearner re-initialises the net in its constructor.
    learner = modal.DeepActiveLearner(estimator=net, query_strategy=counting)
    idx, _ = learner.query(pool, n_instances=4)
    assert counting.calls == 1
    expected, _ = dfal_margin(net, pool, 4)
    np.testing.assert_array_equal(idx, expected)


# ------------------------------------------------------------------ bad input
def test_nan_in_pool_is_refused(fitted_net, pool):
    bad = pool.copy()
    bad[17, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity.*17"):
        dfal_margin(fitted_net, bad, 2)
    bad[17, 0, 3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        dfal_margin(fitted_net, bad, 2)


def test_pool_shape_that_does_not_fit_the_module(fitted_net):
    with pytest.raises(ValueError, match=r"shape \(1, 5, 5\) do not fit"):
        dfal_margin(fitted_net, np.zeros((4, 1, 5, 5), np.float32), 1)


def test_unfitted_estimator():
    net = make_classifier("lenet5", input_shape=(1, 8, 8))
    with pytest.raises(NotFittedError):
        dfal_margin(net, np.zeros((4, 1, 8, 8), np.float32), 1)


def test_estimator_without_torch_module(digits):
    X, y = digits
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X[:50].reshape(50, -1), y[:50])
    with pytest.raises(TypeError, match="differentiable torch model.*RandomForestClassifier"):
        dfal_margin(forest, X[50:60].reshape(10, -1), 1)


@pytest.mark.parametrize("n", [0, -1, 201])
def test_n_instances_out_of_range(fitted_net, pool, n):
    with pytest.raises(ValueError, match="n_instances"):
        dfal_margin(fitted_net, pool, n)


def test_n_instances_must_be_an_integer(fitted_net, pool):
    with pytest.raises(TypeError):
        dfal_margin(fitted_net, pool, 2.5)


def test_empty_pool(fitted_net):
    with pytest.raises(ValueError, match="empty"):
        dfal_margin(fitted_net, np.zeros((0, 1, 8, 8), np.float32), 1)


@pytest.mark.filterwarnings("ignore:the model predicts class")  # one image, one class
def test_random_tie_break_shuffles_equal_margins(fitted_net, digits):
    """modAL's ``random_tie_break``: copies of one image tie; they come in random order, not pool order."""
    X, _ = digits
    pool = np.repeat(X[:1], 30, axis=0)
    idx, margins = dfal_margin(fitted_net, pool, 5)
    assert np.all(margins == margins[0])  # an exact tie, so pool order decides...
    assert idx.tolist() == [0, 1, 2, 3, 4]
    draws = {tuple(dfal_margin(fitted_net, pool, 5, random_tie_break=True, random_state=seed)[0])
             for seed in range(5)}
    assert len(draws) > 1 and all(len(set(d)) == 5 for d in draws)  # ...unless asked otherwise
