"""Adversarial attacks in pure torch (no scikit-learn, no numpy)."""

from .deepfool import DeepFoolResult, deepfool, frozen_eval

__all__ = ["DeepFoolResult", "deepfool", "frozen_eval"]
