"""First-order margins: DeepFool's first step, for screening a whole pool cheaply.

Pure torch, like :mod:`skdfal.attacks._deepfool`.  For each sample, the
distance to the nearest of the linearised boundaries between the predicted
class ``c`` and the ``candidates - 1`` classes with the next highest logits,
measured at the clean input::

    margin = (1 + overshoot) * min_j (|f_c - f_j| + step_eps) / ||grad(f_c - f_j)||_q

(``q`` the dual of the attack's norm).  That is the length of DeepFool's first
step restricted to those classes, computed by DeepFool's own step function,
so on an affine model with ``candidates`` covering the nearest boundary it
*is* the exact DeepFool norm.  With ``candidates=2`` it costs one forward and
one backward pass per batch, against about ``1.6 x (1 + n_classes - 1)``
passes for exact all-class DeepFool on a trained CNN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..utils._modules import frozen_eval, module_device_dtype
from ._deepfool import _first_forward, _flat_norm, _linearised_step
from ._params import _check_params

__all__ = ["FirstOrderResult", "first_order_margins"]


@dataclass
class FirstOrderResult:
    """What :func:`first_order_margins` found for each sample.

    Attributes
    ----------
    margins : torch.Tensor of shape (n_samples,)
        First-order distance to the nearest candidate boundary (``inf`` where
        every candidate boundary has a zero gradient: DeepFool cannot move
        such a sample along those classes either).
    labels : torch.LongTensor of shape (n_samples,)
        The model's prediction (argmax of the logits).
    """

    margins: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.margins.shape[0])


def first_order_margins(
    module: nn.Module,
    X: torch.Tensor,
    *,
    candidates: int = 2,
    norm: float = 2,
    overshoot: float = 0.02,
    clip: tuple[float, float] | None = None,
    step_eps: float = 1e-4,
    batch_size: int | None = 256,
) -> FirstOrderResult:
    """First-order (one linearisation) distance of each sample to the decision boundary.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a batch to logits ``(n, n_classes)``; run in eval mode with
        frozen weights (both restored afterwards).
    X : torch.Tensor of shape (n_samples, *input_shape)
        Finite floating-point inputs.
    candidates : int, default=2
        The predicted class and the ``candidates - 1`` runner-up classes (by
        logit) whose boundaries are measured: ``candidates - 1`` backward
        passes per batch.  ``2`` is the gap to the runner-up only.
    norm : {2, inf}, default=2
    overshoot : float, default=0.02
        Scales the distance as DeepFool scales its perturbation.
    clip : (float, float) or None, default=None
        Input box, handled as in DeepFool's steps (coordinates on a bound
        whose gradient points out of the box do not count).
    step_eps : float, default=1e-4
        Added to each linearised distance, as in DeepFool.
    batch_size : int or None, default=256

    Returns
    -------
    FirstOrderResult
        On the device of ``X``.

    Examples
    --------
    On an affine model the first-order margin is the exact distance:

    >>> import torch
    >>> from skdfal.attacks import first_order_margins
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    ...     _ = lin.bias.zero_()
    >>> res = first_order_margins(lin, torch.tensor([[0.5, 3.0]]), overshoot=0.0, step_eps=0.0)
    >>> round(float(res.margins[0]), 3), int(res.labels[0])
    (0.5, 0)
    """
    clip = _check_params(1, overshoot, norm, candidates, batch_size, step_eps, clip)
    if candidates is None:  # the attack's "every class"; the first-order margin needs a count
        raise ValueError("candidates must be an integer >= 2, got None")
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module returning logits, got {type(module).__name__}")
    if not isinstance(X, torch.Tensor) or X.ndim < 2 or not X.is_floating_point():
        raise ValueError("X must be a floating-point torch.Tensor of shape (n_samples, *input_shape)")
    n = X.shape[0]
    if n == 0:
        raise ValueError("X holds no samples")
    if not bool(torch.isfinite(X.reshape(n, -1)).all()):
        raise ValueError("X contains NaN or infinity")
    return first_order_unchecked(
        module, X, candidates=candidates, norm=norm, overshoot=overshoot, clip=clip, step_eps=step_eps,
        batch_size=batch_size,
    )


def first_order_unchecked(
    module, X, *, candidates=2, norm=2, overshoot=0.02, clip=None, step_eps=1e-4, batch_size=256,
) -> FirstOrderResult:
    """:func:`first_order_margins` without its checks, for callers that validated once at their door.

    ``X`` must be a non-empty floating tensor of finite values and ``clip``
    a pair of floats or ``None``.
    """
    n = X.shape[0]
    step = n if batch_size is None else int(batch_size)
    with frozen_eval(module):
        parts = [
            _first_order_batch(
                module, X[start : start + step], int(candidates), float(norm), float(overshoot),
                clip, float(step_eps),
            )
            for start in range(0, n, step)
        ]
    return FirstOrderResult(torch.cat([m for m, _ in parts]), torch.cat([lab for _, lab in parts]))


def _first_order_batch(module, X, candidates, p, overshoot, clip, step_eps):
    out_device = X.device
    device, dtype = module_device_dtype(module)
    x = X.to(device=device, dtype=dtype)
    # DeepFool linearises at the clamped input and attacks the prediction on
    # the raw one; both agree on the labels whenever the clamp is a no-op.
    x_a = (x if clip is None else x.clamp(clip[0], clip[1])).clone().requires_grad_(True)
    with torch.enable_grad():
        logits = _first_forward(module, x_a)
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(
            f"the module must return logits of shape (n_samples, n_classes >= 2); got {tuple(logits.shape)}"
        )
    labels = logits.detach().argmax(1)
    # Column 0 the prediction, then the runner-ups by logit: DeepFool's own
    # class order (a tie with the prediction stays a target, never the label).
    k = min(candidates, logits.shape[1])
    classes = logits.detach().scatter(1, labels[:, None], math.inf).topk(k, dim=1).indices
    dual = 1.0 if p == math.inf else 2.0
    r_step, reachable = _linearised_step(logits, x_a, classes, dual, p, step_eps, clip)
    margins = (1.0 + overshoot) * _flat_norm(r_step.detach(), p)
    margins = torch.where(reachable, margins, torch.full_like(margins, math.inf))
    return margins.to(out_device), labels.to(out_device)
