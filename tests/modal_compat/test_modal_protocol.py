"""modAL's documented protocol on skdfal's learner, beyond modAL's own tests.

Each test is a usage modAL documents that broke on skdfal's learner (issue
12): its README's two-argument strategy, ``functools.partial`` strategies,
``expected_error_reduction``, ``modAL.dropout`` and ``Committee`` reading
``learner.estimator``, a current ``X_training``, a cold start, ``bootstrap``;
and (issue 23) skdfal's strategies where modAL's behave otherwise: an unfitted
model's neutral scores, a list of texts as the pool, ``mc_dropout_bald``'s
positional arguments given to :func:`skdfal.bald`.
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

from skdfal import (
    BALD,
    ActiveLearner,
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    bald,
    entropy_sampling,
    least_confidence,
    make_classifier,
    margin_sampling,
)

modal_batch = pytest.importorskip("modAL.batch")
from modAL.dropout import mc_dropout_bald  # noqa: E402
from modAL.expected_error import expected_error_reduction  # noqa: E402
from modAL.models import ActiveLearner as ModalLearner  # noqa: E402
from modAL.models import Committee, DeepActiveLearner  # noqa: E402
from modAL.uncertainty import (  # noqa: E402
    classifier_entropy,
    classifier_margin,
    classifier_uncertainty,
    uncertainty_sampling,
)

#: skdfal's strategy (function, object) and modAL's utility it stands for.
UNCERTAINTIES = [
    pytest.param(least_confidence, LeastConfidence, classifier_uncertainty, id="least_confidence"),
    pytest.param(margin_sampling, MarginSampling, classifier_margin, id="margin"),
    pytest.param(entropy_sampling, EntropySampling, classifier_entropy, id="entropy"),
]


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


@pytest.mark.slow  # expected error reduction refits per sample and label
def test_expected_error_reduction_gets_its_own_arguments(iris):
    X, y = iris
    learner = ActiveLearner(
        RandomForestClassifier(n_estimators=3, random_state=0), expected_error_reduction,
        X_training=X[:10], y_training=y[:10],
    )
    idx, _ = learner.query(X[10:25], n_instances=2, loss="log")
    assert len(idx) == 2


def test_modal_names_follow_modals_doors_and_fit_leaves_parameters(iris):
    X, y = iris
    X0, y0 = X[:10], y[:10]
    learner = ActiveLearner(LogisticRegression(), X_training=X0, y_training=y0)
    assert learner.X_training is X0 and not hasattr(learner, "estimator_")  # __init__ only stores
    learner.teach(X[10:15], y[10:15])
    assert len(learner.X_training) == len(learner.y_training) == 15  # modAL: kept current
    assert learner.estimator is learner.estimator_ and hasattr(learner.estimator, "coef_")
    twin = clone(learner)  # starts from the current labeled set, with an unfitted model
    assert np.array_equal(twin.X_training, learner.X_training) and not hasattr(twin, "estimator_")
    assert not hasattr(twin.estimator, "coef_")  # reading it trains nothing
    plain = ActiveLearner(LogisticRegression())
    template = plain.estimator
    plain.fit(X0, y0)  # scikit-learn's door: the parameters stay as given
    assert plain.get_params()["estimator"] is template and not hasattr(template, "coef_")
    plain.query(X[10:], n_instances=1)  # modAL's door: learner.estimator is the model
    assert plain.estimator is plain.estimator_


@pytest.mark.slow  # trains a CNN, then MC dropout
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
    # modAL's Committee reads its members' estimator.classes_ when it is built, and modAL fits the
    # initial labels at construction; skdfal's __init__ only stores them, so the members are taught.
    members = [
        ActiveLearner(RandomForestClassifier(n_estimators=5, random_state=i), random_state=i).teach(
            X[i * 5:(i + 1) * 5], y[i * 5:(i + 1) * 5], bootstrap=True)
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


# ------------------------------------------------------------------ issue 23
@pytest.mark.parametrize("function, cls, modal_utility", UNCERTAINTIES)
def test_an_unfitted_model_gets_modals_neutral_scores(iris, function, cls, modal_utility):
    X, _ = iris
    neutral = modal_utility(LogisticRegression(), X)  # modAL's own answer, not an error
    np.testing.assert_array_equal(cls().score(LogisticRegression(), X), neutral)
    idx, scores = function(LogisticRegression(), X, n_instances=4)
    assert len(set(idx.tolist())) == 4
    np.testing.assert_array_equal(scores, neutral[idx])
    # An unfitted skorch net too (skorch's NotInitializedError is a NotFittedError).
    images = np.zeros((5, 1, 8, 8), np.float32)
    net = make_classifier("lenet5", input_shape=(1, 8, 8))
    np.testing.assert_array_equal(cls().score(net, images), np.full(5, neutral[0]))


@pytest.mark.parametrize("function, cls, modal_utility", UNCERTAINTIES)
def test_modals_learner_without_initial_data_queries_with_skdfal_strategies(iris, function, cls, modal_utility):
    X, y = iris
    learner = ModalLearner(estimator=DecisionTreeClassifier(random_state=0), query_strategy=function)
    idx, inst = learner.query(X, n_instances=3)  # the first query: NotFittedError before issue 23
    np.testing.assert_array_equal(inst, X[idx])
    # modAL's teach calls check_X_y(force_all_finite=...), gone in scikit-learn 1.8: fit directly.
    learner.estimator.fit(np.concatenate([inst, X[100:130]]), np.concatenate([y[idx], y[100:130]]))
    # Fitted now: the scores are modAL's own utility of the same model.
    np.testing.assert_allclose(cls().score(learner, X), modal_utility(learner, X), atol=1e-12)


def _texts():
    words = ["good", "great", "fine", "bad", "awful", "poor"]
    rng = np.random.RandomState(0)
    texts = [" ".join(rng.choice(words, 3)) for _ in range(40)]
    labels = np.array([sum(w in ("good", "great", "fine") for w in t.split()) >= 2 for t in texts], dtype=int)
    return texts, labels


@pytest.mark.parametrize("learner_cls", [ModalLearner, ActiveLearner], ids=["modAL", "skdfal"])
@pytest.mark.parametrize("function, cls, modal_utility", UNCERTAINTIES)
def test_a_list_of_texts_is_a_pool(learner_cls, function, cls, modal_utility):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import make_pipeline

    texts, labels = _texts()
    model = make_pipeline(CountVectorizer(), LogisticRegression())
    learner = learner_cls(model, function, X_training=texts[:10], y_training=labels[:10])
    pool = texts[10:]
    idx, inst = learner.query(pool, n_instances=3)  # a list: refused before issue 23
    idx_array, _ = learner.query(np.array(pool, dtype=object), n_instances=3)
    np.testing.assert_array_equal(idx, idx_array)
    assert list(inst) == [pool[i] for i in idx]
    np.testing.assert_allclose(cls().score(learner, pool), modal_utility(learner, pool), atol=1e-12)


class TwoDropouts(torch.nn.Module):
    """Dropout at positions 3 and 6 of ``list(module.modules())``."""

    def __init__(self, first=None):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(4, 32), first or torch.nn.Dropout(0.5), torch.nn.ReLU(),
            torch.nn.Linear(32, 32), torch.nn.Dropout(0.3), torch.nn.Linear(32, 3),
        )

    def forward(self, x):
        return self.body(x)


def test_bald_takes_mc_dropout_balds_positional_arguments():
    torch.manual_seed(0)
    module = TwoDropouts()
    X = np.random.RandomState(0).normal(size=(40, 4)).astype(np.float32)
    # modAL's order: n_instances, random_tie_break, dropout_layer_indexes, num_cycles, sample_per_forward_pass
    idx, scores = bald(module, X, 5, False, [], 7, 9, random_state=0)
    idx_ref, scores_ref = BALD(n_passes=7, batch_size=9, random_state=0)(module, X, 5)
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_array_equal(scores, scores_ref)
    # Only the dropout layer at position 6 samples masks: as if the one at 2 were not there.
    only_second = BALD(n_passes=7, random_state=0, dropout_layer_indexes=[6]).score(module, X)
    without_first = TwoDropouts(first=torch.nn.Identity())
    without_first.load_state_dict(module.state_dict())
    np.testing.assert_allclose(only_second, BALD(n_passes=7, random_state=0).score(without_first, X), rtol=1e-6)
    assert not np.allclose(only_second, BALD(n_passes=7, random_state=0).score(module, X))
    with pytest.raises(ValueError, match="dropout_layer_indexes holds 2, which is a Linear"):
        bald(module, X, 1, False, [2])
    with pytest.raises(ValueError, match="pass n_passes or modAL's num_cycles, not both"):
        bald(module, X, 1, False, None, 5, n_passes=3)


def test_bald_as_a_deep_active_learners_strategy_with_modals_arguments(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    learner = DeepActiveLearner(estimator=net, query_strategy=bald)
    learner.teach(X[:60], y[:60])
    pool = torch.from_numpy(X[60:120])
    idx, inst = learner.query(pool, 3, False, [], 4, 16, random_state=0)  # modAL passes them on
    ours, _ = bald(learner, pool, 3, False, [], 4, 16, random_state=0)
    np.testing.assert_array_equal(np.asarray(idx), ours)
    assert tuple(inst.shape) == (3, 1, 8, 8)
