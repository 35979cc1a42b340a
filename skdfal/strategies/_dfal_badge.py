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

from ..utils._sklearn_compat import StrOptions
from ..utils._typing import RandomStateLike
from ._base import COMMON_CONSTRAINTS, QueryStrategy, StrategyTags, as_function
from ._context import query_context
from ._dfal import STRATEGY_DEEPFOOL_CONSTRAINTS, _deepfool_pool, deepfool_params_of
from ._embeddings import _first_input_of, _last_linear, _layer_input
from ._selectors import WeightedSeeding

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
    provides = frozenset({"embeddings"})
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        **STRATEGY_DEEPFOOL_CONSTRAINTS,
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

    def _iter_attacks(self, classifier, X_pool, *, with_features=False):
        """``(DeepFoolResult, h)`` per batch (``h`` the features, ``None`` without them).

        One pass, so that a pool that can be read once (a generator) works;
        ``h`` is caught on its way into the last linear layer during
        DeepFool's own first forward pass of each batch (the clean batch, in
        eval mode), not by a forward pass of its own.
        """
        model = query_context(classifier).torch_model()
        params = deepfool_params_of(self)
        layer = _last_linear(model.module) if with_features else None
        # With clip, DeepFool's first forward may see the clamped batch: h
        # then comes from a forward pass of the raw batch of its own.
        hooked = layer if params["clip"] is None else None
        with _first_input_of(hooked) as caught:
            for _, x, result in _deepfool_pool(
                model, X_pool, batch_size=self.batch_size, return_perturbations=False, **params,
            ):
                if hooked is not None:
                    h = caught.pop("h").flatten(1).cpu()
                else:
                    h = None if layer is None else _layer_input(model.module, layer, x)
                yield result, h

    def _iter_scored_batches(self, classifier, X_pool, *, rng, payload, notes):
        """DeepFool margins (``inf`` where the attack did not flip), with the boundary embeddings."""
        n_classes = _last_linear(query_context(classifier).torch_model().module).out_features
        for result, h in self._iter_attacks(classifier, X_pool, with_features=payload == "embeddings"):
            margins = result.norms.detach().cpu()
            embeddings = None if h is None else boundary_embeddings(
                h, result.labels.detach().cpu(), result.adversarial_labels.detach().cpu(), margins, n_classes,
                kind=self.embedding)
            yield to_numpy(margins).astype(np.float64), embeddings

    def _iter_scores(self, classifier, X_pool):
        for margins, _ in self._iter_scored_batches(classifier, X_pool, rng=None, payload=None, notes={}):
            yield margins

    def _selector(self):
        return WeightedSeeding()


dfal_badge = as_function(
    DFALBadge, "dfal_badge",
    "DFAL margins, BADGE-style batch: k-means++ over boundary embeddings weighted by 1/margin.",
)
