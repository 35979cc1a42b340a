"""Strategies compose (a score plus a selector), and see the learner through one query context."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skdfal import ActiveLearner, DFALMargin, RandomSampling, deepfool, make_classifier
from skdfal.datasets import load_digits_images
from skdfal.strategies import (
    BADGE,
    ColdStart,
    ComposedStrategy,
    CoreSet,
    EntropySampling,
    KCenter,
    QueryContext,
    QueryStrategy,
    SpreadBatch,
    StrategyTags,
    Subsampled,
    TopN,
    WeightedSeeding,
    get_strategy,
    penultimate_features,
    query_context,
)
from skdfal.strategies._dfal_batch import cluster_smallest
from skdfal.utils import resolve_torch_model


class FirstCoordinate(QueryStrategy):
    """A toy pointwise score, written here: larger first coordinate, more informative."""

    largest = True
    tags = StrategyTags(pointwise=True)
    _parameter_constraints = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _iter_scores(self, classifier, X_pool):
        yield np.asarray(X_pool, dtype=np.float64)[:, 0]


class Learner:
    """A learner whose attributes have names no strategy knows: it hands over a context."""

    def __init__(self, model, rows, labels, paid):
        self._model, self._rows, self._labels, self._paid = model, rows, labels, paid

    def query_context(self):
        return QueryContext(estimator=self._model, n_labels_paid=self._paid, X_training=self._rows,
                            y_training=self._labels)


def _identity_net(d, k=3):
    # Penultimate features are the input itself: the spread is easy to check.
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(d, k))


def _two_clusters():
    # Ten near-duplicates with the best scores at x ~ (10, 0), five at (9, 50).
    rng = np.random.RandomState(0)
    a = np.c_[10 + 0.01 * rng.rand(10), 0.01 * rng.rand(10)]
    b = np.c_[9 + 0.01 * rng.rand(5), 50 + 0.01 * rng.rand(5)]
    far = np.c_[rng.rand(20), rng.rand(20)]
    return np.vstack([a, b, far]).astype(np.float32)


# --------------------------------------------------------------- composition
def test_a_new_pointwise_score_gets_a_spread_batch_by_composition():
    X, net = _two_clusters(), _identity_net(2)
    plain, _ = FirstCoordinate()(net, X, n_instances=2)
    assert set(plain.tolist()) <= set(range(10))  # near-duplicates of one another
    spread, scores = ComposedStrategy(FirstCoordinate(random_state=0), batch_diversity="features",
                                      diversity_factor=8)(net, X, n_instances=2)
    best_a, best_b = int(np.argmax(X[:10, 0])), 10 + int(np.argmax(X[10:15, 0]))
    assert spread.tolist() == [best_a, best_b]  # one per cluster, best score first
    np.testing.assert_array_equal(scores, X[spread, 0])


def test_a_new_pointwise_score_gets_a_cold_start_by_composition():
    X, net = _two_clusters(), _identity_net(2)
    strategy = ComposedStrategy(FirstCoordinate(random_state=0), cold_start=5)
    cold, scores = strategy(Learner(net, X[:2], np.zeros(2), paid=2), X, n_instances=4)
    random_picks, _ = RandomSampling(random_state=0)(None, X, n_instances=4)
    assert cold.tolist() == random_picks.tolist() and np.isnan(scores).all()
    warm, _ = strategy(Learner(net, X[:6], np.zeros(6), paid=6), X, n_instances=4)
    assert warm.tolist() == FirstCoordinate()(net, X, n_instances=4)[0].tolist()
    # No learner, no labels known: the cold start does not apply.
    assert strategy(net, X, n_instances=4)[0].tolist() == warm.tolist()


def test_composition_is_a_scikit_learn_estimator():
    strategy = ComposedStrategy(EntropySampling(random_state=3), batch_diversity="features", cold_start=4)
    copy = clone(strategy)
    assert copy.scorer is not strategy.scorer
    assert copy.get_params()["scorer__random_state"] == 3 and copy.get_params()["cold_start"] == 4
    X, net = _two_clusters(), _identity_net(2)
    with pytest.raises(ValueError, match="diversity_factor"):
        ComposedStrategy(EntropySampling(), diversity_factor=0)(net, X, 2)
    # A set-choosing strategy's scores with another selector: BADGE's gradient norms, top-n.
    idx, norms = ComposedStrategy(BADGE())(net, X, 2)
    np.testing.assert_array_equal(norms, np.sort(BADGE().score(net, X))[::-1][:2])
    with pytest.raises(ValueError, match="directions"):
        ComposedStrategy(EntropySampling(), batch_diversity="directions", diversity_factor=3)(net, X, 2)


@pytest.fixture(scope="module")
def digits_rows():
    X, _ = load_digits_images()
    return X.reshape(len(X), -1)[:400].astype(np.float32)


@pytest.fixture(scope="module")
def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


def _slow_dfal_batch(net, X, n, factor, seed):
    """The spread batch from its definition: every DeepFool norm at once, the factor * n smallest
    in penultimate features, k-means, the smallest margin of each cluster."""
    norms = deepfool(net, torch.as_tensor(X), batch_size=None, return_perturbations=False).norms.numpy()
    assert np.isfinite(norms).all()
    kept = np.argsort(norms.astype(np.float64), kind="stable")[: factor * n]
    features = torch.as_tensor(penultimate_features(net, X[kept]))
    chosen = cluster_smallest(features, norms[kept].astype(np.float64), n, np.random.RandomState(seed))
    return kept[chosen]


def test_dfal_batch_is_the_composition_and_picks_what_it_picked_before(digits_rows, mlp):
    registered, _ = get_strategy("dfal_batch").make(random_state=0, batch_size=64)(mlp, digits_rows, 6)
    composed, _ = ComposedStrategy(DFALMargin(random_state=0, batch_size=64), batch_diversity="features",
                                   diversity_factor=5)(mlp, digits_rows, 6)
    assert registered.tolist() == composed.tolist()
    assert registered.tolist() == _slow_dfal_batch(mlp, digits_rows, 6, 5, 0).tolist()
    # Recorded with skdfal before the selectors were split out of DFALMargin.
    assert registered.tolist() == [45, 374, 261, 107, 348, 295]


@pytest.mark.parametrize("screening", [False, True])
def test_directions_spread_and_screening_pick_what_they_picked_before(digits_rows, mlp, screening):
    factor = 3 if screening else 5
    idx, _ = DFALMargin(random_state=0, batch_size=64, batch_diversity="directions", diversity_factor=factor,
                        screening=screening)(mlp, digits_rows, 6)
    expected = [45, 374, 16, 182, 167, 107] if screening else [45, 374, 60, 16, 167, 107]
    assert idx.tolist() == expected
    composed, _ = ComposedStrategy(DFALMargin(random_state=0, batch_size=64, screening=screening),
                                   batch_diversity="directions", diversity_factor=factor)(mlp, digits_rows, 6)
    assert composed.tolist() == expected  # screening, the exact accelerator, works under composition too


def test_dfal_badge_picks_what_it_picked_with_its_extra_forward_pass(digits_rows, mlp):
    idx, _ = get_strategy("dfal_badge").make(random_state=0)(mlp, digits_rows, 6)
    assert idx.tolist() == [45, 220, 272, 223, 196, 161]


# ---------------------------------------------------------- the query context
def test_a_learner_with_renamed_attributes_hands_over_its_context():
    X, net = _two_clusters(), _identity_net(2)
    learner = Learner(net, X[:1], np.zeros(1), paid=1)
    assert resolve_torch_model(learner).module is not None
    # Core-set covers the learner's labeled rows: the first pick is the farthest from X[0].
    idx, _ = CoreSet()(learner, X, n_instances=1)
    assert idx.tolist() == [int(np.argmax(np.linalg.norm(X - X[0], axis=1)))]
    cold, scores = DFALMargin(cold_start=3, random_state=0)(learner, X, n_instances=2)
    assert np.isnan(scores).all()


def test_a_context_leaves_adversarial_copies_out_of_the_labeled_set():
    context = QueryContext(X_training=np.arange(4.0)[:, None], y_training=np.arange(4),
                           is_adversarial=np.array([False, True, False, True]))
    X, y = context.labeled_set()
    assert X.ravel().tolist() == [0.0, 2.0] and y.tolist() == [0, 2]
    assert query_context(context) is context


def test_a_hook_that_returns_something_else_is_refused():
    class Broken:
        def query_context(self):
            return {"estimator": None}

    with pytest.raises(TypeError, match="must return a QueryContext"):
        query_context(Broken())


def test_no_attribute_read_trains_a_model(monkeypatch):
    X, y = load_digits_images()
    X, y = X[:80], y[:80]
    net = make_classifier("lenet5", input_shape=(1, 8, 8), n_classes=10, random_state=0, train_steps=2)
    fits = []
    original = type(net).fit
    monkeypatch.setattr(type(net), "fit", lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    learner = ActiveLearner(net, "auto", X_training=X[:20], y_training=y[:20])
    assert fits == []  # nothing fitted at construction (skdfal fits at first use)
    learner.query(X[20:], 3)
    assert len(fits) == 1  # the learner's own fit; the strategy's context fits nothing more

    class ModalLike:  # modAL's protocol, with an estimator that would train when read
        query_strategy = None
        reads = 0

        def query_context(self):
            return QueryContext(estimator=learner.estimator_)

        @property
        def estimator(self):
            type(self).reads += 1
            raise AssertionError("estimator read")

    resolve_torch_model(ModalLike())
    DFALMargin()(ModalLike(), X[20:], 2)
    assert ModalLike.reads == 0 and len(fits) == 1


def test_modal_learners_keep_working_without_a_hook():
    X, net = _two_clusters(), _identity_net(2)

    class ModalLearner:  # modAL's public attributes only
        query_strategy = None

        def __init__(self):
            self.estimator, self.X_training, self.y_training = net, X[:1], np.zeros(1)

    context = query_context(ModalLearner())
    assert context.estimator is net and context.n_labels_paid == 1
    idx, scores = DFALMargin(cold_start=3, random_state=0)(ModalLearner(), X, n_instances=2)
    assert np.isnan(scores).all()
    assert CoreSet()(ModalLearner(), X, n_instances=1)[0].tolist() == CoreSet(X_labeled=X[:1])(net, X, 1)[0].tolist()


# ------------------------------------------------------- one answer, one check
def test_a_pipeline_nested_in_a_pipeline_is_a_torch_net_everywhere():
    X, y = load_digits_images()
    X, y = X.reshape(len(X), -1)[:120], y[:120]
    net = make_classifier("lenet5", input_shape=(1, 8, 8), n_classes=10, random_state=0, train_steps=5)
    inner = Pipeline([("scale", StandardScaler()), ("net", net)])
    outer = Pipeline([("same", FunctionTransformer(lambda a: a.astype(np.float32))), ("inner", inner)])
    learner = ActiveLearner(outer, "auto", X_training=X[:40], y_training=y[:40])
    idx, _ = learner.query(X[40:], 3)  # the learner picks DFAL for it: it must run
    assert len(set(idx.tolist())) == 3
    model = resolve_torch_model(learner)
    scaler, fitted_net = (step for _, step in learner.estimator_.steps[-1][1].steps)
    # Both pipelines' steps, then the net's own preparation (reshape, standardisation).
    expected = fitted_net.transform_input(scaler.transform(X[40:42]).astype(np.float32))
    np.testing.assert_allclose(model.as_tensor(X[40:42]).numpy(), expected, rtol=1e-6)
    # Entropy asks the pipeline itself, in float32 as for any torch net.
    assert EntropySampling()(learner, X[40:], 3)[0].shape == (3,)


class _Raises(torch.nn.Module):
    def __init__(self, message):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
        self.message = message

    def forward(self, x):
        raise RuntimeError(self.message)


@pytest.mark.parametrize("message", [
    "CUDA out of memory. Tried to allocate 2.00 GiB",
    "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!",
    "expected scalar type Float but found Double",
])
def test_only_shape_errors_become_samples_do_not_fit(message):
    X = np.zeros((4, 2), np.float32)
    with pytest.raises(RuntimeError, match="^" + message.split(".")[0]):
        DFALMargin()(_Raises(message), X, 1)
    with pytest.raises(RuntimeError, match="^" + message.split(".")[0]):
        DFALMargin(screening=True)(_Raises(message), X, 1)
    with pytest.raises(ValueError, match=r"shape \(2,\) do not fit the module _Raises"):
        DFALMargin()(_Raises("mat1 and mat2 shapes cannot be multiplied (4x2 and 3x2)"), X, 1)


@pytest.mark.parametrize("params", [{}, {"batch_diversity": "features"}, {"screening": True}])
def test_a_bad_deepfool_parameter_is_refused_at_every_door_with_the_attacks_words(params, digits_rows, mlp):
    # Behaviour, not call counts: the strategy's door and the attack's own door say the same
    # thing about the same value (declared once, in attacks/), and a non-finite row is named.
    # That a valid query reads each pool row once is tests/test_validate_once.py's.
    with pytest.raises(ValueError, match="max_iter"):
        DFALMargin(max_iter=0, **params)(mlp, digits_rows, 3)
    with pytest.raises(ValueError, match="max_iter"):
        deepfool(mlp, torch.as_tensor(digits_rows[:2]), max_iter=0)
    bad = digits_rows.copy()
    bad[5, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DFALMargin(**params)(mlp, bad, 3)
    with pytest.raises(ValueError, match="NaN"):
        deepfool(mlp, torch.full((2, 64), float("nan")))


def test_a_fitted_meta_estimator_hands_over_its_learners_context():
    from skdfal import ActiveLearningClassifier

    X, y = load_digits_images()
    X, y = X[:120], y[:120]
    net = make_classifier("lenet5", input_shape=(1, 8, 8), n_classes=10, random_state=0, train_steps=3)
    clf = ActiveLearningClassifier(net, n_initial=10, n_instances=5, budget=20, random_state=0).fit(X, y)
    assert query_context(clf).n_labels_paid == 20
    idx, _ = DFALMargin()(clf, X[:40], 3)
    assert idx.tolist() == DFALMargin()(clf.estimator_, X[:40], 3)[0].tolist()


class NeverScored(QueryStrategy):
    """A scorer that fails the test if a query gets as far as scoring."""

    def _iter_scores(self, classifier, X_pool):
        raise AssertionError("scored before the pair was checked")


@pytest.mark.parametrize("make", [
    lambda: ComposedStrategy(NeverScored(), batch_diversity="directions"),
    lambda: ComposedStrategy(NeverScored(), ColdStart(3, then=SpreadBatch("directions"))),
    lambda: ComposedStrategy(NeverScored(), WeightedSeeding()),
    lambda: ComposedStrategy(NeverScored(), KCenter()),
], ids=["flat directions", "cold start then directions", "seeding", "k-center"])
def test_a_pair_that_does_not_fit_is_refused_before_scoring(make):
    # What the selector needs is named, and no sample is scored first.
    with pytest.raises(ValueError, match="needs (directions|embeddings) of its scorer, which NeverScored"):
        make()(_identity_net(2), _two_clusters(), 2)


def test_a_selector_and_its_flat_spelling_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        ComposedStrategy(EntropySampling(), TopN(), cold_start=2)(_identity_net(2), _two_clusters(), 2)
    with pytest.raises(ValueError, match="factor"):
        ComposedStrategy(EntropySampling(), SpreadBatch(factor=0))(_identity_net(2), _two_clusters(), 2)
    with pytest.raises(ValueError, match="n_labels"):
        ComposedStrategy(EntropySampling(), ColdStart(-1))(_identity_net(2), _two_clusters(), 2)


def test_cold_start_hands_over_to_its_selector_once_enough_labels_are_paid():
    X, net = _two_clusters(), _identity_net(2)
    context = QueryContext(estimator=net, n_labels_paid=4)
    spread = SpreadBatch("features", factor=3)
    handed = ComposedStrategy(FirstCoordinate(random_state=0), ColdStart(4, then=spread))(context, X, 2)
    alone = ComposedStrategy(FirstCoordinate(random_state=0), spread)(context, X, 2)
    np.testing.assert_array_equal(handed[0], alone[0])
    cold = ComposedStrategy(FirstCoordinate(random_state=0), ColdStart(5, then=spread))(context, X, 2)
    assert np.isnan(cold[1]).all()  # still cold: drawn at random, no scores


def test_subsampled_queries_the_best_of_a_seeded_random_subset():
    X, net = _two_clusters(), _identity_net(2)
    idx, scores = Subsampled(EntropySampling(random_state=0), 12)(net, X, 3)
    subset = np.random.RandomState(0).choice(len(X), size=12, replace=False)
    entropies = EntropySampling().score(net, X)
    assert set(idx.tolist()) <= set(subset.tolist())
    np.testing.assert_allclose(scores, np.sort(entropies[subset])[::-1][:3])
    with pytest.raises(ValueError, match="n=2 keeps fewer samples than n_instances=3"):
        Subsampled(EntropySampling(), 2)(net, X, 3)
    with pytest.raises(ValueError, match="'n' parameter"):
        Subsampled(EntropySampling(), 0)(net, X, 3)
