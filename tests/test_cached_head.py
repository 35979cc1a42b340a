"""A frozen backbone runs once per pool sample: the head trains and is scored on cached embeddings.

Independent truths: the same net trained the slow way (``embedding_cache=False``,
every batch through the frozen backbone) under the same seed; the backbone's
output computed directly with torch; forward hooks counting the samples the
backbone sees.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from skdfal import ActiveLearner, BackboneHead, DFALMargin, make_classifier, pool_embeddings
from skdfal.models import SemiSupervised, _cached_head

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.3, 0.4)


@pytest.fixture(autouse=True)
def no_shared_caches():
    """Every test starts with no cache: nets of equal backbones share one (its own test says how)."""
    _cached_head._RECENT.clear()
    _cached_head._BY_FINGERPRINT.clear()


def _module(seed=0):
    torch.manual_seed(seed)
    # Batch norm and dropout in the backbone: both must act as at prediction time.
    backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3),
                             nn.Flatten(), nn.Linear(256, 12), nn.Tanh())
    module = BackboneHead(backbone, 3, n_features=12)
    with torch.no_grad():  # batch-norm statistics that are not the identity
        module.backbone[1].running_mean.uniform_(-0.5, 0.5)
        module.backbone[1].running_var.uniform_(0.5, 2.0)
    return module


def _data(n=90, seed=0):
    rng = np.random.RandomState(seed)
    return rng.rand(n, 3, 8, 8).astype(np.float32), rng.randint(0, 3, n)


def _net(module=None, **kw):
    kw.setdefault("input_mean", MEAN)
    kw.setdefault("input_std", STD)
    kw.setdefault("shift", 0)
    return make_classifier(_module() if module is None else module, n_classes=3, freeze=True, head="head",
                           train_steps=40, batch_size=16, random_state=3, **kw)


def _count(module):
    """Samples seen by the backbone, counted by a forward hook."""
    seen = [0]
    module.backbone.register_forward_hook(lambda m, a, out: seen.__setitem__(0, seen[0] + len(a[0])))
    return seen


def _embeddings(module, X, mean=MEAN, std=STD):
    """The backbone's output, computed directly."""
    x = (X - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[:, None, None]
    with torch.no_grad():
        return module.backbone.eval()(torch.as_tensor(x)).numpy()


def _head(net):
    return [p.detach().clone() for p in net.module_.head.parameters()]


def test_head_on_cached_embeddings_equals_the_slow_way_and_the_backbone_runs_once_per_sample():
    X, y = _data()
    fast_module, slow_module = _module(), _module()
    fast_seen, slow_seen = _count(fast_module), _count(slow_module)
    before = {k: v.clone() for k, v in fast_module.state_dict().items() if not k.startswith("head.")}
    fast = _net(fast_module).fit(X, y)
    slow = _net(slow_module, embedding_cache=False).fit(X, y)
    for a, b in zip(_head(fast), _head(slow), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not torch.equal(_head(fast)[0], _module().head.weight)  # the head did train
    assert fast_seen[0] == len(X)  # once per sample, not once per epoch
    assert slow_seen[0] >= 40 * 16  # 40 steps of 16 samples through the backbone
    # The backbone is bit-identical; predictions run on raw images through the whole net.
    for key, value in fast.module_.state_dict().items():
        if not key.startswith("head."):
            assert torch.equal(value, before[key]), key
    np.testing.assert_allclose(fast.predict_proba(X), slow.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert fast.module_ is fast_module and fast.module_.training is False


def test_an_active_learning_loop_runs_the_backbone_once_per_pool_sample():
    X, y = _data(120)
    module = _module()
    seen = _count(module)
    learner = ActiveLearner(_net(module), query_strategy=DFALMargin(space="head", head="head"),
                            X_training=X[:10], y_training=y[:10])
    slow = ActiveLearner(_net(embedding_cache=False), query_strategy=DFALMargin(space="head", head="head"),
                         X_training=X[:10], y_training=y[:10])
    pool = np.arange(10, len(X))
    for _ in range(3):
        idx = learner.query(X[pool], 8)[0]
        np.testing.assert_array_equal(idx, slow.query(X[pool], 8)[0])
        learner.teach(X[pool[idx]], y[pool[idx]])
        slow.teach(X[pool[idx]], y[pool[idx]])
        pool = np.delete(pool, idx)
    assert seen[0] == len(X)
    np.testing.assert_allclose(learner.predict_proba(X), slow.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_a_new_net_with_the_same_frozen_backbone_finds_the_embeddings():
    # A session builds a new learner, and a learner's fit a new net, every round: the backbone
    # still runs once per sample, and the heads equal the slow way's.
    X, y = _data()
    module = _module()
    twin, slow_module, learner_module = (copy.deepcopy(module) for _ in range(3))  # same weights, no hooks
    seen, twin_seen, learner_seen = _count(module), _count(twin), _count(learner_module)
    first = _net(module).fit(X[:60], y[:60])
    second = _net(twin).fit(X, y)
    assert seen[0] == 60 and twin_seen[0] == len(X) - 60  # only the 30 samples first never saw
    slow = _net(slow_module, embedding_cache=False).fit(X, y)
    for a, b in zip(_head(second), _head(slow), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    learner = ActiveLearner(_net(learner_module))
    for n in (40, 60):
        learner.fit(X[:n], y[:n])  # a clone of the template each time
    assert learner_seen[0] == 0 and _cached_head._CACHES[learner.estimator_] is _cached_head._CACHES[first]


def test_a_changed_backbone_empties_the_cache():
    X, y = _data()
    module = _module()
    net = _net(module).fit(X, y)
    np.testing.assert_allclose(pool_embeddings(net, X, head="head"), _embeddings(module, X), rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        module.backbone[5].weight.mul_(-2.0)  # new weights, same module object
    z = pool_embeddings(net, X, head="head")
    np.testing.assert_allclose(z, _embeddings(module, X), rtol=1e-5, atol=1e-6)
    # Training sees the new backbone too: the same head as the slow way on a copy of it.
    slow = _net(copy.deepcopy(module), embedding_cache=False).fit(X, y)
    net.fit(X, y)
    for a, b in zip(_head(net), _head(slow), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert len(_cached_head._CACHES[net]) == len(X)  # the old rows are gone


def test_changed_batch_norm_statistics_or_input_statistics_empty_the_cache():
    X, y = _data()
    module = _module()
    net = _net(module).fit(X, y)
    pool_embeddings(net, X, head="head")
    with torch.no_grad():
        module.backbone[1].running_mean.add_(1.0)  # a buffer, not a parameter
    np.testing.assert_allclose(pool_embeddings(net, X, head="head"), _embeddings(module, X), rtol=1e-5, atol=1e-6)
    # "auto" statistics are re-learned at each fit: the cache follows them.
    auto = _net(_module(), input_mean="auto", input_std="auto")
    slow = _net(_module(), input_mean="auto", input_std="auto", embedding_cache=False)
    for part in (slice(0, 40), slice(20, 90)):
        auto.fit(X[part], y[part])
        slow.fit(X[part], y[part])
        for a, b in zip(_head(auto), _head(slow), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(pool_embeddings(auto, X, head="head"), pool_embeddings(slow, X, head="head"),
                                   rtol=1e-5, atol=1e-6)


def test_a_memmap_pool_and_an_on_disk_cache_give_the_in_memory_answer(tmp_path, monkeypatch):
    monkeypatch.setattr(_cached_head, "CHUNK_ROWS", 16)  # several chunks for a small pool
    X, y = _data(100)
    stored = np.lib.format.open_memmap(tmp_path / "pool.npy", mode="w+", dtype=np.float32, shape=X.shape)
    stored[:] = X
    stored.flush()
    pool = np.load(tmp_path / "pool.npy", mmap_mode="r")
    on_disk = _net(embedding_cache=tmp_path / "cache").fit(pool[:30], y[:30])
    in_memory = _net().fit(X[:30], y[:30])
    for a, b in zip(_head(on_disk), _head(in_memory), strict=True):
        torch.testing.assert_close(a, b)
    picks, margins = DFALMargin(space="head", head="head")(on_disk, pool, 9)
    expected, expected_margins = DFALMargin(space="head", head="head")(in_memory, X, 9)
    np.testing.assert_array_equal(picks, expected)
    np.testing.assert_allclose(margins, expected_margins, rtol=1e-6)
    files = list((tmp_path / "cache").glob("skdfal-embeddings-*/chunk*.npy"))
    assert len(files) == 7  # 100 samples in chunks of 16
    cache = _cached_head._CACHES[on_disk]
    assert cache.n_computed == len(X)
    cache.reset("another backbone")  # the old maps go with the rows they held
    assert not list((tmp_path / "cache").glob("skdfal-embeddings-*"))


@pytest.mark.parametrize("setting", [{"shift": 1}, {"flip": True},
                                     {"semi_supervised": SemiSupervised(method="pseudo_label")}])
def test_input_augmentation_and_semi_supervision_keep_the_slow_path(setting):
    """A shifted or flipped image has another embedding: the backbone runs on every batch, as before."""
    X, y = _data()
    module, slow_module = _module(), _module()
    seen = _count(module)
    net = _net(module, **setting)
    slow = _net(slow_module, embedding_cache=False, **setting)
    fit = {"X_unlabeled": X} if "semi_supervised" in setting else {}
    net.fit(X, y, **fit)
    slow.fit(X, y, **fit)
    assert seen[0] >= 40 * 16
    for a, b in zip(_head(net), _head(slow), strict=True):
        torch.testing.assert_close(a, b)  # bit for bit: the same path


def test_a_net_that_trains_its_backbone_keeps_no_cache():
    X, y = _data(30)
    net = make_classifier(_module(), n_classes=3, head="head", train_steps=5, shift=0).fit(X, y)
    assert net not in _cached_head._CACHES
    assert net.embedding_lookup("head") is None


@pytest.mark.parametrize("bad", [3, "", True, None, ["dir"]])
def test_a_bad_embedding_cache_is_named(bad):
    with pytest.raises(ValueError, match="embedding_cache must be 'auto', False or a folder path"):
        _net(embedding_cache=bad).initialize()
