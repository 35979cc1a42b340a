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
from skorch.utils import to_numpy
from torch import nn

from ._heads import LogitsOf, check_head_output, find_head, head_inputs, unwrap_logits
from ._modules import frozen_eval, module_device_dtype
from ._typing import Device, Rows

__all__ = [
    "TorchModel",
    "final_step",
    "head_space_model",
    "is_torch_net",
    "resolve_torch_model",
    "to_tensor",
    "unwrap_learner",
]


@dataclass
class TorchModel:
    """A differentiable model as the attack layer needs it.

    Attributes
    ----------
    module : torch.nn.Module
        Maps net inputs to logits (a module returning a tuple or an object
        with ``.logits`` comes wrapped in a :class:`~skdfal.utils.LogitsOf`).
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
    """Return the estimator inside an active learner or query context (else ``obj``).

    An object whose class defines ``query_context()`` (skdfal's learners,
    :class:`~skdfal.strategies.QueryContext` itself, your own) is asked for
    its context, whose ``estimator`` is the model; modAL's learners, which
    have no such hook, keep the model in ``estimator`` next to a
    ``query_strategy``.  Nothing here reads a learner's private state, and
    no attribute read trains a model.
    """
    seen = 0
    while seen < 10:
        seen += 1
        if isinstance(obj, Pipeline) or _is_skorch_net(obj) or isinstance(obj, nn.Module):
            return obj
        if callable(getattr(type(obj), "query_context", None)):
            obj = obj.query_context().estimator
            continue
        if is_modal_learner(obj):
            obj = obj.estimator
            continue
        return obj
    return obj


def _is_skorch_net(obj) -> bool:
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a core dependency
        return False
    return isinstance(obj, NeuralNet)


def is_modal_learner(obj) -> bool:
    """modAL's protocol: a ``query_strategy`` beside an ``estimator`` (class or instance attributes).

    Asked of the attributes' presence only: a property named ``estimator``
    is not read (reading one may fit a model).
    """
    return hasattr(obj, "query_strategy") and "estimator" in (*vars(type(obj)), *getattr(obj, "__dict__", ()))


def final_step(estimator: Any) -> Any:
    """The last step of a ``Pipeline``, through any nesting (the estimator itself otherwise)."""
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def is_torch_net(estimator: Any) -> bool:
    """Whether ``estimator`` is a skorch net or a ``Pipeline`` (nested or not) ending in one.

    The one answer to "is this a torch net?" that the learner (which picks
    DFAL for such a model), the uncertainty strategies and
    :func:`resolve_torch_model` share.
    """
    return _is_skorch_net(final_step(estimator))


def _pipeline_maps(pipe: Pipeline):
    """``(transform, inverse, final)`` of a Pipeline: every step but the last, through nested Pipelines."""
    heads = []
    while isinstance(pipe, Pipeline):
        heads.append(pipe[:-1])
        pipe = unwrap_learner(pipe.steps[-1][1])

    def transform(X):
        for head in heads:
            X = head.transform(X)
        return X

    inverse = None
    if all(hasattr(step, "inverse_transform") for head in heads for _, step in head.steps if step != "passthrough"):

        def inverse(X):
            for head in reversed(heads):
                X = head.inverse_transform(X)
            return X

    return transform, inverse, pipe


def _with_net_input(net, transform, inverse):
    """Add a net's own input preparation (reshape, scale) after a pipeline's steps.

    skdfal's :class:`~skdfal.SeededNeuralNetClassifier` reshapes flat rows,
    scales and normalises its input inside ``fit`` and ``predict``; a strategy that feeds
    the module directly must do the same, and map adversarial copies back.
    Nets that do neither (skorch's own, or no ``input_shape``/``input_scale``)
    leave the maps as they are.
    """
    prepare = getattr(net, "transform_input", None)
    if prepare is None or all(
        getattr(net, name, None) is None for name in ("input_shape", "input_scale", "input_mean", "input_std")
    ):
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
        A fitted skorch ``NeuralNet``, a ``Pipeline`` (nested or not) ending
        in one, an skdfal or modAL active learner or a query context wrapping
        either, or a ``torch.nn.Module``.

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
        transform, inverse, obj = _pipeline_maps(obj)
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
    # Tuples and Hugging Face outputs become logits here, once, for every
    # strategy and the attack (a tensor output passes through unchanged).
    return TorchModel(LogitsOf(unwrap_logits(module)), device, dtype, transform, inverse, net)


def head_space_model(classifier: Any, head: str | None = None, *, cached: bool = True) -> TorchModel:
    """The head of ``classifier`` as a model of its own, fed with the backbone's embeddings.

    The returned model's ``module`` is the head, and its ``transform`` maps a
    raw batch to the head's input: the whole net runs forward once on it
    (eval mode, no gradients, its own input preparation first) and the
    embedding is caught on its way into the head.  DeepFool on this model
    measures margins in the embedding space: distances between feature
    vectors, not between images.

    Parameters
    ----------
    classifier : object
        As for :func:`resolve_torch_model`.
    head : str or None, default=None
        The head's layer name (see :func:`~skdfal.utils.find_head`).
    cached : bool, default=True
        Read the embeddings from the net's cache when it keeps one (a
        :class:`~skdfal.SeededNeuralNetClassifier` with a frozen backbone,
        given directly rather than in a ``Pipeline``): the backbone then runs
        only on samples it has not met.  ``False``: always run the net.

    Raises
    ------
    ValueError
        When the named layer is not the last one (its output is not the
        net's logits), or runs more than once per forward.
    """
    full = resolve_torch_model(classifier)
    inner = unwrap_logits(full.module)
    owner = type(inner).__name__

    def embed(batch):
        x = to_tensor(batch, full.device, full.dtype) if full.transform is None else full.as_tensor(batch)
        with head_inputs(inner, head) as seen, frozen_eval(full.module), torch.no_grad():
            logits = full.module(x)
            return check_head_output(seen, logits, owner).detach()

    _, layer = find_head(inner, head)
    device, dtype = module_device_dtype(layer)
    if next(iter(layer.parameters()), None) is None:
        device, dtype = full.device, full.dtype
    # The net's own cache (duck-typed: models sit above utils); a Pipeline's
    # steps would make the keys differ from what the net met in fit.
    lookup = getattr(full.net, "embedding_lookup", None)
    if cached and callable(lookup) and not isinstance(unwrap_learner(classifier), Pipeline):
        lookup = lookup(head)
        if lookup is not None:
            embed = lookup
    return TorchModel(LogitsOf(layer), device, dtype, embed, None, full.net)


#: Words of torch's messages for inputs the layers cannot take (conv channels,
#: linear widths, reshapes, ranks): what "the samples do not fit the net" means.
_SHAPE_WORDS = ("shape", "size", "channel", "dimension", "dim ", "expected input", "expected 2d", "expected 3d",
                "expected 4d", "unbatched")
#: ... and of the errors that are not about the samples at all.
_NOT_SHAPE_WORDS = ("out of memory", "allocate", "device", "dtype", "scalar type", "cuda", "cudnn")


def is_shape_error(exc: BaseException) -> bool:
    """Whether a ``RuntimeError`` from a forward pass says the input's shape does not fit the module.

    Out of memory, a device or dtype mismatch and any other failure are not
    shape errors: they must reach the user as torch raised them.
    """
    if isinstance(exc, torch.cuda.OutOfMemoryError) or not isinstance(exc, RuntimeError):
        return False
    message = str(exc).lower()
    if any(word in message for word in _NOT_SHAPE_WORDS):
        return False
    return any(word in message for word in _SHAPE_WORDS)


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
