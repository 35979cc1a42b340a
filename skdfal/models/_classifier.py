"""A skorch classifier set up for active learning: seeded, float32, logits."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from skorch import NeuralNetClassifier
from torch import nn

from ._nets import VGG8, LeNet5
from ._training import RandomShift, StepBudget

__all__ = ["SeededNeuralNetClassifier", "make_classifier"]


class SeededNeuralNetClassifier(NeuralNetClassifier):
    """skorch ``NeuralNetClassifier`` with a ``random_state`` and forgiving input dtypes.

    * ``random_state`` seeds weight initialisation, shuffling and dropout in
      a forked RNG, so results repeat without touching the global torch RNG;
    * float64 inputs are cast to float32 and integer targets to int64 (skorch
      modules run in float32; ``CrossEntropyLoss`` wants int64).

    All other parameters are skorch's.
    """

    def __init__(self, module, *, random_state=None, **kwargs):
        super().__init__(module, **kwargs)
        self.random_state = random_state

    @contextlib.contextmanager
    def _seeded(self):
        if self.random_state is None:
            yield
            return
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(np.random.RandomState(self.random_state).randint(2**31 - 1)))
            yield

    def initialize(self):
        with self._seeded():
            return super().initialize()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        with self._seeded():
            return super().partial_fit(X, y, classes=classes, **fit_params)

    # A StepBudget callback decides the number of epochs of each fit.
    _plans_epochs_from_budget = True

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        budget = self._step_budget()
        if epochs is None and budget is not None:
            epochs = budget.epochs_
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def _step_budget(self):
        for _, callback in getattr(self, "callbacks_", []):
            if isinstance(callback, StepBudget):
                return callback
        return None

    def get_dataset(self, X, y=None):
        if isinstance(X, np.ndarray) and X.dtype == np.float64:
            X = X.astype(np.float32)
        if isinstance(y, np.ndarray) and y.dtype.kind in "iu" and y.dtype != np.int64:
            y = y.astype(np.int64)
        return super().get_dataset(X, y)


def make_classifier(
    module="lenet5",
    *,
    input_shape=(1, 28, 28),
    n_classes=10,
    train_steps="auto",
    max_epochs=None,
    lr=None,
    lr_schedule="onecycle",
    shift="auto",
    batch_size=32,
    device="cpu",
    random_state=0,
    **kwargs,
):
    """A ready skorch classifier that learns reliably from few labels.

    Logits with ``CrossEntropyLoss``, Adam, ``train_split=None`` (tiny labeled
    sets), the training set reshuffled every epoch, no per-epoch printing,
    float32 input, a seed.  By default every ``fit`` trains from scratch for
    a step budget that grows with the training set (:func:`auto_steps`:
    ``clip(1.5 n, 300, 900)`` steps) under a one-cycle learning-rate
    schedule peaking at ``5e-3``, with random shifts of images by up to 2
    pixels on 28x28 images (none on 8x8): the trainer chosen on MNIST with a
    validation split (docs/results.md).

    Parameters
    ----------
    module : {"lenet5", "vgg8"} or torch.nn.Module class/instance, default="lenet5"
    input_shape : (channels, height, width), default=(1, 28, 28)
    n_classes : int, default=10
    train_steps : "auto", int or callable, default="auto"
        Optimiser steps per fit (see :class:`~skdfal.models.StepBudget`);
        a grid search reaches it as ``callbacks__step_budget__steps``.
    max_epochs : int or None, default=None
        Train for this many epochs instead, at a constant ``lr`` and without
        shifts (skorch's own loop; ``train_steps``, ``lr_schedule`` and
        ``shift`` are then not used).
    lr : float or None, default=None
        Peak learning rate of the schedule (default ``5e-3``), or the
        constant rate with ``max_epochs`` (default ``1e-3``).
    lr_schedule : {"onecycle", "cosine", None}, default="onecycle"
    shift : "auto" or int, default="auto"
        Largest random shift of training images, in pixels (0: none; see
        :class:`~skdfal.models.RandomShift`).
    batch_size, device : skorch parameters
    random_state : int or None, default=0
    **kwargs
        Any other skorch parameter (``module__dropout=0.1`` ...).

    Examples
    --------
    >>> from skdfal import make_classifier
    >>> net = make_classifier("lenet5", input_shape=(1, 8, 8))
    >>> type(net).__name__, [name for name, _ in net.callbacks]
    ('SeededNeuralNetClassifier', ['step_budget', 'random_shift'])
    >>> make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=5).callbacks is None
    True
    """
    if isinstance(module, str):
        named = {"lenet5": LeNet5, "vgg8": VGG8}
        if module.lower() not in named:
            raise ValueError(f"unknown module {module!r}; choose from {sorted(named)} or pass a torch module")
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (channels, height, width), got {input_shape!r}")
        channels, height, width = input_shape
        module = named[module.lower()]
        kwargs.setdefault("module__in_channels", channels)
        kwargs.setdefault("module__input_size", (height, width))
        kwargs.setdefault("module__n_classes", n_classes)
    kwargs.setdefault("criterion", nn.CrossEntropyLoss)
    kwargs.setdefault("optimizer", torch.optim.Adam)
    kwargs.setdefault("train_split", None)
    kwargs.setdefault("verbose", 0)
    # skorch does not reshuffle the training set unless asked: with a few
    # dozen labels every epoch would then show the same batches.
    kwargs.setdefault("iterator_train__shuffle", True)
    # Fixed classes: an early labeled set may miss some, the net's outputs do not.
    kwargs.setdefault("classes", list(range(n_classes)))
    if max_epochs is None:
        kwargs.setdefault("callbacks", [
            ("step_budget", StepBudget(steps=train_steps, schedule=lr_schedule)),
            ("random_shift", RandomShift(max_shift=shift)),
        ])
        # Epochs come from the step budget; skorch's max_epochs is unused.
        max_epochs, lr = 1, 5e-3 if lr is None else lr
    elif lr is None:
        lr = 1e-3
    return SeededNeuralNetClassifier(
        module,
        max_epochs=max_epochs,
        lr=lr,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        **kwargs,
    )
