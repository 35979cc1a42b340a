"""The paper's networks and a skorch classifier set up for active learning."""

from ._classifier import SeededNeuralNetClassifier
from ._factory import make_classifier
from ._nets import VGG8, LeNet5

__all__ = ["LeNet5", "SeededNeuralNetClassifier", "VGG8", "make_classifier"]
