"""LabeledSet: rows, labels, adversarial flags and labels paid, changed together and never in place."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from skdfal import ActiveLearner, make_classifier
from skdfal.learners._labeled import LabeledSet


def test_paid_rows_are_all_paid_and_unflagged():
    s = LabeledSet.paid(np.zeros((3, 2)), np.array([0, 1, 0]))
    assert len(s) == 3 and s.n_paid == 3 and not s.is_adversarial.any() and not s.empty


def test_copies_cost_nothing_and_are_flagged():
    s = LabeledSet.paid(np.zeros((2, 2)), np.array([0, 1])).with_copies(np.ones((2, 2)), np.array([0, 1]))
    assert len(s) == 4 and s.n_paid == 2
    assert s.is_adversarial.tolist() == [False, False, True, True]
    np.testing.assert_array_equal(s.X[2:], np.ones((2, 2)))


def test_extend_appends_in_order_and_leaves_both_sets_as_they_were():
    old = LabeledSet.paid(np.zeros((2, 2)), np.array([0, 1]))
    new = LabeledSet.paid(np.ones((1, 2)), np.array([1])).with_copies(2 * np.ones((1, 2)), np.array([1]))
    both = old.extend(new)
    assert both.X[:, 0].tolist() == [0, 0, 1, 2]
    assert both.y.tolist() == [0, 1, 1, 1]
    assert both.is_adversarial.tolist() == [False, False, False, True]
    assert both.n_paid == 3
    # Nothing moved in the inputs: a caller holding the old set can go back to it.
    assert len(old) == 2 and old.n_paid == 2 and old.X.shape == (2, 2)
    assert len(new) == 2 and new.n_paid == 1
    with pytest.raises(AttributeError):
        old.n_paid = 5  # frozen


def test_an_empty_set_takes_the_first_rows_and_keeps_labels_paid_before():
    # A learner adopting a pre-fitted model has no rows and no paid labels yet.
    empty = LabeledSet()
    assert empty.empty and len(empty) == 0 and empty.n_paid == 0
    s = empty.extend(LabeledSet.paid(["a text", "another"], np.array(["x", "y"])))
    assert s.X == ["a text", "another"] and s.n_paid == 2


@pytest.mark.parametrize("container", ["sparse", "list", "frame"])
def test_extend_keeps_the_users_container(container):
    pd = pytest.importorskip("pandas")
    a, b = np.arange(4.0).reshape(2, 2), np.arange(4.0, 6.0).reshape(1, 2)
    make = {"sparse": sp.csr_matrix, "list": lambda x: x.tolist(), "frame": lambda x: pd.DataFrame(x, columns=["p", "q"])}
    s = LabeledSet.paid(make[container](a), np.array([0, 1])).extend(LabeledSet.paid(make[container](b), np.array([1])))
    if container == "sparse":
        assert sp.issparse(s.X) and s.X.shape == (3, 2)
    elif container == "list":
        assert s.X == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    else:
        assert list(s.X.columns) == ["p", "q"] and len(s.X) == 3


def test_restored_counts_the_unflagged_rows_as_paid():
    s = LabeledSet.restored(np.zeros((4, 1)), np.zeros(4), np.array([False, True, False, True]))
    assert s.n_paid == 2 and len(s) == 4


# ------------------------------------------------------------------ the learner's set
def _data(n=40):
    rng = np.random.RandomState(0)
    X = rng.rand(n, 3)
    return X, (X[:, 0] > 0.5).astype(int)


def test_the_learners_four_attributes_read_one_set():
    X, y = _data()
    learner = ActiveLearner(LogisticRegression()).fit(X[:10], y[:10])
    learner.teach(X[10:13], y[10:13])
    s = learner.labeled_set_
    assert learner.X_training_ is s.X and learner.y_training_ is s.y and learner.X_training is s.X
    assert learner.is_adversarial_ is s.is_adversarial
    assert learner.n_labels_paid_ == s.n_paid == 13 and learner.n_training_samples_ == 13
    # Read-only: the set changes as a whole, through fit, teach and restore.
    with pytest.raises(AttributeError):
        learner.X_training_ = X
    with pytest.raises(AttributeError):
        learner.n_labels_paid_ = 3


def test_no_set_before_the_first_fit():
    learner = ActiveLearner(LogisticRegression())
    assert not hasattr(learner, "is_adversarial_") and not hasattr(learner, "n_labels_paid_")
    with pytest.raises(NotFittedError):
        learner.n_training_samples_  # noqa: B018


def test_a_refused_teach_keeps_the_same_set():
    X, y = _data()
    learner = ActiveLearner(LogisticRegression()).fit(X[:10], y[:10])
    before = learner.labeled_set_
    with pytest.raises(ValueError):
        learner.teach(X[10:12, :2], y[10:12])  # samples of another shape
    assert learner.labeled_set_ is before


def test_teach_with_augmentation_flags_the_copies(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=3, random_state=0)
    learner = ActiveLearner(net, adversarial_augmentation=True).fit(X[:30], y[:30])
    learner.teach(X[30:35], y[30:35])
    s = learner.labeled_set_
    n_free = int(s.is_adversarial.sum())
    assert s.n_paid == 35 and len(s) == 35 + n_free and n_free > 0
    assert s.is_adversarial[:35].sum() == 0  # the paid rows first, then their copies
    np.testing.assert_array_equal(s.X[30:35], X[30:35])


def test_restore_replaces_the_set():
    X, y = _data()
    learner = ActiveLearner(LogisticRegression()).fit(X[:10], y[:10])
    flags = np.array([False] * 6 + [True] * 2)
    learner.restore(learner.estimator_, X[:8], y[:8], flags)
    assert learner.n_labels_paid_ == 6 and learner.n_training_samples_ == 8
    assert learner.is_adversarial_.tolist() == flags.tolist()


def test_a_learner_pickled_with_four_fields_loads_into_one_set():
    X, y = _data()
    learner = ActiveLearner(LogisticRegression()).fit(X[:10], y[:10])
    state = learner.__getstate__()
    s = state.pop("labeled_set_")
    # How a learner pickled before LabeledSet existed kept its labeled set.
    state.update(X_training_=s.X, y_training_=s.y, is_adversarial_=s.is_adversarial, n_labels_paid_=s.n_paid)
    old = ActiveLearner.__new__(ActiveLearner)
    old.__setstate__(state)
    assert old.n_labels_paid_ == 10 and old.X_training_ is s.X
    old.teach(X[10:12], y[10:12])
    assert old.n_labels_paid_ == 12
    assert pickle.loads(pickle.dumps(old)).n_training_samples_ == 12


def test_a_set_from_pool_positions_knows_what_is_still_unlabeled():
    """The simulated-run driver's labeled set: positions kept through extensions and copies."""
    X_pool, y_pool = np.arange(20.0).reshape(10, 2), np.arange(10) % 3
    first = LabeledSet.from_pool(X_pool, y_pool, [7, 2])
    np.testing.assert_array_equal(first.X, X_pool[[7, 2]])
    np.testing.assert_array_equal(first.y, y_pool[[7, 2]])
    grown = first.extend(LabeledSet.from_pool(X_pool, y_pool, [0]).with_copies(X_pool[[0]], y_pool[[0]]))
    assert grown.n_paid == 3 and len(grown) == 4 and grown.positions.tolist() == [7, 2, 0, -1]
    assert grown.unlabeled(10).tolist() == [1, 3, 4, 5, 6, 8, 9]
    assert grown.holds([0, 1, 7]).tolist() == [True, False, True]
    assert first.unlabeled(10).tolist() == [0, 1, 3, 4, 5, 6, 8, 9]  # the old set is unchanged
    assert LabeledSet().unlabeled(3).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="without pool positions"):
        LabeledSet.paid(X_pool[:2], y_pool[:2]).unlabeled(10)
