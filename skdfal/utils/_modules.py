"""Torch modules as the attack and the strategies use them: frozen, on one device."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["frozen_eval", "module_device_dtype"]


@contextmanager
def frozen_eval(module: nn.Module):
    """Put ``module`` in eval mode with frozen weights; restore both on exit.

    Dropout and batch-norm must behave as at prediction time while we
    differentiate, and freezing the weights keeps autograd from building the
    parameter part of the graph (faster, and ``.grad`` stays untouched).
    """
    was_training = module.training
    flags = [(p, p.requires_grad) for p in module.parameters()]
    module.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        module.train(was_training)


def module_device_dtype(module: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of a module's first floating parameter or buffer."""
    for tensor in list(module.parameters()) + list(module.buffers()):
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return torch.device("cpu"), torch.get_default_dtype()
