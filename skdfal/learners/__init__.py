"""Learners: modAL's ``ActiveLearner`` and a whole simulated run as one estimator."""

from ._estimator import ActiveLearningClassifier
from ._labeled import LabeledSet
from ._learner import ActiveLearner
from ._stopping import LabelBudget, StopDecision, StoppingRule
from ._stopping_rules import MarginPlateau, StabilizingPredictions

__all__ = [
    "ActiveLearner",
    "ActiveLearningClassifier",
    "LabelBudget",
    "LabeledSet",
    "MarginPlateau",
    "StabilizingPredictions",
    "StopDecision",
    "StoppingRule",
]
