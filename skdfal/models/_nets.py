"""The paper's networks: LeNet5 and VGG8.

Both modules adapt to the input: channels, spatial size (8x8 digits, 28x28
MNIST, 32x32 RGB) and number of classes; they return logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..utils._heads import logits_of
from ..utils._validation import check_count

__all__ = ["BackboneHead", "LeNet5", "VGG8"]


def _pair(size) -> tuple[int, int]:
    if not isinstance(size, (tuple, list)):
        size = (size, size)
    if len(size) != 2:
        raise ValueError(f"input_size must be an int or (height, width), got {size!r}")
    return check_count(size[0], "input_size"), check_count(size[1], "input_size")


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

    def __init__(
        self, in_channels: int = 1, n_classes: int = 10, input_size: int | Sequence[int] = 28,
        dropout: float = 0.25,
    ):
        super().__init__()
        size = _pair(input_size)
        in_channels, n_classes = check_count(in_channels, "in_channels"), check_count(n_classes, "n_classes")
        if min(size) < 4:
            raise ValueError(f"LeNet5 needs inputs of at least 4x4 pixels (two 2x2 poolings), got {size}")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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

    def __init__(
        self, in_channels: int = 1, n_classes: int = 10, input_size: int | Sequence[int] = 28,
        dropout: float = 0.5, batch_norm: bool = True,
    ):
        super().__init__()
        h, w = _pair(input_size)
        in_channels, n_classes = check_count(in_channels, "in_channels"), check_count(n_classes, "n_classes")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embedding(self.features(x)))


class BackboneHead(nn.Module):
    """A backbone (pretrained or not) under a new trainable head: ``head(backbone(x))``.

    The ``backbone`` and ``head`` attributes are the convention that
    ``make_classifier(freeze=True)`` and ``DFALMargin(space="head")`` look
    for: the first is frozen, the second attacked over the backbone's
    embeddings.

    Parameters
    ----------
    backbone : torch.nn.Module
        Maps images to features: a torchvision ResNet whose ``fc`` is
        ``nn.Identity()``, a timm model built with ``num_classes=0``...  A
        tuple or ``.logits`` output is read as a tensor; features of more
        than one axis are flattened.
    head : torch.nn.Module or int
        The head, or the number of classes for a new ``nn.Linear`` over the
        backbone's features (``n_features`` then needed).
    n_features : int or None, default=None
        Width of the backbone's features, for an ``int`` head.

    Examples
    --------
    >>> import torch
    >>> from skdfal.models import BackboneHead
    >>> net = BackboneHead(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5)), 3, n_features=5)
    >>> net(torch.zeros(2, 3, 2, 2)).shape
    torch.Size([2, 3])
    """

    def __init__(self, backbone: nn.Module, head: nn.Module | int, n_features: int | None = None):
        super().__init__()
        if not isinstance(backbone, nn.Module):
            raise ValueError(f"backbone must be a torch.nn.Module, got {type(backbone).__name__}")
        if not isinstance(head, nn.Module):
            n_classes = check_count(head, "head", minimum=2)
            if n_features is None:
                raise ValueError("n_features is needed to build a new head of head classes")
            head = nn.Linear(check_count(n_features, "n_features"), n_classes)
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = logits_of(self.backbone(x))
        return self.head(z.flatten(1) if z.ndim > 2 else z)
