"""modAL's documented protocol on skdfal's learner, beyond modAL's own tests.

Each test is a usage modAL documents that broke on skdfal's learner (issue
12): its README's two-argument strategy, ``functools.partial`` strategies,
``expected_error_reduction``, ``modAL.dropout`` and ``Committee`` reading
``learner.estimator``, a current ``X_training``, a cold start, ``bootstrap``.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from skdfal import ActiveLearner, make_classifier

modal_batch = pytest.importorskip("modAL.batch")
from modAL.dropout import mc_dropout_bald  # noqa: E402
from modAL.expected_error import expected_error_reduction  # noqa: E402
from modAL.models import Committee  # noqa: E402
from modAL.uncertainty import uncertainty_sampling  # noqa: E402


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(y))
    return X[order], y[order]


def test_readme_two_argument_strategy(iris):
    X, y = iris

    def random_sampling(classifier, X_pool):  # modAL's README, verbatim
        n_samples = len(X_pool)
        query_idx = np.random.choice(range(n_samples))
        return query_idx, X_pool[query_idx]

    learner = ActiveLearner(LogisticRegression(), random_sampling, X_training=X[:10], y_training=y[:10])
    idx, inst = learner.query(X[10:])
    np.testing.assert_array_equal(inst, X[10:][idx])


def test_partial_batch_strategy_sees_the_current_training_set(iris):
    X, y = iris
    seen = []

    def spy(classifier, X_pool, n_instances=1):
        seen.append(len(classifier.X_training))
        return modal_batch.uncertainty_batch_sampling(classifier, X_pool, n_instances=n_instances)

    learner = ActiveLearner(LogisticRegression(), partial(spy, n_instances=3), X_training=X[:6], y_training=y[:6])
    for _ in range(2):
        idx, inst = learner.query(X[6:])
        assert len(idx) == 3
        learner.teach(inst, y[6:][idx])
    assert seen == [6, 9]


def test_expected_error_reduction_gets_its_own_arguments(iris):
    X, y = iris
    learner = ActiveLearner(
        RandomForestClassifier(n_estimators=3, random_state=0), expected_error_reduction,
        X_training=X[:10], y_training=y[:10],
    )
    idx, _ = learner.query(X[10:25], n_instances=2, loss="log")
    assert len(idx) == 2


def test_live_state_and_constructor_parameters(iris):
    X, y = iris
    X0, y0 = X[:10], y[:10]
    learner = ActiveLearner(LogisticRegression(), X_training=X0, y_training=y0)
    assert learner.X_training is X0  # before any use: the constructor's data
    learner.teach(X[10:15], y[10:15])
    assert len(learner.X_training) == len(learner.y_training) == 15  # modAL: kept current
    assert learner.estimator is learner.estimator_ and hasattr(learner.estimator, "coef_")
    params = learner.get_params()
    assert params["X_training"] is X0 and not hasattr(params["estimator"], "coef_")
    twin = clone(learner)
    assert np.array_equal(twin.X_training, X0) and not hasattr(twin, "estimator_")
    assert twin.estimator is not learner.estimator  # reading it fits the twin on X0
    assert len(twin.X_training) == 10


def test_modal_dropout_on_a_fitted_skdfal_learner(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    strategy = partial(mc_dropout_bald, num_cycles=4)
    learner = ActiveLearner(net, strategy, X_training=X[:60], y_training=y[:60])
    idx, inst = learner.query(torch.from_numpy(X[60:120]), n_instances=3)
    assert len(idx) == 3 and tuple(inst.shape) == (3, 1, 8, 8)
    learner.teach(inst.numpy(), y[60:120][idx])
    assert learner.n_labels_paid_ == 63


def test_committee_of_skdfal_learners(iris):
    X, y = iris
    members = [
        ActiveLearner(RandomForestClassifier(n_estimators=5, random_state=i), X_training=X[i * 5:(i + 1) * 5],
                      y_training=y[i * 5:(i + 1) * 5], bootstrap_init=True, random_state=i)
        for i in range(3)
    ]
    committee = Committee(members)
    assert committee.classes_ is not None
    idx, inst = committee.query(X[15:])
    committee.teach(inst.reshape(1, -1) if inst.ndim == 1 else inst, y[15:][np.atleast_1d(idx)])
    committee.rebag()
    assert all(len(m.X_training) == 6 for m in members)
    assert committee.predict(X[:5]).shape == (5,)


def test_cold_start_with_modal_and_skdfal_strategies(iris):
    X, y = iris
    ours = ActiveLearner(LogisticRegression(), random_state=0)  # "auto": least confidence
    idx, dist = ours.query(X, n_instances=3, return_metrics=True)[::2]
    assert len(set(idx.tolist())) == 3 and np.isinf(dist[0])  # k-center on the raw input
    ours.teach(X[idx], y[idx])
    theirs = ActiveLearner(DecisionTreeClassifier(), uncertainty_sampling)
    idx, _ = theirs.query(X)  # modAL's strategy handles the cold learner itself
    theirs.teach(X[np.atleast_1d(idx)], y[np.atleast_1d(idx)])
    assert hasattr(theirs.estimator, "tree_")


class FitOnly(ClassifierMixin, BaseEstimator):
    """A model whose fit takes no extra keyword: bootstrap must not reach it."""

    def fit(self, X, y):
        self.classes_, self.n_fit_ = np.unique(y), len(y)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


def test_bootstrap_is_not_passed_to_fit(iris):
    X, y = iris
    learner = ActiveLearner(FitOnly(), X_training=X[:10], y_training=y[:10], random_state=0)
    learner.teach(X[10:12], y[10:12], bootstrap=True)
    assert learner.estimator_.n_fit_ == 12
