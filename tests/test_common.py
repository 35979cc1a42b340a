"""scikit-learn's own estimator checks over every public skdfal estimator.

The checks feed small 2-D tabular data (blobs, iris-like sets, string labels,
memmaps, DataFrames ...), on which a DeepFool strategy has no torch model to
attack; so the estimators wrap a fast ``LogisticRegression`` and use the
model-free ``RandomSampling`` and the probability-based ``EntropySampling``.
DFAL inside these estimators is covered on digits in ``test_estimator.py``.

No check is marked as an expected failure: every one passes.
"""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import skdfal
from skdfal import ActiveLearner, ActiveLearningClassifier, EntropySampling, RandomSampling


def _estimators():
    lr = LogisticRegression(max_iter=200)
    return [
        # A learner handed all labels at fit time is a plain wrapper: the
        # checks see the wrapped model's behaviour through skdfal's plumbing.
        ActiveLearner(lr, RandomSampling(random_state=0)),
        # The function form must survive pickling and cloning too.
        ActiveLearner(lr, skdfal.random_sampling),
        # A budget below the checks' sample counts makes the loop really
        # query: 5 initial labels, then rounds of 5 until 20 are paid.
        ActiveLearningClassifier(lr, RandomSampling(), n_initial=5, n_instances=5, budget=20),
        ActiveLearningClassifier(
            lr, EntropySampling(), n_initial=6, n_instances=4, budget=18, validation_size=0.2
        ),
    ]


def test_every_public_estimator_is_listed():
    """A new public estimator must join the checks below."""
    from sklearn.base import BaseEstimator

    from skdfal.learners import StoppingRule
    from skdfal.strategies import QueryStrategy

    public = {
        name
        for name in skdfal.__all__
        if isinstance(getattr(skdfal, name), type)
        and issubclass(getattr(skdfal, name), BaseEstimator)
        # strategies and stopping rules are parameter holders (no fit/predict);
        # models are skorch nets, which scikit-learn's checks do not target.
        and not issubclass(getattr(skdfal, name), (QueryStrategy, StoppingRule, skdfal.SeededNeuralNetClassifier))
    }
    assert public == {type(est).__name__ for est in _estimators()}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(_estimators())
def test_sklearn_compatible(estimator, check):
    check(estimator)
