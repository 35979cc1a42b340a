"""DFAL as a batch strategy: diversity among the smallest margins, and the cold start."""

import numpy as np
import pytest
import torch

from skdfal import ActiveLearner, DFALMargin, RandomSampling, make_classifier
from skdfal.strategies._dfal_batch import cluster_smallest


def corner_model():
    # logits (0, x1, x2): class 0 where both coordinates are negative; the
    # 0-vs-1 boundary is x1 = 0 (distance |x1|), the 0-vs-2 boundary x2 = 0.
    lin = torch.nn.Linear(2, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        lin.bias.zero_()
    return lin


# Three samples near the x1 = 0 boundary, two near x2 = 0, one far from both.
POOL = np.array(
    [[-0.10, -5.0], [-0.11, -5.0], [-0.12, -5.0], [-5.0, -0.20], [-5.0, -0.21], [-5.0, -5.0]],
    dtype=np.float32,
)


def test_paper_rule_takes_near_duplicates():
    idx, margins = DFALMargin(overshoot=0.0)(corner_model(), POOL, n_instances=2)
    assert idx.tolist() == [0, 1]
    np.testing.assert_allclose(margins, [0.10, 0.11], atol=1e-3)


@pytest.mark.parametrize("space", ["directions", "features"])
def test_diversity_takes_one_sample_per_stretch_of_boundary(space):
    # Directions: (1, 0) for the first three, (0, 1) for the next two.  The
    # "features" of a bare Linear are its inputs, which separate the groups too.
    strategy = DFALMargin(overshoot=0.0, batch_diversity=space, diversity_factor=3, random_state=0)
    idx, margins = strategy(corner_model(), POOL, n_instances=2)
    assert idx.tolist() == [0, 3]
    np.testing.assert_allclose(margins, [0.10, 0.20], atol=1e-3)


def test_diversity_candidates_are_the_smallest_margins():
    # With k * n = 2 candidates only the two smallest margins are eligible.
    strategy = DFALMargin(overshoot=0.0, batch_diversity="directions", diversity_factor=1, random_state=0)
    assert strategy(corner_model(), POOL, n_instances=2)[0].tolist() == [0, 1]


def test_cluster_smallest_handles_coincident_candidates():
    emb = torch.zeros(4, 3)  # every candidate at one point: fall back to margins
    picks = cluster_smallest(emb, np.array([0.4, 0.1, 0.3, 0.2]), 3, np.random.RandomState(0))
    assert picks.tolist() == [1, 3, 2]


def test_cold_start_draws_at_random_until_enough_labels(digits):
    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=2, random_state=0,
                          input_mean=None, input_std=None)
    learner = ActiveLearner(net).fit(X[:12], y[:12])
    pool = X[100:400]
    idx, margins = DFALMargin(cold_start=20, random_state=5)(learner, pool, n_instances=4)
    ref, _ = RandomSampling(random_state=5)(learner, pool, n_instances=4)
    np.testing.assert_array_equal(idx, ref)
    assert np.isnan(margins).all()
    # Past the threshold, margins again.
    idx, margins = DFALMargin(cold_start=12, random_state=5)(learner, pool, n_instances=4)
    assert np.isfinite(margins).all() and (np.diff(margins) >= 0).all()
