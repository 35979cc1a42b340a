"""Query strategies: a scorer and a selector, in modAL's protocol."""

from ._base import QueryStrategy, SampledStrategy, StrategyTags, as_function
from ._bayesian import BALD, bald
from ._compose import ComposedStrategy
from ._context import QueryContext, query_context
from ._dfal import DFALMargin, deepfool_pool, dfal_margin
from ._dfal_badge import DFALBadge, dfal_badge
from ._diversity import BADGE, CoreSet, badge, coreset
from ._embeddings import gradient_embeddings, penultimate_features
from ._head_space import pool_embeddings
from ._peers import SkactivemlStrategy, skactiveml_strategy
from ._random import RandomSampling, random_sampling
from ._registry import (
    RECOMMENDED,
    RegisteredStrategy,
    all_strategies,
    get_strategy,
    make_strategy,
    strategy_tags,
)
from ._screened import Screened
from ._screening import ScreeningResult, screen_pool
from ._selection import BestScores, select_streamed, select_top
from ._selectors import ColdStart, KCenter, Selector, SpreadBatch, TopN, WeightedSeeding
from ._subsampled import Subsampled
from ._uncertainty import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    entropy_sampling,
    least_confidence,
    margin_sampling,
)
from ._unconfident import Unconfident, trainer_threshold, unconfident

__all__ = [
    "RECOMMENDED",
    "QueryStrategy",
    "SampledStrategy",
    "StrategyTags",
    "ComposedStrategy",
    "Subsampled",
    "Screened",
    "QueryContext",
    "query_context",
    "RegisteredStrategy",
    "all_strategies",
    "get_strategy",
    "make_strategy",
    "strategy_tags",
    "as_function",
    "select_top",
    "select_streamed",
    "BestScores",
    "Selector",
    "TopN",
    "SpreadBatch",
    "ColdStart",
    "WeightedSeeding",
    "KCenter",
    "DFALMargin",
    "dfal_margin",
    "deepfool_pool",
    "pool_embeddings",
    "DFALBadge",
    "dfal_badge",
    "screen_pool",
    "ScreeningResult",
    "RandomSampling",
    "SkactivemlStrategy",
    "skactiveml_strategy",
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
    "Unconfident",
    "unconfident",
    "trainer_threshold",
]
