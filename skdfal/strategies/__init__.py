"""Query strategies: a utility score plus a selector, in modAL's protocol."""

from ._base import QueryStrategy, TopN, as_function, select_streamed, select_top
from .bayesian import BALD, bald
from .dfal import DFALMargin, deepfool_pool, dfal_margin
from .diversity import BADGE, CoreSet, badge, coreset, gradient_embeddings, penultimate_features
from .random import RandomSampling, random_sampling
from .uncertainty import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    entropy_sampling,
    least_confidence,
    margin_sampling,
)

__all__ = [
    "QueryStrategy",
    "as_function",
    "select_top",
    "select_streamed",
    "TopN",
    "DFALMargin",
    "dfal_margin",
    "deepfool_pool",
    "RandomSampling",
    "random_sampling",
    "LeastConfidence",
    "least_confidence",
    "MarginSampling",
    "margin_sampling",
    "EntropySampling",
    "entropy_sampling",
    "BALD",
    "bald",
    "CoreSet",
    "coreset",
    "BADGE",
    "badge",
    "penultimate_features",
    "gradient_embeddings",
]
