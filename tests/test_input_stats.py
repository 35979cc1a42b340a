"""``input_mean``/``input_std="auto"``: the trainer standardises each channel with the training set's statistics."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skdfal import ActiveLearner, DFALMargin, make_classifier
from skdfal.models._frozen import fit_channel_stats


def _colour_images(n=30, seed=0):
    """Three channels with very different means and spreads; the label is in channel 1's sign."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 3, 8, 8).astype(np.float32)
    X *= np.array([0.1, 2.0, 5.0], dtype=np.float32)[None, :, None, None]
    X += np.array([3.0, -1.0, 10.0], dtype=np.float32)[None, :, None, None]
    y = (X[:, 1].mean(axis=(1, 2)) > -1.0).astype(int)
    return X, y


def _net(**params):
    torch.manual_seed(0)  # a module instance keeps its own initial weights: make them the same
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64, 2))
    return make_classifier(module, n_classes=2, train_steps=20, batch_size=10, shift=0, **params)


def test_fit_channel_stats_against_numpy():
    X, _ = _colour_images()
    mean, std = fit_channel_stats(X)
    np.testing.assert_allclose(mean, [X[:, c].mean() for c in range(3)], rtol=1e-5)
    np.testing.assert_allclose(std, [X[:, c].std() for c in range(3)], rtol=1e-5)
    # A constant channel is only centred.
    X[:, 0] = 7.0
    mean, std = fit_channel_stats(torch.as_tensor(X))
    assert mean[0] == 7.0 and std[0] == 1.0


def test_auto_standardises_the_training_set_per_channel():
    X, y = _colour_images()
    net = _net().fit(X, y)
    Xt = np.asarray(net.transform_input(X))
    np.testing.assert_allclose(Xt.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(Xt.std(axis=(0, 2, 3)), 1, atol=1e-4)
    # The default of make_classifier; SeededNeuralNetClassifier's own default is none.
    assert net.input_mean == net.input_std == "auto"
    assert net.inverse_transform_input(Xt) == pytest.approx(X, abs=1e-4)


def test_auto_makes_training_blind_to_a_per_channel_affine_change():
    X, y = _colour_images()
    scale = np.array([4.0, 0.5, 0.01], dtype=np.float32)[None, :, None, None]
    shift = np.array([-2.0, 30.0, 0.5], dtype=np.float32)[None, :, None, None]
    one = _net(random_state=0).fit(X, y)
    other = _net(random_state=0).fit(X * scale + shift, y)
    np.testing.assert_allclose(
        one.predict_proba(X), other.predict_proba(X * scale + shift), atol=1e-4
    )
    raw = _net(random_state=0, input_mean=None, input_std=None).fit(X, y)
    raw_other = _net(random_state=0, input_mean=None, input_std=None).fit(X * scale + shift, y)
    # Without it the same change is a different problem (the check above can fail).
    assert not np.allclose(raw.predict_proba(X), raw_other.predict_proba(X * scale + shift), atol=1e-4)


def test_stats_come_from_the_first_fit_of_a_fresh_module_only():
    X, y = _colour_images()
    net = _net().fit(X[:20], y[:20])
    first = net.input_mean_.copy()
    net.partial_fit(X[20:] + 100, y[20:])  # warm: the module keeps the inputs it learned on
    np.testing.assert_array_equal(net.input_mean_, first)
    net.fit(X[20:] + 100, y[20:])  # from scratch: new statistics
    np.testing.assert_allclose(net.input_mean_, X[20:].mean(axis=(0, 2, 3)) + 100, rtol=1e-5)


def test_a_learner_and_dfal_see_the_standardised_net():
    X, y = _colour_images(60)
    learner = ActiveLearner(_net(), query_strategy=DFALMargin(random_state=0)).fit(X[:20], y[:20])
    picks, instances = learner.query(X[20:], n_instances=5)  # modAL's protocol: rows, not scores
    np.testing.assert_array_equal(instances, X[20:][picks])
    picks, margins = DFALMargin(random_state=0)(learner, X[20:], 5)
    assert np.isfinite(margins).all()
    # The margin of a linear model on standardised inputs, in closed form:
    # |w_1 - w_0| . z + (b_1 - b_0) over ||w_1 - w_0|| (times 1 + overshoot, at most).
    net = learner.estimator_
    layer = net.module_[1]
    w = (layer.weight[1] - layer.weight[0]).detach().numpy()
    b = float((layer.bias[1] - layer.bias[0]).detach())
    z = np.asarray(net.transform_input(X[20:][picks])).reshape(len(picks), -1)
    exact = np.abs(z @ w + b) / np.linalg.norm(w)
    assert np.all(margins >= exact * (1 - 1e-3)) and np.all(margins <= exact * 1.03 + 1e-4)


def test_clone_and_errors():
    X, y = _colour_images()
    net = _net()
    assert clone(net).input_mean == "auto"
    with pytest.raises(NotFittedError, match="learned by the first fit"):
        net.initialize().transform_input(X)
    with pytest.raises(ValueError, match="input_mean must be a sequence of numbers, one per channel, 'auto'"):
        _net(input_mean="mean").fit(X, y)
    fitted = _net().fit(X, y)
    fresh = _net().initialize()
    fresh.module_.load_state_dict(fitted.module_.state_dict())
    fresh.fit_input_stats(X)  # trained weights given without fitting: the statistics from the same X
    np.testing.assert_allclose(fresh.predict_proba(X), fitted.predict_proba(X), atol=1e-6)
