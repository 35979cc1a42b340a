"""Image datasets as CNN input: (n, channels, height, width) float32 in [0, 1]."""

from ._digits import load_digits_images
from ._folder import IMAGE_SUFFIXES, load_image_folder
from ._idx import load_fashion_mnist, load_mnist, read_idx
from ._variations import VARIATIONS, load_mnist_variation

__all__ = [
    "IMAGE_SUFFIXES", "VARIATIONS", "load_digits_images", "load_image_folder", "load_fashion_mnist", "load_mnist", "load_mnist_variation", "read_idx",
]
