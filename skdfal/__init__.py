"""skdfal: adversarial active learning (DFAL) for deep networks, scikit-learn style.

Public API
----------
Attacks
    deepfool
        Batched multi-class DeepFool on any torch module returning logits.
    DeepFoolResult
        What ``deepfool`` returns: perturbations, norms, labels, convergence.
Query strategies (modAL's protocol ``(classifier, X_pool, n_instances) -> (indices, scores)``)
    DFALMargin, dfal_margin
        DFAL: the smallest DeepFool perturbation first.
    pool_embeddings
        The embeddings a net's head receives (head-space DFAL over a frozen backbone).
    DFALBadge, dfal_badge
        DFAL margins with a BADGE-style batch (k-means++ weighted by 1/margin).
    RandomSampling, random_sampling
        Uniform draws (the baseline every strategy must beat).
    EntropySampling, entropy_sampling; LeastConfidence, least_confidence;
    MarginSampling, margin_sampling
        Uncertainty of the predicted probabilities (any classifier).
    BALD, bald
        Bayesian disagreement with MC dropout.
    CoreSet, coreset
        Greedy k-center on penultimate features.
    BADGE, badge
        k-means++ on gradient embeddings.
    QueryStrategy
        Base class of the strategies (write your own).
    ComposedStrategy
        A pointwise strategy's scores with a selector: cold start, top-n or a
        batch spread out by k-means.
    QueryContext
        What a strategy may know of the learner (the model, labels paid, the
        labeled set), handed over by its ``query_context()``.
    all_strategies
        Every registered strategy by name, with its capability tags.
    make_strategy
        A registered strategy by name in one call (default: the recommended
        DFAL, ``"dfal_batch"``).
Learners
    ActiveLearner
        modAL's learner API, with DFAL's free adversarial labels.
    ActiveLearningClassifier
        A whole simulated active learning run as one scikit-learn estimator
        (grid searches, pipelines, cross-validation).
    StabilizingPredictions, MarginPlateau, LabelBudget, StopDecision
        Stopping rules (``stopping=``): when labeling may stop, and why.
Models and data
    LeNet5, VGG8
        The paper's networks.
    BackboneHead
        A backbone under a new trainable head (``freeze=True`` trains the head only).
    make_classifier
        A skorch classifier set up for active learning (any torch classifier).
    SeededNeuralNetClassifier
        The skorch classifier ``make_classifier`` returns.
    load_digits_images, load_mnist, load_fashion_mnist, load_mnist_variation
        Image datasets as (n, channels, height, width) float32 in [0, 1].
    load_image_folder
        A folder of image files: classes from its sub-folders, or unlabeled.
Labeling by hand
    LabelingSession, make_digits_session
        Crash-safe human-in-the-loop labeling saved in a directory.
    Labeler
        Its Jupyter widget (needs ipywidgets).
    LabelStudioBackend, serve_label_studio
        A Label Studio ML backend over a session: pre-annotations, DFAL
        ordering by prediction score, background retraining.
    SessionError
        A session directory that cannot be used, naming the file.

Subpackages: ``skdfal.experiments`` (simulations and benchmarks),
``skdfal.plotting`` (figures), ``skdfal.distributed`` (Dask scoring),
``skdfal.utils`` (torch helpers).
"""

from .attacks import DeepFoolResult, deepfool
from .datasets import (
    load_digits_images,
    load_fashion_mnist,
    load_image_folder,
    load_mnist,
    load_mnist_variation,
)
from .labeling import (
    Labeler,
    LabelingSession,
    LabelStudioBackend,
    SessionError,
    make_digits_session,
    serve_label_studio,
)
from .learners import (
    ActiveLearner,
    ActiveLearningClassifier,
    LabelBudget,
    MarginPlateau,
    StabilizingPredictions,
    StopDecision,
)
from .models import (
    VGG8,
    BackboneHead,
    LeNet5,
    SeededNeuralNetClassifier,
    SemiSupervised,
    make_classifier,
)
from .strategies import (
    BADGE,
    BALD,
    ComposedStrategy,
    CoreSet,
    DFALBadge,
    DFALMargin,
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    QueryContext,
    QueryStrategy,
    RandomSampling,
    Unconfident,
    all_strategies,
    badge,
    bald,
    coreset,
    dfal_badge,
    dfal_margin,
    entropy_sampling,
    least_confidence,
    make_strategy,
    margin_sampling,
    pool_embeddings,
    random_sampling,
)

__version__ = "0.1.0"

__all__ = [
    "ActiveLearner",
    "ActiveLearningClassifier",
    "BADGE",
    "BALD",
    "BackboneHead",
    "CoreSet",
    "DFALBadge",
    "DFALMargin",
    "DeepFoolResult",
    "EntropySampling",
    "Labeler",
    "LabelBudget",
    "LabelStudioBackend",
    "LabelingSession",
    "LeNet5",
    "LeastConfidence",
    "MarginPlateau",
    "MarginSampling",
    "QueryContext",
    "QueryStrategy",
    "ComposedStrategy",
    "RandomSampling",
    "Unconfident",
    "SeededNeuralNetClassifier",
    "SemiSupervised",
    "SessionError",
    "StabilizingPredictions",
    "StopDecision",
    "VGG8",
    "all_strategies",
    "badge",
    "bald",
    "coreset",
    "deepfool",
    "dfal_badge",
    "dfal_margin",
    "entropy_sampling",
    "least_confidence",
    "load_digits_images",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
    "load_mnist_variation",
    "make_classifier",
    "make_digits_session",
    "make_strategy",
    "margin_sampling",
    "pool_embeddings",
    "random_sampling",
    "serve_label_studio",
]
