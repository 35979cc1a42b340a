"""BALD with Monte-Carlo dropout (Gal, Islam & Ghahramani, 2017).

The mutual information between a sample's label and the network's weights is
estimated from ``T`` stochastic forward passes with dropout left on:
``I = H[mean_t p_t] - mean_t H[p_t]``.  Samples on which the dropout
sub-networks disagree score high.  The function form :func:`bald` also takes
modAL's ``mc_dropout_bald`` arguments in modAL's positional order, so code
written for modAL runs on it unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch.utils import to_numpy
from torch import nn

from ..utils._heads import unwrap_logits
from ..utils._pool import iter_batches
from ..utils._sklearn_compat import Interval
from ..utils._torch import resolve_torch_model
from ..utils._typing import Pool, QueryResult, RandomStateLike
from ._base import COMMON_CONSTRAINTS, QueryStrategy, StrategyTags

__all__ = ["BALD", "bald", "mc_dropout"]


def _is_dropout(module: nn.Module) -> bool:
    return isinstance(module, nn.modules.dropout._DropoutNd)


def _dropout_layers(module: nn.Module, indexes: Sequence[int] | None) -> list[nn.Module]:
    """The dropout layers to sample: all of them, or those at ``indexes`` of ``module.modules()``.

    ``indexes`` counts as modAL's ``dropout_layer_indexes`` does (positions in
    ``list(module.modules())``, the module itself at 0); empty means all.
    Positions count in the user's module, not in skdfal's logits wrapper.
    """
    modules = list(unwrap_logits(module).modules())
    if not indexes:
        return [m for m in modules if _is_dropout(m)]
    chosen = []
    for index in indexes:
        if not isinstance(index, (Integral, np.integer)) or isinstance(index, bool) or not (
            -len(modules) <= index < len(modules)
        ):
            raise ValueError(
                f"dropout_layer_indexes holds {index!r}, not a position in list(module.modules()) "
                f"(0 to {len(modules) - 1})"
            )
        if not _is_dropout(modules[index]):
            raise ValueError(
                f"dropout_layer_indexes holds {index}, which is a {type(modules[index]).__name__}, "
                "not a dropout layer"
            )
        chosen.append(modules[index])
    return chosen


@contextlib.contextmanager
def mc_dropout(module: nn.Module, dropout_layer_indexes: Sequence[int] | None = None):
    """Eval mode everywhere except the dropout layers (restored on exit).

    Batch-norm keeps its running statistics; only dropout samples masks.
    ``dropout_layer_indexes`` (modAL's name and counting: positions in
    ``list(module.modules())``) keeps only those dropout layers sampling.
    """
    active = _dropout_layers(module, dropout_layer_indexes)
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    for m in active:
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
        Pool samples scored at once (modAL's ``sample_per_forward_pass``).
    dropout_layer_indexes : list of int or None, default=None
        Sample masks only in these dropout layers, counted as positions in
        ``list(module.modules())`` (modAL's parameter); ``None`` or empty:
        every dropout layer.
    logits_adaptor : callable or None, default=None
        ``logits_adaptor(logits, samples) -> logits`` applied to every
        forward pass's output before the softmax (modAL's parameter; it
        must give one row of class logits per sample).

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
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "n_passes": [Interval(Integral, 1, None, closed="left")],
        "dropout_layer_indexes": [list, tuple, None],
        "logits_adaptor": [callable, None],
    }

    def __init__(
        self, *, n_passes: int = 20, subsample: int | float | None = None,
        random_state: RandomStateLike = None, batch_size: int = 256,
        dropout_layer_indexes: Sequence[int] | None = None,
        logits_adaptor: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ):
        self.n_passes = n_passes
        self.subsample = subsample
        self.random_state = random_state
        self.batch_size = batch_size
        self.dropout_layer_indexes = dropout_layer_indexes
        self.logits_adaptor = logits_adaptor

    def _iter_scores(self, classifier, X_pool):
        """Mutual information (nats) of each sample, batch by batch."""
        model = resolve_torch_model(classifier)
        _dropout_layers(model.module, self.dropout_layer_indexes)  # refuse bad indexes before any work
        trunk, head = _split_deterministic_head(model.module)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        devices = [model.device.index or 0] if model.device.type == "cuda" else []
        for start, x in iter_batches(X_pool, self.batch_size, model=model):
            # Dropout modes and the RNG are set per batch and restored before
            # yielding: between batches the caller finds both as it left them.
            with torch.random.fork_rng(devices=devices), mc_dropout(
                model.module, self.dropout_layer_indexes
            ), torch.no_grad():
                # Each batch's masks come from (seed, start) alone: reading the
                # pool may draw from the global RNG too (a DataLoader seeds its
                # workers from it), and iter_pool cuts every pool at the same
                # starts, so the scores depend on neither.
                torch.manual_seed(int(np.random.SeedSequence([seed, start]).generate_state(1)[0]))
                scores = _mutual_information(x, trunk, head, int(self.n_passes), self.logits_adaptor)
            yield scores


def _mutual_information(x, trunk, head, n_passes, logits_adaptor=None):
    """BALD's estimate, H[mean p] - mean H[p], over ``n_passes`` stochastic passes."""
    samples = x
    if trunk is not None:
        x = trunk(x)
    mean_p = torch.zeros((), dtype=torch.float64)
    mean_h = torch.zeros((), dtype=torch.float64)
    for _ in range(n_passes):
        logits = head(x)
        if logits_adaptor is not None:
            logits = _adapted(logits_adaptor, logits, samples)
        logp = torch.log_softmax(logits.double(), dim=1)
        p = logp.exp()
        mean_p = mean_p + p
        mean_h = mean_h - (p * logp).sum(1)
    mean_p = mean_p / n_passes
    mean_h = mean_h / n_passes
    h_mean = -(mean_p * torch.log(mean_p.clamp_min(1e-300))).sum(1)
    # Jensen makes the difference >= 0; clip float round-off.
    return to_numpy((h_mean - mean_h).clamp_min(0.0)).astype(np.float64)


def _adapted(logits_adaptor, logits, samples):
    """``logits_adaptor``'s output, checked to be one row of class logits per sample."""
    out = logits_adaptor(logits, samples)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != logits.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"logits_adaptor must return a tensor of shape (n_samples, n_classes) = "
            f"({logits.shape[0]}, ...), got {shape}"
        )
    return out


#: modAL's ``mc_dropout_bald`` parameters after ``random_tie_break``, with BALD's names.
_MODAL_POSITIONAL = (
    ("dropout_layer_indexes", "dropout_layer_indexes"),
    ("num_cycles", "n_passes"),
    ("sample_per_forward_pass", "batch_size"),
    ("logits_adaptor", "logits_adaptor"),
)


def bald(
    classifier: Any, X_pool: Pool, n_instances: int = 1, random_tie_break: bool = False,
    dropout_layer_indexes: Sequence[int] | None = None, num_cycles: int | None = None,
    sample_per_forward_pass: int | None = None,
    logits_adaptor: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    **params: Any,
) -> QueryResult:
    """BALD query strategy: largest MC-dropout mutual information.

    Function form of :class:`BALD`, with modAL's ``mc_dropout_bald``
    signature: ``bald(learner, X_pool, n_instances, random_tie_break,
    dropout_layer_indexes, num_cycles, sample_per_forward_pass,
    logits_adaptor)`` works positionally as modAL's does, and
    ``bald(classifier, X_pool, n_instances, **params)`` equals
    ``BALD(**params)(classifier, X_pool, n_instances)``.  modAL's names are
    BALD's ``dropout_layer_indexes``, ``n_passes`` (``num_cycles``),
    ``batch_size`` (``sample_per_forward_pass``) and ``logits_adaptor``;
    BALD's defaults apply where they are not given (20 passes, not modAL's 50).

    Parameters
    ----------
    classifier : estimator, active learner or torch.nn.Module
        The fitted model whose utilities are computed.
    X_pool : array-like, torch Dataset or iterable of batches
        Unlabeled pool.
    n_instances : int, default=1
        Number of samples to select.
    random_tie_break : bool, default=False
        Order equal scores at random instead of by pool position (modAL's option).
    dropout_layer_indexes : list of int or None, default=None
        modAL's parameter: the dropout layers to sample, as positions in
        ``list(module.modules())`` (``None`` or empty: all).
    num_cycles : int or None, default=None
        modAL's name for ``n_passes``, the stochastic forward passes.
    sample_per_forward_pass : int or None, default=None
        modAL's name for ``batch_size``.
    logits_adaptor : callable or None, default=None
        modAL's parameter: ``logits_adaptor(logits, samples) -> logits``.
    **params
        Parameters of :class:`BALD`.

    Returns
    -------
    indices : ndarray of int
        Positions in ``X_pool``, most informative first.
    scores : ndarray of float
        Utility of each selected sample.

    Raises
    ------
    ValueError
        When a parameter is given under both names (``num_cycles`` and
        ``n_passes``, say).
    """
    given = {
        "dropout_layer_indexes": dropout_layer_indexes, "num_cycles": num_cycles,
        "sample_per_forward_pass": sample_per_forward_pass, "logits_adaptor": logits_adaptor,
    }
    for modal_name, name in _MODAL_POSITIONAL:
        value = given[modal_name]
        if value is None:
            continue
        if name in params and modal_name != name:
            raise ValueError(f"pass {name} or modAL's {modal_name}, not both")
        params[name] = list(value) if modal_name == "dropout_layer_indexes" else value
    return BALD(**params)(classifier, X_pool, n_instances, random_tie_break=random_tie_break)

