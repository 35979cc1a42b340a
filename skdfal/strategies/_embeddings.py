"""What the net makes of samples: penultimate features, gradient embeddings, distances.

Shared by the set-choosing strategies (core-set, BADGE, DFAL-BADGE) and the
selectors' spread batch; imports no strategy class, so every layer of the
strategies package can use it.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch.utils import to_numpy
from torch import nn

from ..utils._heads import unwrap_logits
from ..utils._modules import frozen_eval
from ..utils._pool import iter_batches
from ..utils._torch import resolve_torch_model

__all__ = ["features_of_inputs", "gradient_embeddings", "k_center_greedy", "kmeans_pp_seeding", "penultimate_features"]


def _last_linear(module: nn.Module) -> nn.Linear:
    last = None
    for m in module.modules():
        if isinstance(m, nn.Linear):
            last = m
    if last is None:
        raise TypeError(
            f"{type(unwrap_logits(module)).__name__} has no nn.Linear layer: core-set and BADGE need the "
            "input of the last linear layer as the penultimate representation"
        )
    return last


def _layer_input(module, layer, x):
    """The input of ``layer`` when ``module`` runs on ``x`` in eval mode, without gradients."""
    with _first_input_of(layer) as caught, frozen_eval(module), torch.no_grad():
        module(x)
    return caught["h"].flatten(1).cpu()


@contextlib.contextmanager
def _first_input_of(layer):
    """A dict whose ``"h"`` is the input of ``layer`` at its first call since ``"h"`` was last popped.

    DeepFool's first forward pass of a batch runs the whole clean batch;
    later passes (over the samples not yet flipped) are ignored.
    """
    caught = {}
    if layer is None:
        yield caught
        return
    def hook(_, inputs):
        if "h" not in caught:
            caught["h"] = inputs[0].detach()  # returns None: the layer's input is left as it is

    handle = layer.register_forward_pre_hook(hook)
    try:
        yield caught
    finally:
        handle.remove()


def features_of_inputs(module, inputs, batch_size=256):
    """Penultimate features of inputs already as the net sees them (checked rows: no second check).

    Batch by batch as :func:`penultimate_features` reads a pool, so that the
    values are the same to the last bit.
    """
    layer = _last_linear(module)
    return torch.cat([_layer_input(module, layer, inputs[s : s + batch_size])
                      for s in range(0, len(inputs), batch_size)])


def _features_and_logits(model, X_pool, batch_size):
    """Yield ``(h, logits)`` per batch: input of the last Linear, and the output."""
    module = model.module
    layer = _last_linear(module)
    captured = {}

    def hook(_, inputs):
        captured["h"] = inputs[0]

    handle = layer.register_forward_pre_hook(hook)
    try:
        with frozen_eval(module), torch.no_grad():
            for _, x in iter_batches(X_pool, batch_size, model=model):
                logits = module(x)
                yield captured.pop("h").flatten(1), logits
    finally:
        handle.remove()


def penultimate_features(classifier, X_pool, *, batch_size=256) -> np.ndarray:
    """Penultimate-layer features (the input of the last ``nn.Linear``) of every pool sample.

    For skdfal's LeNet5 and VGG8 this is the output of ``embedding`` in eval
    mode (dropout off).

    Returns
    -------
    ndarray of shape (n_samples, n_features), float32
    """
    model = resolve_torch_model(classifier)
    return np.concatenate([to_numpy(h) for h, _ in _features_and_logits(model, X_pool, batch_size)])


def gradient_embeddings(classifier, X_pool, *, batch_size=256) -> np.ndarray:
    """BADGE's gradient embeddings: d(cross-entropy at the predicted label)/d(last weights).

    For logits ``W h + b`` and probabilities ``p``, the gradient of
    ``-log p_yhat`` with respect to ``W`` is ``(p - e_yhat) h^T``; it is
    returned flattened (class-major), one row per sample.

    Returns
    -------
    ndarray of shape (n_samples, n_classes * n_features), float32
    """
    model = resolve_torch_model(classifier)
    rows = []
    for h, logits in _features_and_logits(model, X_pool, batch_size):
        p = torch.softmax(logits.float(), dim=1)
        p[torch.arange(len(p)), p.argmax(1)] -= 1.0
        rows.append(to_numpy((p[:, :, None] * h.float()[:, None, :]).flatten(1)))
    return np.concatenate(rows)


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances, exact enough for selection and never negative."""
    return torch.cdist(a.double(), b.double()).pow(2)


def k_center_greedy(features, centers, n_instances, random_state=None):
    """Greedy k-center: repeatedly pick the point farthest from all centers.

    Parameters
    ----------
    features : ndarray (n, d)
        Pool samples to choose from.
    centers : ndarray (m, d) or None
        Already covered points (the labeled set); with none, the first pick
        is random.
    n_instances : int
    random_state : int, RandomState or None

    Returns
    -------
    picked : ndarray of int
    distances : ndarray of float
        Each pick's distance to the nearest center when it was picked.
    """
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    n = x.shape[0]
    if centers is not None and len(centers):
        c = torch.as_tensor(np.asarray(centers, dtype=np.float32))
        nearest = torch.full((n,), float("inf"), dtype=torch.float64)
        for s in range(0, len(c), 1024):
            nearest = torch.minimum(nearest, _sq_dists(x, c[s : s + 1024]).min(1).values)
    else:
        nearest = torch.full((n,), float("inf"), dtype=torch.float64)
    picked, dists = [], []
    rng = check_random_state(random_state)
    for _ in range(n_instances):
        if torch.isinf(nearest).all():
            i = int(rng.randint(n))
        else:
            i = int(torch.argmax(torch.where(torch.isinf(nearest), -1.0, nearest)))
        picked.append(i)
        dists.append(float(nearest[i].sqrt()))
        nearest = torch.minimum(nearest, _sq_dists(x, x[i : i + 1])[:, 0])
        nearest[i] = -1.0  # never again
    return np.asarray(picked, dtype=np.int64), np.asarray(dists)


def kmeans_pp_seeding(embeddings, n_instances, random_state=None):
    """k-means++ seeding: the largest-norm point, then D^2-weighted draws.

    BADGE's rule (Ash et al.): a deterministic first pick and one draw per
    pick, which scikit-learn's ``kmeans_plusplus`` (a random first center,
    the best of ``2 + log k`` draws per center) does not reproduce.

    Returns
    -------
    picked : ndarray of int
    d2 : ndarray of float
        Squared distance to the nearest earlier pick when picked (the first
        pick's squared norm).
    """
    x = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
    n = x.shape[0]
    rng = check_random_state(random_state)
    first = int(torch.argmax((x.double() ** 2).sum(1)))
    picked = [first]
    d2_at_pick = [float((x[first].double() ** 2).sum())]
    nearest = _sq_dists(x, x[first : first + 1])[:, 0]
    chosen = torch.zeros(n, dtype=torch.bool)
    chosen[first] = True
    for _ in range(n_instances - 1):
        weights = torch.where(chosen, 0.0, nearest).numpy()
        total = weights.sum()
        if total > 0:
            i = int(rng.choice(n, p=weights / total))
        else:  # every sample duplicates a pick: any unchosen one will do
            i = int(rng.choice(np.flatnonzero(~chosen.numpy())))
        picked.append(i)
        d2_at_pick.append(float(nearest[i]))
        chosen[i] = True
        nearest = torch.minimum(nearest, _sq_dists(x, x[i : i + 1])[:, 0])
    return np.asarray(picked, dtype=np.int64), np.asarray(d2_at_pick)
