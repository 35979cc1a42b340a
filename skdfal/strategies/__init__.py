"""Query strategies: a utility score plus a selector, in modAL's protocol."""

from ._base import QueryStrategy, as_function, select_top
from .dfal import DFALMargin, deepfool_pool, dfal_margin
from .random import RandomSampling, random_sampling

__all__ = [
    "QueryStrategy",
    "as_function",
    "select_top",
    "DFALMargin",
    "dfal_margin",
    "deepfool_pool",
    "RandomSampling",
    "random_sampling",
]
