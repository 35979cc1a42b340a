"""skdfal: adversarial active learning (DFAL) for deep networks, scikit-learn style.

Public API
----------
deepfool, DeepFoolResult
    Batched multi-class DeepFool on any torch module (pure torch).
dfal_margin, DFALMargin, random_sampling, RandomSampling, QueryStrategy
    Query strategies in modAL's protocol ``(classifier, X_pool, n) -> (indices, scores)``.
ActiveLearner
    modAL-style learner with DFAL's adversarial augmentation.
ActiveLearningClassifier
    A whole simulated active learning run as one scikit-learn estimator
    (grid searches, pipelines, cross-validation).
LeNet5, VGG8, make_classifier, SeededNeuralNetClassifier
    The paper's networks and a skorch classifier set up for active learning.
load_digits_images
    scikit-learn's bundled digits as (n, 1, 8, 8) float32 images.
LabelingSession, make_digits_session, SessionError, Labeler
    Crash-safe human-in-the-loop labeling saved in a directory (journal,
    snapshots, no pickle), labeled in Jupyter (``Labeler``, needs
    ipywidgets) or with ``skdfal label``.
"""

from .attacks import DeepFoolResult, deepfool
from .datasets import load_digits_images, load_fashion_mnist, load_mnist
from .estimator import ActiveLearningClassifier
from .learner import ActiveLearner
from .models import VGG8, LeNet5, SeededNeuralNetClassifier, make_classifier
from .session import LabelingSession, SessionError, make_digits_session
from .strategies import (
    BADGE,
    BALD,
    CoreSet,
    DFALMargin,
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    QueryStrategy,
    RandomSampling,
    badge,
    bald,
    coreset,
    dfal_margin,
    entropy_sampling,
    least_confidence,
    margin_sampling,
    random_sampling,
)
from .widgets import Labeler  # imports ipywidgets only when a Labeler is built

__version__ = "0.1.0"

__all__ = [
    "BADGE",
    "BALD",
    "CoreSet",
    "EntropySampling",
    "LeastConfidence",
    "MarginSampling",
    "badge",
    "bald",
    "coreset",
    "entropy_sampling",
    "least_confidence",
    "margin_sampling",
    "load_mnist",
    "load_fashion_mnist",
    "ActiveLearner",
    "ActiveLearningClassifier",
    "LabelingSession",
    "Labeler",
    "SessionError",
    "make_digits_session",
    "DFALMargin",
    "DeepFoolResult",
    "LeNet5",
    "QueryStrategy",
    "RandomSampling",
    "SeededNeuralNetClassifier",
    "VGG8",
    "deepfool",
    "dfal_margin",
    "load_digits_images",
    "make_classifier",
    "random_sampling",
]
