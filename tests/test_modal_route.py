"""modAL's own learners driving skdfal's strategies: the whole loop, ``query`` and ``teach``.

modAL-python 0.4.2.1 (its last release) is installed without its
dependencies (``pip install --no-deps``).  Its ``ActiveLearner.teach``
(and ``fit``) call ``check_X_y(..., force_all_finite=...)``, a keyword
scikit-learn 1.8 removed (it is ``ensure_all_finite`` since 1.6): there the
loop stops at the first ``teach``.  Its ``DeepActiveLearner.teach`` trains
with the net's ``partial_fit`` and no such check, so that loop runs on every
scikit-learn skdfal supports.  ``skdfal.ActiveLearner`` is the drop-in with
the same constructor and methods (tests/modal_compat runs modAL's own tests
against it).
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from _marks import slow_except
from sklearn.utils.fixes import parse_version

from skdfal import DFALMargin, EntropySampling, dfal_margin, make_classifier

modal = pytest.importorskip("modAL.models")

SKLEARN_18 = parse_version(sklearn.__version__).release >= (1, 8)
STRATEGIES = {"dfal_margin": dfal_margin, "dfal_batch": DFALMargin(batch_diversity="features", diversity_factor=3),
              "entropy": EntropySampling()}


def _net():
    return make_classifier("lenet5", input_shape=(1, 8, 8), train_steps=20, random_state=0)


def _loop(learner, X, y, pool, rounds=2, n=4, **teach):
    """modAL's loop: query the pool, teach the answers, drop them from the pool."""
    asked = []
    for _ in range(rounds):
        idx, X_query = learner.query(X[pool], n_instances=n)
        idx = np.asarray(idx)
        assert len(set(idx.tolist())) == n and idx.min() >= 0 and idx.max() < len(pool)
        np.testing.assert_array_equal(X_query, X[pool[idx]])
        learner.teach(X_query, y[pool[idx]], **teach)
        asked += pool[idx].tolist()
        pool = np.delete(pool, idx)
    return asked


@pytest.mark.xfail(
    SKLEARN_18, raises=TypeError, strict=True,
    reason="modAL 0.4.2.1's ActiveLearner.teach passes force_all_finite to check_X_y, removed in scikit-learn 1.8",
)
@pytest.mark.parametrize("name", slow_except(list(STRATEGIES), "dfal_margin"))
def test_modal_active_learner_queries_and_teaches(digits, name):
    strategy = STRATEGIES[name]
    X, y = digits
    X, y = X[:200], y[:200]
    learner = modal.ActiveLearner(estimator=_net(), query_strategy=strategy, X_training=X[:20], y_training=y[:20])
    asked = _loop(learner, X, y, np.arange(20, 200))
    # modAL keeps the labeled set: the first 20 and every answer, in order.
    np.testing.assert_array_equal(learner.y_training, y[np.r_[np.arange(20), asked]])
    assert set(learner.predict(X).tolist()) <= set(range(10))


@pytest.mark.parametrize("name", slow_except(list(STRATEGIES), "dfal_margin"))
def test_modal_deep_active_learner_loop_runs_on_any_scikit_learn(digits, name):
    strategy = STRATEGIES[name]
    X, y = digits
    X, y = X[:200], y[:200]
    net = _net()
    learner = modal.DeepActiveLearner(estimator=net, query_strategy=strategy)
    learner.teach(X[:20], y[:20], warm_start=False)  # the first fit, on the initial labels
    before = [p.detach().clone() for p in net.module_.parameters()]
    asked = _loop(learner, X, y, np.arange(20, 200))  # warm start: partial_fit on each new batch
    assert len(set(asked)) == 8 and not set(asked) & set(range(20))
    after = list(net.module_.parameters())
    assert any(not np.array_equal(a.numpy(), b.detach().numpy()) for a, b in zip(before, after, strict=True))
    assert set(learner.predict(X).tolist()) <= set(range(10))


def test_skdfal_active_learner_is_the_drop_in(digits):
    """The same loop, the same arguments, on skdfal's learner: it teaches on any scikit-learn."""
    from skdfal import ActiveLearner

    X, y = digits
    X, y = X[:200], y[:200]
    learner = ActiveLearner(estimator=_net(), query_strategy=dfal_margin, X_training=X[:20], y_training=y[:20])
    asked = _loop(learner, X, y, np.arange(20, 200))
    np.testing.assert_array_equal(learner.y_training, y[np.r_[np.arange(20), asked]])
