"""modAL's own test suite, adapted to run against skdfal (see test_modal_core.py).

modAL 0.4.2.1 predates numpy 2 and pandas 2; two shims restore what modAL's
*own* code calls, nothing of skdfal's: ``np.float`` (a default argument of
``modAL.expected_error``, needed only while importing it) and
``DataFrame.append`` (``modAL.utils.data.data_vstack``).  Without modAL
installed (CI installs ``modAL-python==0.4.2.1 --no-deps``) nothing here is
collected.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

#: modAL's tests that take seconds each, marked ``slow`` here so that
#: test_modal_core.py stays as modAL wrote it (tests/test_fast_subset.py
#: checks that each name is one of its tests).
SLOW_IN_MODAL_CORE = {
    "TestEER::test_eer": "expected error reduction, a forest refit per sample and label, 60 setups x 4 data types",
    "TestActiveLearner::test_sparse_matrices": "360 learners on sparse pools",
    "TestDisagreements::test_max_disagreement_sampling": "committees of forests on a grid of shapes",
    "TestDisagreements::test_KL_max_disagreement": "committees on a grid of shapes",
    "TestMultilabel::test_strategies": "every multilabel strategy on SVMs",
    "TestDropout::test_get_predictions": "MC dropout on a skorch net, a grid of settings",
    "TestDropout::test_mc_dropout_bald": "MC dropout on a skorch net",
    "TestUncertainties::test_classifier_uncertainty": "about 10,000 cases of modAL's own measure",
    "TestUncertainties::test_classifier_margin": "about 10,000 cases of modAL's own measure",
    "TestUncertainties::test_classifier_entropy": "about 10,000 cases of modAL's own measure",
    "TestCommittee::test_predict_proba": "committees on a grid of shapes",
    "TestActiveLearner::test_add_training_data": "729 learners on a grid of shapes (test_teach is the quick one)",
    "TestCommittee::test_vote_proba": "committees on a grid of shapes",
    "TestUtils::test_data_vstack": "modAL's own utility on a grid of shapes and types",
    "TestMultilabel::test_SVM_loss": "SVMs on a grid of shapes",
    "TestUtils::test_shuffled_argmax": "modAL's own utility on about 5,000 shapes",
    "TestUtils::test_weighted_random": "modAL's own utility on about 5,000 shapes",
    "TestUtils::test_multi_argmax": "modAL's own utility on about 5,000 shapes",
    "TestDisagreements::test_vote_entropy_sampling": "committees on a grid of shapes",
    "TestDisagreements::test_consensus_entropy_sampling": "committees on a grid of shapes",
    "TestDisagreements::test_max_std_sampling": "committees on a grid of shapes",
    "TestAcquisitionFunctions::test_selection": "modAL's BayesianOptimizer on about 5,000 shapes",
    "TestDropout::test_mc_dropout_max_entropy": "MC dropout on a skorch net",
    "TestDropout::test_mc_dropout_max_variationRatios": "MC dropout on a skorch net",
    "TestDropout::test_mc_dropout_mean_st": "MC dropout on a skorch net",
    "TestActiveLearner::test_predict": "learners on a grid of shapes (test_query is the quick one)",
    "TestActiveLearner::test_predict_proba": "learners on a grid of shapes (test_query is the quick one)",
    "TestDisagreements::test_vote_entropy": "committees on a grid of shapes",
    "TestDisagreements::test_consensus_entropy": "committees on a grid of shapes",
    "TestBayesianOptimizer::test_get_max": "modAL's BayesianOptimizer on a grid of shapes",
    "TestCommitteeRegressor::test_predict": "committees on a grid of shapes",
}

if importlib.util.find_spec("modAL") is None:
    collect_ignore_glob = ["*"]
else:
    # modAL's example scripts run from test_modal_examples.py, not as test modules.
    collect_ignore_glob = ["examples/*"]
    if not hasattr(np, "float"):
        np.float = float
        try:
            import modAL.expected_error  # noqa: F401  (binds np.float at import)
        finally:
            del np.float


def _append(self, other, ignore_index=False):
    """pandas < 2's ``DataFrame.append`` (rows), which modAL's ``data_vstack`` calls."""
    import pandas as pd

    others = other if isinstance(other, (list, tuple)) else [other]
    frames = [o.to_frame().T if isinstance(o, pd.Series) else o for o in others]
    return pd.concat([self, *frames], ignore_index=ignore_index)


@pytest.fixture(autouse=True)
def _pandas_append(monkeypatch):
    pd = pytest.importorskip("pandas")
    if not hasattr(pd.DataFrame, "append"):
        monkeypatch.setattr(pd.DataFrame, "append", _append, raising=False)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name == "test_modal_core.py" and item.path.parent.name == "modal_compat":
            if item.nodeid.split("::", 1)[-1] in SLOW_IN_MODAL_CORE:
                item.add_marker(pytest.mark.slow)
