"""Names a user can ask for: every registered strategy in one call, seeded constructors."""

from __future__ import annotations

import pytest
import torch
from sklearn.base import clone

import skdfal
from skdfal import make_classifier, make_strategy
from skdfal.strategies import (
    RECOMMENDED,
    ComposedStrategy,
    DFALMargin,
    EntropySampling,
    SpreadBatch,
    WeightedSeeding,
    all_strategies,
)
from skdfal.strategies._registry import pair
from skdfal.strategies._selectors import same_selector


@pytest.mark.parametrize("name", sorted(all_strategies()))
def test_every_registered_strategy_in_one_call(name):
    entry = all_strategies()[name]
    try:
        strategy = make_strategy(name)
    except ImportError as exc:  # an optional extra: the message names it
        assert entry.extra is not None and f"skdfal[{entry.extra}]" in str(exc)
        return
    # The pair, as registered: the scorer alone where the selector is its own, else both composed.
    scorer = strategy.scorer if isinstance(strategy, ComposedStrategy) else strategy
    assert isinstance(strategy, ComposedStrategy) is entry.composed
    assert type(scorer) is entry.cls
    assert same_selector(strategy._selector(), entry.selector)

    def plain(value):  # a wrapper's inner strategy is a fresh copy: compared by its parameters
        return (type(value), repr(value)) if hasattr(value, "get_params") else value

    own = scorer.get_params(deep=False)
    assert {k: plain(v) for k, v in own.items()} == {k: plain(v) for k, v in entry.scorer.get_params(deep=False).items()}
    clone(strategy)


def test_the_recommended_dfal_by_default_and_overrides():
    strategy = make_strategy()
    assert RECOMMENDED == "dfal_batch" and skdfal.make_strategy is make_strategy
    assert isinstance(strategy, ComposedStrategy) and type(strategy.scorer) is DFALMargin
    assert same_selector(strategy.selector, SpreadBatch("features", factor=5))
    assert make_strategy("dfal_batch", selector__factor=3).selector.factor == 3
    assert make_strategy("dfal_batch", max_iter=7).scorer.max_iter == 7
    # The scorer's flat spelling of another selector is refused, not silently dropped...
    with pytest.raises(TypeError, match="selector__factor"):
        make_strategy("dfal_batch", diversity_factor=3)
    # ... and the pair's own, as sessions saved it, is the pair.
    flat = make_strategy("dfal_batch", batch_diversity="features", diversity_factor=5, cold_start=0)
    assert same_selector(flat._selector(), strategy.selector)
    assert make_strategy("DFALMargin").get_params() == make_strategy("dfal").get_params()
    with pytest.raises(ValueError, match="unknown strategy 'dfal_bacth'; choose from"):
        make_strategy("dfal_bacth")
    with pytest.raises(TypeError):
        make_strategy("dfal", no_such_parameter=1)
    with pytest.raises(TypeError, match="selects by its scorer's own parameters"):
        make_strategy("entropy", selector__factor=3)


def test_a_pair_whose_selector_the_scorer_cannot_feed_is_refused_when_built():
    with pytest.raises(ValueError, match="needs directions of its scorer, which EntropySampling does not provide"):
        pair("spread_entropy", EntropySampling(), SpreadBatch("directions"))
    with pytest.raises(ValueError, match="needs embeddings"):
        pair("seeded_margin", DFALMargin(), WeightedSeeding())
    with pytest.raises(ValueError, match="factor"):
        pair("bad_factor", DFALMargin(), SpreadBatch(factor=0))
    assert pair("spread_dfal", DFALMargin(), SpreadBatch("directions")).composed


def _initial_weights(module, **kwargs):
    net = make_classifier(module, **kwargs).initialize()
    return torch.cat([p.detach().flatten() for p in net.module_.parameters()])


def test_random_state_seeds_a_torchvision_constructor():
    torchvision = pytest.importorskip("torchvision")
    build = torchvision.models.resnet18
    a = _initial_weights(build, module__num_classes=4, n_classes=4, random_state=3)
    b = _initial_weights(build, module__num_classes=4, n_classes=4, random_state=3)
    c = _initial_weights(build, module__num_classes=4, n_classes=4, random_state=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    state = torch.random.get_rng_state()
    _initial_weights(build, module__num_classes=4, n_classes=4, random_state=3)
    assert torch.equal(state, torch.random.get_rng_state())  # the global generator is left alone


def test_a_function_that_returns_no_module_is_named():
    with pytest.raises(ValueError, match="module must be 'lenet5', 'vgg8', a torch.nn.Module class or instance, "
                                         "or a function returning a module"):
        make_classifier(42)


def test_string_labels_with_n_classes_infer_the_classes():
    import numpy as np

    X = np.random.RandomState(0).rand(40, 1, 8, 8).astype(np.float32)
    y = np.array(list("abcd") * 10)
    net = make_classifier("lenet5", input_shape=(1, 8, 8), n_classes=4, train_steps=2).fit(X, y)
    assert net.classes_.tolist() == ["a", "b", "c", "d"]
    assert set(net.predict(X).tolist()) <= set("abcd")
    with pytest.raises(ValueError, match="y has 5 labels but the net has 4 outputs: pass n_classes=5"):
        make_classifier("lenet5", input_shape=(1, 8, 8), n_classes=4, train_steps=2).fit(
            X, np.array(list("abcde") * 8))
    # Integer labels stay output indices, and an explicit list of classes is kept.
    assert make_classifier("lenet5", input_shape=(1, 8, 8), n_classes=4, train_steps=2).fit(
        X, np.arange(40) % 4).classes_.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="not in classes"):
        make_classifier("lenet5", input_shape=(1, 8, 8), classes=[0, 1, 2, 3], train_steps=2).fit(X, y)


def test_a_learner_takes_string_labels_with_n_classes():
    import numpy as np

    from skdfal import ActiveLearner

    X = np.random.RandomState(0).rand(40, 1, 8, 8).astype(np.float32)
    y = np.array(list("abcd") * 10)
    learner = ActiveLearner(make_classifier("lenet5", input_shape=(1, 8, 8), n_classes=4, train_steps=2))
    assert learner.fit(X, y).classes_.tolist() == ["a", "b", "c", "d"]


def test_unknown_labels_are_quoted_once():
    import numpy as np

    X = np.random.RandomState(0).rand(6, 1, 8, 8).astype(np.float32)
    net = make_classifier("lenet5", input_shape=(1, 8, 8), classes=[0, 1, 2], train_steps=2)
    with pytest.raises(ValueError, match="not in classes") as info:
        net.fit(X, np.array(["a", "b", "c"] * 2))
    assert "'a'" in str(info.value) and "\"'a'\"" not in str(info.value)
