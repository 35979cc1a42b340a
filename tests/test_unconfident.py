"""Unconfident: a strategy among the samples the model is unsure of (issue 32, item 3).

The truth is a model whose probabilities are known in closed form (a
logistic regression read through ``predict_proba``), filtered by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skdfal import (
    ActiveLearner,
    EntropySampling,
    RandomSampling,
    Unconfident,
    make_classifier,
    make_strategy,
)
from skdfal.strategies import trainer_threshold


@pytest.fixture(scope="module")
def model_and_pool():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-2, 1, (200, 2)), rng.normal(2, 1, (200, 2))])
    y = np.repeat([0, 1], 200)
    model = LogisticRegression().fit(X, y)
    pool = rng.normal(0, 2.5, (300, 2))
    return model, pool


def test_picks_equal_the_strategy_on_the_hand_filtered_pool(model_and_pool):
    model, pool = model_and_pool
    confidence = model.predict_proba(pool).max(axis=1)
    unsure = np.flatnonzero(confidence < 0.9)
    assert 10 < len(unsure) < len(pool)  # the filter does something here
    expected, expected_scores = EntropySampling()(model, pool[unsure], n_instances=7)
    idx, scores = Unconfident(EntropySampling(), threshold=0.9)(model, pool, n_instances=7)
    np.testing.assert_array_equal(idx, unsure[expected])
    np.testing.assert_allclose(scores, expected_scores)
    assert (confidence[idx] < 0.9).all()


def test_random_draws_only_unsure_samples(model_and_pool):
    model, pool = model_and_pool
    confidence = model.predict_proba(pool).max(axis=1)
    idx, _ = Unconfident(RandomSampling(), threshold=0.8, random_state=0)(model, pool, n_instances=20)
    assert len(set(idx.tolist())) == 20
    assert (confidence[idx] < 0.8).all()
    # Without the wrapper, random sampling takes confident samples too.
    plain, _ = RandomSampling(random_state=0)(None, pool, n_instances=20)
    assert (confidence[plain] >= 0.8).any()


def test_too_few_unsure_samples_are_topped_up_with_the_least_confident(model_and_pool):
    model, pool = model_and_pool
    confidence = model.predict_proba(pool).max(axis=1)
    threshold = np.sort(confidence)[3]  # exactly three samples below it
    idx, _ = Unconfident(RandomSampling(), threshold=float(threshold), random_state=0)(model, pool, n_instances=8)
    np.testing.assert_array_equal(np.sort(idx), np.sort(np.argsort(confidence, kind="stable")[:8]))


def test_a_stream_gives_the_array_answer(model_and_pool):
    model, pool = model_and_pool
    strategy = Unconfident(EntropySampling(), threshold=0.9)
    expected, _ = strategy(model, pool, n_instances=5)
    stream = (pool[i : i + 64] for i in range(0, len(pool), 64))
    got, _ = strategy.set_params(batch_size=32)(model, stream, n_instances=5)
    np.testing.assert_array_equal(got, expected)


def test_threshold_trainer_reads_the_semi_supervised_callback():
    net = make_classifier("lenet5", input_shape=(1, 8, 8), semi_supervised="fixmatch",
                          callbacks__semi_supervised__threshold=0.7).initialize()
    assert trainer_threshold(net) == 0.7
    assert trainer_threshold(make_classifier("lenet5", input_shape=(1, 8, 8)).initialize()) == 0.95
    assert trainer_threshold(LogisticRegression()) == 0.95


@pytest.mark.parametrize("params, message", [
    ({"threshold": 1.5}, "threshold"), ({"threshold": "auto"}, "threshold"), ({"strategy": "random"}, "strategy"),
])
def test_bad_parameters_are_refused_at_the_door(model_and_pool, params, message):
    model, pool = model_and_pool
    with pytest.raises(ValueError, match=message):
        Unconfident(**{"strategy": EntropySampling(), **params})(model, pool, n_instances=2)


def test_registered_arms_share_no_inner_strategy():
    first, second = make_strategy("dfal_batch_unconfident"), make_strategy("dfal_batch_unconfident")
    first.set_params(strategy__selector__factor=2)
    assert second.strategy.selector.factor == 5
    assert repr(make_strategy("dfal_batch_unconfident").strategy) == repr(make_strategy("dfal_batch"))


def test_in_a_learner_on_digits(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=8, random_state=0)
    learner = ActiveLearner(net, Unconfident(make_strategy("dfal_batch"), random_state=0)).fit(X[:300], y[:300])
    idx, _ = learner.query(X[600:900], n_instances=10)
    assert len(set(idx.tolist())) == 10
    assert (learner.predict_proba(X[600:900][idx]).max(axis=1) < 0.95).all()
