"""Torch modules as the attack and the strategies use them: frozen, on one device."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ._typing import Device

__all__ = ["check_device", "frozen_eval", "modes_kept", "module_device_dtype"]


@contextmanager
def modes_kept(*modules: nn.Module) -> Iterator[None]:
    """Give every submodule of ``modules`` back its own train/eval mode on exit.

    Each submodule's, not the top one's applied to all: a wrapper built in
    train mode (``LogitsOf``) around a net in eval mode must not switch the
    net to train.
    """
    modes = [(m, m.training) for module in modules for m in module.modules()]
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


@contextmanager
def frozen_eval(module: nn.Module) -> Iterator[nn.Module]:
    """Put ``module`` in eval mode with frozen weights; restore both on exit.

    Dropout and batch-norm must behave as at prediction time while we
    differentiate, and freezing the weights keeps autograd from building the
    parameter part of the graph (faster, and ``.grad`` stays untouched).
    """
    flags = [(p, p.requires_grad) for p in module.parameters()]
    with modes_kept(module):
        module.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        try:
            yield module
        finally:
            for p, flag in flags:
                p.requires_grad_(flag)


def module_device_dtype(module: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of a module's first floating parameter or buffer."""
    for tensor in list(module.parameters()) + list(module.buffers()):
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return torch.device("cpu"), torch.get_default_dtype()


def check_device(device: Device | None, name: str = "device") -> Device | None:
    """``device`` if torch can use it on this machine, else a ``ValueError`` naming ``name``.

    A skorch net given an unusable device only fails at its first fit, with
    torch's message; checking when the estimator is built says at once what
    to change.  ``None`` (skorch: leave the module where it is) passes.

    Examples
    --------
    >>> from skdfal.utils import check_device
    >>> check_device("cpu")
    'cpu'
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device='gpu' is not a torch device (e.g. 'cpu', 'cuda', 'cuda:1', 'mps')
    """
    if device is None:
        return None
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"{name}={device!r} is not a torch device (e.g. 'cpu', 'cuda', 'cuda:1', 'mps')"
        ) from None
    if parsed.type == "cpu" or parsed.type == "meta":
        return device
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{name}={device!r} but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use device='cpu'"
            )
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise ValueError(f"{name}={device!r} but this machine has {count} CUDA device(s)")
        return device
    backend = getattr(torch.backends, parsed.type, None) or getattr(torch, parsed.type, None)
    available = getattr(backend, "is_available", None)
    if available is not None and not available():
        raise ValueError(f"{name}={device!r} but no {parsed.type} device is available on this machine")
    return device
