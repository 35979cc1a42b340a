"""BALD with Monte-Carlo dropout (Gal, Islam & Ghahramani, 2017).

The mutual information between a sample's label and the network's weights is
estimated from ``T`` stochastic forward passes with dropout left on:
``I = H[mean_t p_t] - mean_t H[p_t]``.  Samples on which the dropout
sub-networks disagree score high.
"""

from __future__ import annotations

import contextlib
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from torch import nn

from ..utils._heads import unwrap_logits
from ..utils._pool import iter_batches
from ..utils._torch import resolve_torch_model, to_numpy
from ..utils._typing import RandomStateLike
from ._base import COMMON_CONSTRAINTS, QueryStrategy, StrategyTags, as_function

__all__ = ["BALD", "bald", "mc_dropout"]


@contextlib.contextmanager
def mc_dropout(module: nn.Module):
    """Eval mode everywhere except the dropout layers (restored on exit).

    Batch-norm keeps its running statistics; only dropout samples masks.
    """
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    for m in module.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.train()
    try:
        yield module
    finally:
        for m, mode in modes:
            m.training = mode


def _split_deterministic_head(module):
    """``(trunk, head)`` when dropout only follows a dropout-free trunk we know.

    skdfal's LeNet5 and VGG8 compute ``classifier(embedding(features(x)))``
    with dropout only in ``embedding``: the convolutional trunk then runs
    once instead of ``T`` times.  Other modules run whole on every pass.
    """
    from ..models import VGG8, LeNet5

    inner = unwrap_logits(module)
    if type(inner) in (LeNet5, VGG8) and not any(
        isinstance(m, nn.modules.dropout._DropoutNd) for m in inner.features.modules()
    ):
        return inner.features, nn.Sequential(inner.embedding, inner.classifier)
    return None, module


class BALD(QueryStrategy):
    """Bayesian Active Learning by Disagreement with MC dropout.

    Scores are the estimated mutual information (nats, larger = more
    informative).  A model without dropout scores 0 everywhere.

    Parameters
    ----------
    n_passes : int, default=20
        Stochastic forward passes ``T``.
    subsample : int, float or None, default=None
        Score only a random subset of the pool.
    random_state : int, RandomState or None, default=None
        Seeds the dropout masks (and the subset).  The batch of the pool
        starting at sample ``s`` draws its masks from ``(seed, s)`` only, so
        scores do not depend on how the pool is held or cut into batches.
    batch_size : int, default=256

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal import BALD
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.5), torch.nn.Linear(16, 3))
    >>> scores = BALD(n_passes=10, random_state=0).score(net, np.ones((5, 4), dtype=np.float32))
    >>> bool((scores >= 0).all())
    True
    """

    largest = True
    tags = StrategyTags(needs_torch=True)
    _parameter_constraints = {**COMMON_CONSTRAINTS, "n_passes": [Interval(Integral, 1, None, closed="left")]}

    def __init__(
        self, *, n_passes: int = 20, subsample: int | float | None = None,
        random_state: RandomStateLike = None, batch_size: int = 256,
    ):
        self.n_passes = n_passes
        self.subsample = subsample
        self.random_state = random_state
        self.batch_size = batch_size

    def _iter_scores(self, classifier, X_pool):
        """Mutual information (nats) of each sample, batch by batch."""
        model = resolve_torch_model(classifier)
        trunk, head = _split_deterministic_head(model.module)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        devices = [model.device.index or 0] if model.device.type == "cuda" else []
        for start, x in iter_batches(X_pool, self.batch_size, model=model):
            # Dropout modes and the RNG are set per batch and restored before
            # yielding: between batches the caller finds both as it left them.
            with torch.random.fork_rng(devices=devices), mc_dropout(model.module), torch.no_grad():
                # Each batch's masks come from (seed, start) alone: reading the
                # pool may draw from the global RNG too (a DataLoader seeds its
                # workers from it), and iter_pool cuts every pool at the same
                # starts, so the scores depend on neither.
                torch.manual_seed(int(np.random.SeedSequence([seed, start]).generate_state(1)[0]))
                scores = _mutual_information(x, trunk, head, int(self.n_passes))
            yield scores


def _mutual_information(x, trunk, head, n_passes):
    """BALD's estimate, H[mean p] - mean H[p], over ``n_passes`` stochastic passes."""
    if trunk is not None:
        x = trunk(x)
    mean_p = torch.zeros((), dtype=torch.float64)
    mean_h = torch.zeros((), dtype=torch.float64)
    for _ in range(n_passes):
        logp = torch.log_softmax(head(x).double(), dim=1)
        p = logp.exp()
        mean_p = mean_p + p
        mean_h = mean_h - (p * logp).sum(1)
    mean_p = mean_p / n_passes
    mean_h = mean_h / n_passes
    h_mean = -(mean_p * torch.log(mean_p.clamp_min(1e-300))).sum(1)
    # Jensen makes the difference >= 0; clip float round-off.
    return to_numpy((h_mean - mean_h).clamp_min(0.0)).astype(np.float64)


bald = as_function(BALD, "bald", "BALD query strategy: largest MC-dropout mutual information.")
