"""Any torch classifier as the attack needs it: logits out, and a trainable head.

Two things practitioners bring that a bare ``module(x) -> logits`` contract
does not cover:

* modules whose forward returns a tuple ``(logits, ...)`` or an object with
  a ``.logits`` attribute (Hugging Face image models): :func:`logits_of`
  reads the logits out of any of them, and :class:`LogitsOf` wraps a module
  so that everything downstream (DeepFool, the strategies) sees a tensor;
* a pretrained backbone under a trainable head: :func:`find_head` names the
  head (the ``backbone``/``head`` attribute convention, a layer name, or the
  last ``nn.Linear``), and :func:`head_inputs` runs the whole module once
  and catches what the head receives, the embedding in which head-space
  DeepFool measures its margin.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

__all__ = ["LogitsOf", "check_head_output", "find_head", "head_inputs", "logits_of", "unwrap_logits"]


def logits_of(output: object) -> torch.Tensor:
    """The logits in a module's output: the tensor itself, ``.logits``, ``["logits"]`` or ``output[0]``.

    Raises
    ------
    TypeError
        When none of these is a tensor.

    Examples
    --------
    >>> import torch
    >>> from skdfal.utils import logits_of
    >>> z = torch.zeros(2, 3)
    >>> logits_of(z) is z, logits_of((z, "features")) is z
    (True, True)
    """
    if isinstance(output, torch.Tensor):
        return output
    # Hugging Face's ModelOutput is a dict with attribute access: the
    # attribute is tried first, so that its first entry (a loss when labels
    # were given) is never taken for the logits.
    found = getattr(output, "logits", None)
    if found is None and isinstance(output, dict):
        found = output.get("logits")
    if found is None and isinstance(output, (tuple, list)) and output:
        found = output[0]
    if isinstance(found, torch.Tensor):
        return found
    raise TypeError(
        "the torch module must return logits: a tensor, a tuple whose first item is one, or an "
        f"object with a .logits tensor (Hugging Face); got {type(output).__name__}"
    )


class LogitsOf(nn.Module):
    """``module`` with its output reduced to logits by :func:`logits_of`.

    The wrapped module is the only child, so its parameters, buffers and
    layers are the wrapper's (``modules()``, ``eval()``, hooks all reach them).

    Parameters
    ----------
    module : torch.nn.Module
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.wrapped = module

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return logits_of(self.wrapped(*args, **kwargs))


def unwrap_logits(module: nn.Module) -> nn.Module:
    """The module inside a :class:`LogitsOf` (``module`` itself otherwise)."""
    while isinstance(module, LogitsOf):
        module = module.wrapped
    return module


def find_head(module: nn.Module, head: str | None = None) -> tuple[str, nn.Module]:
    """The trainable head of ``module``: ``(name, layer)``.

    Parameters
    ----------
    module : torch.nn.Module
    head : str or None, default=None
        The head's name as ``module.get_submodule`` takes it (``"fc"`` for a
        torchvision ResNet, ``"classifier"`` for skdfal's LeNet5 or a Hugging
        Face model, ``"head.fc"``...).  ``None``: the ``head`` attribute of a
        module that also has a ``backbone`` (see :class:`~skdfal.models.BackboneHead`),
        else the last ``nn.Linear`` in the module's layer order.

    Raises
    ------
    ValueError
        For a name that is not a layer of ``module``, the whole module, or a
        module without any ``nn.Linear`` when ``head`` is ``None``.
    """
    module = unwrap_logits(module)
    if head is not None:
        if not isinstance(head, str) or not head:
            raise ValueError(f"head must be the name of a layer of the module or None, got {head!r}")
        try:
            layer = module.get_submodule(head)
        except AttributeError:
            children = [name for name, _ in module.named_children()]
            raise ValueError(
                f"head={head!r} is not a layer of {type(module).__name__} (its top-level layers: "
                f"{', '.join(children) or 'none'})"
            ) from None
        return head, layer
    if isinstance(getattr(module, "head", None), nn.Module) and isinstance(getattr(module, "backbone", None), nn.Module):
        return "head", module.head
    last = None
    for name, layer in module.named_modules():
        if isinstance(layer, nn.Linear) and name:
            last = name, layer
    if last is None:
        raise ValueError(
            f"{type(module).__name__} has no backbone/head attributes and no nn.Linear layer: "
            "name its head with head='layer name'"
        )
    return last


@contextmanager
def head_inputs(module: nn.Module, head: str | None = None) -> Iterator[dict]:
    """While open, every forward of ``module`` records the input and output of its head.

    Yields a dict that gets ``"name"``, ``"layer"`` and, after each forward,
    ``"inputs"`` (the head's first positional input) and ``"outputs"``;
    ``"calls"`` counts the head's calls since the last :func:`check_head_output`.
    """
    name, layer = find_head(module, head)
    seen: dict = {"name": name, "layer": layer, "calls": 0}

    def hook(_, args, output):
        seen["calls"] += 1
        seen["inputs"] = args[0] if args else None
        seen["outputs"] = output

    handle = layer.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def check_head_output(seen: dict, logits: torch.Tensor, owner: str) -> torch.Tensor:
    """The embedding the head got, once it is clear the head alone made ``logits``.

    Head-space DeepFool attacks ``head(z)``: that must be the whole model's
    output, not an intermediate layer's (a softmax or a second layer after
    it would make the margin one of another function).
    """
    calls, seen["calls"] = seen["calls"], 0
    name = seen["name"]
    if calls != 1:
        raise ValueError(
            f"the head {name!r} of {owner} ran {calls} times in one forward pass; head-space DFAL "
            "needs a head that runs once (name it with head='layer name')"
        )
    z, out = seen.pop("inputs"), seen.pop("outputs")
    if not isinstance(z, torch.Tensor):
        raise ValueError(f"the head {name!r} of {owner} does not take a tensor as its first input")
    out = logits_of(out) if not isinstance(out, torch.Tensor) else out
    if out.shape != logits.shape or not torch.equal(out, logits):
        raise ValueError(
            f"the layer {name!r} of {owner} does not produce the module's logits (its forward does "
            "more after it): head-space DFAL needs the last layer, named with head='layer name'"
        )
    return z
