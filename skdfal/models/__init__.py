"""The paper's networks and a skorch classifier set up for active learning."""

from ._classifier import SeededNeuralNetClassifier
from ._factory import make_classifier
from ._nets import VGG8, BackboneHead, LeNet5
from ._semi import SemiSupervised, first_order_distance, strong_augment
from ._training import RandomShift, StepBudget, auto_steps, batches_per_epoch

__all__ = [
    "BackboneHead",
    "LeNet5",
    "RandomShift",
    "SeededNeuralNetClassifier",
    "SemiSupervised",
    "StepBudget",
    "VGG8",
    "auto_steps",
    "batches_per_epoch",
    "first_order_distance",
    "make_classifier",
    "strong_augment",
]
