"""Image datasets as CNN input: (n, channels, height, width) float32 in [0, 1]."""

from ._digits import load_digits_images
from ._idx import load_fashion_mnist, load_mnist, read_idx

__all__ = ["load_digits_images", "load_fashion_mnist", "load_mnist", "read_idx"]
