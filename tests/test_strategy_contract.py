"""The contract every registered query strategy passes.

Each strategy of :func:`skdfal.all_strategies` (and any added later) is run
through the same checks, in the spirit of scikit-activeml's strategy
template: the function and object forms agree, it clones, a query leaves the
model bit-identical, it gives the in-memory answer on every kind of pool,
numpy scalars are valid parameters, every invalid parameter raises
``ValueError`` naming it, and pools with NaN or infinity are refused.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from _marks import slow_except
from _pools import POOL_KINDS, make_pool
from sklearn.base import clone

from skdfal import ActiveLearner, all_strategies, dfal_margin, make_classifier
from skdfal.strategies import (
    ComposedStrategy,
    QueryStrategy,
    Screened,
    Selector,
    SpreadBatch,
    TopN,
    get_strategy,
)
from skdfal.strategies._selectors import SELECTOR_CONSTRAINTS, same_selector

N_POOL, N_QUERY = 48, 5
ENTRIES = list(all_strategies().values())

# One invalid value per constrained parameter.  A new parameter must get one
# here (test_every_constrained_parameter_has_a_bad_value).
BAD_VALUES = {
    "subsample": -3,
    "random_state": "seed",
    "batch_size": 0,
    "n_passes": 0,
    "max_iter": 0,
    "overshoot": -0.5,
    "norm": 3,
    "candidates": 1,
    "clip": "0,1",
    "progress": "yes",
    "screening": "yes",
    "screening_candidates": 1,
    "space": "pixels",
    "head": 3,
    "X_labeled": 5,
    "batch_diversity": "clusters",
    "diversity_factor": 0,
    "cold_start": -1,
    "method": "margin",
    "embedding": "gradients",
    "dropout_layer_indexes": "all",
    "logits_adaptor": "softmax",
    "strategy": 3,
    "threshold": 1.5,
    "factor": 0,
    "scorer": 3,
}


def seeded(entry, **params):
    """The registered configuration, seeded where it draws at random."""
    strategy = entry.make(**params)
    if "random_state" in strategy.get_params():
        strategy.set_params(random_state=0)
    return strategy


@pytest.fixture(scope="module")
def learner(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=8, random_state=0)
    learner = ActiveLearner(net).fit(X[:300], y[:300])
    # A query is a modAL door: it shows the labeled set as X_training / y_training (modAL's names),
    # which fit (scikit-learn's door) leaves as given; every state compared below has them.
    learner.query(X[600:610], 1)
    return learner


@pytest.fixture(scope="module")
def pool_array(digits):
    X, _ = digits
    return np.ascontiguousarray(X[600 : 600 + N_POOL])


def comparable(params):
    """Parameters with the strategies and selectors among them replaced by their own parameters."""
    return {key: (type(value), comparable(value.get_params())) if isinstance(value, QueryStrategy | Selector)
            else value
            for key, value in params.items()}


def by_name(entries):
    return pytest.mark.parametrize("entry", entries, ids=[e.name for e in entries])


def test_the_registry_holds_every_exported_strategy_class():
    import skdfal.strategies as module

    # The base classes, and ComposedStrategy, no configuration of its own: it puts a selector on
    # a scorer (tests/test_compose.py holds it to the same contract).
    exported = {
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, QueryStrategy)
        and obj not in (QueryStrategy, module.SampledStrategy, module.ComposedStrategy, module.Subsampled)
    }
    assert exported == {e.cls for e in ENTRIES}


@by_name(ENTRIES)
def test_every_registered_strategy_is_a_scorer_paired_with_a_selector_that_fits(entry):
    strategy = entry.make()
    if entry.selector is None:  # a wrapper of a registered pair, or another library's strategy
        assert strategy._selector() is None and not entry.composed
        return
    assert same_selector(strategy._selector(), entry.selector), (strategy, entry.selector)
    scorer = strategy.scorer if entry.composed else strategy
    assert type(scorer) is entry.cls
    entry.selector.check_scorer(scorer)  # raises if the selector needs what the scorer lacks
    assert entry.selector.needs() <= scorer.provides


def flat_spelling(selector):
    """The function form's spelling of a selector (DFAL's flat parameters), written out here."""
    if isinstance(selector, TopN):
        return {}
    if isinstance(selector, SpreadBatch):
        return {"batch_diversity": selector.space, "diversity_factor": selector.factor}
    raise AssertionError(f"no flat spelling of {selector!r}")


def function_route(strategy):
    """The function form and parameters that spell ``strategy`` flat: the other route to its picks."""
    if isinstance(strategy, ComposedStrategy):  # the scorer's function with the selector spelt flat
        function, params = function_route(strategy.scorer)
        return function, {**params, **flat_spelling(strategy.selector)}
    if isinstance(strategy, Screened):  # DFAL's function with its screening flag
        return dfal_margin, {**strategy.scorer.get_params(deep=False), "random_state": 0, "screening": True,
                             "screening_candidates": strategy.screening_candidates}
    return get_strategy(type(strategy).__name__).function, strategy.get_params(deep=False)


@by_name(ENTRIES)
def test_function_and_object_forms_agree(entry, learner, pool_array):
    strategy = seeded(entry)
    idx, scores = strategy(learner, pool_array, n_instances=N_QUERY)
    function, params = function_route(strategy)
    if isinstance(strategy, ComposedStrategy):
        params["random_state"] = 0  # the composed pair's seed is the query's
    f_idx, f_scores = function(learner, pool_array, N_QUERY, **params)
    np.testing.assert_array_equal(idx, f_idx)
    np.testing.assert_allclose(scores, f_scores)
    assert idx.dtype == np.int64 and len(set(idx.tolist())) == N_QUERY
    assert ((0 <= idx) & (idx < N_POOL)).all()


@by_name(ENTRIES)
def test_clone_and_params(entry, learner, pool_array):
    strategy = seeded(entry)
    twin = clone(strategy)
    assert twin is not strategy and comparable(twin.get_params()) == comparable(strategy.get_params())
    np.testing.assert_array_equal(
        twin(learner, pool_array, n_instances=3)[0], strategy(learner, pool_array, n_instances=3)[0]
    )


def fitted_state(obj, path="net", out=None, seen=None):
    """Everything a fitted net holds, flattened to ``{path: value}`` (tensors and arrays copied).

    A torch module gives each parameter and buffer (with ``requires_grad``
    and ``.grad``), each submodule's train/eval mode and its hooks; an
    optimizer its ``state_dict``; any other object its attributes.
    """
    out = {} if out is None else out
    seen = set() if seen is None else seen
    if isinstance(obj, torch.Tensor):
        out[path] = obj.detach().clone()
        out[path + ".requires_grad"] = obj.requires_grad
        return out
    if isinstance(obj, np.ndarray):
        out[path] = obj.copy()
        return out
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, type)) or callable(obj) and (
        not hasattr(obj, "__dict__") or isinstance(obj, type(fitted_state))
    ):
        out[path] = obj
        return out
    if id(obj) in seen:
        out[path] = ("seen", id(obj))
        return out
    seen.add(id(obj))
    if isinstance(obj, torch.nn.Module):
        for name, tensor in obj.state_dict(keep_vars=True).items():
            fitted_state(tensor, f"{path}.{name}", out, seen)
            grad = getattr(tensor, "grad", None)
            out[f"{path}.{name}.grad"] = None if grad is None else grad.detach().clone()
        for name, sub in obj.named_modules():
            out[f"{path}.{name}:training"] = sub.training
            for hooks in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
                out[f"{path}.{name}:{hooks}"] = len(getattr(sub, hooks, {}))
        return out
    if isinstance(obj, torch.optim.Optimizer):
        return fitted_state(obj.state_dict(), path + ".state_dict()", out, seen)
    if isinstance(obj, dict):
        for key, value in obj.items():
            fitted_state(value, f"{path}[{key!r}]", out, seen)
        return out
    if isinstance(obj, (list, tuple, set, frozenset)):
        out[path + ":len"] = len(obj)
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        for i, value in enumerate(items):
            fitted_state(value, f"{path}[{i}]", out, seen)
        return out
    if hasattr(obj, "__dict__"):
        out[path + ":type"] = type(obj)
        for name, value in vars(obj).items():
            fitted_state(value, f"{path}.{name}", out, seen)
        return out
    out[path] = obj
    return out


def assert_same_state(before, after):
    assert before.keys() == after.keys(), sorted(set(before) ^ set(after))[:10]
    for path, old in before.items():
        new = after[path]
        if isinstance(old, torch.Tensor):
            assert old.dtype == new.dtype and old.device == new.device and torch.equal(old, new), path
        elif isinstance(old, np.ndarray):
            assert old.dtype == new.dtype and np.array_equal(old, new, equal_nan=old.dtype.kind in "fc"), path
        else:
            assert old is new or old == new, path


def model_state(learner):
    """The learner's fitted net and its labeled set."""
    state = fitted_state(learner.estimator_)
    for name in ("X_training", "y_training", "labeled_set_"):
        fitted_state(getattr(learner, name), f"learner.{name}", state)
    return state


@by_name(ENTRIES)
def test_query_leaves_the_model_bit_identical(entry, learner, pool_array):
    before = model_state(learner)
    assert any(path.startswith("net.module_.") for path in before) and "net.history_:len" in before
    # Called directly and through the learner's door.
    strategy = seeded(entry)
    strategy(learner, pool_array, n_instances=N_QUERY)
    assert_same_state(before, model_state(learner))
    template = learner.query_strategy
    try:
        learner.query_strategy = strategy
        learner.query(pool_array, N_QUERY)
    finally:
        learner.query_strategy = template
    assert_same_state(before, model_state(learner))


@by_name(ENTRIES)
# Every strategy times every container: a file on disk and a stream read once
# stay in the fast subset, the other containers run in the full suite.
@pytest.mark.parametrize("kind", slow_except(POOL_KINDS, "npy_memmap", "generator"))
def test_every_pool_gives_the_in_memory_answer(entry, kind, learner, pool_array, tmp_path):
    strategy = seeded(entry)
    ref_idx, ref_scores = strategy(learner, pool_array, n_instances=N_QUERY)
    idx, scores = strategy(learner, make_pool(kind, pool_array, tmp_path), n_instances=N_QUERY)
    np.testing.assert_array_equal(idx, ref_idx)
    # Batches of another size may change float32 rounding in the convolutions.
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-7)


@by_name(ENTRIES)
def test_numpy_scalars_are_valid_parameters(entry, learner, pool_array):
    strategy = seeded(entry)
    params = strategy.get_params()
    as_numpy = {
        k: (np.int64(v) if isinstance(v, int) and not isinstance(v, bool) else np.float32(v))
        for k, v in params.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "random_state"
    }
    idx, _ = clone(strategy).set_params(**as_numpy)(learner, pool_array, n_instances=np.int64(N_QUERY))
    np.testing.assert_array_equal(idx, strategy(learner, pool_array, n_instances=N_QUERY)[0])


def test_every_constrained_parameter_has_a_bad_value():
    for entry in ENTRIES:
        missing = set(entry.cls._parameter_constraints) - set(BAD_VALUES)
        assert not missing, f"{entry.cls.__name__}: add bad values for {sorted(missing)}"
        assert set(entry.cls._parameter_constraints) == set(entry.scorer.get_params(deep=False)), entry.cls
        if entry.composed:
            missing = set(type(entry.selector)._parameter_constraints) - set(BAD_VALUES)
            assert not missing, f"{entry.selector!r}: add bad values for {sorted(missing)}"


def _bad_params():
    for entry in ENTRIES:
        names = set(entry.cls._parameter_constraints)
        if hasattr(entry.scorer, "scorer"):  # a wrapper takes its scorer's parameters too (make routes them)
            names |= set(type(entry.scorer.scorer)._parameter_constraints)
        for param in sorted(names):
            yield pytest.param(entry, param, id=f"{entry.name}-{param}")
        if entry.composed:
            for param in sorted(type(entry.selector)._parameter_constraints):
                yield pytest.param(entry, f"selector__{param}", id=f"{entry.name}-selector__{param}")


@pytest.mark.parametrize("entry, param", list(_bad_params()))
def test_bad_parameters_raise_value_error_naming_them(entry, param, learner, pool_array):
    bad = BAD_VALUES[param.removeprefix("selector__")]
    if entry.composed and param in SELECTOR_CONSTRAINTS:
        # The scorer's flat spelling of a selector, on a pair that has one: refused when made.
        with pytest.raises(TypeError, match=f"not as the scorer's \\['{param}'\\]"):
            entry.make(**{param: bad})
        return
    strategy = entry.make(**{param: bad})  # construction stores, never checks
    with pytest.raises(ValueError, match=param.removeprefix("selector__")):
        strategy(learner, pool_array, n_instances=2)


@by_name(ENTRIES)
@pytest.mark.parametrize("n_instances", [0, -1, 2.5, "3", True, N_POOL + 1])
def test_bad_n_instances(entry, n_instances, learner, pool_array):
    with pytest.raises(ValueError, match="n_instances"):
        seeded(entry)(learner, pool_array, n_instances=n_instances)


@by_name(ENTRIES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pools_are_refused(entry, bad, learner, pool_array):
    pool = pool_array.copy()
    pool[17, 0, 3, 3] = bad
    with pytest.raises(ValueError, match=r"NaN or infinity \(first at sample 17\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seeded(entry)(learner, pool, n_instances=2)


@by_name(ENTRIES)
def test_empty_pool_is_refused(entry, learner):
    with pytest.raises(ValueError, match="empty"):
        seeded(entry)(learner, np.zeros((0, 1, 8, 8), np.float32), n_instances=1)
