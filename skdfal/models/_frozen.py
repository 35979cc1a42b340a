"""Frozen backbones and per-channel normalisation for :class:`SeededNeuralNetClassifier`."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..utils._heads import find_head

__all__ = ["backbone_eval", "channel_stats", "fit_channel_stats", "freeze_backbone"]


def _check_channel_stats(values, name):
    """Per-channel means or standard deviations as a float32 vector (``None`` and ``"auto"`` pass)."""
    if values is None or (isinstance(values, str) and values == "auto"):
        return values
    arr = np.asarray(values, dtype=object if isinstance(values, (str, bytes)) else None)
    if arr.ndim != 1 or not arr.size or arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
        raise ValueError(f"{name} must be a sequence of numbers, one per channel, 'auto' or None, got {values!r}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all() or (name == "input_std" and (arr <= 0).any()):
        limit = "positive finite" if name == "input_std" else "finite"
        raise ValueError(f"{name} must hold {limit} numbers, got {values!r}")
    return arr.astype(np.float32)


def fit_channel_stats(X):
    """Mean and standard deviation of each channel (axis 1) of ``X``, as float32 vectors.

    A constant channel gets a standard deviation of 1 (it is only centred).

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.models._frozen import fit_channel_stats
    >>> X = np.stack([np.full((2, 2), 3.0), np.arange(4.0).reshape(2, 2)])[None].repeat(2, 0)
    >>> [[round(float(v), 3) for v in s] for s in fit_channel_stats(X)]
    [[3.0, 1.5], [1.0, 1.118]]
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.ndim < 2 or not len(X):
        raise ValueError(f"input_mean='auto' needs samples with a channel axis, got shape {X.shape}")
    axes = (0,) + tuple(range(2, X.ndim))
    # Accumulated in float64 without a float64 copy of the training set.
    mean, std = X.mean(axis=axes, dtype=np.float64), X.std(axis=axes, dtype=np.float64)
    std[std < 1e-6] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def channel_stats(X, input_mean, input_std, *, checked=None):
    """``input_mean`` and ``input_std`` shaped to broadcast over ``X``'s channel axis (or ``None``).

    ``checked``: the two as :func:`_check_channel_stats` returned them, when
    the caller has checked them already (the net does so once, not per batch).
    """
    if checked is None:
        checked = (_check_channel_stats(input_mean, "input_mean"), _check_channel_stats(input_std, "input_std"))
    stats = list(checked)
    if stats[0] is None and stats[1] is None:
        return None, None
    n_channels = next(len(s) for s in stats if s is not None)
    if any(s is not None and len(s) != n_channels for s in stats):
        raise ValueError(
            f"input_mean and input_std must have one value per channel each, got {input_mean!r} "
            f"and {input_std!r}"
        )
    if X.ndim < 2 or X.shape[1] != n_channels:
        raise ValueError(
            f"input_mean/input_std have {n_channels} channels but X samples have shape "
            f"{tuple(X.shape[1:])} (channels first; set input_shape to reshape flat rows)"
        )
    shape = (1, n_channels) + (1,) * (X.ndim - 2)
    out = []
    for s in stats:
        if s is not None and isinstance(X, torch.Tensor):
            s = torch.as_tensor(s, device=X.device, dtype=X.dtype)
        out.append(None if s is None else s.reshape(shape))
    return out[0], out[1]


def _head_layers(module, head):
    """The head's layers (a set, by identity)."""
    try:
        _, layer = find_head(module, head)
    except ValueError as exc:
        raise ValueError(f"freeze=True needs the module's head: {exc}") from None
    return set(layer.modules())


def freeze_backbone(module: nn.Module, head: str | None) -> None:
    """``requires_grad=False`` on every parameter outside the head."""
    keep = _head_layers(module, head)
    for layer in module.modules():
        if layer not in keep:
            for param in layer.parameters(recurse=False):
                param.requires_grad_(False)


def backbone_eval(module: nn.Module, head: str | None) -> None:
    """Eval mode for every layer outside the head, layer by layer (``eval()`` would
    recurse into the head): the backbone's dropout and batch-norm statistics stay put."""
    keep = _head_layers(module, head)
    for layer in module.modules():
        if layer not in keep:
            layer.training = False
