"""ActiveLearner: modAL's API, label accounting, DFAL's adversarial augmentation."""

from __future__ import annotations

import numpy as np
import pytest
from _marks import slow_except
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from skdfal import ActiveLearner, DFALMargin, dfal_margin, make_classifier, random_sampling


def small_net(epochs=8):
    return make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=epochs, random_state=0)


def test_modal_style_loop_counts_paid_and_free_labels(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=15, lr=1e-2, batch_size=16, random_state=0)
    learner = ActiveLearner(net, dfal_margin, X_training=X[:30], y_training=y[:30], adversarial_augmentation=True)
    pool = np.arange(30, 400)
    for _ in range(2):
        idx, X_query = learner.query(X[pool], n_instances=5)
        np.testing.assert_array_equal(X_query, X[pool[idx]])
        learner.teach(X_query, y[pool[idx]])
        pool = np.delete(pool, idx)
    assert learner.n_labels_paid_ == 40
    n_free = int(learner.is_adversarial_.sum())
    assert 0 < n_free <= 10
    assert learner.n_training_samples_ == 40 + n_free
    # Free copies carry the oracle labels of the samples they were made from.
    taught = ~learner.is_adversarial_
    assert set(learner.y_training_[learner.is_adversarial_]) <= set(learner.y_training_[taught])


def test_adversarial_copies_flip_the_current_model(fitted_net, digits):
    X, y = digits
    learner = ActiveLearner(fitted_net).fit(X[:600], y[:600])
    X_new, y_new = X[700:720], y[700:720]
    X_adv, y_adv = learner.adversarial_copies(X_new, y_new)
    assert len(X_adv) == 20  # a careful DeepFool flips every sample
    before = learner.predict(X_new)
    after = learner.predict(X_adv)
    assert np.all(before != after)
    np.testing.assert_array_equal(y_adv, y_new)
    # Copies are close to the originals: DeepFool margins are small.
    dist = np.linalg.norm((X_adv - X_new).reshape(20, -1), axis=1)
    _, margins = DFALMargin()(learner, X_new, 20)
    np.testing.assert_allclose(np.sort(dist), np.sort(margins), rtol=1e-4)


def test_construction_does_no_work_and_first_use_fits(digits):
    X, y = digits
    learner = ActiveLearner(small_net(2), X_training=X[:20], y_training=y[:20])
    assert not hasattr(learner, "estimator_")
    learner.query(X[100:150], 2)
    assert learner.n_labels_paid_ == 20


def test_cold_start_queries_k_center_then_teach_fits(digits):
    """No labels: predict is not fitted, query falls back to k-center on the raw input."""
    X, y = digits
    learner = ActiveLearner(small_net(1), random_state=0)
    with pytest.raises(NotFittedError, match="no labeled data"):
        learner.predict(X[:3])
    idx, inst, dist = learner.query(X[:200], n_instances=5, return_metrics=True)
    np.testing.assert_array_equal(inst, X[idx])
    # Farthest-first: the first pick is random, each next one no closer than the last.
    assert np.isinf(dist[0]) and np.all(np.diff(dist[1:]) <= 1e-6)
    learner.teach(inst, y[idx])
    assert learner.n_labels_paid_ == 5 and learner.predict(X[:3]).shape == (3,)


def test_clone_keeps_parameters_and_drops_state(digits):
    X, y = digits
    learner = ActiveLearner(small_net(2), random_sampling, adversarial_augmentation=True)
    learner.fit(X[:20], y[:20])
    twin = clone(learner)
    assert not hasattr(twin, "estimator_")
    assert twin.query_strategy is random_sampling
    assert twin.get_params()["estimator__max_epochs"] == 2
    twin.set_params(estimator__max_epochs=3)
    assert learner.estimator.max_epochs == 2


class Recorder(ClassifierMixin, BaseEstimator):
    """Records which fitting method was called and on how many rows."""

    def fit(self, X, y):
        self.calls_ = getattr(self, "calls_", []) + [("fit", len(X))]
        self.classes_ = np.unique(y)
        return self

    def partial_fit(self, X, y):
        self.calls_ = getattr(self, "calls_", []) + [("partial_fit", len(X))]
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


@pytest.mark.parametrize(
    "warm_start, only_new, expected",
    [(False, False, ("fit", 15)), (True, False, ("partial_fit", 15)), (False, True, ("partial_fit", 5))],
)
def test_retrain_policy(warm_start, only_new, expected):
    X = np.random.RandomState(0).rand(15, 3)
    y = np.arange(15) % 2
    learner = ActiveLearner(Recorder(), random_sampling, warm_start=warm_start).fit(X[:10], y[:10])
    learner.teach(X[10:], y[10:], only_new=only_new)
    assert learner.estimator_.calls_[-1] == expected
    assert learner.n_labels_paid_ == 15


def test_works_with_modal_strategies_and_any_classifier(digits):
    uncertainty = pytest.importorskip("modAL.uncertainty")
    X, y = digits
    flat = X.reshape(len(X), -1)
    learner = ActiveLearner(LogisticRegression(max_iter=200), uncertainty.uncertainty_sampling)
    learner.fit(flat[:50], y[:50])
    idx, inst, scores = learner.query(flat[50:300], 3, return_metrics=True)
    proba = learner.predict_proba(flat[50:300])
    expected = np.argsort(-(1 - proba.max(1)), kind="stable")[:3]
    assert set(idx) == set(expected)
    np.testing.assert_array_equal(inst, flat[50:300][idx])


def test_teach_rejects_wrong_shape_and_nan(digits):
    X, y = digits
    learner = ActiveLearner(small_net(1)).fit(X[:20], y[:20])
    with pytest.raises(ValueError):
        learner.teach(np.zeros((2, 1, 7, 7), np.float32), y[:2])
    bad = X[20:22].copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError):
        learner.teach(bad, y[20:22])


@pytest.mark.parametrize("dump", slow_except(["pickle", "joblib"], "pickle"))  # seconds each
def test_a_saved_learner_goes_on_where_it_stopped(digits, tmp_path, dump):
    """Save a fitted learner (skorch net, DFAL, free labels), load it, and keep querying and teaching."""
    import pickle

    import joblib

    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=15, lr=1e-2, batch_size=16, random_state=0)
    learner = ActiveLearner(net, dfal_margin, X_training=X[:30], y_training=y[:30], adversarial_augmentation=True)
    pool = np.arange(30, 300)
    idx, X_query = learner.query(X[pool], n_instances=5)
    learner.teach(X_query, y[pool[idx]])
    pool = np.delete(pool, idx)
    path = tmp_path / "learner.bin"
    if dump == "pickle":
        path.write_bytes(pickle.dumps(learner))
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(learner, path)
        loaded = joblib.load(path)
    assert loaded is not learner and loaded.query_strategy is dfal_margin
    assert (loaded.n_labels_paid_, loaded.n_training_samples_) == (learner.n_labels_paid_, learner.n_training_samples_)
    np.testing.assert_array_equal(loaded.is_adversarial_, learner.is_adversarial_)
    np.testing.assert_array_equal(loaded.X_training, learner.X_training)
    np.testing.assert_allclose(loaded.predict_proba(X[300:400]), learner.predict_proba(X[300:400]), rtol=1e-6)
    # Both go on the same way: the same queries, and (seeded training) the same model after teaching.
    for _ in range(2):
        idx_saved, X_saved = learner.query(X[pool], n_instances=5)
        idx_loaded, X_loaded = loaded.query(X[pool], n_instances=5)
        np.testing.assert_array_equal(idx_loaded, idx_saved)
        learner.teach(X_saved, y[pool[idx_saved]])
        loaded.teach(X_loaded, y[pool[idx_loaded]])
        pool = np.delete(pool, idx_saved)
    assert loaded.n_labels_paid_ == 45 and loaded.n_labels_paid_ == learner.n_labels_paid_
    np.testing.assert_allclose(loaded.predict_proba(X[300:400]), learner.predict_proba(X[300:400]), atol=1e-5)


def test_verbose_reports_every_round_and_changes_nothing(digits, capsys):
    X, y = digits
    X = X.reshape(len(X), -1)
    outcomes = {}
    for verbose in (0, 1, 2):
        learner = ActiveLearner(LogisticRegression(max_iter=300), X_training=X[:20], y_training=y[:20],
                                verbose=verbose)
        pool, picked = np.arange(20, 300), []
        for _ in range(2):
            idx, X_query = learner.query(X[pool], n_instances=3)
            learner.teach(X_query, y[pool[idx]])
            picked.append(pool[idx])
            pool = np.delete(pool, idx)
        outcomes[verbose] = (np.concatenate(picked), learner.predict_proba(X[300:400]))
        lines = capsys.readouterr().out.splitlines()
        rounds = [
            "ActiveLearner: round 0 (fit): 20 labels paid, 20 training samples",
            "ActiveLearner: round 1 (teach): 23 labels paid, 23 training samples",
            "ActiveLearner: round 2 (teach): 26 labels paid, 26 training samples",
        ]
        query = "ActiveLearner: query: 3 sample(s) chosen by least_confidence"
        expected = {0: [], 1: rounds, 2: [rounds[0], query, rounds[1], query, rounds[2]]}[verbose]
        assert lines == expected
        assert learner.get_params()["verbose"] == verbose
    for verbose in (1, 2):
        np.testing.assert_array_equal(outcomes[verbose][0], outcomes[0][0])
        np.testing.assert_array_equal(outcomes[verbose][1], outcomes[0][1])
    with pytest.raises(ValueError, match="verbose"):
        ActiveLearner(LogisticRegression(), verbose="loud").fit(X[:20], y[:20])


FITS = []


class CountingLR(LogisticRegression):
    """A logistic regression that records each fit."""

    def fit(self, X, y, sample_weight=None):
        FITS.append(len(y))
        return super().fit(X, y, sample_weight=sample_weight)


def _read_every_public_attribute(learner):
    for name in dir(learner):
        if not name.startswith("_"):
            try:
                getattr(learner, name)
            except AttributeError:  # fitted attributes before fit, as scikit-learn has them
                pass


@pytest.mark.parametrize("stage", ["built", "fitted", "taught", "queried"])
def test_reading_any_attribute_trains_nothing(stage):
    import pickle

    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    learner = ActiveLearner(CountingLR(max_iter=300), X_training=X[::15], y_training=y[::15])
    if stage != "built":
        learner.fit(X[::10], y[::10])
    if stage == "taught":
        learner.teach(X[1:4], y[1:4])
    if stage == "queried":
        learner.query(X, n_instances=2)
    fits, state = len(FITS), dict(vars(learner))
    model = pickle.dumps(state.get("estimator_"))
    _read_every_public_attribute(learner)
    assert len(FITS) == fits  # no fit ran
    assert pickle.dumps(learner.__dict__.get("estimator_")) == model  # the model bit-identical
    assert vars(learner).keys() == state.keys() and all(vars(learner)[k] is v for k, v in state.items())
    if stage == "built":
        assert not hasattr(learner, "estimator_") and learner.estimator.get_params() == CountingLR(
            max_iter=300).get_params() and not hasattr(learner.estimator, "coef_")


def test_fit_leaves_the_parameters_and_teach_keeps_modals_names_current():
    import joblib
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    learner = ActiveLearner(LogisticRegression(max_iter=300))
    params = joblib.hash(learner.get_params())
    learner.fit(X[::10], y[::10])
    assert joblib.hash(learner.get_params()) == params  # scikit-learn's door
    learner.teach(X[1:3], y[1:3])
    assert learner.estimator is learner.estimator_  # modAL's: the fitted model
    assert learner.X_training is learner.X_training_ and len(learner.y_training) == 17
    twin = clone(learner)
    assert not hasattr(twin, "estimator_") and not hasattr(twin.estimator, "coef_")
    np.testing.assert_array_equal(twin.predict(X), learner.predict(X))  # refits the same set
