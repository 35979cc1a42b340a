"""Bad input to the learner and model API: every case is refused with a named error.

One table: each case names the call, the exception type and a fragment of
its message.  Every case was accepted silently, or failed with a raw torch
or skorch error, before the checks it pins were written (issue 13: no
silent wrong learning).  A refused ``teach`` must leave the learner as it was.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression
from skorch import NeuralNetClassifier
from torch.utils.data import DataLoader, TensorDataset

from skdfal import VGG8, ActiveLearner, LeNet5, SeededNeuralNetClassifier, make_classifier


class Ctx:
    """Fitted learners shared by the cases (refused calls must not change them)."""

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.flat = X.reshape(len(X), -1)
        self.net = ActiveLearner(_lenet()).fit(X[:40], y[:40])
        self.lr = ActiveLearner(LogisticRegression(max_iter=300)).fit(self.flat[:60], y[:60])


def _lenet(**params):
    return make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1, random_state=0, **params)


def _plain_net(**params):
    """skdfal's net without a class list (labels are output indices)."""
    return SeededNeuralNetClassifier(
        LeNet5, module__input_size=8, max_epochs=1, train_split=None, verbose=0, random_state=0, **params
    )


def _pool_9x9():
    return np.zeros((6, 1, 9, 9), np.float32)


CASES = [
    # -- ActiveLearner: labels ------------------------------------------------
    ("teach_label_minus_100_into_a_net",
     lambda c: c.net.teach(c.X[:2], [-100, -100]), ValueError, "not among the classes"),
    ("teach_label_beyond_the_net_classes",
     lambda c: c.net.teach(c.X[:1], [12]), ValueError, "not among the classes"),
    ("teach_text_label_to_an_integer_net",
     lambda c: c.net.teach(c.X[:1], ["3"]), ValueError, "mixing the two types"),
    ("teach_text_label_to_an_integer_learner",
     lambda c: c.lr.teach(c.flat[:1], ["a"]), ValueError, "mixing the two types"),
    ("teach_label_outside_the_learner_classes",
     lambda c: ActiveLearner(LogisticRegression(), classes=[0, 1])
     .fit(c.flat[:20], c.y[:20] % 2).teach(c.flat[20:21], [2]), ValueError, "not among the classes"),
    ("text_labels_for_skorch_own_net",
     lambda c: ActiveLearner(NeuralNetClassifier(LeNet5, module__input_size=8, max_epochs=1, train_split=None))
     .fit(c.X[:4], ["a", "b", "a", "b"]), ValueError, "integer labels only"),
    # -- ActiveLearner: sample shape and type --------------------------------
    ("query_a_9x9_pool_on_an_8x8_learner",
     lambda c: c.net.query(_pool_9x9(), n_instances=1), ValueError, "X_pool has samples of shape (1, 9, 9)"),
    ("query_a_9x9_dataloader_on_an_8x8_learner",
     lambda c: c.net.query(DataLoader(TensorDataset(torch.zeros(6, 1, 9, 9)), batch_size=3), n_instances=1),
     ValueError, "input_shape=(1, 8, 8)"),
    ("predict_9x9_on_an_8x8_learner",
     lambda c: c.net.predict(_pool_9x9()), ValueError, "samples of shape (1, 9, 9)"),
    ("predict_proba_9x9_on_an_8x8_learner",
     lambda c: c.net.predict_proba(_pool_9x9()), ValueError, "samples of shape (1, 9, 9)"),
    ("teach_a_sparse_matrix_to_a_net",
     lambda c: c.net.teach(sp.csr_matrix(c.flat[:2]), c.y[:2]), ValueError, "sparse"),
    ("teach_texts_to_a_net",
     lambda c: c.net.teach(np.full((1, 1, 8, 8), "a"), [1]), ValueError, "numeric"),
    # -- ActiveLearner: parameters -------------------------------------------
    ("X_training_without_y_training",
     lambda c: ActiveLearner(LogisticRegression(), X_training=c.flat[:5]).query(c.flat[5:20]),
     ValueError, "together"),
    ("query_strategy_not_callable",
     lambda c: ActiveLearner(LogisticRegression(), query_strategy=5).fit(c.flat[:20], c.y[:20]),
     ValueError, "query_strategy"),
    ("random_state_not_a_seed",
     lambda c: ActiveLearner(LogisticRegression(), random_state="x").fit(c.flat[:20], c.y[:20]),
     ValueError, "random_state"),
    ("cold_start_n_instances_zero",
     lambda c: ActiveLearner(_lenet()).query(c.X[:10], n_instances=0), ValueError, "n_instances"),
    # -- make_classifier -------------------------------------------------------
    ("max_epochs_negative", lambda c: make_classifier(max_epochs=-1), ValueError, "max_epochs"),
    ("max_epochs_fraction", lambda c: make_classifier(max_epochs=2.5), ValueError, "max_epochs"),
    ("batch_size_zero", lambda c: make_classifier(batch_size=0), ValueError, "batch_size"),
    ("n_classes_zero", lambda c: make_classifier(n_classes=0), ValueError, "n_classes"),
    ("n_classes_one", lambda c: make_classifier(n_classes=1), ValueError, "n_classes"),
    ("input_shape_too_small_for_lenet5",
     lambda c: make_classifier("lenet5", input_shape=(1, 2, 2)), ValueError, "input_shape=(1, 2, 2)"),
    ("input_shape_negative",
     lambda c: make_classifier("vgg8", input_shape=(1, 8, -8)), ValueError, "input_shape"),
    ("lr_zero", lambda c: make_classifier(lr=0), ValueError, "lr"),
    ("lr_nan", lambda c: make_classifier(lr=float("nan")), ValueError, "lr"),
    ("device_not_on_this_machine", lambda c: make_classifier(device="cuda:99"), ValueError, "cuda:99"),
    ("device_not_a_device", lambda c: make_classifier(device="gpu"), ValueError, "not a torch device"),
    ("input_scale_negative", lambda c: make_classifier(input_scale=-1), ValueError, "input_scale"),
    ("classes_repeated", lambda c: make_classifier(classes=["a", "a"]), ValueError, "repeat"),
    ("classes_and_n_classes_disagree",
     lambda c: make_classifier(n_classes=3, classes=["a", "b"]), ValueError, "n_classes"),
    ("random_state_negative", lambda c: make_classifier(random_state=-1), ValueError, "random_state"),
    ("module_not_a_module", lambda c: make_classifier(module=42), ValueError, "module"),
    # -- the nets and the skorch classifier ----------------------------------
    ("lenet5_smaller_than_4x4", lambda c: LeNet5(input_size=2), ValueError, "4x4"),
    ("vgg8_without_outputs", lambda c: VGG8(n_classes=0), ValueError, "n_classes"),
    ("flat_rows_of_the_wrong_size",
     lambda c: _lenet().fit(np.zeros((4, 81), np.float32), [0, 1, 0, 1]), ValueError, "input_shape"),
    ("texts_into_a_net",
     lambda c: _lenet().fit(np.full((4, 1, 8, 8), "x"), [0, 1, 0, 1]), ValueError, "numeric"),
    ("label_outside_the_net_classes",
     lambda c: _lenet().fit(c.X[:4], [0, 1, 12, 1]), ValueError, "not in classes"),
    ("label_minus_100_without_a_class_list",
     lambda c: _plain_net().fit(c.X[:4], [0, 1, -100, 1]), ValueError, "negative labels"),
    ("label_beyond_the_module_outputs",
     lambda c: _plain_net().fit(c.X[:4], [0, 1, 12, 1]), ValueError, "label index 12"),
    ("unavailable_device_at_fit",
     lambda c: _plain_net(device="cuda:99").fit(c.X[:4], [0, 1, 0, 1]), ValueError, "cuda:99"),
]


@pytest.fixture(scope="module")
def ctx(digits):
    X, y = digits
    return Ctx(X, y)


@pytest.mark.parametrize(
    "call, exc, fragment", [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_bad_input_is_refused(ctx, call, exc, fragment):
    with pytest.raises(exc) as info:
        call(ctx)
    assert fragment in str(info.value)


def test_case_names_are_unique():
    names = [case[0] for case in CASES]
    assert len(names) == len(set(names))


def test_a_refused_teach_changes_nothing(digits):
    X, y = digits
    learner = ActiveLearner(_lenet()).fit(X[:30], y[:30])
    before = (learner.n_labels_paid_, learner.X_training_.copy(), learner.y_training_.copy())
    for bad_X, bad_y in [(X[:2], [-100, -100]), (X[:1], ["3"]), (_pool_9x9()[:1], [1])]:
        with pytest.raises(ValueError):
            learner.teach(bad_X, bad_y)
    assert learner.n_labels_paid_ == before[0]
    np.testing.assert_array_equal(learner.X_training_, before[1])
    np.testing.assert_array_equal(learner.y_training_, before[2])
    assert learner.y_training_.dtype.kind == "i"


# ------------------------------------------------------ the attack and the CLI
def _linear():
    import torch

    return torch.nn.Linear(4, 3)


DEEPFOOL_CASES = [
    ("NaN input", dict(X=[[float("nan"), 0, 0, 0]]), ValueError, "NaN or infinity (first at sample 0)"),
    ("clip upside down", dict(clip=(1, 0)), ValueError, "clip must be None or a pair"),
    ("clip a scalar", dict(clip=5), ValueError, "clip must be None or a pair"),
    ("module None", dict(module=None), TypeError, "module must be a torch.nn.Module"),
    ("max_iter float", dict(max_iter=2.5), ValueError, "'max_iter' parameter of deepfool must be an int"),
    ("overshoot NaN", dict(overshoot=float("nan")), ValueError, "'overshoot' parameter of deepfool must be a float"),
    ("integer input", dict(X=[[1, 2, 3, 4]], dtype="int64"), ValueError, "floating-point"),
]


@pytest.mark.parametrize("name, change, exc, fragment", DEEPFOOL_CASES, ids=[c[0] for c in DEEPFOOL_CASES])
def test_deepfool_refuses_bad_input(name, change, exc, fragment):
    import torch

    from skdfal import deepfool

    change = dict(change)
    dtype = getattr(torch, change.pop("dtype", "float32"))
    X = torch.tensor(change.pop("X", [[0.1, 0.2, 0.3, 0.4]]), dtype=dtype)
    module = change.pop("module", _linear())
    with pytest.raises(exc, match=re.escape(fragment)):
        deepfool(module, X, **change)


def test_deepfool_accepts_numpy_scalars():
    import torch

    from skdfal import deepfool

    res = deepfool(_linear(), torch.rand(3, 4), max_iter=np.int64(20), overshoot=np.float32(0.02),
                   candidates=np.int32(2))
    assert len(res) == 3


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["benchmark", "--steps", "0"], "expected an integer >= 1"),
        (["benchmark", "--n-instances", "-5"], "expected an integer >= 1"),
        (["benchmark", "--n-instances", "0"], "expected an integer >= 1"),
        (["benchmark", "--seeds", "x"], "expected comma-separated integers"),
        (["benchmark", "--budget", "2.5"], "expected an integer >= 1"),
        (["benchmark", "--subsample", "none"], "expected an integer >= 1"),
        (["run", "--seeds", "0"], "expected an integer >= 1"),
    ],
)
def test_cli_counts_must_be_positive_integers(argv, fragment, capsys):
    from skdfal.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2  # argparse's usage error, before any work
    assert fragment in capsys.readouterr().err
