"""Names a user can ask for: every registered strategy in one call, seeded constructors."""

from __future__ import annotations

import pytest
import torch
from sklearn.base import clone

import skdfal
from skdfal import make_classifier, make_strategy
from skdfal.strategies import RECOMMENDED, all_strategies


@pytest.mark.parametrize("name", sorted(all_strategies()))
def test_every_registered_strategy_in_one_call(name):
    entry = all_strategies()[name]
    try:
        strategy = make_strategy(name)
    except ImportError as exc:  # an optional extra: the message names it
        assert entry.extra is not None and f"skdfal[{entry.extra}]" in str(exc)
        return
    assert type(strategy) is entry.cls
    params = strategy.get_params(deep=False)
    def plain(value):  # a wrapper's inner strategy is a fresh copy: compared by its parameters
        return (type(value), value.get_params()) if hasattr(value, "get_params") else value

    # The configuration, not the defaults.
    assert {k: plain(params[k]) for k in entry.params} == {k: plain(v) for k, v in entry.params.items()}
    clone(strategy)


def test_the_recommended_dfal_by_default_and_overrides():
    strategy = make_strategy()
    assert RECOMMENDED == "dfal_batch" and skdfal.make_strategy is make_strategy
    assert strategy.get_params()["batch_diversity"] == "features"
    assert strategy.get_params()["diversity_factor"] == 5
    assert make_strategy("dfal_batch", diversity_factor=3).get_params()["diversity_factor"] == 3
    assert make_strategy("DFALMargin").get_params() == make_strategy("dfal").get_params()
    with pytest.raises(ValueError, match="unknown strategy 'dfal_bacth'; choose from"):
        make_strategy("dfal_bacth")
    with pytest.raises(TypeError):
        make_strategy("dfal", no_such_parameter=1)


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
