"""ActiveLearningClassifier in scikit-learn's tools: grid searches, pipelines, CV, clone."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from torch import nn

import skdfal
from skdfal import (
    ActiveLearner,
    ActiveLearningClassifier,
    DFALMargin,
    EntropySampling,
    RandomSampling,
    make_classifier,
)
from skdfal.experiments import COLUMNS
from skdfal.strategies import QueryStrategy


def lenet(**kwargs):
    """LeNet5 for 8x8 digits, trained enough in a few epochs to beat chance well."""
    params = {"max_epochs": 15, "lr": 1e-2, "batch_size": 16, "random_state": 0}
    params.update(kwargs)
    return make_classifier("lenet5", input_shape=(1, 8, 8), **params)


class MLP(nn.Module):
    """A 2-D network: digits as 64 features (what a Pipeline's scaler outputs)."""

    def __init__(self, n_features=64, n_hidden=64, n_classes=10):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes))

    def forward(self, x):
        return self.body(x)


def mlp(**kwargs):
    params = {"max_epochs": 30, "lr": 1e-2, "batch_size": 16, "random_state": 0}
    params.update(kwargs)
    return make_classifier(MLP, **params)


@pytest.fixture(scope="module")
def small_digits(digits):
    X, y = digits
    idx = np.random.RandomState(0).permutation(len(y))[:400]
    return X[idx], y[idx]


# ---------------------------------------------------------------- the loop
def test_budget_rounds_and_learning_curve(small_digits):
    X, y = small_digits
    clf = ActiveLearningClassifier(
        LogisticRegression(max_iter=300), EntropySampling(),
        n_initial=15, n_instances=10, budget=42, validation_size=100, random_state=0,
    ).fit(X.reshape(len(X), -1), y)
    # 15 initial, then 10 + 10 + 7 (the last round stops at the budget).
    assert [row["n_labels"] for row in clf.learning_curve_] == [15, 25, 35, 42]
    assert [row["round"] for row in clf.learning_curve_] == [0, 1, 2, 3]
    assert all(set(row) == set(COLUMNS) for row in clf.learning_curve_)
    assert clf.n_labels_paid_ == clf.n_training_samples_ == 42 and clf.n_rounds_ == 3
    assert np.bincount(clf.query_round_).tolist() == [0, 10, 10, 7]
    labeled = np.concatenate([clf.initial_indices_, clf.queried_indices_])
    assert len(np.unique(labeled)) == 42
    assert not np.isin(labeled, clf.validation_indices_).any() and len(clf.validation_indices_) == 100
    # The final model trained on exactly the labeled rows.
    ref = LogisticRegression(max_iter=300).fit(X.reshape(len(X), -1)[labeled], y[labeled])
    Xv, yv = X.reshape(len(X), -1)[clf.validation_indices_], y[clf.validation_indices_]
    np.testing.assert_array_equal(clf.predict(Xv), ref.predict(Xv))
    assert clf.learning_curve_[-1]["accuracy"] == pytest.approx(ref.score(Xv, yv))
    assert clf.learning_curve_[-1]["strategy"] == "EntropySampling"


def test_only_queried_labels_matter(small_digits):
    """Changing labels the loop never paid for changes nothing it learned."""
    X, y = small_digits
    X = X.reshape(len(X), -1)
    make = lambda: ActiveLearningClassifier(  # noqa: E731
        LogisticRegression(max_iter=300), EntropySampling(),
        n_initial=10, n_instances=10, budget=40, stratify_initial=False, random_state=3,
    )
    clf = make().fit(X, y)
    unpaid = np.setdiff1d(np.arange(len(y)), np.concatenate([clf.initial_indices_, clf.queried_indices_]))
    y_other = y.copy()
    y_other[unpaid] = (y[unpaid] + 1) % 10
    other = make().fit(X, y_other)
    np.testing.assert_array_equal(other.queried_indices_, clf.queried_indices_)
    np.testing.assert_array_equal(other.predict_proba(X), clf.predict_proba(X))


@pytest.mark.slow  # 3 active-learning fits of a CNN and a refit
def test_strategies_query_differently_from_the_same_start(small_digits):
    X, y = small_digits
    fitted = {
        name: ActiveLearningClassifier(
            lenet(max_epochs=10), strategy, n_initial=20, n_instances=10, budget=40, random_state=0
        ).fit(X, y)
        for name, strategy in [("dfal", DFALMargin()), ("random", RandomSampling()), ("entropy", EntropySampling())]
    }
    initial = [tuple(est.initial_indices_) for est in fitted.values()]
    assert len(set(initial)) == 1, "same random_state, same initial labels"
    queried = [frozenset(est.queried_indices_) for est in fitted.values()]
    assert len(set(queried)) == 3
    # DFAL's first round: the 10 unlabeled samples with the smallest DeepFool
    # norms under a net trained on the initial labels alone (rebuilt here).
    dfal = fitted["dfal"]
    net = lenet(max_epochs=10).fit(X[dfal.initial_indices_], y[dfal.initial_indices_])
    unlabeled = np.setdiff1d(np.arange(len(y)), dfal.initial_indices_)
    norms = DFALMargin().score(net, X[unlabeled])
    expected = unlabeled[np.argsort(norms, kind="stable")[:10]]
    assert set(dfal.queried_indices_[dfal.query_round_ == 1]) == set(expected)


def test_same_seed_same_run_and_reproducible_random_strategy(small_digits):
    X, y = small_digits
    X = X.reshape(len(X), -1)
    est = ActiveLearningClassifier(
        LogisticRegression(max_iter=300), RandomSampling(random_state=7),
        n_initial=10, n_instances=5, budget=30, random_state=1,
    )
    a, b = clone(est).fit(X, y), clone(est).fit(X, y)
    np.testing.assert_array_equal(a.queried_indices_, b.queried_indices_)
    # A fixed strategy seed must not repeat the same draw every round: the
    # rounds' picks are not the same pool positions over and over.
    assert len(np.unique(a.queried_indices_)) == 20
    assert est.query_strategy.random_state == 7, "parameters are never modified"


def test_no_budget_labels_the_whole_pool():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(47, 4))
    y = (X[:, 0] > 0).astype(int)
    clf = ActiveLearningClassifier(
        LogisticRegression(), RandomSampling(), n_initial=5, n_instances=10, budget=None,
        validation_size=7, random_state=0,
    ).fit(X, y)
    # 40 pool samples: 5 initial, then 10, 10, 10 and the last 5.
    assert [row["n_labels"] for row in clf.learning_curve_] == [5, 15, 25, 35, 40]
    pool = np.setdiff1d(np.arange(47), clf.validation_indices_)
    np.testing.assert_array_equal(np.sort(np.concatenate([clf.initial_indices_, clf.queried_indices_])), pool)


def test_missing_classes_get_zero_probability():
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(c * 5, 1, size=(20, 2)) for c in range(3)])
    y = np.repeat(np.array(["a", "b", "c"]), 20)
    # Two labels in all: at most two classes are ever seen.
    clf = ActiveLearningClassifier(LogisticRegression(), RandomSampling(), n_initial=2, budget=2, random_state=0)
    clf.fit(X, y)
    assert clf.classes_.tolist() == ["a", "b", "c"]
    proba = clf.predict_proba(X)
    seen = np.isin(clf.classes_, clf.estimator_.classes_)
    assert seen.sum() == 2 and proba.shape == (60, 3)
    np.testing.assert_array_equal(proba[:, ~seen], 0.0)
    np.testing.assert_allclose(proba[:, seen], clf.estimator_.predict_proba(X))
    assert set(clf.predict(X)) <= set(clf.estimator_.classes_)


@pytest.mark.parametrize(
    "params, error",
    [
        ({"n_initial": 0}, ValueError),
        ({"n_instances": 1.5}, ValueError),
        ({"budget": "all"}, ValueError),
        ({"validation_size": 1.0}, ValueError),
        ({"query_strategy": "dfal"}, TypeError),
    ],
)
def test_bad_parameters_are_reported(params, error):
    X = np.random.RandomState(0).normal(size=(30, 3))
    y = np.arange(30) % 3
    with pytest.raises(error, match=next(iter(params))):
        ActiveLearningClassifier(LogisticRegression(), RandomSampling(), **params).fit(X, y)


# -------------------------------------------------- grid searches and CV
@pytest.mark.slow  # 6 active-learning fits of a CNN
def test_grid_search_over_three_strategies_on_digits(small_digits):
    X, y = small_digits
    search = GridSearchCV(
        ActiveLearningClassifier(lenet(), n_initial=20, n_instances=20, budget=60, random_state=0),
        {"query_strategy": [DFALMargin(), RandomSampling(), EntropySampling()]},
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    names = [type(p["query_strategy"]).__name__ for p in search.cv_results_["params"]]
    assert names == ["DFALMargin", "RandomSampling", "EntropySampling"]
    assert len(np.unique(scores)) == 3, f"strategies gave identical scores: {scores}"
    # 60 labels of 10 balanced classes: every strategy is well above chance (0.1).
    assert scores.min() > 0.3
    assert search.best_estimator_.n_labels_paid_ == 60


@pytest.mark.slow  # 6 active-learning fits of a CNN
def test_grid_search_over_nested_parameters(small_digits):
    X, y = small_digits
    search = GridSearchCV(
        ActiveLearningClassifier(
            lenet(max_epochs=8), DFALMargin(), n_initial=20, n_instances=10, budget=30, random_state=0
        ),
        [
            {"budget": [30, 40]},
            {"estimator__module__dropout": [0.5], "query_strategy__overshoot": [0.5]},
        ],
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # The nested values reach the objects that run: set them, fit, look inside.
    best = search.best_estimator_
    chosen = search.best_params_
    assert best.n_labels_paid_ == chosen.get("budget", 30)
    assert best.learner_.query_strategy.overshoot == chosen.get("query_strategy__overshoot", 0.02)
    est = clone(search.estimator).set_params(
        estimator__module__dropout=0.5, query_strategy__overshoot=0.5, budget=25
    ).fit(X, y)
    dropouts = [m.p for m in est.estimator_.module_.modules() if isinstance(m, nn.Dropout)]
    assert dropouts and set(dropouts) == {0.5}
    assert est.learner_.query_strategy.overshoot == 0.5 and est.n_labels_paid_ == 25


def test_cross_validate(small_digits):
    X, y = small_digits
    X = X.reshape(len(X), -1)
    result = cross_validate(
        ActiveLearningClassifier(
            LogisticRegression(max_iter=300), EntropySampling(), n_initial=20, budget=60, random_state=0
        ),
        X, y, cv=3, return_estimator=True,
    )
    assert len(result["test_score"]) == 3 and result["test_score"].min() > 0.6
    for est in result["estimator"]:
        assert est.n_labels_paid_ == 60
        assert len(np.unique(np.concatenate([est.initial_indices_, est.queried_indices_]))) == 60


# --------------------------------------------------------------- pipelines
@pytest.mark.slow  # an active-learning fit in a pipeline
def test_pipeline_scaler_then_dfal_on_a_2d_network(small_digits):
    X, y = small_digits
    flat = X.reshape(len(X), -1)
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("al", ActiveLearningClassifier(mlp(), DFALMargin(), n_initial=20, n_instances=20, budget=80, random_state=0)),
    ])
    pipe.fit(flat[:300], y[:300])
    assert pipe.named_steps["al"].n_labels_paid_ == 80
    assert pipe.score(flat[300:], y[300:]) > 0.6


@pytest.mark.slow  # an active-learning fit of a CNN in a pipeline
def test_reshaping_step_feeds_images_to_a_cnn(small_digits):
    X, y = small_digits
    flat = X.reshape(len(X), -1)
    to_images = FunctionTransformer(lambda Z: np.asarray(Z, dtype=np.float32).reshape(-1, 1, 8, 8))
    pipe = make_pipeline(
        to_images,
        ActiveLearningClassifier(lenet(max_epochs=8), DFALMargin(), n_initial=20, n_instances=10, budget=40, random_state=0),
    )
    pipe.fit(flat[:300], y[:300])
    al = pipe[-1]
    assert al.input_shape_ == (1, 8, 8) and al.n_features_in_ == 1
    assert pipe.predict(flat[300:]).shape == (100,)


def test_dfal_through_an_inner_pipeline_with_adversarial_copies(small_digits):
    """The net sees scaled inputs; the copies are mapped back to raw pixels."""
    X, y = small_digits
    flat = X.reshape(len(X), -1).astype(np.float64)
    clf = ActiveLearningClassifier(
        make_pipeline(StandardScaler(), mlp(max_epochs=15)), DFALMargin(),
        n_initial=20, n_instances=10, budget=40, adversarial_augmentation=True, random_state=0,
    ).fit(flat, y)
    learner = clf.learner_
    n_copies = int(learner.is_adversarial_.sum())
    assert clf.n_labels_paid_ == 40
    assert 0 < n_copies <= 20 and clf.n_training_samples_ == 40 + n_copies
    # Copies live in raw pixel space, close to (not equal to) their originals.
    copies = learner.X_training_[learner.is_adversarial_]
    assert copies.shape[1] == 64 and np.abs(copies).max() < 10
    originals = flat[clf.queried_indices_]
    nearest = np.min(np.linalg.norm(copies[:, None] - originals[None], axis=2), axis=1)
    assert (nearest > 0).all() and np.median(nearest) < np.median(np.linalg.norm(originals, axis=1))


# -------------------------------------------------------- clone and repr
def _strategy_classes():
    return sorted(
        (obj for obj in vars(skdfal.strategies).values()
         if isinstance(obj, type) and issubclass(obj, QueryStrategy) and obj is not QueryStrategy),
        key=lambda cls: cls.__name__,
    )


@pytest.mark.parametrize("cls", _strategy_classes(), ids=lambda c: c.__name__)
def test_every_strategy_survives_clone_and_pickle(cls):
    # A selector over a scorer, or a subset of a strategy: seeded there.
    composed = cls in (skdfal.strategies.ComposedStrategy, skdfal.strategies.Subsampled)
    wrapper = cls in (skdfal.strategies.Unconfident, skdfal.strategies.Screened)  # a wrapper, seeded itself
    inner = (skdfal.strategies.DFALMargin if cls is skdfal.strategies.Screened
             else skdfal.strategies.EntropySampling)(random_state=3)
    strategy = cls(inner) if composed else cls(inner, random_state=3) if wrapper else cls(random_state=3)

    def params_of(s):  # the inner strategy (an estimator) compared by its parameters
        return {k: v for k, v in s.get_params().items() if k not in ("scorer", "strategy")}

    params = params_of(strategy)
    key = "strategy__random_state" if cls is skdfal.strategies.Subsampled else "scorer__random_state"
    assert params[key if composed else "random_state"] == 3
    copy = clone(strategy)
    assert copy is not strategy and type(copy) is cls and params_of(copy) == params
    assert params_of(pickle.loads(pickle.dumps(strategy))) == params


def test_at_least_the_known_strategies_are_cloned():
    names = {cls.__name__ for cls in _strategy_classes()}
    assert {"DFALMargin", "RandomSampling", "EntropySampling"} <= names


def test_active_learner_survives_clone_and_pickle(digits):
    X, y = digits
    learner = ActiveLearner(lenet(max_epochs=2), DFALMargin(overshoot=0.1), X[:30], y[:30], adversarial_augmentation=True)
    copy = clone(learner)
    assert copy.query_strategy is not learner.query_strategy
    assert copy.query_strategy.get_params() == learner.query_strategy.get_params()
    assert copy.X_training is learner.X_training or np.array_equal(copy.X_training, learner.X_training)
    assert copy.adversarial_augmentation is True
    # A function strategy (what "auto" picks for a net): pickling must find it by name.
    fitted = ActiveLearner(lenet(max_epochs=2), skdfal.dfal_margin, X_training=X[:30], y_training=y[:30])
    fitted.fit(X[:30], y[:30])
    again = pickle.loads(pickle.dumps(fitted))
    assert again.query_strategy is skdfal.dfal_margin
    assert ActiveLearner(lenet())._strategy() is skdfal.dfal_margin  # the "auto" default
    with torch.no_grad():
        np.testing.assert_allclose(again.predict_proba(X[30:60]), fitted.predict_proba(X[30:60]), rtol=1e-5)


def test_html_repr_names_the_estimators():
    clf = ActiveLearningClassifier(lenet(), EntropySampling(), budget=50)
    html = clf._repr_html_()
    assert "ActiveLearningClassifier" in html and "EntropySampling" in html
    assert "SeededNeuralNetClassifier" in html
    assert "ActiveLearner" in ActiveLearner(LogisticRegression())._repr_html_()


def test_a_strategy_returning_repeats_is_reported():
    def repeats(learner, X_pool, n_instances=1):
        return np.zeros(n_instances, dtype=int), np.zeros(n_instances)

    X = np.random.RandomState(0).normal(size=(30, 3))
    y = np.arange(30) % 3
    with pytest.raises(ValueError, match="1 distinct"):
        ActiveLearningClassifier(LogisticRegression(), repeats, n_initial=5, n_instances=3, budget=10).fit(X, y)


# ----------------------------------------------- DataFrames, old names, progress
def _people(n=90, seed=0):
    """A DataFrame with a text column: the label is red XOR tall."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], n), "height": rng.normal(size=n),
                          "noise": rng.normal(size=n)})
    return frame, ((frame["colour"] == "red") ^ (frame["height"] > 0)).astype(int).to_numpy()


def _by_name():
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    columns = ColumnTransformer([("colour", OneHotEncoder(), ["colour"]), ("height", StandardScaler(), ["height"])])
    return make_pipeline(columns, LogisticRegression())


def test_a_dataframe_reaches_a_column_transformer_selecting_columns_by_name():
    frame, y = _people()
    clf = ActiveLearningClassifier(_by_name(), n_initial=10, n_instances=5, budget=30, random_state=0).fit(frame, y)
    assert clf.n_labels_paid_ == 30 and list(clf.feature_names_in_) == ["colour", "height", "noise"]
    # The model learned the labeled rows of the frame, as the same pipeline fitted on them does.
    labeled = np.concatenate([clf.initial_indices_, clf.queried_indices_])
    training = clf.learner_.X_training_
    assert list(training.columns) == ["colour", "height", "noise"]
    assert sorted(training.index) == sorted(frame.index[labeled])
    alone = clone(_by_name()).fit(training, clf.learner_.y_training_)
    np.testing.assert_array_equal(clf.predict(frame), alone.predict(frame))
    np.testing.assert_allclose(clf.predict_proba(frame.iloc[:7]), alone.predict_proba(frame.iloc[:7]))
    assert clf.score(frame, y) == pytest.approx(alone.score(frame, y))


def test_a_numeric_dataframe_runs_as_its_array_does():
    frame, y = _people()
    numbers = frame[["height", "noise"]]
    kw = dict(n_initial=10, n_instances=5, budget=30, random_state=0)
    from_frame = ActiveLearningClassifier(LogisticRegression(), **kw).fit(numbers, y)
    from_array = ActiveLearningClassifier(LogisticRegression(), **kw).fit(numbers.to_numpy(), y)
    np.testing.assert_array_equal(from_frame.queried_indices_, from_array.queried_indices_)
    np.testing.assert_allclose(from_frame.predict_proba(numbers), from_array.predict_proba(numbers.to_numpy()))


def test_query_size_is_no_parameter():
    # No release had it: n_instances was its name in the first one.
    with pytest.raises(TypeError, match="query_size"):
        ActiveLearningClassifier(LogisticRegression(), query_size=5)
    assert "query_size" not in ActiveLearningClassifier(LogisticRegression()).get_params()


def test_verbose_shows_the_rounds_and_changes_nothing_else(capsys):
    X = np.random.RandomState(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    est = ActiveLearningClassifier(LogisticRegression(), n_initial=5, n_instances=5, budget=20, random_state=0)
    quiet = clone(est).fit(X, y)
    assert capsys.readouterr().err == ""
    loud = clone(est).set_params(verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "ActiveLearningClassifier" in err and "4/4" in err and "20 labels" in err
    np.testing.assert_array_equal(loud.queried_indices_, quiet.queried_indices_)
    assert [r["accuracy"] for r in loud.learning_curve_] == [r["accuracy"] for r in quiet.learning_curve_]
    assert est.get_params()["verbose"] == 0 and loud.get_params()["verbose"] == 1


def test_a_learner_pickled_before_verbose_existed_still_loads():
    est = ActiveLearningClassifier(LogisticRegression())
    learner = ActiveLearner(LogisticRegression())
    for obj in (est, learner):
        state = obj.__getstate__()
        state.pop("verbose", None)
        old = type(obj).__new__(type(obj))
        old.__setstate__(state)
        assert old.get_params()["verbose"] == 0
    assert old.__class__ is ActiveLearner
