"""DeepFool against independent truth.

* Affine models: the distance to the nearest decision boundary has a closed
  form, computed here in float64 numpy, independently of the implementation.
* Trained CNN: the batched implementation must match a plain per-sample,
  per-class reference loop written below.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from skdfal import deepfool

OVERSHOOT = 0.02
EPS = 1e-4


def affine_model(n_features, n_classes, seed):
    torch.manual_seed(seed)
    lin = nn.Linear(n_features, n_classes).double()
    return lin


def closed_form(lin, X, p):
    """Exact DeepFool answer for an affine model, in float64 numpy.

    The label's decision region is an intersection of half-spaces, so the
    distance to its complement is the smallest distance to the hyperplanes
    ``f_k = f_label``. DeepFool reaches it in one step; the returned norm is
    ``(1 + overshoot) * (|f_k - f_label| + eps) / ||w_k - w_label||_q``.
    """
    W = lin.weight.detach().numpy().astype(np.float64)
    b = lin.bias.detach().numpy().astype(np.float64)
    X = np.asarray(X, dtype=np.float64)
    F = X @ W.T + b
    labels = F.argmax(1)
    q = 1 if p == math.inf else 2
    norms, targets, second = [], [], []
    for i, lab in enumerate(labels):
        dists = []
        for k in range(W.shape[0]):
            if k == lab:
                dists.append(np.inf)
                continue
            w = W[k] - W[lab]
            dists.append(abs(F[i, k] - F[i, lab]) / np.linalg.norm(w, ord=q))
        k = int(np.argmin(dists))
        w = W[k] - W[lab]
        norms.append((1 + OVERSHOOT) * (abs(F[i, k] - F[i, lab]) + EPS) / np.linalg.norm(w, ord=q))
        targets.append(k)
        second.append(np.sort(dists)[1] / dists[k] if W.shape[0] > 2 else np.inf)
    return np.array(norms), labels, np.array(targets), np.array(second)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
@pytest.mark.parametrize("p", [2, math.inf])
def test_affine_norm_equals_closed_form_distance(n_classes, p):
    lin = affine_model(20, n_classes, seed=n_classes)
    X = torch.randn(64, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    res = deepfool(lin, X, norm=p, overshoot=OVERSHOOT, step_eps=EPS)
    expected, labels, targets, second = closed_form(lin, X.numpy(), p)

    np.testing.assert_allclose(res.norms.numpy(), expected, rtol=1e-9)
    np.testing.assert_array_equal(res.labels.numpy(), labels)
    assert res.converged.all()
    # An affine model is its own linearisation: one step is enough.
    assert (res.n_iter == 1).all()
    # The crossed boundary is the nearest one (when no other is within the overshoot).
    clear = second > 1.05
    np.testing.assert_array_equal(res.adversarial_labels.numpy()[clear], targets[clear])
    # The perturbation really flips the prediction and has the reported norm.
    x_adv = X + res.perturbations
    assert (lin(x_adv).argmax(1) != res.labels).all()
    np.testing.assert_allclose(
        torch.linalg.vector_norm(res.perturbations, ord=p, dim=1).numpy(), expected, rtol=1e-9
    )


def test_affine_step_points_to_nearest_boundary_not_away():
    # Two classes separated by x0 = 0: class 0 for x0 > 0 (w0 = +e0, w1 = -e0).
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
        lin.bias.zero_()
    X = torch.tensor([[0.5, 3.0], [-2.0, 1.0]])
    res = deepfool(lin, X, overshoot=0.0, max_iter=3)
    # Perturbation is along -e0 for the first sample, +e0 for the second; the
    # distance to the boundary is |x0|. (Stepping toward the wrong class, the
    # bug of widely copied code, would move away and never flip.)
    assert res.perturbations[0, 0] < 0 and res.perturbations[1, 0] > 0
    np.testing.assert_allclose(res.perturbations[:, 1].numpy(), 0.0, atol=1e-7)
    # (|f| + eps) / ||w||^2 * w with |f| = 2|x0|, ||w|| = 2: |x0| + eps / 2.
    np.testing.assert_allclose(res.norms.numpy(), [0.5 + EPS / 2, 2.0 + EPS / 2], rtol=1e-6)


def test_candidates_restrict_to_top_classes():
    lin = affine_model(15, 8, seed=3)
    X = torch.randn(50, 15, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    full = deepfool(lin, X)
    top3 = deepfool(lin, X, candidates=3)
    every = deepfool(lin, X, candidates=8)
    np.testing.assert_allclose(every.norms.numpy(), full.norms.numpy())
    # A subset of boundaries can only be farther; closed form over the top-3 classes.
    assert (top3.norms >= full.norms - 1e-12).all()
    W = lin.weight.detach().numpy()
    F = lin(X).detach().numpy()
    for i in range(len(X)):
        order = np.argsort(-F[i])
        lab, others = order[0], order[1:3]
        d = [(abs(F[i, k] - F[i, lab]) + EPS) / np.linalg.norm(W[k] - W[lab]) for k in others]
        dist = [abs(F[i, k] - F[i, lab]) / np.linalg.norm(W[k] - W[lab]) for k in others]
        assert top3.norms[i].item() == pytest.approx((1 + OVERSHOOT) * d[int(np.argmin(dist))], rel=1e-9)


def reference_deepfool(module, x, max_iter=50, overshoot=OVERSHOOT, eps=EPS):
    """Plain per-sample DeepFool: one sample, one class gradient at a time."""
    module.eval()
    x = x.unsqueeze(0)
    with torch.no_grad():
        logits = module(x)[0]
    label = int(logits.argmax())
    order = torch.argsort(logits, descending=True).tolist()
    r_tot = torch.zeros_like(x)
    for it in range(max_iter + 1):
        x_adv = (x + (1 + overshoot) * r_tot).detach()
        with torch.no_grad():
            pred = int(module(x_adv)[0].argmax())
        if it > 0 and pred != label:
            return float((x_adv - x).flatten().norm()), label, pred, it
        if it == max_iter:
            break
        best = (math.inf, None, None)
        for k in order[1:]:
            xa = x_adv.clone().requires_grad_(True)
            out = module(xa)[0]
            (g_k,) = torch.autograd.grad(out[k], xa)
            xa = x_adv.clone().requires_grad_(True)
            out = module(xa)[0]
            (g_l,) = torch.autograd.grad(out[label], xa)
            w = g_k - g_l
            f = float((out[k] - out[label]).detach())
            dist = abs(f) / float(w.flatten().norm())
            if dist < best[0]:
                best = (dist, abs(f), w)
        _, f, w = best
        r_tot = r_tot + (f + eps) / float(w.flatten().norm()) ** 2 * w
    return math.inf, label, label, max_iter


@pytest.mark.slow  # a per-sample DeepFool loop (the affine cases check against closed forms quickly)
def test_batched_matches_per_sample_reference_on_trained_cnn(fitted_net, digits):
    X, _ = digits
    module = fitted_net.module_
    x = torch.as_tensor(X[1000:1060])
    res = deepfool(module, x, batch_size=25)
    ref = [reference_deepfool(module, xi) for xi in x]
    ref_norms = np.array([r[0] for r in ref])
    np.testing.assert_array_equal(res.labels.numpy(), [r[1] for r in ref])
    np.testing.assert_array_equal(res.adversarial_labels.numpy(), [r[2] for r in ref])
    np.testing.assert_array_equal(res.n_iter.numpy(), [r[3] for r in ref])
    np.testing.assert_allclose(res.norms.numpy(), ref_norms, rtol=1e-4)
    # The point of a careful DeepFool: every sample flips, in a few steps.
    assert res.converged.all()
    assert res.n_iter.float().mean() < 4


def test_module_left_as_found(fitted_net, digits):
    X, _ = digits
    module = fitted_net.module_
    module.train()
    frozen = next(module.parameters())
    frozen.requires_grad_(False)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    for prm in module.parameters():
        prm.grad = None
    deepfool(module, torch.as_tensor(X[:20]))
    try:
        assert module.training
        assert frozen.requires_grad is False
        assert all(p.requires_grad for p in list(module.parameters())[1:])
        assert all(p.grad is None for p in module.parameters())
        for k, v in module.state_dict().items():
            torch.testing.assert_close(v, before[k])
    finally:
        frozen.requires_grad_(True)
        module.eval()


def test_eval_mode_is_used_for_the_attack(fitted_net, digits):
    # Dropout active would make norms random; eval mode makes them repeatable.
    X, _ = digits
    module = fitted_net.module_
    module.train()
    try:
        a = deepfool(module, torch.as_tensor(X[:30])).norms
        b = deepfool(module, torch.as_tensor(X[:30])).norms
    finally:
        module.eval()
    torch.testing.assert_close(a, b)


def test_batch_size_does_not_change_results(fitted_net, digits):
    X, _ = digits
    x = torch.as_tensor(X[:70])
    whole = deepfool(fitted_net.module_, x, batch_size=None)
    chunks = deepfool(fitted_net.module_, x, batch_size=16)
    torch.testing.assert_close(whole.norms, chunks.norms, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(whole.labels, chunks.labels)


def test_clip_keeps_adversarial_inside_bounds(fitted_net, digits):
    X, _ = digits
    x = torch.as_tensor(X[:40])
    res = deepfool(fitted_net.module_, x, clip=(0.0, 1.0))
    x_adv = x + res.perturbations
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    flipped = fitted_net.module_(x_adv).argmax(1) != res.labels
    np.testing.assert_array_equal(flipped.numpy(), res.converged.numpy())


class ConstantLogits(nn.Module):
    """Logits that ignore the input: no boundary can ever be reached."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([1.0, 0.0, -1.0]))

    def forward(self, x):
        return self.bias.expand(x.shape[0], 3) + 0.0 * x.sum(1, keepdim=True)


def test_sample_that_never_flips_has_infinite_norm():
    res = deepfool(ConstantLogits(), torch.randn(5, 4), max_iter=3)
    assert torch.isinf(res.norms).all()
    assert not res.converged.any()
    torch.testing.assert_close(res.adversarial_labels, res.labels)
    assert not torch.isnan(res.perturbations).any()


def test_return_perturbations_false_keeps_norms(fitted_net, digits):
    X, _ = digits
    x = torch.as_tensor(X[:10])
    full = deepfool(fitted_net.module_, x)
    slim = deepfool(fitted_net.module_, x, return_perturbations=False)
    assert slim.perturbations is None
    torch.testing.assert_close(full.norms, slim.norms)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_iter": 0},
        {"overshoot": -1},
        {"norm": 1},
        {"candidates": 1},
        {"batch_size": 0},
    ],
)
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        deepfool(nn.Linear(3, 2), torch.zeros(2, 3), **kwargs)


def test_bad_inputs_are_refused():
    with pytest.raises(TypeError):
        deepfool(nn.Linear(3, 2), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no samples"):
        deepfool(nn.Linear(3, 2), torch.zeros(0, 3))
