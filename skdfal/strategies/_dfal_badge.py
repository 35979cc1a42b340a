"""DFAL margins chosen BADGE-style: k-means++ over boundary embeddings weighted by 1/margin.

The paper's rule takes the ``n`` smallest DeepFool margins.  On a weak model
those crowd onto one stretch of one boundary (often between the same two
classes), and the batch teaches little more than one of them would.  BADGE
(Ash et al., 2020) avoids this by k-means++ seeding over gradient
embeddings, whose norm stands for uncertainty.  Here the uncertainty is
DFAL's: each sample is embedded as the last layer's gradient of the
logit gap DeepFool crossed, scaled by the inverse of its DeepFool margin,

    g = (e_adv - e_pred) h^T / r,

where ``h`` is the input of the net's last linear layer, ``pred`` the
prediction, ``adv`` the class DeepFool reached and ``r`` the margin.  A
small margin is a long vector, so the D^2 draws of k-means++ favour it, and
two picks are far apart unless they sit between the same two classes *and*
look alike to the net: a batch near the boundary that covers it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from skorch.utils import to_numpy

from ..attacks._deepfool import check_clip
from ..utils._sklearn_compat import StrOptions
from ..utils._typing import RandomStateLike
from ._base import COMMON_CONSTRAINTS, QueryStrategy, StrategyTags, as_function
from ._context import query_context
from ._dfal import DEEPFOOL_CONSTRAINTS, _deepfool_pool
from ._diversity import kmeans_pp_seeding
from ._embeddings import _first_input_of, _last_linear, _layer_input

__all__ = ["DFALBadge", "dfal_badge", "boundary_embeddings"]


def boundary_embeddings(
    features: torch.Tensor, labels: torch.Tensor, adversarial_labels: torch.Tensor,
    margins: torch.Tensor, n_classes: int, *, kind: str = "pair",
) -> torch.Tensor:
    """Embeddings ``(e_adv - e_pred) h^T / r`` (``kind="pair"``) or ``h / (|h| r)`` (``"features"``).

    Rows whose margin is ``inf`` (DeepFool did not flip them) are zero.

    Parameters
    ----------
    features : torch.Tensor of shape (m, d)
        ``h``, the input of the last linear layer.
    labels, adversarial_labels : torch.LongTensor of shape (m,)
        The prediction and the class DeepFool reached.
    margins : torch.Tensor of shape (m,)
        DeepFool norms.
    n_classes : int
    kind : {"pair", "features"}, default="pair"

    Returns
    -------
    torch.Tensor of shape (m, n_classes * d) or (m, d), float64

    Examples
    --------
    >>> import torch
    >>> from skdfal.strategies._dfal_badge import boundary_embeddings
    >>> g = boundary_embeddings(torch.tensor([[3.0, 4.0]]), torch.tensor([0]), torch.tensor([2]),
    ...                         torch.tensor([0.5]), 3)
    >>> g.reshape(3, 2).tolist()
    [[-6.0, -8.0], [0.0, 0.0], [6.0, 8.0]]
    """
    h = features.detach().to(torch.float64).flatten(1).cpu()
    weight = 1.0 / margins.detach().to(torch.float64).cpu().clamp_min(1e-12)  # inf -> 0
    if kind == "features":
        return h / h.norm(dim=1, keepdim=True).clamp_min(1e-12) * weight[:, None]
    pair = torch.zeros(len(h), n_classes, dtype=torch.float64)
    rows = torch.arange(len(h))
    pair[rows, adversarial_labels.cpu()] += 1.0
    pair[rows, labels.cpu()] -= 1.0
    return (pair[:, :, None] * h[:, None, :]).flatten(1) * weight[:, None]


class DFALBadge(QueryStrategy):
    """DFAL with a BADGE-style batch: k-means++ over boundary embeddings weighted by 1/margin.

    The first pick is the largest embedding (usually the smallest margin);
    each next one is drawn with probability proportional to its squared
    distance to the nearest pick (see the module's docstring for the
    embedding).  Reported scores are the picks' DeepFool margins.

    Parameters
    ----------
    max_iter : int, default=50
    overshoot : float, default=0.02
    norm : {2, inf}, default=2
    candidates : int or None, default=None
        DeepFool's classes (not samples): the ``k`` with the highest initial
        logits are attacked (``None``: every class).
    clip : (float, float) or None, default=None
        Bounds of the net's input space.
    embedding : {"pair", "features"}, default="pair"
        ``"pair"``: the last layer's gradient of the crossed logit gap,
        ``(e_adv - e_pred) h^T``, over the margin; ``"features"``: the unit
        penultimate features over the margin (no class information).
    subsample : int, float or None, default=None
        Choose among a random subset of the pool only.
    random_state : int, RandomState or None, default=None
        Drives the subset and the D^2 draws.
    batch_size : int, default=256
        Pool samples attacked at once.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal.strategies import DFALBadge
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> X = np.random.RandomState(0).randn(40, 2).astype(np.float32)
    >>> idx, margins = DFALBadge(random_state=0)(net, X, n_instances=4)
    >>> len(set(idx.tolist())), bool(np.all(margins > 0))
    (4, True)
    """

    largest = False
    tags = StrategyTags(needs_torch=True)
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        **DEEPFOOL_CONSTRAINTS,
        "embedding": [StrOptions({"pair", "features"})],
    }

    def __init__(
        self, *, max_iter: int = 50, overshoot: float = 0.02, norm: float = 2,
        candidates: int | None = None, clip: tuple[float, float] | None = None,
        embedding: Literal["pair", "features"] = "pair", subsample: int | float | None = None,
        random_state: RandomStateLike = None, batch_size: int = 256,
    ):
        self.max_iter = max_iter
        self.overshoot = overshoot
        self.norm = norm
        self.candidates = candidates
        self.clip = clip
        self.embedding = embedding
        self.subsample = subsample
        self.random_state = random_state
        self.batch_size = batch_size

    def _attack(self, classifier, X_pool, *, with_features=False):
        """Margins, labels, adversarial labels (and features ``h``) of every sample, in one pass.

        One pass, so that a pool that can be read once (a generator) works;
        ``h`` is caught on its way into the last linear layer during
        DeepFool's own first forward pass of each batch (the clean batch, in
        eval mode), not by a forward pass of its own.
        """
        model = query_context(classifier).torch_model()
        params = dict(max_iter=self.max_iter, overshoot=self.overshoot, norm=self.norm,
                      candidates=self.candidates, clip=check_clip(self.clip))
        layer = _last_linear(model.module) if with_features else None
        # With clip, DeepFool's first forward may see the clamped batch: h
        # then comes from a forward pass of the raw batch of its own.
        hooked = layer if params["clip"] is None else None
        parts, features = [], []
        with _first_input_of(hooked) as caught:
            for _, x, result in _deepfool_pool(
                model, X_pool, batch_size=self.batch_size, return_perturbations=False, **params,
            ):
                parts.append(result)
                if hooked is not None:
                    features.append(caught.pop("h").flatten(1).cpu())
                elif layer is not None:
                    features.append(_layer_input(model.module, layer, x))
        cat = lambda name: torch.cat([getattr(p, name).detach().cpu() for p in parts])  # noqa: E731
        h = torch.cat(features) if features else None
        return cat("norms"), cat("labels"), cat("adversarial_labels"), h, parts

    def _iter_scores(self, classifier, X_pool):
        """DeepFool margins (``inf`` where the attack did not flip)."""
        margins = self._attack(classifier, X_pool)[0]
        yield to_numpy(margins).astype(np.float64)

    def _select(self, classifier, X_pool, n_instances):
        margins, labels, adv, h, _ = self._attack(classifier, X_pool, with_features=True)
        n_instances = min(n_instances, len(margins))  # a short stream: _query_validated says so
        n_classes = _last_linear(query_context(classifier).torch_model().module).out_features
        g = boundary_embeddings(h, labels, adv, margins, n_classes, kind=self.embedding)
        picked, _ = kmeans_pp_seeding(g.numpy(), n_instances, self.random_state)
        return picked, to_numpy(margins).astype(np.float64)[picked]


dfal_badge = as_function(
    DFALBadge, "dfal_badge",
    "DFAL margins, BADGE-style batch: k-means++ over boundary embeddings weighted by 1/margin.",
)
