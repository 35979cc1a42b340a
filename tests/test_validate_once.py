"""Each public entry checks its parameters and data once; what it calls trusts them.

The counts come from wrapping the check helpers with monkeypatch during one
call; errors for bad input stay as they were (tests/test_bad_input.py and
tests/test_clear_errors.py hold their wording).
"""

from __future__ import annotations

import collections
import functools

import numpy as np
import pytest
import sklearn
import sklearn.utils.validation
from sklearn.linear_model import LogisticRegression

from skdfal import ActiveLearner, ActiveLearningClassifier, make_classifier
from skdfal.learners import _learner, _state
from skdfal.models import _classifier, _factory
from skdfal.utils._errors import is_device_mismatch, is_out_of_memory
from skdfal.utils._sklearn_compat import InvalidParameterError
from skdfal.utils._validation import check_count, check_positive_real


@pytest.fixture
def calls(monkeypatch):
    """``count(owner, name)`` wraps ``owner.name`` to count its calls in ``calls.counts``."""
    counts = collections.Counter()

    def count(owner, name):
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    count.counts = counts
    return count


@pytest.fixture(scope="module")
def net_learner(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    return ActiveLearner(net).fit(X[:20], y[:20])


def test_fit_checks_parameters_samples_and_labels_once(digits, calls):
    X, y = digits
    for name in ("_validate_params", "_check_X", "_check_y"):
        calls(_state.LearnerState, name)
    calls(_state, "validate_data")
    ActiveLearner(LogisticRegression(max_iter=200)).fit(X[:30].reshape(30, -1), y[:30])
    assert calls.counts == {"_validate_params": 1, "_check_X": 1, "_check_y": 1, "validate_data": 1}


def test_teach_checks_samples_and_labels_once(net_learner, digits, calls):
    X, y = digits
    for name in ("_check_X", "_check_y", "_check_shape"):
        calls(_state.LearnerState, name)
    calls(_state, "validate_data")
    calls(_state, "check_array")
    net_learner.teach(X[20:25], y[20:25])
    # validate_data reads X (n_features_in_, finiteness), check_array reads y.
    assert calls.counts == {"_check_X": 1, "_check_y": 1, "_check_shape": 1, "validate_data": 1, "check_array": 1}


def test_query_checks_the_pool_once(net_learner, digits, calls):
    X, _ = digits
    calls(_state.LearnerState, "_check_shape")
    calls(_learner, "pool_sample_shape")
    calls(_state.LearnerState, "_check_X")
    net_learner.query(X[100:200], 3)
    assert calls.counts == {"_check_shape": 1, "pool_sample_shape": 1}


def test_a_fitted_net_does_not_check_its_parameters_per_batch(net_learner, digits, calls):
    X, _ = digits
    net = net_learner.estimator_
    for name in ("_check_input_shape", "_check_scale", "_check_channel_stats"):
        calls(_classifier, name)
    net.predict_proba(X[:50])
    net.predict(X[:50])
    assert calls.counts == {}


def test_a_net_checks_new_input_parameters_at_their_first_use(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1, random_state=0).fit(X[:20], y[:20])
    net.set_params(input_scale=-1.0)  # no re-initialisation: the next batch must still refuse it
    with pytest.raises(ValueError, match="input_scale must be a positive finite number or None, got -1.0"):
        net.predict(X[:5])


def test_a_simulated_run_scans_its_data_for_nan_once(digits, monkeypatch):
    X, y = digits
    scans = []
    original = sklearn.utils.validation._assert_all_finite

    def counting(X, *args, **kwargs):
        if not sklearn.get_config()["assume_finite"]:
            scans.append(np.shape(X))
        return original(X, *args, **kwargs)

    monkeypatch.setattr(sklearn.utils.validation, "_assert_all_finite", counting)
    clf = ActiveLearningClassifier(
        LogisticRegression(max_iter=200), n_initial=20, n_instances=10, budget=50, random_state=0,
    ).fit(X[:300].reshape(300, -1), y[:300])
    assert clf.n_labels_paid_ == 50
    assert sorted(scans) == [(300,), (300, 64)]  # y and X at the door; the rounds trust them


def test_a_simulated_run_still_refuses_nan_at_the_door(digits):
    X, y = digits
    X = X[:100].reshape(100, -1).copy()
    X[7, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ActiveLearningClassifier(LogisticRegression(), budget=30, random_state=0).fit(X, y[:100])


# ------------------------------------------------------------------- the helpers
@pytest.mark.parametrize("value", [2.5, True, np.bool_(False), "3", 0, -1, None])
def test_check_count_refuses_what_is_not_a_count(value):
    with pytest.raises(InvalidParameterError, match=rf"n must be an integer >= 1, got {value!r}"):
        check_count(value, "n")


def test_check_count_bounds_error_class_and_alternatives():
    assert check_count(np.int64(7), "n", maximum=7) == 7 and type(check_count(np.int8(3), "n")) is int
    assert check_count(None, "n", allow_none=True) is None
    with pytest.raises(ValueError, match=r"n must be an integer in \[0, 7\], got 8") as info:
        check_count(8, "n", minimum=0, maximum=7, error=ValueError)
    assert type(info.value) is ValueError
    with pytest.raises(ValueError, match=r"steps must be 'auto' or an integer >= 1, got 0"):
        check_count(0, "steps", alternatives="'auto' or ")


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_check_positive_real(value):
    with pytest.raises(ValueError, match="lr must be a positive finite number, got"):
        check_positive_real(value, "lr")
    assert check_positive_real(None, "lr", allow_none=True) is None and check_positive_real(2, "lr") == 2.0


def test_sessions_and_training_callbacks_share_the_count_check():
    from skdfal.labeling._spec import _count
    from skdfal.models._training import RandomShift, StepBudget

    with pytest.raises(ValueError, match=r"n_instances must be an integer in \[1, 5\], got 2.5"):
        _count(2.5, "n_instances", high=5)
    with pytest.raises(ValueError, match="n_instances must be an integer >= 1, got True"):
        check_count(True, "n_instances", error=ValueError)
    with pytest.raises(ValueError, match="steps must be 'auto', a callable or an integer >= 1, got 2.5"):
        StepBudget(steps=2.5)._check()
    with pytest.raises(ValueError, match="max_shift must be 'auto' or an integer >= 0, got -1"):
        RandomShift(max_shift=-1)._shift_for(8, 8)


# ---------------------------------------------------------------- the real fault
class _Hungry:
    def __init__(self, **params):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:118] DefaultCPUAllocator: can't allocate memory")


class _Misshapen:
    def __init__(self, **params):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (1x400 and 256x120)")


def test_building_a_module_out_of_memory_is_not_called_a_shape_error():
    with pytest.raises(MemoryError, match="needs more memory than is free"):
        _factory._try_build(_Hungry, (1, 9000, 9000), {})
    with pytest.raises(ValueError, match=r"input_shape=\(1, 3, 3\) does not fit _Misshapen"):
        _factory._try_build(_Misshapen, (1, 3, 3), {})


def test_error_kinds():
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert is_device_mismatch(RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
    ))
    assert not is_device_mismatch(RuntimeError("CUDA out of memory"))


@pytest.mark.parametrize("bad, message", [
    (dict(n_instances=2.5), "n_instances must be an integer >= 1, got 2.5"),  # was cut to 2
    (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
    (dict(subsample=True), "subsample must be an integer >= 1 or None, got True"),  # was 1
])
def test_run_benchmark_checks_its_counts_at_the_door(bad, message):
    from skdfal.experiments import run_benchmark

    with pytest.raises(ValueError, match=message):
        run_benchmark("digits", ["random"], [0], progress=False, **bad)
