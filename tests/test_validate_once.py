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
from skdfal.models import _factory, _input
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
        calls(_input, name)
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


# ------------------------------------------------------- one query, one teach, traced
@pytest.fixture
def trace(monkeypatch):
    """Wrap the check helpers wherever skdfal binds them; ``trace.counts`` tallies one call.

    Keys: a helper's name; ``check_count`` by the name it checks (only calls
    made by the learner, strategy, attack and utility layers: a net rebuilt by
    ``fit`` checks its own constructor's arguments); ``finite rows`` adds up
    the rows :func:`check_batch_finite` scans; ``_validate_params`` by class.
    """
    import sys

    import sklearn.base

    from skdfal.attacks import _deepfool
    from skdfal.learners import _inputs
    from skdfal.utils import _pool, _validation

    counts = collections.Counter()

    def key_of(name, args, kwargs):
        if name == "check_count":
            caller = sys._getframe(2).f_globals.get("__name__", "")
            if caller.startswith("skdfal.models"):
                return None
            return f"check_count({kwargs.get('name', args[1] if len(args) > 1 else '?')})"
        if name == "check_batch_finite":
            counts["finite rows"] += len(args[0])
            return name
        if name == "_validate_params":
            return f"_validate_params({type(args[0]).__name__})"
        return name

    def wrap(module, name, *, everywhere=True):
        original = getattr(module, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            key = key_of(name, args, kwargs)
            if key is not None:
                counts[key] += 1
            return original(*args, **kwargs)

        owners = [module]
        if everywhere:
            owners += [m for n, m in list(sys.modules.items()) if n.startswith("skdfal") and m is not None]
        for owner in owners:
            for attr, value in list(vars(owner).items()):
                if value is original:
                    monkeypatch.setattr(owner, attr, wrapper)

    for module, name in [
        (_validation, "check_count"), (_pool, "check_n_instances"), (_pool, "pool_length"),
        (_pool, "check_batch_finite"), (_inputs, "pool_sample_shape"), (_deepfool, "_check_params"),
        (_deepfool, "check_clip"), (sklearn.utils.validation, "check_array"),
        (sklearn.utils.validation, "validate_data"), (sklearn.utils.validation, "_assert_all_finite"),
    ]:
        wrap(module, name)
    for name in ("_check_X", "_check_y", "_check_shape"):
        wrap(_state.LearnerState, name, everywhere=False)
    wrap(sklearn.base.BaseEstimator, "_validate_params", everywhere=False)
    trace.counts = counts
    return trace


def _traced_learner(strategy_name, digits, **kwargs):
    from skdfal.strategies import get_strategy

    X, y = digits
    strategy = {"dfal_margin": "dfal", "entropy": "entropy", "dfal_batch": "dfal_batch"}[strategy_name]
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    return ActiveLearner(net, get_strategy(strategy).make(), **kwargs).fit(X[:20], y[:20])


@pytest.mark.parametrize("strategy", ["dfal_margin", "dfal_batch", "entropy"])
@pytest.mark.parametrize("function_form", [False, True])
def test_one_query_runs_each_check_once(strategy, function_form, digits, trace):
    import skdfal

    X, _ = digits
    learner = _traced_learner(strategy, digits)
    if function_form:  # dfal_margin(learner, X_pool, n, **overrides): the same door
        config = {"dfal_batch": dict(batch_diversity="features", diversity_factor=5)}.get(strategy, {})
        function = skdfal.entropy_sampling if strategy == "entropy" else skdfal.dfal_margin
        learner.set_params(query_strategy=functools.partial(function, **config) if config else function)
    trace.counts.clear()
    idx, _ = learner.query(X[100:400], 5)  # 300 rows: two batches of 256
    assert len(set(idx.tolist())) == 5
    name = "EntropySampling" if strategy == "entropy" else "DFALMargin"
    expected = {
        "_check_shape": 1, "pool_sample_shape": 1,  # the learner's shape check
        f"_validate_params({name})": 1,  # the strategy's parameters
        "check_count(n_instances)": 1, "pool_length": 1, "check_n_instances": 1,  # the door
        "check_batch_finite": 2, "finite rows": 300,  # each row once, batch by batch
    }
    if strategy != "entropy":
        expected["check_clip"] = 1  # DeepFool's parameters, once per query, not per batch
    assert dict(trace.counts) == expected


def test_one_teach_runs_each_check_once(digits, trace):
    X, y = digits
    learner = _traced_learner("dfal_margin", digits)
    trace.counts.clear()
    learner.teach(X[20:25], y[20:25])
    # X at the door (validate_data: check_array and one NaN scan), y once, the shape once.
    assert dict(trace.counts) == {
        "_check_X": 1, "_check_y": 1, "_check_shape": 1, "validate_data": 1, "check_array": 2,
        "_assert_all_finite": 2,
    }


def test_one_teach_with_adversarial_copies_checks_deepfool_once(digits, trace):
    X, y = digits
    learner = _traced_learner(
        "dfal_margin", digits, adversarial_augmentation=True, augmentation_params={"batch_size": 2},
    )
    trace.counts.clear()
    learner.teach(X[20:25], y[20:25])  # 5 samples attacked 2 at a time: 3 batches
    assert trace.counts["_check_params"] == 1 and trace.counts["check_clip"] == 1
    assert trace.counts["finite rows"] == 5 and trace.counts["_check_X"] == 1


def test_augmentation_params_name_an_unknown_key(digits):
    X, y = digits
    learner = _traced_learner(
        "dfal_margin", digits, adversarial_augmentation=True, augmentation_params={"max_iters": 3},
    )
    with pytest.raises(TypeError, match=r"augmentation_params has unknown keys \['max_iters'\]"):
        learner.teach(X[20:25], y[20:25])
    assert learner.n_labels_paid_ == 20  # a refused teach changes nothing


def test_the_learner_runs_its_own_strategies_behind_its_door(digits, monkeypatch):
    import skdfal
    from skdfal.strategies import QueryStrategy

    X, _ = digits
    learner = _traced_learner("entropy", digits)
    public = collections.Counter()
    original = QueryStrategy.query

    def counting(self, *args, **kwargs):
        public[type(self).__name__] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QueryStrategy, "query", counting)
    for strategy in (skdfal.EntropySampling(), skdfal.entropy_sampling, skdfal.dfal_margin):
        learner.set_params(query_strategy=strategy)
        learner.query(X[100:200], 3)
    assert public == {}  # checked once at the learner's door, then the unchecked path
    learner.set_params(query_strategy=lambda lrn, X_pool, n: skdfal.entropy_sampling(lrn, X_pool, n))
    learner.query(X[100:200], 3)
    assert public == {"EntropySampling": 1}  # a foreign callable is called as it is


@pytest.mark.parametrize("args, kwargs", [
    ((2.5,), {}), ((0,), {}), ((101,), {}), ((3,), {"max_iter": 0}), ((3,), {"random_tie_break": "yes"}),
    ((3,), {"max_iters": 3}), ((3, 4), {}),
])
@pytest.mark.parametrize("form", ["object", "function"])
def test_the_learners_door_says_what_the_strategys_says(args, kwargs, form, digits):
    import skdfal

    X, _ = digits
    strategy = skdfal.DFALMargin() if form == "object" else skdfal.dfal_margin
    learner = _traced_learner("dfal_margin", digits)
    learner.set_params(query_strategy=strategy)
    with pytest.raises((TypeError, ValueError)) as direct:
        strategy(learner, X[100:200], *args, **kwargs)
    with pytest.raises(type(direct.value)) as through_learner:
        learner.query(X[100:200], *args, **kwargs)
    assert str(through_learner.value) == str(direct.value)


def test_the_learners_door_refuses_an_empty_pool(digits):
    X, _ = digits
    learner = _traced_learner("entropy", digits)
    with pytest.raises(ValueError, match="X_pool is empty: there is nothing to query"):
        learner.query(X[:0], 1)


@pytest.mark.parametrize("strategy", ["coreset", "badge", "dfal_badge", "dfal_screen", "random", "margin", "bald"])
def test_every_strategy_checks_n_instances_once(strategy, digits, trace):
    from skdfal.strategies import get_strategy

    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    learner = ActiveLearner(net, get_strategy(strategy).make()).fit(X[:20], y[:20])
    trace.counts.clear()
    learner.query(X[100:400], 5)
    assert trace.counts["check_count(n_instances)"] == 1 and trace.counts["check_n_instances"] == 1
    assert trace.counts[f"_validate_params({get_strategy(strategy).cls.__name__})"] == 1
    # Screening also reads the length to size its row buffer.
    assert trace.counts["pool_length"] == (2 if strategy == "dfal_screen" else 1)
    # Every pool row is scanned for NaN once, screening's exact pass over its shortlist included
    # (core-set also embeds the 20 labeled samples, through the same reader).
    assert trace.counts["finite rows"] == 300 + (20 if strategy == "coreset" else 0)


@pytest.mark.parametrize("strategy", ["dfal", "dfal_batch", "entropy", "coreset", "badge", "dfal_badge", "dfal_screen",
                                      "random"])
def test_a_stream_shorter_than_the_query_is_measured_once_read(strategy, digits, fitted_net):
    from skdfal.strategies import get_strategy

    X, _ = digits
    stream = (X[i : i + 2] for i in range(0, 4, 2))  # 4 samples, length unknown at the door
    with pytest.raises(ValueError, match=r"n_instances=5 is larger than the pool \(4 samples\)"):
        get_strategy(strategy).make()(fitted_net, stream, 5)
