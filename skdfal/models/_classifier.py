"""A skorch classifier set up for active learning: seeded, float32, logits."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from skorch import NeuralNetClassifier
from torch import nn

from ._nets import VGG8, LeNet5

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
    max_epochs=30,
    lr=1e-3,
    batch_size=32,
    device="cpu",
    random_state=0,
    **kwargs,
):
    """A ready skorch classifier with defaults fit for active learning.

    Logits with ``CrossEntropyLoss``, Adam, ``train_split=None`` (tiny labeled
    sets), no per-epoch printing, float32 input, a seed.

    Parameters
    ----------
    module : {"lenet5", "vgg8"} or torch.nn.Module class/instance, default="lenet5"
    input_shape : (channels, height, width), default=(1, 28, 28)
    n_classes : int, default=10
    max_epochs, lr, batch_size, device : skorch parameters
    random_state : int or None, default=0
    **kwargs
        Any other skorch parameter (``module__dropout=0.1`` ...).

    Examples
    --------
    >>> from skdfal import make_classifier
    >>> net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1)
    >>> type(net).__name__
    'SeededNeuralNetClassifier'
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
    # Fixed classes: an early labeled set may miss some, the net's outputs do not.
    kwargs.setdefault("classes", list(range(n_classes)))
    return SeededNeuralNetClassifier(
        module,
        max_epochs=max_epochs,
        lr=lr,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        **kwargs,
    )
