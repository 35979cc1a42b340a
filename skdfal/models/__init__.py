"""The paper's networks and a skorch classifier set up for active learning."""

from ._classifier import SeededNeuralNetClassifier
from ._factory import make_classifier
from ._nets import VGG8, BackboneHead, LeNet5
from ._training import RandomShift, StepBudget, auto_steps, batches_per_epoch

__all__ = [
    "BackboneHead",
    "LeNet5",
    "RandomShift",
    "SeededNeuralNetClassifier",
    "StepBudget",
    "VGG8",
    "auto_steps",
    "batches_per_epoch",
    "make_classifier",
]
