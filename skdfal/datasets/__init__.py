"""Image datasets as CNN input: (n, channels, height, width) float32 in [0, 1]."""

from ._digits import load_digits_images
from ._idx import load_fashion_mnist, load_mnist, read_idx
from ._variations import VARIATIONS, load_mnist_variation

__all__ = [
    "VARIATIONS", "load_digits_images", "load_fashion_mnist", "load_mnist", "load_mnist_variation", "read_idx",
]
