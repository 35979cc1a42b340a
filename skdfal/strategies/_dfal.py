"""DFAL: query the samples whose DeepFool perturbation is smallest.

Ducoffe & Precioso (2018), "Adversarial Active Learning for Deep Networks: a
Margin Based Approach".  The DeepFool norm is a first-order estimate of the
distance to the decision boundary: small norm, uncertain sample.
"""

from __future__ import annotations

from numbers import Integral
from typing import Literal

import numpy as np
from skorch.utils import to_numpy

from ..attacks._deepfool import deepfool_unchecked
from ..attacks._params import DEEPFOOL_CONSTRAINTS, check_clip, check_deepfool_params
from ..utils._pool import iter_batches, pool_length
from ..utils._sklearn_compat import Interval, StrOptions
from ..utils._torch import head_space_model
from ..utils._typing import RandomStateLike
from ..utils._warnings import warn_user
from ._base import COMMON_CONSTRAINTS, QueryStrategy, StrategyTags, as_function
from ._context import query_context
from ._embeddings import features_of_inputs
from ._screened import Screened
from ._screening import UNFLIPPED_KEY, sort_key
from ._selectors import SELECTOR_CONSTRAINTS, selector_of

__all__ = ["DFALMargin", "dfal_margin", "deepfool_pool"]

#: The DeepFool parameters a strategy takes: the attack's own declaration
#: (checked once per query, ``clip``'s bounds by
#: :func:`~skdfal.attacks._params.check_clip`; the attack then runs
#: unchecked, batch after batch), less ``step_eps``, which no strategy exposes.
STRATEGY_DEEPFOOL_CONSTRAINTS = {key: value for key, value in DEEPFOOL_CONSTRAINTS.items() if key != "step_eps"}


def deepfool_params_of(strategy):
    """A strategy's DeepFool parameters, for the attack (``clip`` as floats)."""
    params = {key: getattr(strategy, key) for key in STRATEGY_DEEPFOOL_CONSTRAINTS}
    params["clip"] = check_clip(params["clip"])
    return params


def deepfool_pool(model, X_pool, *, batch_size=256, return_perturbations=False, **deepfool_params):
    """Run DeepFool over a whole pool, batch by batch, in the net's input space.

    Parameters
    ----------
    model : TorchModel
        From :func:`skdfal.utils.resolve_torch_model`.
    X_pool : array-like, Dataset or iterable of batches
        Raw pool (pipeline transforms are applied per batch).
    batch_size : int, default=256
    return_perturbations : bool, default=False
    **deepfool_params
        Passed to :func:`skdfal.deepfool` (``max_iter``, ``overshoot``,
        ``norm``, ``candidates`` (the classes attacked), ``clip``), checked
        once here.

    Yields
    ------
    start : int
        Position of the batch's first sample in the pool.
    x : torch.Tensor
        The batch as the net sees it.
    result : DeepFoolResult
    """
    deepfool_params["clip"] = check_deepfool_params(batch_size=batch_size, **deepfool_params)
    yield from _deepfool_pool(
        model, X_pool, batch_size=batch_size, return_perturbations=return_perturbations, **deepfool_params
    )


def _deepfool_pool(model, X_pool, *, batch_size, return_perturbations, **deepfool_params):
    """:func:`deepfool_pool` for callers that checked the parameters (the strategies).

    Each batch is checked once, as it is read (finite, one sample shape);
    the attack trusts it.  A sample shape the net cannot take is said in
    the user's terms by the attack's first forward pass.
    """
    for start, x in iter_batches(X_pool, batch_size, model=model):
        result = deepfool_unchecked(
            model.module, x, batch_size=None, return_perturbations=return_perturbations, **deepfool_params,
        )
        yield start, x, result


class DFALMargin(QueryStrategy):
    """DFAL query strategy: smallest DeepFool perturbation first.

    Callable with modAL's protocol ``(classifier, X_pool, n_instances) ->
    (indices, margins)``; ``margins`` are the DeepFool norms of the selected
    samples (``inf`` for a sample DeepFool could not flip).

    Parameters
    ----------
    max_iter : int, default=50
    overshoot : float, default=0.02
    norm : {2, inf}, default=2
    candidates : int or None, default=None
        DeepFool's classes (not samples): restrict the attack to the ``k``
        classes with the highest initial logits (``None``: every class).
    clip : (float, float) or None, default=None
        Bounds of the net's input space.
    subsample : int, float or None, default=None
        Score only a random subset of the pool (an int: that many samples; a
        float: that share).  The paper scores ten times the query size.  On
        MNIST's 60,000 images, 1,000 pool samples a round bought labels as well
        as the whole pool (screening) at a quarter of the query time
        (docs/results.md): worth setting for pools of tens of thousands.
    random_state : int, RandomState or None, default=None
        Draws the subset, and breaks ties at random among samples DeepFool
        cannot flip (margin ``inf``, e.g. a model with dead units), which
        the paper's rule would take in pool order.  An int repeats the same
        draws on every call.
    batch_size : int, default=256
        Pool samples attacked at once (memory bound).
    progress : bool, default=False
        Show a progress bar (``tqdm``, a widget in Jupyter) while the pool is
        scored: worth it for pools of hundreds of thousands of samples.
    batch_diversity : {None, "features", "directions"}, default=None
        The selector, spelt flat: ``DFALMargin(batch_diversity=b,
        diversity_factor=k, cold_start=c)`` is the DFAL scorer paired with
        ``ColdStart(c, then=SpreadBatch(b, k))`` (:class:`~skdfal.strategies.TopN`
        for ``b=None``; no cold start for ``c=0``), which
        :class:`~skdfal.strategies.ComposedStrategy` puts on any scorer.
        ``None`` takes the ``n_instances`` smallest margins (the paper).
        Otherwise the ``diversity_factor * n_instances`` smallest margins are
        clustered into ``n_instances`` groups (k-means) in the net's
        penultimate features (``"features"``) or along their unit DeepFool
        directions (``"directions"``), and each group gives its smallest
        margin: a batch that covers different stretches of the boundary
        instead of near-duplicates.
    diversity_factor : int, default=10
        How many times ``n_instances`` small-margin samples the batch is
        spread over (with ``batch_diversity``).
    cold_start : int, default=0
        While the learner has paid fewer labels than this, query at random
        (seeded by ``random_state``; margins are reported as NaN): on a model
        trained on a handful of labels, margins say little.  Needs an active
        learner as the classifier (skdfal's or modAL's); ignored otherwise.
    screening : bool, default=False
        ``Screened(DFALMargin(...))`` spelt as a flag (:class:`~skdfal.strategies.Screened`,
        registered as ``dfal_screen``): rank the whole pool by a cheap first-order margin (the distance to
        the linearised boundaries of the ``screening_candidates - 1``
        runner-up classes: one backward pass per sample with 2), then run
        exact DeepFool only on a shortlist of the smallest, grown until no
        other sample is expected to beat the exact ``n_instances``-th norm
        (see :func:`skdfal.strategies.screen_pool`, which also reports the
        shortlist size).  The picks carry their exact DeepFool norms, as in
        exact mode.  With ``batch_diversity`` it keeps the
        ``diversity_factor * n_instances`` smallest of the whole pool, then
        spreads the batch over them (the pool must then be indexable: an
        array, tensor, DataFrame or Dataset).  Only ``query`` screens:
        ``score`` (and Dask scoring) still attack every sample.
    screening_candidates : int, default=2
        Classes measured by the first-order margin (the prediction included).
    space : {"input", "head"}, default="input"
        Where the margin is measured.  ``"input"``: in the net's input space
        (pixels), as in the paper.  ``"head"``: DeepFool attacks only the
        trainable head, over the embeddings the backbone gives the pool (one
        forward pass of the net per sample, no gradient through the
        backbone): the margin is then a distance between feature vectors,
        not between images, and cheap for a large frozen backbone (see the
        user guide, "Head-space DFAL").  ``clip`` and adversarial copies
        belong to the input space and are refused there.
    head : str or None, default=None
        With ``space="head"``: the head's layer name in the module (``"fc"``
        for a torchvision ResNet, ``"classifier"`` for LeNet5 and Hugging
        Face models); ``None`` takes the ``head`` of a ``backbone``/``head``
        module, else the last ``nn.Linear``.  It must be the last layer (its
        output the net's logits), which is checked.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal import DFALMargin
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    ...     _ = lin.bias.zero_()
    >>> X = np.array([[3.0, 0.0], [0.2, 1.0], [-1.0, 0.0]], dtype=np.float32)
    >>> idx, margins = DFALMargin()(lin, X, n_instances=2)
    >>> idx.tolist()
    [1, 2]
    """

    largest = False
    tags = StrategyTags(pointwise=True, needs_torch=True, adversarial_copies=True)
    provides = frozenset({"features", "directions"})
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        **STRATEGY_DEEPFOOL_CONSTRAINTS,
        **SELECTOR_CONSTRAINTS,
        "progress": ["boolean"],
        "screening": ["boolean"],
        "screening_candidates": [Interval(Integral, 2, None, closed="left")],
        "space": [StrOptions({"input", "head"})],
        "head": [None, str],
    }

    def __init__(
        self,
        *,
        max_iter: int = 50,
        overshoot: float = 0.02,
        norm: float = 2,
        candidates: int | None = None,
        clip: tuple[float, float] | None = None,
        subsample: int | float | None = None,
        random_state: RandomStateLike = None,
        batch_size: int = 256,
        progress: bool = False,
        batch_diversity: Literal["features", "directions"] | None = None,
        diversity_factor: int = 10,
        cold_start: int = 0,
        screening: bool = False,
        screening_candidates: int = 2,
        space: Literal["input", "head"] = "input",
        head: str | None = None,
    ):
        self.max_iter = max_iter
        self.overshoot = overshoot
        self.norm = norm
        self.candidates = candidates
        self.clip = clip
        self.subsample = subsample
        self.random_state = random_state
        self.batch_size = batch_size
        self.progress = progress
        self.batch_diversity = batch_diversity
        self.diversity_factor = diversity_factor
        self.cold_start = cold_start
        self.screening = screening
        self.screening_candidates = screening_candidates
        self.space = space
        self.head = head

    def _deepfool_params(self):
        return deepfool_params_of(self)

    def _iter_scores(self, classifier, X_pool):
        """DeepFool norms, batch by batch (``inf`` where the attack did not flip)."""
        for _, result in self._iter_attacks(classifier, X_pool):
            yield to_numpy(result.norms).astype(np.float64)

    def _iter_scored_batches(self, classifier, X_pool, *, rng, payload, notes):
        """Sort keys of the DeepFool norms and, for the spread batch, the inputs or directions."""
        # Samples DeepFool cannot flip (a weak or dead model) all score inf:
        # among them the paper's rule would return the first pool samples in
        # order.  Their ties are broken at random instead, and the user is
        # told, as when the model predicts a single class for the whole pool.
        notes.update(n_inf=0, classes=set())
        for x, result in self._iter_attacks(classifier, X_pool, directions=payload == "directions"):
            norms = to_numpy(result.norms).astype(np.float64)
            notes["n_inf"] += int(np.isinf(norms).sum())
            if len(notes["classes"]) < 2:
                notes["classes"].update(np.unique(to_numpy(result.labels)).tolist())
            yield sort_key(norms, rng), self._payload(x, result, payload)

    def _finish_selection(self, keys, notes, n_seen, n_instances):
        scores = np.where(keys >= UNFLIPPED_KEY, np.inf, keys)
        self._warn_weak_model(notes, n_seen, scores, n_instances)
        return scores

    def _kept_features(self, classifier, inputs):
        """Penultimate features of kept samples given as the attacked model sees them."""
        return features_of_inputs(self._torch_model(classifier).module, inputs)

    def _selector(self):
        return selector_of(self.batch_diversity, self.diversity_factor, self.cold_start)

    def _screened_best(self, classifier, X_pool, n_keep, n_instances, *, rng, payload):
        """With ``screening``: what :class:`~skdfal.strategies.Screened` of this scorer finds; else ``None``."""
        if not self.screening:
            return None  # the pool is attacked in full, batch by batch
        return Screened(self, screening_candidates=self.screening_candidates)._screened_best(
            classifier, X_pool, n_keep, n_instances, rng=rng, payload=payload)

    def _torch_model(self, classifier):
        """The model attacked: the whole net, or its head over the backbone's embeddings."""
        if self.space != "head":
            return query_context(classifier).torch_model()
        if self.clip is not None:
            raise ValueError(
                f"clip={self.clip!r} bounds the input space; with space='head' the margin is measured "
                "between embeddings, which it does not bound: leave clip=None"
            )
        return head_space_model(classifier, self.head)

    def _iter_attacks(self, classifier, X_pool, *, directions=False):
        """``(x, DeepFoolResult)`` per batch, with perturbations only when directions are needed."""
        model = self._torch_model(classifier)
        params = self._deepfool_params()
        from tqdm.auto import tqdm

        with tqdm(
            total=pool_length(X_pool) if self.progress else None, disable=not self.progress,
            desc="DeepFool margins",
            unit="sample", unit_scale=True,
        ) as bar:
            for _, x, result in _deepfool_pool(
                model, X_pool, batch_size=self.batch_size, return_perturbations=directions, **params,
            ):
                bar.update(len(result))
                yield x, result

    @staticmethod
    def _payload(x, result, payload):
        """What the spread batch needs of each sample (nothing without it)."""
        if payload == "features":
            return x.detach()
        if payload == "directions":
            flat = result.perturbations.flatten(1)
            return flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return None

    @staticmethod
    def _warn_weak_model(seen, n_seen, scores, n_instances):
        if len(seen["classes"]) == 1:
            warn_user(
                f"the model predicts class {next(iter(seen['classes']))} for every sample of the pool: "
                "DFAL margins say little about such a model (train it on more labels or classes)",
            )
        if np.isinf(scores).any():
            warn_user(
                f"DeepFool could not flip {seen['n_inf']} of {n_seen} pool samples (zero "
                "gradients or max_iter reached): their margins are inf, and "
                f"{int(np.isinf(scores).sum())} of the {n_instances} picks were drawn at random among them",
            )


dfal_margin = as_function(
    DFALMargin,
    "dfal_margin",
    "DFAL query strategy: the pool samples with the smallest DeepFool perturbation.",
)

