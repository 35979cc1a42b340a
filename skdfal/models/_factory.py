"""``make_classifier``: a skorch net set up for active learning, every argument checked."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from ..utils._errors import is_out_of_memory
from ..utils._modules import check_device
from ..utils._typing import Device
from ..utils._validation import check_count, check_positive_real
from ._cached_head import check_embedding_cache
from ._classifier import SeededNeuralNetClassifier
from ._input import _check_input_shape, _check_scale
from ._nets import VGG8, LeNet5
from ._semi import METHODS, SemiSupervised
from ._training import RandomShift, StepBudget

__all__ = ["make_classifier"]

_NAMED = {"lenet5": LeNet5, "vgg8": VGG8}


def make_classifier(
    module: str | type[nn.Module] | nn.Module = "lenet5",
    *,
    input_shape: Sequence[int] | None = None,
    n_classes: int | None = None,
    classes: npt.ArrayLike | None = None,
    input_scale: float | None = None,
    train_steps: Literal["auto"] | int | Callable[[int], int] = "auto",
    max_epochs: int | None = None,
    lr: float | None = None,
    lr_schedule: Literal["onecycle", "cosine"] | None = "onecycle",
    shift: Literal["auto"] | int = "auto",
    flip: bool = False,
    batch_size: int = 32,
    full_batches: bool = True,
    class_weight: Literal["balanced"] | None = None,
    input_mean: Literal["auto"] | Sequence[float] | None = "auto",
    input_std: Literal["auto"] | Sequence[float] | None = "auto",
    freeze: bool = False,
    head: str | None = None,
    embedding_cache: Literal["auto", False] | str | os.PathLike[str] = "auto",
    semi_supervised: Literal["fixmatch", "pseudo_label", "vat"] | SemiSupervised | None = None,
    device: Device | None = "cpu",
    random_state: int | None = 0,
    **kwargs: Any,
) -> SeededNeuralNetClassifier:
    """A ready skorch classifier that learns reliably from few labels.

    Logits with ``CrossEntropyLoss``, Adam, ``train_split=None`` (tiny labeled
    sets), the training set reshuffled every epoch, no per-epoch printing,
    float32 input, a seed, a fixed class list (an early labeled set may miss
    some classes; the net's outputs do not).  By default every ``fit``
    trains from scratch for a step budget that grows with the training set
    (:func:`~skdfal.models.auto_steps`: ``clip(1.5 n, 300, 900)`` steps)
    under a one-cycle learning-rate schedule peaking at ``5e-3``, with random
    shifts of images by up to 2 pixels on 28x28 images (none on 8x8): the
    trainer chosen on MNIST with a validation split (docs/results.md).
    Every argument is checked here, so that a mistake is named at once
    rather than at the first fit.

    Parameters
    ----------
    module : {"lenet5", "vgg8"}, torch.nn.Module class/instance or callable, default="lenet5"
        Any torch classifier: torchvision and timm models built with their
        own constructors (``torchvision.models.resnet18(num_classes=10)``),
        or the constructor itself with its arguments as ``module__*``
        (``make_classifier(resnet18, module__num_classes=10)``: built under
        ``random_state``'s seed, so the same seed gives the same weights),
        a :class:`~skdfal.models.BackboneHead`, or a module whose forward
        returns a tuple ``(logits, ...)`` or an object with ``.logits``
        (Hugging Face image models): training, prediction and the
        strategies all use those logits.
    input_shape : tuple of int or None, default=None
        Shape of one sample as the module takes it.  For the named modules
        ``(channels, height, width)``, default ``(1, 28, 28)``; the module is
        built once here to check the shape fits it.  Flat rows of
        ``prod(input_shape)`` values are reshaped to it (see
        :class:`SeededNeuralNetClassifier`).  For your own module, ``None``
        (the default) means no reshaping.
    n_classes : int >= 2 or None, default=None
        Number of classes, and of the module's outputs: 10, or
        ``len(classes)`` when ``classes`` is given.
    classes : array-like or None, default=None
        The class labels, in output order (strings or any labels); labels
        outside it raise ``ValueError``.  By default integer labels are
        output indices (``range(n_classes)``) and other labels (strings) are
        the sorted labels of the first fit, at most ``n_classes`` of them.
    input_scale : float or None, default=None
        Multiply inputs by it after the float32 cast (``1/255`` for uint8
        images).  ``None``: integer inputs are cast to float32, not scaled.
    train_steps : "auto", int or callable, default="auto"
        Optimiser steps per fit (see :class:`~skdfal.models.StepBudget`);
        a grid search reaches it as ``callbacks__step_budget__steps``.
    max_epochs : int >= 1 or None, default=None
        Train for this many epochs instead, at a constant ``lr`` and without
        shifts (skorch's own loop; ``train_steps``, ``lr_schedule`` and
        ``shift`` are then not used).
    lr : float > 0 or None, default=None
        Peak learning rate of the schedule (default ``5e-3``), or the
        constant rate with ``max_epochs`` (default ``1e-3``).
    lr_schedule : {"onecycle", "cosine", None}, default="onecycle"
    shift : "auto" or int, default="auto"
        Largest random shift of training images, in pixels (0: none; see
        :class:`~skdfal.models.RandomShift`).
    flip : bool, default=False
        Also mirror training images left-right at random: for photographs
        of objects, where it preserves the label (not for digits).
    batch_size : int >= 1, default=32
    full_batches : bool, default=True
        Train on whole batches only: each shuffled epoch drops its last,
        smaller batch (see :class:`SeededNeuralNetClassifier`).
    class_weight : {"balanced"} or None, default=None
        Weigh the loss of each class by the inverse of its share of the
        training set, recomputed at every fit.
    input_mean, input_std : "auto", sequence of float or None, default="auto"
        Per-channel normalisation after ``input_scale``.  ``"auto"``
        standardises each channel with the mean and standard deviation of
        the training inputs of each fit from scratch: on noisy images
        (MNIST over random noise) training without it diverged in one round
        in five, and with it in none (docs/results.md).  For a pretrained
        backbone pass the statistics it was trained with (ImageNet's
        ``(0.485, 0.456, 0.406)`` and ``(0.229, 0.224, 0.225)``); ``None``
        feeds the inputs as they are.
    freeze : bool, default=False
        Train only the head: the backbone's weights and batch-norm statistics
        never change (see :class:`SeededNeuralNetClassifier`).
    head : str or None, default=None
        The head's layer name (``"fc"`` for a torchvision ResNet); ``None``:
        the ``head`` of a ``backbone``/``head`` module, else the last
        ``nn.Linear``.
    embedding_cache : "auto", False or path, default="auto"
        With ``freeze=True`` the backbone runs once per sample: what the head
        receives is cached (in memory, or in memory-mapped files under a
        folder you name), the head trains on it and head-space DFAL scores on
        it; a changed backbone or input preparation empties the cache.
        Training uses it only without ``shift`` (resolved to 0 pixels),
        ``flip`` and ``semi_supervised``: an augmented image has another
        embedding, so those keep training through the backbone.  ``False``:
        never cache.
    semi_supervised : {"fixmatch", "pseudo_label", "vat"}, SemiSupervised or None, default=None
        Also learn from the unlabeled samples given to ``fit(X, y,
        X_unlabeled=...)`` (see :class:`~skdfal.models.SemiSupervised`; a
        name is that callback with its defaults).  A grid search reaches its
        parameters as ``callbacks__semi_supervised__threshold``.
    device : str, torch.device or None, default="cpu"
        Refused at once when this machine cannot use it (``"cuda"`` without CUDA);
        ``None`` leaves the module where it is (skorch's convention).
    random_state : int or None, default=0
        Seeds the module's construction (a named module, a class or a
        function; a module instance was built, and seeded, by you), the
        shuffling and the shifts, without touching torch's global generator.
    **kwargs
        Any other skorch parameter (``module__dropout=0.1`` ...).

    Raises
    ------
    ValueError
        Naming the argument: an unknown module, a shape the module cannot
        take, a count below its minimum, a non-positive ``lr``, an
        unavailable device.

    Examples
    --------
    >>> from skdfal import make_classifier
    >>> net = make_classifier("lenet5", input_shape=(1, 8, 8))
    >>> type(net).__name__, net.classes_.tolist()[:3], [name for name, _ in net.callbacks]
    ('SeededNeuralNetClassifier', [0, 1, 2], ['step_budget', 'random_shift'])
    >>> make_classifier(max_epochs=-1)
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: max_epochs must be an integer >= 1 or None, got -1
    """
    max_epochs = check_count(max_epochs, "max_epochs", allow_none=True)
    batch_size = check_count(batch_size, "batch_size")
    if lr is None:
        lr = 1e-3 if max_epochs is not None else 5e-3
    lr = check_positive_real(lr, "lr")
    input_scale = _check_scale(input_scale)
    check_device(device)
    check_embedding_cache(embedding_cache)
    for name, flag in (("flip", flip), ("freeze", freeze)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    if random_state is not None:
        random_state = check_count(random_state, "random_state", minimum=0)
    if classes is not None:
        classes = list(np.asarray(classes).tolist())
        if len(set(map(repr, classes))) != len(classes):
            raise ValueError(f"classes must not repeat a label, got {classes!r}")
        if n_classes is not None and check_count(n_classes, "n_classes") != len(classes):
            raise ValueError(f"n_classes={n_classes!r} but classes has {len(classes)} labels")
    n_classes = check_count(len(classes) if classes is not None else 10 if n_classes is None else n_classes,
                            "n_classes", minimum=2)
    if isinstance(module, str):
        if module.lower() not in _NAMED:
            raise ValueError(f"unknown module {module!r}; choose from {sorted(_NAMED)} or pass a torch module")
        input_shape = _check_input_shape((1, 28, 28) if input_shape is None else input_shape, allow_none=False)
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (channels, height, width), got {input_shape!r}")
        channels, height, width = input_shape
        module = _NAMED[module.lower()]
        kwargs.setdefault("module__in_channels", channels)
        kwargs.setdefault("module__input_size", (height, width))
        kwargs.setdefault("module__n_classes", n_classes)
        _try_build(module, input_shape, kwargs)
    else:
        input_shape = _check_input_shape(input_shape)
        # A class or a function that builds the module (torchvision.models.resnet18) is called by
        # skorch under random_state's seed, with the module__ arguments: reproducible weights.
        if not (isinstance(module, nn.Module) or (isinstance(module, type) and issubclass(module, nn.Module))
                or (callable(module) and not isinstance(module, type))):
            raise ValueError(
                f"module must be 'lenet5', 'vgg8', a torch.nn.Module class or instance, or a function "
                f"returning a module, got {module!r}"
            )
    kwargs.setdefault("criterion", nn.CrossEntropyLoss)
    kwargs.setdefault("optimizer", torch.optim.Adam)
    kwargs.setdefault("train_split", None)
    kwargs.setdefault("verbose", 0)
    # skorch does not reshuffle the training set unless asked: with a few
    # dozen labels every epoch would then show the same batches.
    kwargs.setdefault("iterator_train__shuffle", True)
    # A range marks the default: integer labels are output indices, other labels name the
    # n_classes outputs in sorted order from the first fit (explicit classes are a list).
    kwargs["classes"] = classes if classes is not None else range(n_classes)
    callbacks = []
    if max_epochs is None:
        budget = StepBudget(steps=train_steps, schedule=lr_schedule)
        budget._check()  # named now, not at the first fit
        callbacks = [("step_budget", budget), ("random_shift", RandomShift(max_shift=shift, flip=bool(flip)))]
        max_epochs = 1  # epochs come from the step budget (SeededNeuralNetClassifier.fit_loop)
    if semi_supervised is not None:
        if isinstance(semi_supervised, str) and semi_supervised in METHODS:
            semi_supervised = SemiSupervised(method=semi_supervised)
        if not isinstance(semi_supervised, SemiSupervised):
            raise ValueError(
                "semi_supervised must be 'fixmatch', 'pseudo_label', 'vat', a SemiSupervised "
                f"callback or None, got {semi_supervised!r}"
            )
        semi_supervised.check()
        callbacks.append(("semi_supervised", semi_supervised))
    if callbacks:
        kwargs.setdefault("callbacks", callbacks)
    return SeededNeuralNetClassifier(
        module,
        max_epochs=max_epochs,
        lr=lr,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        input_shape=input_shape,
        input_scale=input_scale,
        full_batches=full_batches,
        class_weight=class_weight,
        input_mean=input_mean,
        input_std=input_std,
        freeze=bool(freeze),
        head=head,
        embedding_cache=embedding_cache,
        **kwargs,
    )


def _try_build(module_cls, input_shape, kwargs):
    """Build the named module once: a shape it cannot take is named now, not at fit."""
    params = {k[len("module__"):]: v for k, v in kwargs.items() if k.startswith("module__")}
    try:
        with torch.random.fork_rng(devices=[]):
            module_cls(**params)
    except (RuntimeError, ValueError) as exc:
        if is_out_of_memory(exc):  # a shape the module takes, only too large for this machine
            raise MemoryError(
                f"{module_cls.__name__} for input_shape={input_shape} needs more memory than is free: {exc}"
            ) from None
        raise ValueError(
            f"input_shape={input_shape} does not fit {module_cls.__name__}: {exc}"
        ) from None
    except TypeError as exc:
        raise ValueError(f"bad module__ parameter for {module_cls.__name__}: {exc}") from None
