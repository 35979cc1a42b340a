"""Each public entry checks its parameters and data once; what it calls trusts them.

Seen from outside: a bad value raises its message at the public door (the
learner's, a strategy's, a net's, a run's), and a valid query, fit or teach
reads each pool row once (a pool that counts the rows it hands out), so no
layer below re-scans it.  The wording of the errors is held by
tests/test_bad_input.py and tests/test_clear_errors.py.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from _pools import ReadCountingArray
from sklearn.linear_model import LogisticRegression

from skdfal import ActiveLearner, ActiveLearningClassifier, all_strategies, make_classifier
from skdfal.models import _factory
from skdfal.utils._errors import is_device_mismatch, is_out_of_memory
from skdfal.utils._sklearn_compat import InvalidParameterError
from skdfal.utils._validation import check_count, check_positive_real


def _learner(strategy_name, digits, **kwargs):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    strategy = all_strategies()[strategy_name].make()
    if "random_state" in strategy.get_params():
        strategy.set_params(random_state=0)
    return ActiveLearner(net, strategy, **kwargs).fit(X[:20], y[:20])


# ------------------------------------------------------------ each row read once
def test_fit_and_teach_read_their_samples_once(digits):
    X, y = digits
    samples = ReadCountingArray(X[:20])
    learner = ActiveLearner(make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1, random_state=0))
    learner.fit(samples, y[:20])
    assert samples.rows_read == 20
    more = ReadCountingArray(X[20:25])
    learner.teach(more, y[20:25])
    assert more.rows_read == 5 and learner.n_labels_paid_ == 25


def test_teach_with_adversarial_copies_reads_its_samples_once(digits):
    X, y = digits
    learner = _learner("dfal", digits, adversarial_augmentation=True, augmentation_params={"batch_size": 2})
    samples = ReadCountingArray(X[20:25])
    learner.teach(samples, y[20:25])  # 5 samples attacked 2 at a time: 3 batches
    assert samples.rows_read == 5 and learner.n_labels_paid_ == 25


def test_a_simulated_run_reads_its_data_once(digits):
    X, y = digits
    samples = ReadCountingArray(X[:300].reshape(300, -1))
    clf = ActiveLearningClassifier(
        LogisticRegression(max_iter=200), n_initial=20, n_instances=10, budget=50, random_state=0,
    ).fit(samples, y[:300])
    assert clf.n_labels_paid_ == 50 and samples.rows_read == 300


@pytest.mark.parametrize("strategy", list(all_strategies()))
def test_a_query_reads_each_pool_row_once(strategy, digits):
    X, _ = digits
    learner = _learner(strategy, digits)
    pool = ReadCountingArray(X[100:400])  # 300 rows: two batches of 256
    idx, rows = learner.query(pool, 5)
    assert len(set(idx.tolist())) == 5
    np.testing.assert_array_equal(rows, X[100:400][idx])
    if strategy == "dfal_screen":  # then its shortlist again, for the exact margins
        assert 300 + 5 < pool.rows_read < 2 * 300
    else:  # the pool once, then the 5 rows handed back
        assert pool.rows_read == 300 + 5
    direct = ReadCountingArray(X[100:400])
    learner.query_strategy(learner, direct, 5)
    assert direct.rows_read == pool.rows_read - 5


@pytest.mark.parametrize("form", ["object", "function", "function with overrides", "foreign callable"])
def test_every_form_of_strategy_reads_the_pool_once(form, digits):
    import skdfal

    X, _ = digits
    learner = _learner("dfal", digits)
    strategy = {
        "object": skdfal.DFALMargin(),
        "function": skdfal.dfal_margin,
        "function with overrides": functools.partial(skdfal.dfal_margin, batch_diversity="features",
                                                     diversity_factor=5),
        "foreign callable": lambda lrn, X_pool, n: skdfal.entropy_sampling(lrn, X_pool, n),
    }[form]
    learner.set_params(query_strategy=strategy)
    pool = ReadCountingArray(X[100:400])
    learner.query(pool, 3)
    assert pool.rows_read == 300 + 3


# ---------------------------------------------------------- the door says it
def test_a_net_checks_new_input_parameters_at_their_first_use(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1, random_state=0).fit(X[:20], y[:20])
    net.set_params(input_scale=-1.0)  # no re-initialisation: the next batch must still refuse it
    with pytest.raises(ValueError, match="input_scale must be a positive finite number or None, got -1.0"):
        net.predict(X[:5])


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
    from skdfal.labeling.session._spec import _count
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


def test_augmentation_params_name_an_unknown_key(digits):
    X, y = digits
    learner = _learner("dfal", digits, adversarial_augmentation=True, augmentation_params={"max_iters": 3})
    with pytest.raises(TypeError, match=r"augmentation_params has unknown keys \['max_iters'\]"):
        learner.teach(X[20:25], y[20:25])
    assert learner.n_labels_paid_ == 20  # a refused teach changes nothing
    learner.set_params(augmentation_params={"max_iter": 0})
    with pytest.raises(ValueError, match="max_iter"):
        learner.teach(X[20:25], y[20:25])
    assert learner.n_labels_paid_ == 20


@pytest.mark.parametrize("args, kwargs", [
    ((2.5,), {}), ((0,), {}), ((101,), {}), ((3,), {"max_iter": 0}), ((3,), {"random_tie_break": "yes"}),
    ((3,), {"max_iters": 3}), ((3, 4), {}),
])
@pytest.mark.parametrize("form", ["object", "function"])
def test_the_learners_door_says_what_the_strategys_says(args, kwargs, form, digits):
    import skdfal

    X, _ = digits
    strategy = skdfal.DFALMargin() if form == "object" else skdfal.dfal_margin
    learner = _learner("dfal", digits)
    learner.set_params(query_strategy=strategy)
    with pytest.raises((TypeError, ValueError)) as direct:
        strategy(learner, X[100:200], *args, **kwargs)
    with pytest.raises(type(direct.value)) as through_learner:
        learner.query(X[100:200], *args, **kwargs)
    assert str(through_learner.value) == str(direct.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_the_learners_door_names_a_non_finite_sample(bad, digits):
    X, _ = digits
    learner = _learner("dfal", digits)
    pool = X[100:200].copy()
    pool[17, 0, 3, 3] = bad
    with pytest.raises(ValueError, match=r"X_pool contains NaN or infinity \(first at sample 17\)"):
        learner.query(pool, 3)


def test_the_learners_door_refuses_an_empty_pool(digits):
    X, _ = digits
    learner = _learner("entropy", digits)
    with pytest.raises(ValueError, match="X_pool is empty: there is nothing to query"):
        learner.query(X[:0], 1)


@pytest.mark.parametrize("strategy", ["dfal", "dfal_batch", "entropy", "coreset", "badge", "dfal_badge", "dfal_screen",
                                      "random"])
def test_a_stream_shorter_than_the_query_is_measured_once_read(strategy, digits, fitted_net):
    from skdfal.strategies import get_strategy

    X, _ = digits
    stream = (X[i : i + 2] for i in range(0, 4, 2))  # 4 samples, length unknown at the door
    with pytest.raises(ValueError, match=r"n_instances=5 is larger than the pool \(4 samples\)"):
        get_strategy(strategy).make()(fitted_net, stream, 5)
