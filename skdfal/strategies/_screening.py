"""DFAL screening: a first-order pass over the whole pool, exact DeepFool on a shortlist.

Exact DFAL runs DeepFool on every pool sample: about 1.6 iterations of one
forward and ``n_classes - 1`` backward passes each on a trained CNN.  Only the
``n_instances`` smallest norms are kept, so most of that work is spent on
samples far from the boundary.  Screening ranks the pool by a first-order
margin (DeepFool's first step towards the runner-up classes only: one forward
and ``screening_candidates - 1`` backward passes per sample,
:func:`skdfal.attacks.first_order_margins`), then runs exact DeepFool on a
shortlist of the smallest first-order margins, grown until no unexamined
sample can plausibly beat the exact ``n``-th smallest norm found:

1. A *probe* of evenly spaced pool positions (128 to 256 samples; the whole
   pool below that) and the ``2 n`` smallest first-order margins are attacked
   exactly.  The probe measures how far exact norms fall below first-order
   margins across the pool; the shortlist alone would not, since it holds the
   samples whose first-order margin is small *for* their exact norm.
2. ``ratio`` is the smallest ``exact / first-order`` over every sample
   attacked so far, times a safety factor of 0.9; ``tau`` is the ``n``-th
   smallest exact norm found (``inf`` while fewer than ``n`` samples flipped).
3. Any unexamined sample has a first-order margin ``s`` at least that of the
   shortlist's edge, so its exact norm is expected to be at least
   ``ratio * s``.  While that bound does not exceed ``tau`` at the edge, the
   shortlist grows to every sample with ``ratio * s <= tau``, and 2-3 repeat.

On an affine model whose nearest boundaries are among the screened ones the
first-order margin is the exact norm (ratio 1).  On LeNet5 nets trained on 20
to 5,000 MNIST images exact norms fell to 0.37-0.5 of the top-2 margin, and
the final shortlist was 2-3 ``n`` (docs/performance.md).  No bound holds for every network: the ratio is
measured, not proved, which is why the probe spans the whole pool.

The selected samples carry their exact DeepFool norms; among the samples
attacked, ties and unflipped samples are handled as in exact mode.  Should
fewer than ``n`` samples flip, the shortlist grows to the whole pool, so the
random draw among unflipped samples is then exact mode's draw.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_random_state
from skorch.utils import to_numpy

from ..attacks._deepfool import deepfool_unchecked
from ..attacks._params import check_deepfool_params
from ..attacks._screening import first_order_unchecked
from ..utils._pool import check_n_instances, iter_batches, pool_length
from ..utils._torch import TorchModel, resolve_torch_model
from ..utils._validation import check_count
from ..utils._warnings import warn_user
from ._screening_rows import RowSource

__all__ = ["ScreeningResult", "screen_pool"]

logger = logging.getLogger(__name__)

#: Exact norms are expected to be at least this share of the smallest
#: exact / first-order ratio seen (a margin for the ratio's spread).
RATIO_SAFETY = 0.9
#: A pool read once (a generator) keeps the rows of this many times the first
#: shortlist's smallest first-order margins (at least ``_screening_rows.MIN_HELD_ROWS``).
HELD_ROWS_FACTOR = 4
#: Sort key of an unflipped sample (margin inf): above every finite margin,
#: with a random part so that ties among them are broken at random.
UNFLIPPED_KEY = np.finfo(np.float64).max / 4


def sort_key(norms, rng):
    """DeepFool margins as sort keys: unflipped samples (inf) after every finite one, in random order."""
    key = np.array(norms, dtype=np.float64)
    inf = np.isinf(key)
    key[inf] = UNFLIPPED_KEY * (1.0 + rng.random_sample(int(inf.sum())))
    return key


@dataclass
class ScreeningResult:
    """What :func:`screen_pool` selected, and how much exact work it took.

    Attributes
    ----------
    indices : ndarray of int64
        Positions of the selected samples in the pool, smallest norm first.
    margins : ndarray of float64
        Their exact DeepFool norms (``inf`` for samples DeepFool could not flip).
    n_pool : int
        Samples in the pool (all screened).
    shortlist_sizes : tuple of int
        Length of the shortlist (smallest first-order margins) at each round;
        the last one is the final shortlist.
    n_attacked : int
        Samples attacked by exact DeepFool: shortlist and probe.
    ratio : float
        The final ``exact / first-order`` lower ratio (safety factor included).
    threshold : float
        The ``n``-th smallest exact norm found.
    predicted_classes : set of int
        Classes the model predicts on the pool (at most two are collected).
    """

    indices: np.ndarray
    margins: np.ndarray
    n_pool: int
    shortlist_sizes: tuple
    n_attacked: int
    ratio: float
    threshold: float
    predicted_classes: set = field(default_factory=set, repr=False)

    @property
    def shortlist_size(self) -> int:
        """Length of the final shortlist."""
        return int(self.shortlist_sizes[-1])


def screen_pool(classifier, X_pool, n_instances, *, screening_candidates=2, batch_size=256,
                random_state=None, progress=False, **deepfool_params):
    """The ``n_instances`` smallest DeepFool norms of a pool, by screening.

    The lower-level form of ``DFALMargin(screening=True)``: same selection,
    plus how long the shortlist had to be (the strategy logs it at INFO
    level on the ``skdfal.strategies._screening`` logger).

    Parameters
    ----------
    classifier : object
        A fitted skorch net, a ``Pipeline`` ending in one, an active learner
        wrapping either, a ``torch.nn.Module`` or a resolved ``TorchModel``.
    X_pool : array-like, memmap, torch Dataset, DataLoader or iterable of batches
    n_instances : int
    screening_candidates : int, default=2
        Classes of the first-order margin: the prediction and the
        ``screening_candidates - 1`` runner-ups (one backward pass each).
    batch_size : int, default=256
    random_state : int, RandomState or None, default=None
        Breaks ties among unflipped samples, as in exact mode.
    progress : bool, default=False
    **deepfool_params
        ``max_iter``, ``overshoot``, ``norm``, ``candidates``, ``clip`` of
        :func:`skdfal.deepfool` (``overshoot``, ``norm`` and ``clip`` also
        shape the first-order margin).

    Returns
    -------
    ScreeningResult

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal.strategies import screen_pool
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    ...     _ = lin.bias.zero_()
    >>> X = np.array([[3.0, 0.0], [0.2, 1.0], [-1.0, 0.0]], dtype=np.float32)
    >>> res = screen_pool(lin, X, 2)
    >>> res.indices.tolist(), res.n_pool, res.ratio <= 1
    ([1, 2], 3, True)
    """
    n_instances = check_count(n_instances, "n_instances")
    check_count(screening_candidates, "screening_candidates", minimum=2)
    check_count(batch_size, "batch_size")
    deepfool_params = {**deepfool_params, "clip": check_deepfool_params(**deepfool_params)}
    n_known = pool_length(X_pool)
    check_n_instances(n_instances, n_known)
    result = _screen_pool(
        classifier, X_pool, n_instances, screening_candidates=screening_candidates, batch_size=batch_size,
        random_state=random_state, progress=progress, **deepfool_params,
    )
    if n_known is None:
        check_n_instances(n_instances, result.n_pool)  # a stream, measured once read
    return result


def _screen_pool(classifier, X_pool, n_instances, *, screening_candidates, batch_size, random_state, progress,
                 **deepfool_params):
    """:func:`screen_pool` for callers that checked its arguments (``DFALMargin``): attacks run unchecked.

    ``n_instances`` is capped at the pool's length (a caller asking for the
    ``k * n`` best of a smaller pool gets all of it); whether the pool holds
    enough samples is the caller's check.
    """
    model = classifier if isinstance(classifier, TorchModel) else resolve_torch_model(classifier)
    first_order = {k: deepfool_params[k] for k in ("overshoot", "norm", "clip") if k in deepfool_params}
    n_known = pool_length(X_pool)
    if n_known is not None:
        n_instances = min(n_instances, n_known)
    source = RowSource(X_pool, n_known, HELD_ROWS_FACTOR * _first_size(n_instances, n_known or 0))
    s, classes = _screen(model, X_pool, source, screening_candidates, batch_size, first_order, progress)
    n_pool = len(s)
    n_instances = min(n_instances, n_pool)  # a stream shorter than asked: all of it

    # Stable, so that equal first-order margins are examined in pool order.
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    exact = np.full(n_pool, np.nan)  # NaN: not attacked (or a row a used-up iterator lost)
    done = np.zeros(n_pool, dtype=bool)
    size, sizes = _first_size(n_instances, n_pool), []
    want = np.union1d(order[:size], source.probe_positions())
    while True:
        want = want[~done[want]]
        exact[want] = _attack(model, source, want, batch_size, deepfool_params)
        done[want] = True
        sizes.append(size)
        attacked = np.flatnonzero(done & ~np.isnan(exact))
        tau, ratio = _threshold(exact[attacked], s[attacked], n_instances)
        rest = order[size:][~done[order[size:]]]
        if not len(rest):
            break
        # Unexamined samples have first-order margins >= edge, so exact norms
        # expected >= ratio * edge: stop once that is beyond tau.
        edge = float(s[rest[0]])  # order is sorted: the smallest unexamined margin
        if ratio > 0 and ratio * edge > tau:
            break
        grow = int(np.searchsorted(s_sorted, tau / ratio, side="right")) if ratio > 0 else n_pool
        size = min(n_pool, max(grow, size + 1))
        want = order[:size]

    indices, margins = _select(attacked, exact[attacked], n_instances, random_state)
    result = ScreeningResult(
        indices, margins, n_pool, tuple(sizes), len(attacked), float(ratio), float(tau), classes,
    )
    logger.info(
        "DFAL screening: exact DeepFool on %d of %d pool samples (shortlist %s, ratio %.3f)",
        result.n_attacked, n_pool, " -> ".join(map(str, sizes)), result.ratio,
    )
    _warn_weak_model(result, exact[attacked], n_instances)
    return result


def _first_size(n_instances, n_pool):
    """The first shortlist: twice the query (measured: 2-3 times it is needed)."""
    size = max(2 * n_instances, n_instances + 32)
    return min(size, n_pool) if n_pool else size


def _threshold(exact, first, n_instances):
    """``tau`` (the ``n``-th smallest exact norm) and the safe ``exact / first-order`` ratio."""
    finite = np.sort(exact[np.isfinite(exact)])
    tau = float(finite[n_instances - 1]) if len(finite) >= n_instances else math.inf
    ok = np.isfinite(exact) & np.isfinite(first) & (first > 0)
    ratio = RATIO_SAFETY * float((exact[ok] / first[ok]).min()) if ok.any() else 0.0
    return tau, ratio


def _select(positions, norms, n_instances, random_state):
    """Exact mode's selection among the attacked samples (``positions`` sorted)."""
    # Drawn in pool order: when every sample was attacked (the only way an
    # unflipped one can be picked), these are exact mode's draws.
    key = sort_key(norms, check_random_state(random_state))
    best = np.lexsort((positions, key))[:n_instances]
    return positions[best].astype(np.int64), norms[best].astype(np.float64)


def _warn_weak_model(result, attacked_norms, n_instances):
    # The same warnings as exact DFAL: a model with one predicted class, and
    # picks drawn at random among unflipped samples (which only happens
    # once every pool sample has been attacked).
    if len(result.predicted_classes) == 1:
        warn_user(
            f"the model predicts class {next(iter(result.predicted_classes))} for every sample of "
            "the pool: DFAL margins say little about such a model (train it on more labels or classes)",
        )
    if np.isinf(result.margins).any():
        warn_user(
            f"DeepFool could not flip {int(np.isinf(attacked_norms).sum())} of {result.n_attacked} "
            "pool samples (zero gradients or max_iter reached): their margins are inf, and "
            f"{int(np.isinf(result.margins).sum())} of the {n_instances} picks were drawn at random among them",
        )


def _run(attack, module, x, **params):
    # A sample shape the net cannot take is said in the user's terms by the
    # attack's first forward pass (only shape errors are relabelled).
    return attack(module, x, batch_size=None, **params)


def _screen(model, X_pool, source, candidates, batch_size, params, progress):
    """First-order margins of every pool sample (float32) and the predicted classes."""
    from tqdm.auto import tqdm

    chunks, classes = [], set()
    with tqdm(total=pool_length(X_pool) if progress else None, disable=not progress, desc="DFAL screening",
              unit="sample", unit_scale=True) as bar:
        for start, x in iter_batches(X_pool, batch_size, model=model):
            res = _run(first_order_unchecked, model.module, x, candidates=candidates, **params)
            margins = to_numpy(res.margins).astype(np.float32)
            if len(classes) < 2:
                classes.update(np.unique(to_numpy(res.labels)).tolist())
            source.offer(start, margins, x)
            chunks.append(margins)
            bar.update(len(margins))
    return np.concatenate(chunks), classes


def _attack(model, source, positions, batch_size, params):
    """Exact DeepFool norms of the samples at ``positions`` (sorted); NaN for rows not available."""
    norms = np.full(len(positions), np.nan)
    for which, x in source.rows(positions, batch_size, model):
        res = _run(deepfool_unchecked, model.module, x, return_perturbations=False, **params)
        norms[which] = to_numpy(res.norms)
    return norms
