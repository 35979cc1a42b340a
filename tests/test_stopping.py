"""Stopping rules (issue 21.3): known answers, and their wiring into the learners and the harness."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skdfal import (
    ActiveLearner,
    ActiveLearningClassifier,
    LabelBudget,
    MarginPlateau,
    StabilizingPredictions,
    StopDecision,
)
from skdfal.experiments import simulate
from skdfal.learners._stopping import check_stopping


class ScriptedModel:
    """A 'learner' whose predictions on any stop set follow a script, one entry per round."""

    def __init__(self, script):
        self.script, self.round, self.seen = script, 0, []

    def predict(self, X):
        self.seen.append(np.array(X))
        out = np.asarray(self.script[self.round])[: len(X)]
        self.round += 1
        return out


def changing_until(k, n=40, rounds=12, seed=0):
    """Prediction vectors that change every round up to round ``k`` (1-based), then stay fixed."""
    rng = np.random.RandomState(seed)
    script = [rng.randint(0, 5, size=n) for _ in range(k)]
    for r in range(1, k):  # make sure consecutive rounds really differ a lot
        script[r] = (script[r - 1] + 1 + rng.randint(0, 3, size=n)) % 5
    return script + [script[-1].copy() for _ in range(rounds - k)]


def first_stop(rule, steps):
    for r, step in enumerate(steps, start=1):
        if rule.update(**step).stop:
            return r
    return None


@pytest.mark.parametrize("k", [1, 2, 4, 7])
@pytest.mark.parametrize("window", [1, 3])
def test_stabilizing_predictions_stops_when_predictions_stop_changing(k, window):
    # Predictions last change at round k; rounds k+1.. agree with k.  The mean
    # kappa of the last `window` agreements is 1 first at round k + window.
    script = changing_until(k)
    rule = StabilizingPredictions(stop_set_size=40, window=window, threshold=0.99)
    X_pool = np.arange(200.0).reshape(100, 2)
    model = ScriptedModel(script)
    stopped = None
    for r in range(1, len(script) + 1):
        if rule.update(model, X_pool).stop and stopped is None:
            stopped = r
    assert stopped == k + window
    # One stop set, drawn once from the pool and kept.
    assert all(np.array_equal(s, model.seen[0]) for s in model.seen)
    assert len(model.seen[0]) == 40 and {tuple(x) for x in model.seen[0]} <= {tuple(x) for x in X_pool}


def test_stabilizing_predictions_given_directly_and_reason():
    script = changing_until(3)
    rule = StabilizingPredictions(window=2)
    assert first_stop(rule, [{"predictions": p} for p in script]) == 5
    d = rule.decision_
    assert isinstance(d, StopDecision) and d.stop and bool(d) and d.round == 5
    assert "kappa" in d.reason and "stop set of 40" in d.reason
    assert str(d).startswith("you may stop: ")


def test_kappa_is_cohens_by_hand():
    rule = StabilizingPredictions(window=9)
    for p in ([0, 0, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]):
        rule.update(predictions=np.array(p))
    # Observed agreement 3/4, chance (1/2)(1/4) + (1/2)(3/4) = 1/2: (3/4 - 1/2) / (1 - 1/2).
    # Identical rounds agree fully (one class too); two different constant rounds not at all.
    assert rule.kappas_ == [pytest.approx(0.5), 1.0, 0.0, 0.0, 1.0]


def test_kappa_needs_rounds_of_one_stop_set():
    rule = StabilizingPredictions()
    rule.update(predictions=np.zeros(5, int))
    with pytest.raises(ValueError, match="predictions of 4 samples, the previous round had 5"):
        rule.update(predictions=np.zeros(4, int))


def test_label_budget_stops_exactly_at_n():
    rule = LabelBudget(50)
    assert first_stop(rule, [{"n_labels": n} for n in range(0, 100, 5)]) == 11  # n = 50
    assert "50 of 50" in rule.decision_.reason


def test_label_budget_reads_the_learner():
    X = np.random.RandomState(0).rand(30, 3)
    y = np.arange(30) % 2
    learner = ActiveLearner(LogisticRegression(), X_training=X[:10], y_training=y[:10])
    assert not LabelBudget(11).update(learner).stop  # the initial labels count, unfitted
    assert LabelBudget(10).update(learner).stop
    learner.teach(X[10:12], y[10:12])
    assert LabelBudget(12).update(learner).stop and not LabelBudget(13).update(learner).stop


def test_margin_plateau_on_a_synthetic_quantile_sequence():
    # The median margin moves by 100%, 50%, 20%, then 2%, 1%, 1%, 1% a round.
    medians = [0.1, 0.2, 0.3, 0.375, 0.3825, 0.386, 0.39, 0.394]
    steps = [{"margins": np.full(20, m)} for m in medians]
    # tol 0.05, window 3: the first three changes under 5% are those into rounds 5, 6, 7.
    assert first_stop(MarginPlateau(quantiles=(0.5,), tol=0.05, window=3), steps) == 7
    assert first_stop(MarginPlateau(quantiles=(0.5,), tol=0.05, window=1), steps) == 5
    assert first_stop(MarginPlateau(quantiles=(0.5,), tol=0.001, window=1), steps) is None


def test_margin_plateau_quantiles_each_watched():
    # q10 settles at round 3, the median only at round 6.
    rng = np.random.RandomState(0)
    base = rng.rand(1000)
    low = [0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    mid = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 6.0, 6.0]
    steps = []
    for lo, md in zip(low, mid, strict=True):
        m = np.where(base < 0.1, lo * base / 0.1, lo + (md - lo) * (base - 0.1) / 0.4)
        steps.append({"margins": m})
    assert first_stop(MarginPlateau(quantiles=(0.1,), tol=0.01, window=2), steps) == 5
    assert first_stop(MarginPlateau(quantiles=(0.1, 0.5), tol=0.01, window=2), steps) == 8


def test_margin_plateau_share_below_threshold_and_inf():
    # Share of margins under 0.5: 0.8, 0.5, 0.3, 0.3, 0.3; infinities are far.
    def margins(share):
        m = np.full(10, np.inf)
        m[: int(round(share * 10))] = 0.1
        return m

    steps = [{"margins": margins(s)} for s in (0.8, 0.5, 0.3, 0.3, 0.3)]
    rule = MarginPlateau(threshold=0.5, tol=0.0, window=2)
    assert first_stop(rule, steps) == 5
    assert "share of margins below 0.5" in rule.decision_.reason
    # All-infinite quantiles are unchanged, not NaN.
    rule = MarginPlateau(quantiles=(0.5,), tol=0.0, window=1)
    assert first_stop(rule, [{"margins": np.full(5, np.inf)}] * 2) == 2


@pytest.mark.parametrize("bad", [{"margins": np.array([np.nan])}, {"margins": np.array([])}])
def test_margin_plateau_refuses_bad_margins(bad):
    with pytest.raises(ValueError, match="margins"):
        MarginPlateau().update(**bad)


def test_rules_refuse_bad_parameters_and_missing_inputs():
    with pytest.raises(ValueError, match="window"):
        StabilizingPredictions(window=0).update(predictions=np.zeros(3))
    with pytest.raises(ValueError, match="X_pool"):
        StabilizingPredictions().update(ScriptedModel([np.zeros(3)]))
    with pytest.raises(ValueError, match="quantiles"):
        MarginPlateau(quantiles=(1.5,)).update(margins=np.ones(3))
    with pytest.raises(TypeError, match="stopping"):
        check_stopping(["not a rule"])


def test_clone_and_reset_give_a_fresh_rule():
    rule = StabilizingPredictions(window=1)
    for p in changing_until(1, rounds=3):
        rule.update(predictions=p)
    assert rule.decision_.stop
    fresh = clone(rule)
    assert not hasattr(fresh, "kappas_") and fresh.get_params() == rule.get_params()
    rule.reset()
    assert not hasattr(rule, "kappas_") and not rule.update(predictions=np.zeros(3)).stop


def _toy(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def test_active_learner_reports_the_stop_reason_without_raising():
    X, y = _toy()
    learner = ActiveLearner(LogisticRegression(), "auto", X_training=X[:10], y_training=y[:10],
                            stopping=[LabelBudget(20), StabilizingPredictions(stop_set_size=50, window=50)])
    idx, _ = learner.query(X[10:], n_instances=5)
    assert learner.stop_reason_ is None and not learner.stop_decision_.stop
    learner.query(X[10:], n_instances=5)  # same round: the rules are not updated again
    assert learner.stopping[1].n_updates_ == 1
    learner.teach(X[10:][idx], y[10:][idx])
    learner.query(X[10:], n_instances=5)
    assert learner.stopping[1].n_updates_ == 2 and learner.stop_reason_ is None
    idx, _ = learner.query(X[15:], n_instances=5)
    learner.teach(X[15:][idx], y[15:][idx])
    idx, _ = learner.query(X[20:], n_instances=5)  # 20 labels: the budget says stop; query still answers
    assert len(idx) == 5
    assert learner.stop_decision_.stop and "20 of 20" in learner.stop_reason_
    assert "stopping" in learner.get_params()


def test_active_learning_classifier_ends_the_run_at_the_rule():
    X, y = _toy()
    clf = ActiveLearningClassifier(LogisticRegression(), n_initial=10, n_instances=10, budget=100,
                                   random_state=0, stopping=LabelBudget(40)).fit(X, y)
    assert clf.n_labels_paid_ == 40 and clf.n_rounds_ == 3
    assert "40 of 40" in clf.stop_reason_
    assert all("stop" not in row for row in clf.learning_curve_)
    # The user's rule is cloned, never updated.
    assert not hasattr(clf.stopping, "n_updates_")
    plain = ActiveLearningClassifier(LogisticRegression(), n_initial=10, n_instances=10, budget=50,
                                     random_state=0).fit(X, y)
    assert plain.stop_reason_ is None and plain.n_labels_paid_ == 50


def test_harness_records_when_each_rule_would_stop():
    X, y = _toy()
    from skdfal import RandomSampling

    rows = simulate(lambda seed: LogisticRegression(), RandomSampling(), X, y, X, y, n_initial=10,
                    n_instances=10, n_rounds=5, random_state=0, stopping=LabelBudget(30))
    stops = [bool(r["stop"]) for r in rows]
    assert len(rows) == 6  # recorded, not stopped
    assert stops == [False, False, True, True, True, True]
    early = simulate(lambda seed: LogisticRegression(), RandomSampling(), X, y, X, y, n_initial=10,
                     n_instances=10, n_rounds=5, random_state=0, stopping=LabelBudget(30), stop_early=True)
    assert [r["n_labels"] for r in early] == [10, 20, 30]


@pytest.mark.slow  # trains a CNN and attacks its stop set each round
def test_margin_plateau_measures_deepfool_margins_of_a_net():
    from skdfal import load_digits_images, make_classifier

    X, y = load_digits_images()
    learner = ActiveLearner(make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=0),
                            X_training=X[:40], y_training=y[:40])
    rule = MarginPlateau(quantiles=(0.1, 0.5), stop_set_size=30, window=1, tol=1.0)
    assert not rule.update(learner, X[40:]).stop  # a first look only
    assert rule.X_stop_.shape == (30, 1, 8, 8)
    assert rule.update(learner, X[40:]).stop  # the same model: the margins did not move
    assert rule.changes_ == [0.0]
    q = rule.statistics_[0]
    assert q.shape == (2,) and 0 < q[0] <= q[1]


def test_check_stopping_observes_without_mutating():
    """Asked twice about one round, the rules answer the same and every input comes out equal."""
    import joblib
    from sklearn.datasets import load_iris

    from skdfal.learners._stopping import update_stopping

    X, y = load_iris(return_X_y=True)
    learner = ActiveLearner(LogisticRegression(max_iter=300)).fit(X[::10], y[::10])
    pool = X.copy()
    rules = [StabilizingPredictions(stop_set_size=40, window=1, threshold=0.5), LabelBudget(100)]
    update_stopping(rules, learner, pool)  # one round recorded: the next answer depends on history
    before = [joblib.hash(x) for x in (rules, learner, pool)]
    first = check_stopping(rules, learner, pool)
    second = check_stopping(rules, learner, pool)
    assert first == second and first.stop  # the same model agrees with itself: kappa 1
    assert [joblib.hash(x) for x in (rules, learner, pool)] == before
    assert rules[0].n_updates_ == 1 and len(rules[0].kappas_) == 0
    assert update_stopping(rules, learner, pool) == first  # what check said, recording does


def test_the_cli_reads_the_stopping_registry(monkeypatch):
    import argparse

    from skdfal.cli._args import STOP_HELP, stop_rule
    from skdfal.learners import _stopping_registry as registry

    for name, spec in registry.STOPPING_RULES.items():
        assert f"'{spec.usage(name)}'" in STOP_HELP
        rule = stop_rule(spec.usage(name).replace("=N", "=7"))
        assert isinstance(rule, spec.build)
    monkeypatch.setitem(registry.STOPPING_RULES, "never", registry.RuleSpec(LabelBudget, "N", "a test rule"))
    assert stop_rule("never=3") == LabelBudget(3) or stop_rule("never=3").n_labels == 3
    for bad in ("stable=1", "budget", "budget=0", "budget=x", "nope", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="expected one of|integer >= 1"):
            stop_rule(bad)
