"""The paper's networks (LeNet5, VGG8) and a skorch classifier fit for active learning.

Both modules adapt to the input: channels, spatial size (8x8 digits, 28x28
MNIST, 32x32 RGB) and number of classes; they return logits.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from skorch import NeuralNetClassifier
from torch import nn

__all__ = ["LeNet5", "VGG8", "SeededNeuralNetClassifier", "make_classifier"]


def _pair(size) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    h, w = size
    return int(h), int(w)


def _flat_features(features: nn.Module, in_channels: int, size: tuple[int, int]) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, in_channels, *size)).flatten(1).shape[1])


class LeNet5(nn.Module):
    """LeNet-5 style CNN: two 5x5 conv + max-pool blocks, three dense layers.

    Convolutions are padded so that 8x8 inputs survive both poolings.
    Dropout before the last layers enables MC-dropout strategies (BALD).

    Parameters
    ----------
    in_channels : int, default=1
    n_classes : int, default=10
    input_size : int or (int, int), default=28
    dropout : float, default=0.25

    Examples
    --------
    >>> import torch
    >>> from skdfal import LeNet5
    >>> LeNet5(input_size=8)(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels=1, n_classes=10, input_size=28, dropout=0.25):
        super().__init__()
        size = _pair(input_size)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        flat = _flat_features(self.features, in_channels, size)
        self.embedding = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, 120),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.classifier = nn.Linear(84, n_classes)

    def forward(self, x):
        return self.classifier(self.embedding(self.features(x)))


class VGG8(nn.Module):
    """Small VGG: three blocks of two 3x3 convs (32, 64, 128 channels), two dense layers.

    A block pools only while the feature map is at least 2 pixels wide, so
    8x8 inputs work as well as 32x32.

    Parameters
    ----------
    in_channels : int, default=1
    n_classes : int, default=10
    input_size : int or (int, int), default=28
    dropout : float, default=0.5
    batch_norm : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from skdfal import VGG8
    >>> VGG8(in_channels=3, input_size=32)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels=1, n_classes=10, input_size=28, dropout=0.5, batch_norm=True):
        super().__init__()
        h, w = _pair(input_size)
        layers, channels = [], in_channels
        for width in (32, 64, 128):
            for _ in range(2):
                layers.append(nn.Conv2d(channels, width, 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU())
                channels = width
            if min(h, w) >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        self.features = nn.Sequential(*layers)
        flat = _flat_features(self.features, in_channels, _pair(input_size))
        self.embedding = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, 256), nn.ReLU(), nn.Dropout(dropout)
        )
        self.classifier = nn.Linear(256, n_classes)

    def forward(self, x):
        return self.classifier(self.embedding(self.features(x)))


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
