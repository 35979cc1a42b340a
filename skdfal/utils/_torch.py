"""Find the torch module behind a classifier; numpy <-> torch in one place.

Every query strategy that needs gradients goes through :func:`resolve_torch_model`,
which accepts what users hold in practice: a fitted skorch net, an sklearn
``Pipeline`` ending in one, skdfal's or modAL's active learners wrapping either,
or a bare ``torch.nn.Module``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from torch import nn

from ._modules import module_device_dtype
from ._typing import Device, Rows

__all__ = ["TorchModel", "resolve_torch_model", "to_tensor", "to_numpy", "unwrap_learner"]


@dataclass
class TorchModel:
    """A differentiable model as the attack layer needs it.

    Attributes
    ----------
    module : torch.nn.Module
        Maps net inputs to logits.
    device : torch.device
        Where the module's parameters live.
    dtype : torch.dtype
        The parameters' floating dtype (inputs are cast to it).
    transform : callable or None
        Applies the preprocessing steps of a ``Pipeline`` (numpy in, numpy out)
        and the net's own input preparation (``input_shape`` reshape,
        ``input_scale``) before the module; ``None`` when there are none.
    inverse_transform : callable or None
        Maps module inputs back to the raw input space, when every step can
        (a reshape by the net is left to the caller, who knows the raw shape).
    net : object
        The estimator that owns ``module`` (a skorch net), or the module itself.
    """

    module: nn.Module
    device: torch.device
    dtype: torch.dtype
    transform: Callable | None = None
    inverse_transform: Callable | None = None
    net: object = None

    def as_tensor(self, batch: Rows) -> torch.Tensor:
        """Transform a raw batch and move it to the module's device and dtype."""
        if self.transform is not None:
            batch = self.transform(to_numpy(batch) if isinstance(batch, torch.Tensor) else batch)
        return to_tensor(batch, self.device, self.dtype)


def unwrap_learner(obj: Any) -> Any:
    """Return the estimator inside an skdfal or modAL active learner (else ``obj``).

    skdfal's learners keep their fitted estimator in ``estimator_``; modAL's
    keep it in ``estimator`` next to a ``query_strategy``.
    """
    seen = 0
    while seen < 10:
        seen += 1
        if isinstance(obj, Pipeline) or _is_skorch_net(obj) or isinstance(obj, nn.Module):
            return obj
        if hasattr(obj, "query_strategy") and hasattr(obj, "estimator"):
            fitted = getattr(obj, "estimator_", None)
            obj = fitted if fitted is not None else obj.estimator
            continue
        return obj
    return obj


def _is_skorch_net(obj) -> bool:
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a core dependency
        return False
    return isinstance(obj, NeuralNet)


def _pipeline_maps(pipe: Pipeline):
    head = pipe[:-1]

    def transform(X):
        return head.transform(X)

    inverse = None
    if all(hasattr(step, "inverse_transform") for _, step in head.steps if step != "passthrough"):

        def inverse(X):
            return head.inverse_transform(X)

    return transform, inverse


def _with_net_input(net, transform, inverse):
    """Add a net's own input preparation (reshape, scale) after a pipeline's steps.

    skdfal's :class:`~skdfal.SeededNeuralNetClassifier` reshapes flat rows and
    scales its input inside ``fit`` and ``predict``; a strategy that feeds
    the module directly must do the same, and map adversarial copies back.
    Nets that do neither (skorch's own, or no ``input_shape``/``input_scale``)
    leave the maps as they are.
    """
    prepare = getattr(net, "transform_input", None)
    if prepare is None or (getattr(net, "input_shape", None) is None and getattr(net, "input_scale", None) is None):
        return transform, inverse
    head, head_inverse = transform, inverse
    restore = net.inverse_transform_input

    def transform(X):
        return prepare(X if head is None else head(X))

    if head is None:
        return transform, restore
    if head_inverse is None:
        return transform, None

    def inverse(Xt):
        # Pipeline steps work on flat rows; the net's reshape is undone first.
        X = np.asarray(restore(Xt))
        return head_inverse(X.reshape(len(X), -1) if net.input_shape is not None else X)

    return transform, inverse


def resolve_torch_model(classifier: Any) -> TorchModel:
    """Find the torch module, its device and input transforms behind ``classifier``.

    Parameters
    ----------
    classifier : object
        A fitted skorch ``NeuralNet``, a ``Pipeline`` ending in one, an skdfal
        or modAL active learner wrapping either, or a ``torch.nn.Module``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the net has not been initialised/fitted yet.
    TypeError
        If there is no torch module (e.g. a random forest).
    """
    obj = unwrap_learner(classifier)
    transform = inverse = None
    if isinstance(obj, Pipeline):
        transform, inverse = _pipeline_maps(obj)
        obj = unwrap_learner(obj.steps[-1][1])
    if _is_skorch_net(obj):
        transform, inverse = _with_net_input(obj, transform, inverse)
        if not getattr(obj, "initialized_", False) or not hasattr(obj, "module_"):
            raise NotFittedError(
                f"This {type(obj).__name__} is not fitted yet: call fit (or teach the "
                "learner some labels) before querying with a gradient-based strategy."
            )
        module = obj.module_
        net = obj
    elif isinstance(obj, nn.Module):
        module = net = obj
    else:
        raise TypeError(
            "DFAL needs a differentiable torch model: expected a skorch NeuralNet, a Pipeline "
            f"ending in one, an active learner wrapping either, or a torch.nn.Module; got "
            f"{type(obj).__name__}."
        )
    device, dtype = module_device_dtype(module)
    return TorchModel(module, device, dtype, transform, inverse, net)


def to_tensor(
    batch: npt.ArrayLike | torch.Tensor, device: Device | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """A numpy array or tensor as a tensor of ``dtype`` on ``device``.

    float64 input is cast (skorch modules run in float32), never refused.
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device=device, dtype=dtype)
    arr = np.asarray(batch)
    if arr.dtype == object:
        raise TypeError("the pool holds Python objects; expected a numeric array")
    return torch.as_tensor(arr).to(device=device, dtype=dtype)


def to_numpy(tensor: torch.Tensor | npt.ArrayLike) -> np.ndarray:
    """A tensor (any device, with or without grad) as a numpy array."""
    if isinstance(tensor, torch.Tensor):
        return tensor.detach().cpu().numpy()
    return np.asarray(tensor)
