"""Learning from the unlabeled pool: one skorch callback, three ways.

Active learning leaves most of the pool unlabeled, and a net trained on the
few labels alone ignores what the rest of the pool says about where the
classes lie.  :class:`SemiSupervised` adds an unlabeled term to every
training step of any skorch net: after skorch back-propagates the labeled
loss (``on_grad_computed``), it draws a batch of the pool and
back-propagates ``weight`` times one of

* ``"pseudo_label"``: cross-entropy towards the model's own confident
  predictions (Lee, 2013), on the images as they are;
* ``"fixmatch"``: the same pseudo-labels, read on the images as they are,
  enforced on strongly augmented copies (random rotation, scaling,
  translation and a cut-out square; Sohn et al., 2020);
* ``"vat"``: virtual adversarial training (Miyato et al., 2018): the
  prediction must not change under the small perturbation that changes it
  most, found by one power iteration, as DeepFool finds its direction.

A pseudo-label is taken only from a sample predicted with probability at
least ``threshold`` and, with ``min_distance``, only from a sample whose
first-order distance to the decision boundary (the logit gap over the norm
of its input gradient: DeepFool's first step, exact for a linear model) is
at least ``min_distance``: never from inside the margin that DFAL queries.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback

from ..utils._validation import check_count, check_positive_real

__all__ = ["SemiSupervised", "first_order_distance", "strong_augment"]

#: The unlabeled losses, by name (what ``make_classifier``, sessions and the CLI accept).
METHODS = ("fixmatch", "pseudo_label", "vat")


def first_order_distance(module: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Each sample's first-order distance to the nearest other class: ``gap / ||grad gap||``.

    ``gap`` is the top logit minus the runner-up's, its gradient taken with
    respect to the input; exact for a linear (affine) model, and DeepFool's
    first step for any other.  Gradients reach neither the module's
    parameters nor the caller.

    Examples
    --------
    >>> import torch
    >>> from skdfal.models import first_order_distance
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])); _ = lin.bias.zero_()
    >>> first_order_distance(lin, torch.tensor([[3.0, 5.0], [-0.5, 1.0]]))  # |x0| (2|x0| / 2)
    tensor([3.0000, 0.5000])
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = module(x)
        top2 = logits.topk(2, dim=1).values
        gap = top2[:, 0] - top2[:, 1]
        (grad,) = torch.autograd.grad(gap.sum(), x)
    norm = grad.flatten(1).norm(dim=1)
    return (gap.detach() / norm.clamp_min(1e-12)).detach()


def strong_augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A strongly augmented copy of a batch of images ``(n, c, h, w)``.

    Each image is rotated by up to 15 degrees, scaled by 0.85-1.15, moved by
    up to 1/8 of its size, and a square of half its side is set to the
    batch's mean (the value a standardised input takes for "nothing"): label
    preserving for digits and objects, far enough from the image that
    matching its prediction teaches the net something.  Other tensors are
    returned unchanged.

    Examples
    --------
    >>> import torch
    >>> from skdfal.models import strong_augment
    >>> x = torch.rand(4, 1, 28, 28)
    >>> out = strong_augment(x, torch.Generator().manual_seed(0))
    >>> out.shape, bool((out != x).any())
    (torch.Size([4, 1, 28, 28]), True)
    """
    if x.ndim != 4 or not x.is_floating_point() or x.shape[0] == 0:
        return x
    n, _, h, w = x.shape

    def uniform(low, high):
        return low + (high - low) * torch.rand(n, generator=generator).to(x.device)

    angle = uniform(-15.0, 15.0) * (math.pi / 180)
    scale = uniform(0.85, 1.15)
    tx, ty = uniform(-0.25, 0.25), uniform(-0.25, 0.25)  # grid units: 2 = the whole image
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    background = x.mean()
    out = F.grid_sample(x - background, grid, align_corners=False, padding_mode="zeros") + background
    side = max(1, min(h, w) // 2)
    top = (torch.rand(n, generator=generator) * (h - side + 1)).long().to(x.device)
    left = (torch.rand(n, generator=generator) * (w - side + 1)).long().to(x.device)
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    cut = ((rows >= top[:, None, None]) & (rows < (top + side)[:, None, None])
           & (cols >= left[:, None, None]) & (cols < (left + side)[:, None, None]))
    return torch.where(cut[:, None], background, out)


class SemiSupervised(Callback):
    """Train on the unlabeled pool as well as the labels (pseudo-labels, FixMatch or VAT).

    The pool reaches a :class:`~skdfal.SeededNeuralNetClassifier` (what
    :func:`~skdfal.make_classifier` builds) through its fit:
    ``net.fit(X, y, X_unlabeled=pool)``; :class:`~skdfal.ActiveLearner` and
    :class:`~skdfal.ActiveLearningClassifier` pass their pool that way.  Any
    other skorch net takes it as ``pool=``.  Without a pool the callback does
    nothing, so the same net also trains on labels alone.

    Parameters
    ----------
    method : {"fixmatch", "pseudo_label", "vat"}, default="fixmatch"
        The unlabeled loss (see the module's description).
    weight : float > 0, default=1.0
        Its weight beside the labeled loss.
    threshold : float in [0, 1), default=0.95
        Smallest predicted probability of a pseudo-label (not used by VAT).
    min_distance : float >= 0 or None, default=None
        Smallest first-order distance to the boundary, in the module's input
        space, of a sample that gives a pseudo-label; ``None``: no such rule
        (it costs one more backward pass per step).
    ratio : int >= 1, default=3
        Unlabeled samples per labeled one in each step.
    warmup : float in [0, 1), default=0.0
        Share of the fit's steps trained on labels only, so that the first
        pseudo-labels come from a model that has seen the labels.
    vat_eps : float > 0, default=2.0
        Norm of VAT's perturbation (L2, in the module's input space).
    pool : array-like or None, default=None
        The unlabeled pool, for a skorch net whose ``fit`` does not take
        ``X_unlabeled``; ``fit(..., X_unlabeled=...)`` takes precedence.
    random_state : int, default=0
        Seeds the draws of unlabeled batches and augmentations.

    Attributes
    ----------
    last_mask_ : torch.Tensor of bool or None
        Which samples of the last unlabeled batch gave a pseudo-label.
    pseudo_share_ : float
        Share of the fit's unlabeled samples that gave one.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal import make_classifier
    >>> X = np.random.RandomState(0).rand(200, 1, 8, 8).astype(np.float32)
    >>> y = (X.mean(axis=(1, 2, 3)) > 0.5).astype(int)
    >>> net = make_classifier(input_shape=(1, 8, 8), n_classes=2, train_steps=20,
    ...                       semi_supervised="fixmatch")
    >>> net.fit(X[:10], y[:10], X_unlabeled=X[10:]).predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self, method: Literal["fixmatch", "pseudo_label", "vat"] = "fixmatch", weight: float = 1.0,
        threshold: float = 0.95, min_distance: float | None = None, ratio: int = 3, warmup: float = 0.0,
        vat_eps: float = 2.0, pool: Any = None, random_state: int = 0,
    ) -> None:
        self.method = method
        self.weight = weight
        self.threshold = threshold
        self.min_distance = min_distance
        self.ratio = ratio
        self.warmup = warmup
        self.vat_eps = vat_eps
        self.pool = pool
        self.random_state = random_state

    def check(self) -> None:
        """Raise ``ValueError`` naming the first bad parameter (called by every fit)."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {self.method!r}")
        check_positive_real(self.weight, "weight")
        check_positive_real(self.vat_eps, "vat_eps")
        for name in ("threshold", "warmup"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not (isinstance(value, numbers.Real) and 0 <= value < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        if self.min_distance is not None and not (
            isinstance(self.min_distance, numbers.Real) and self.min_distance >= 0
        ):
            raise ValueError(f"min_distance must be None or a number >= 0, got {self.min_distance!r}")
        check_count(self.ratio, "ratio", error=ValueError)
        check_count(self.random_state, "random_state", minimum=0, error=ValueError)

    # ---------------------------------------------------------------- skorch hooks
    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        self.check()
        pool = net.__dict__.get("_X_unlabeled")
        self.pool_ = pool if pool is not None else self.pool
        self.n_pool_ = 0 if self.pool_ is None else len(self.pool_)
        self.rng_ = np.random.RandomState(self.random_state)
        self.generator_ = torch.Generator().manual_seed(int(self.random_state))
        budget = getattr(net, "_step_budget", lambda: None)()
        total = budget.epochs_ * budget.steps_per_epoch_ if budget is not None else 0
        self.warmup_steps_ = int(self.warmup * total)
        self.steps_ = 0
        self.n_seen_ = self.n_taken_ = 0
        self.last_mask_ = None

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        self.pseudo_share_ = self.n_taken_ / self.n_seen_ if self.n_seen_ else 0.0
        self.pool_ = None  # the pool is the caller's: not kept (nor pickled) with the net

    def on_grad_computed(
        self, net: Any, named_parameters: Any = None, X: Any = None, y: Any = None, training: bool = False,
        **kwargs: Any,
    ) -> None:
        if not training or not self.n_pool_:
            return
        self.steps_ += 1
        if self.steps_ <= self.warmup_steps_:
            return
        n = min(self.n_pool_, self.ratio * max(1, len(y) if y is not None else net.batch_size))
        # Sorted positions: a memory-mapped pool reads them front to back.
        index = np.sort(self.rng_.choice(self.n_pool_, size=n, replace=False))
        x = self._inputs(net, index)
        loss = self._vat_loss(net, x) if self.method == "vat" else self._pseudo_label_loss(net, x)
        if loss is not None:
            (float(self.weight) * loss).backward()

    # ---------------------------------------------------------------- the losses
    def _inputs(self, net, index) -> torch.Tensor:
        rows = self.pool_[index]
        transform = getattr(net, "transform_input", None)
        rows = transform(rows) if transform is not None else rows
        return torch.as_tensor(np.asarray(rows) if not isinstance(rows, torch.Tensor) else rows,
                               dtype=torch.float32).to(net.device or "cpu")

    def pseudo_labels(self, net: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(labels, taken)`` for a batch of module inputs: the predicted class, and the rule.

        ``taken`` is ``True`` where the predicted probability reaches
        ``threshold`` and, with ``min_distance``, the first-order distance
        to the boundary reaches ``min_distance``.  The module is read in
        eval mode (no dropout) and left in the mode it was in.
        """
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                proba = torch.softmax(net.infer(x), dim=1)
            confidence, labels = proba.max(dim=1)
            taken = confidence >= float(self.threshold)
            if self.min_distance is not None:
                distance = first_order_distance(net.infer, x)
                taken &= distance >= float(self.min_distance)
        finally:
            # A frozen backbone goes back to eval mode at the net's next forward (its infer).
            module.train(was_training)
        return labels, taken

    def _pseudo_label_loss(self, net, x):
        labels, taken = self.pseudo_labels(net, x)
        self.last_mask_ = taken
        self.n_seen_ += len(taken)
        self.n_taken_ += int(taken.sum())
        if not bool(taken.any()):
            return None
        view = strong_augment(x, self.generator_) if self.method == "fixmatch" else x
        losses = F.cross_entropy(net.infer(view), labels, reduction="none")
        # FixMatch's normalisation: over the whole unlabeled batch, so that a
        # step that trusts few pseudo-labels moves the model little.
        return (losses * taken).sum() / len(taken)

    def _vat_loss(self, net, x):
        with torch.no_grad():
            target = torch.log_softmax(net.infer(x), dim=1)
        d = (1e-6 * _unit(torch.randn(x.shape, generator=self.generator_).to(x.device))).requires_grad_(True)
        # One power iteration: the direction in which the prediction changes most.
        divergence = F.kl_div(torch.log_softmax(net.infer(x + d), dim=1), target,
                              log_target=True, reduction="batchmean")
        (grad,) = torch.autograd.grad(divergence, d)
        r = float(self.vat_eps) * _unit(grad.detach())
        self.n_seen_ += len(x)
        return F.kl_div(torch.log_softmax(net.infer(x + r), dim=1), target,
                        log_target=True, reduction="batchmean")


def _unit(v: torch.Tensor) -> torch.Tensor:
    """Each sample of ``v`` scaled to L2 norm 1 (a zero sample stays zero)."""
    return v / v.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (v.ndim - 1)))
