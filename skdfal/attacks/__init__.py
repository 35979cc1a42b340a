"""Adversarial attacks in pure torch: modules and tensors in, tensors out."""

from ._deepfool import DeepFoolResult, deepfool

__all__ = ["DeepFoolResult", "deepfool"]
