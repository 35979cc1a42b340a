"""DFAL with a BADGE-style batch: closed-form embeddings and margins, and spread batches."""

import numpy as np
import pytest
import torch
from test_dfal_batch import POOL, corner_model

from skdfal import DFALBadge, DFALMargin, dfal_badge
from skdfal.strategies._dfal_badge import boundary_embeddings

# The corner model and pool of the DFAL batch tests: distances to the boundaries are |x1|, |x2|.
GROUP = np.array([1, 1, 1, 2, 2, 0])  # which boundary each sample is next to (0: neither)


def test_scores_are_the_closed_form_distances():
    margins = DFALBadge(overshoot=0.0).score(corner_model(), POOL[:5])
    np.testing.assert_allclose(margins, [0.10, 0.11, 0.12, 0.20, 0.21], atol=1e-4)
    np.testing.assert_allclose(margins, DFALMargin(overshoot=0.0).score(corner_model(), POOL[:5]))


def test_pair_embedding_is_the_gradient_of_the_crossed_logit_gap_over_the_margin():
    # For a linear head W h, d(W_adv h - W_pred h)/dW = (e_adv - e_pred) h^T.
    h = torch.tensor([[-0.1, -5.0], [-5.0, -0.2]], dtype=torch.float64)
    W = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    expected = []
    for row, (pred, adv, r) in zip(h, [(0, 1, 0.1), (0, 2, 0.2)], strict=True):
        gap = (W @ row)[adv] - (W @ row)[pred]
        (grad,) = torch.autograd.grad(gap, W)
        expected.append(grad.flatten() / r)
    got = boundary_embeddings(h, torch.tensor([0, 0]), torch.tensor([1, 2]), torch.tensor([0.1, 0.2]), 3)
    torch.testing.assert_close(got, torch.stack(expected))
    # Unflipped samples (margin inf) carry no weight.
    zero = boundary_embeddings(h[:1], torch.tensor([0]), torch.tensor([0]), torch.tensor([float("inf")]), 3)
    assert torch.count_nonzero(zero) == 0


@pytest.mark.filterwarnings("ignore:the model predicts class 0")
def test_first_pick_is_the_longest_embedding_and_batches_span_both_boundaries():
    # The paper's rule takes samples 0 and 1, both beside x1 = 0.  k-means++
    # over the boundary embeddings starts from sample 0 (smallest margin) and
    # draws the second pick by squared distance, which favours the other
    # boundary (samples 3-4 hold most of the mass).
    spans = 0
    for seed in range(100):
        idx, margins = DFALBadge(overshoot=0.0, random_state=seed)(corner_model(), POOL, n_instances=2)
        assert idx[0] == 0 and len(set(idx.tolist())) == 2
        spans += set(GROUP[idx]) == {1, 2}
    assert spans >= 60
    idx, margins = DFALMargin(overshoot=0.0)(corner_model(), POOL, n_instances=2)
    assert set(GROUP[idx]) == {1}


@pytest.mark.parametrize("embedding", ["pair", "features"])
def test_same_seed_same_batch_and_function_form_agrees(embedding):
    first = DFALBadge(embedding=embedding, random_state=3)(corner_model(), POOL, n_instances=3)
    again = dfal_badge(corner_model(), POOL, 3, embedding=embedding, random_state=3)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_allclose(first[1], again[1])


def test_features_embedding_first_pick_is_the_smallest_margin():
    # Unit features over the margin: the longest embedding is the smallest margin.
    idx, margins = DFALBadge(overshoot=0.0, embedding="features", random_state=0)(
        corner_model(), POOL[[2, 4, 0, 5]], n_instances=1)
    assert idx.tolist() == [2] and margins[0] == pytest.approx(0.10, abs=1e-3)


def test_bad_embedding_is_named():
    with pytest.raises(ValueError, match="embedding"):
        DFALBadge(embedding="gradients")(corner_model(), POOL, 2)
