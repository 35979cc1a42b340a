"""Learners: modAL's ``ActiveLearner`` and a whole simulated run as one estimator."""

from ._estimator import ActiveLearningClassifier
from ._learner import ActiveLearner

__all__ = ["ActiveLearner", "ActiveLearningClassifier"]
