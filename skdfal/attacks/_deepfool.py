"""Batched multi-class DeepFool (Moosavi-Dezfooli, Fawzi & Frossard, CVPR 2016).

Pure torch: this module knows nothing of scikit-learn or numpy. It takes a
``torch.nn.Module`` that maps a batch of inputs to logits and a tensor of
inputs, and returns tensors.

Numerical choices (each one measured on trained CNNs, see the project docs):

* the overshoot multiplies the *total* perturbation, ``x + (1 + overshoot) * r``,
  and every step adds a tiny constant (``step_eps``) to the linearised
  distance, so a sample lands just past the boundary instead of on it.  With
  these, trained CNNs flip in 2-3 iterations; the per-step overshoot variant
  spins to ``max_iter`` on a sizeable share of samples;
* the attacked label is the model's own prediction, never a true label;
* the predicted class is removed *before* the argmin (its difference vector is
  zero and ``0 / 0`` would give a NaN that ``argmin`` happily picks);
* weights are frozen and gradients come from ``torch.autograd.grad`` on the
  input only, so parameters' ``.grad`` are never touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..utils._heads import unwrap_logits
from ..utils._modules import frozen_eval, module_device_dtype
from ..utils._torch import is_shape_error
from ._params import _check_params

__all__ = ["DeepFoolResult", "deepfool", "deepfool_unchecked"]


@dataclass
class DeepFoolResult:
    """What :func:`deepfool` found for each sample of a batch.

    Attributes
    ----------
    perturbations : torch.Tensor or None
        ``x_adv - x``, same shape as the input (``None`` when the caller asked
        for norms only).  Zero for samples that never flipped.
    norms : torch.Tensor of shape (n_samples,)
        Norm (``norm``) of each perturbation; ``inf`` where the prediction
        never flipped within ``max_iter`` iterations.
    labels : torch.LongTensor of shape (n_samples,)
        The model's prediction on the clean input (the attacked label).
    adversarial_labels : torch.LongTensor of shape (n_samples,)
        The prediction on ``x + perturbations``; equals ``labels`` where the
        attack did not converge.
    n_iter : torch.LongTensor of shape (n_samples,)
        Gradient steps taken per sample.
    converged : torch.BoolTensor of shape (n_samples,)
        Whether the prediction flipped.
    """

    perturbations: torch.Tensor | None
    norms: torch.Tensor
    labels: torch.Tensor
    adversarial_labels: torch.Tensor
    n_iter: torch.Tensor
    converged: torch.Tensor

    def __len__(self) -> int:
        return int(self.norms.shape[0])

    @classmethod
    def concatenate(cls, parts: list[DeepFoolResult]) -> DeepFoolResult:
        """Join the results of consecutive batches, in order."""
        if not parts:
            raise ValueError("cannot concatenate an empty list of DeepFool results")
        perts = None
        if all(p.perturbations is not None for p in parts):
            perts = torch.cat([p.perturbations for p in parts])
        return cls(
            perturbations=perts,
            norms=torch.cat([p.norms for p in parts]),
            labels=torch.cat([p.labels for p in parts]),
            adversarial_labels=torch.cat([p.adversarial_labels for p in parts]),
            n_iter=torch.cat([p.n_iter for p in parts]),
            converged=torch.cat([p.converged for p in parts]),
        )


def _flat_norm(v: torch.Tensor, p: float) -> torch.Tensor:
    return torch.linalg.vector_norm(v.flatten(1), ord=p, dim=1)


def deepfool(
    module: nn.Module,
    X: torch.Tensor,
    *,
    max_iter: int = 50,
    overshoot: float = 0.02,
    norm: float = 2,
    candidates: int | None = None,
    batch_size: int | None = 256,
    clip: tuple[float, float] | None = None,
    step_eps: float = 1e-4,
    return_perturbations: bool = True,
) -> DeepFoolResult:
    """Smallest DeepFool perturbation that changes each sample's prediction.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a batch ``(n, *input_shape)`` to logits ``(n, n_classes)``.  Runs
        in eval mode with frozen weights; its mode and ``requires_grad`` flags
        are restored afterwards.
    X : torch.Tensor of shape ``(n_samples, *input_shape)``
        Inputs.  Moved, batch by batch, to the module's device and dtype.
    max_iter : int, default=50
        Gradient steps at most per sample.
    overshoot : float, default=0.02
        The returned perturbation is ``(1 + overshoot)`` times the accumulated
        linearised steps.
    norm : {2, inf}, default=2
        Norm minimised and reported.
    candidates : int or None, default=None
        ``None`` considers every class; ``k`` only the ``k`` classes with the
        highest initial logits (the predicted one included): fewer backward
        passes, at the price of sometimes missing the nearest boundary.
    batch_size : int or None, default=256
        Samples attacked at once (bounds memory); ``None`` attacks all of ``X``.
    clip : (float, float) or None, default=None
        Bounds applied to the adversarial input, e.g. ``(0, 1)`` for images.
    step_eps : float, default=1e-4
        Constant added to each step's linearised distance.
    return_perturbations : bool, default=True
        ``False`` keeps only per-sample figures (norms, labels), for scoring
        large pools.

    Returns
    -------
    DeepFoolResult
        On the device of ``X``.

    Examples
    --------
    >>> import torch
    >>> from skdfal import deepfool
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    ...     _ = lin.bias.zero_()
    >>> res = deepfool(lin, torch.tensor([[0.5, 3.0]]), overshoot=0.0)
    >>> round(float(res.norms[0]), 3)   # distance to the boundary x0 = 0
    0.5
    >>> int(res.labels[0]), int(res.adversarial_labels[0])
    (0, 1)
    """
    clip = _check_params(max_iter, overshoot, norm, candidates, batch_size, step_eps, clip)
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module returning logits, got {type(module).__name__}")
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (n_samples, *input_shape), got {tuple(X.shape)}")
    n = X.shape[0]
    if n == 0:
        raise ValueError("X holds no samples")
    if not X.is_floating_point():
        raise ValueError(f"X must hold floating-point values, got dtype {X.dtype}")
    finite = torch.isfinite(X.reshape(n, -1)).all(1)
    if not bool(finite.all()):
        bad = int((~finite).nonzero()[0, 0])
        raise ValueError(f"X contains NaN or infinity (first at sample {bad})")
    return deepfool_unchecked(
        module, X, max_iter=max_iter, overshoot=overshoot, norm=norm, candidates=candidates,
        batch_size=batch_size, clip=clip, step_eps=step_eps, return_perturbations=return_perturbations,
    )


def deepfool_unchecked(module, X, *, max_iter=50, overshoot=0.02, norm=2, candidates=None, batch_size=256,
                       clip=None, step_eps=1e-4, return_perturbations=True) -> DeepFoolResult:
    """:func:`deepfool` for callers that checked its parameters once (:func:`check_deepfool_params`)
    and each batch as they read it: ``X`` a non-empty floating tensor of finite values, ``clip``
    floats or ``None``.  Checking again per batch would repeat the work (on CUDA, a host sync)."""
    n = X.shape[0]
    step = n if batch_size is None else int(batch_size)
    with frozen_eval(module):
        parts = [
            _deepfool_batch(
                module,
                X[start : start + step],
                max_iter=int(max_iter),
                overshoot=float(overshoot),
                p=float(norm),
                candidates=None if candidates is None else int(candidates),
                clip=clip,
                step_eps=float(step_eps),
                keep=return_perturbations,
            )
            for start in range(0, n, step)
        ]
    return DeepFoolResult.concatenate(parts)


def _deepfool_batch(module, X, *, max_iter, overshoot, p, candidates, clip, step_eps, keep):
    out_device = X.device
    device, dtype = module_device_dtype(module)
    x0 = X.to(device=device, dtype=dtype)
    n = x0.shape[0]

    # The first linearisation point is the clean input (clamped into the box):
    # when the clamp changes nothing, its forward pass also gives the
    # attacked labels, saving a forward per batch.
    x_start = x0 if clip is None else x0.clamp(clip[0], clip[1])
    x_a = x_start.clone().requires_grad_(True)
    with torch.enable_grad():
        logits = _first_forward(module, x_a)
    if logits.ndim != 2:
        raise ValueError(
            f"the module must return logits of shape (n_samples, n_classes); got {tuple(logits.shape)}"
        )
    if clip is None or torch.equal(x_start, x0):
        logits0 = logits.detach()
    else:
        with torch.no_grad():
            logits0 = module(x0)
    n_classes = logits0.shape[1]
    if n_classes < 2:
        raise ValueError("DeepFool needs a module with at least 2 output classes")
    k = n_classes if candidates is None else min(candidates, n_classes)
    # Classes ordered by initial logit: column 0 is the prediction (the label
    # we attack), columns 1..k-1 the candidate targets.  The prediction is
    # argmax's, as in the flip test below: on tied logits topk may order the
    # tie otherwise, and a zero perturbation would then count as a flip.
    labels = logits0.argmax(1)
    ranked = logits0.scatter(1, labels[:, None], math.inf)
    classes = ranked.topk(k, dim=1).indices
    dual = 1.0 if p == math.inf else 2.0  # ||.||_q with 1/p + 1/q = 1

    r_tot = torch.zeros_like(x0)
    n_iter = torch.zeros(n, dtype=torch.long, device=device)
    converged = torch.zeros(n, dtype=torch.bool, device=device)
    # Rows whose linearisation reaches no boundary (every gradient difference
    # zero: dead ReLUs, a constant model) can never flip: they stop, are
    # reported as not converged with an infinite norm, and get no copy.
    stuck = torch.zeros(n, dtype=torch.bool, device=device)
    adv_labels = labels.clone()
    active = torch.arange(n, device=device)
    scale = 1.0 + overshoot

    def adversarial(idx):
        x_adv = x0[idx] + scale * r_tot[idx]
        return x_adv if clip is None else x_adv.clamp(clip[0], clip[1])

    for it in range(max_iter + 1):
        if it > 0:
            pred = logits.detach().argmax(1)
            flipped = pred != labels[active]
            # Masked writes instead of boolean indexing: no device->host sync.
            converged[active] = flipped
            adv_labels[active] = torch.where(flipped, pred, labels[active])
            # The only sync of the iteration: the stop test needs it anyway.
            # (At it == 0 the input is the clean one: a tie between top logits
            # must not count as a flip, so nothing is tested.)
            done = flipped | stuck[active]
            n_still = int(active.numel() - done.sum())
        else:
            n_still = active.numel()
        if n_still == 0 or it == max_iter:
            break
        if n_still < active.numel():
            # Backward passes cost ~k forwards each: re-run the forward on the
            # samples still in play rather than backpropagating through rows
            # that have already flipped (or are stuck).  A stable sort puts
            # the rows still in play first, in order, without a second sync.
            rows = torch.argsort(done.to(torch.uint8), stable=True)[:n_still]
            active = active[rows]
            x_a = adversarial(active).requires_grad_(True)
            with torch.enable_grad():
                logits = module(x_a)
        r_step, reachable = _linearised_step(logits, x_a, classes[active], dual, p, step_eps, clip)
        stuck[active] |= ~reachable
        r_tot[active] += r_step
        n_iter[active] += 1
        x_a = adversarial(active).requires_grad_(True)
        with torch.enable_grad():
            logits = module(x_a)

    x_final = x0 + scale * r_tot
    if clip is not None:
        x_final = x_final.clamp(clip[0], clip[1])
    pert = torch.where(converged.view(-1, *[1] * (x0.ndim - 1)), x_final - x0, torch.zeros_like(x0))
    norms = _flat_norm(pert, p)
    norms = torch.where(converged, norms, torch.full_like(norms, math.inf))
    return DeepFoolResult(
        perturbations=pert.detach().to(out_device) if keep else None,
        norms=norms.detach().to(out_device),
        labels=labels.to(out_device),
        adversarial_labels=adv_labels.to(out_device),
        n_iter=n_iter.to(out_device),
        converged=converged.to(out_device),
    )


def _first_forward(module, x):
    """``module(x)``, a sample shape the module cannot take said in the user's terms.

    Later forwards see the same shape, so only the first is guarded.  Only
    shape errors are relabelled: running out of memory, a device or dtype
    mismatch and any other failure stay what torch said.
    """
    try:
        return module(x)
    except RuntimeError as exc:
        if not is_shape_error(exc):
            raise
        raise ValueError(
            f"X samples of shape {tuple(x.shape[1:])} do not fit the module "
            f"{type(unwrap_logits(module)).__name__}: {exc}"
        ) from exc


def _linearised_step(logits, x_a, classes, dual, p, step_eps, clip=None):
    """One DeepFool step for every row: towards the nearest linearised boundary.

    Returns the step and, per row, whether any boundary was reachable (a
    row with no usable gradient gets a zero step and ``False``).

    ``classes[:, 0]`` is the attacked label, ``classes[:, 1:]`` the targets.
    One backward pass per target column over the shared forward graph; the
    best target is kept on the fly so memory stays at one input-sized buffer.

    With ``clip``, coordinates sitting on a bound whose gradient points out of
    the box are frozen: the clamp would undo any step along them, so the
    linearised distance is measured inside the box.  Without this, images
    with many saturated pixels (MNIST's black background) spend most of their
    step outside the box and need several times more iterations.
    """
    if clip is not None:
        x_now = x_a.detach()
        at_lo, at_hi = x_now <= clip[0], x_now >= clip[1]
    f_label = logits.gather(1, classes[:, :1]).squeeze(1)
    n_targets = classes.shape[1] - 1
    best_dist = torch.full_like(f_label, math.inf)
    best_f = torch.zeros_like(f_label)
    best_w = torch.zeros_like(x_a)
    view = (-1,) + (1,) * (x_a.ndim - 1)
    for j in range(1, n_targets + 1):
        f_diff = logits.gather(1, classes[:, j : j + 1]).squeeze(1) - f_label
        (w,) = torch.autograd.grad(f_diff.sum(), x_a, retain_graph=j < n_targets)
        if clip is not None:
            # Moving along +w raises f_diff (< 0) towards the boundary.
            w = w.masked_fill((at_lo & (w < 0)) | (at_hi & (w > 0)), 0.0)
        w_norm = _flat_norm(w, dual)
        f_abs = f_diff.detach().abs()
        # A zero gradient difference means this boundary is unreachable by
        # linearisation; treat it as infinitely far instead of dividing 0/0.
        dist = torch.where(w_norm > 0, f_abs / w_norm.clamp_min(1e-30), torch.full_like(f_abs, math.inf))
        better = dist < best_dist
        best_dist = torch.where(better, dist, best_dist)
        best_f = torch.where(better, f_abs, best_f)
        best_w = torch.where(better.view(view), w, best_w)
    w_norm = _flat_norm(best_w, dual)
    reachable = torch.isfinite(best_dist) & (w_norm > 0)
    # Divide by the norm once (never its square, which underflows in float32
    # for tiny gradients and turns 0 * inf into NaN).
    coef = (best_f + step_eps) / torch.where(reachable, w_norm, torch.ones_like(w_norm))
    if p == math.inf:
        step = coef.view(view) * best_w.sign()
    else:
        step = coef.view(view) * (best_w / torch.where(reachable, w_norm, torch.ones_like(w_norm)).view(view))
    reachable &= torch.isfinite(step.flatten(1)).all(1)
    return torch.where(reachable.view(view), step, torch.zeros_like(step)), reachable
