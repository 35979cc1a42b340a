"""Adversarial attacks in pure torch: modules and tensors in, tensors out."""

from ._deepfool import DeepFoolResult, deepfool
from ._screening import FirstOrderResult, first_order_margins

__all__ = ["DeepFoolResult", "deepfool", "FirstOrderResult", "first_order_margins"]
