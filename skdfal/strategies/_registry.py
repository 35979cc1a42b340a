"""Every query strategy skdfal ships, by name, with what it can do.

One list for the whole package: labeling sessions rebuild a strategy from
its name, the benchmark runs strategies by name, Dask scoring asks whether a
strategy is pointwise, and the contract tests run over all of them.  Code
asks a strategy's :class:`StrategyTags` instead of testing its class.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import BaseEstimator, clone

from ._base import QueryStrategy
from ._bayesian import BALD, bald
from ._dfal import DFALMargin, dfal_margin
from ._dfal_badge import DFALBadge, dfal_badge
from ._diversity import BADGE, CoreSet, badge, coreset
from ._peers import SkactivemlStrategy, skactiveml_strategy
from ._random import RandomSampling, random_sampling
from ._uncertainty import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    entropy_sampling,
    least_confidence,
    margin_sampling,
)
from ._unconfident import Unconfident, unconfident

__all__ = ["RECOMMENDED", "RegisteredStrategy", "all_strategies", "get_strategy", "make_strategy", "strategy_tags"]

#: The registered DFAL configuration skdfal recommends, and the one the main
#: job (``skdfal run``) runs against random sampling: chosen by its worst-case
#: rank of area under the validation curve over digits, MNIST and the four
#: MNIST variations at once (benchmarks/choose_on_hard_data.py, docs/results.md).
RECOMMENDED = "dfal_batch"


@dataclass(frozen=True)
class RegisteredStrategy:
    """A named strategy configuration.

    Attributes
    ----------
    name : str
        Its key in :func:`all_strategies` (``"dfal"``, ``"entropy"`` ...).
    cls : type of QueryStrategy
        The object form.
    function : callable
        The modAL-style function form (``dfal_margin`` ...).
    params : dict
        Parameters this configuration sets on ``cls`` (e.g. BALD's passes).
    adversarial : bool
        Whether the learner also labels the DeepFool copies of the queried
        samples (DFAL's free labels, ``dfal_adv``).
    extra : str or None
        The optional extra whose modules it needs (``"peers"``), if any.
    requires : tuple of str
        Those modules' import names.
    """

    name: str
    cls: type
    function: Callable
    params: dict = field(default_factory=dict)
    adversarial: bool = False
    extra: str | None = None
    requires: tuple[str, ...] = ()

    def check_available(self) -> None:
        """Raise an ImportError naming the extra when a module it needs is not installed.

        Lets a long benchmark fail before its first run, not at its first query.
        """
        missing = []
        for module in self.requires:
            try:
                importlib.import_module(module)
            except ImportError:
                missing.append(module)
        if missing:
            raise ImportError(
                f"strategy {self.name!r} needs {', '.join(missing)}: pip install 'skdfal[{self.extra}]'"
            )

    @property
    def tags(self):
        """The :class:`~skdfal.strategies.StrategyTags` of the strategy class."""
        return self.cls.tags

    def make(self, **params) -> QueryStrategy:
        """A new strategy object: this configuration's parameters, then ``params``."""
        # A strategy given as a parameter (a wrapper's) is copied: makes share nothing.
        own = {key: clone(value) if isinstance(value, BaseEstimator) else value for key, value in self.params.items()}
        return self.cls(**{**own, **params})


_REGISTRY = {
    entry.name: entry
    for entry in (
        RegisteredStrategy("random", RandomSampling, random_sampling),
        RegisteredStrategy("least_confidence", LeastConfidence, least_confidence),
        RegisteredStrategy("margin", MarginSampling, margin_sampling),
        RegisteredStrategy("entropy", EntropySampling, entropy_sampling),
        RegisteredStrategy("bald", BALD, bald, {"n_passes": 20}),
        RegisteredStrategy("coreset", CoreSet, coreset),
        RegisteredStrategy("badge", BADGE, badge),
        # DFAL as the paper ran it: queried samples only, and queried samples
        # plus their DeepFool adversarial copies labelled for free.
        RegisteredStrategy("dfal", DFALMargin, dfal_margin),
        RegisteredStrategy("dfal_adv", DFALMargin, dfal_margin, adversarial=True),
        # DFAL as a batch strategy: each batch spread over the 5 n smallest
        # margins in penultimate features (chosen on MNIST and digits with
        # validation splits: benchmarks/choose_dfal.py, docs/results.md).
        RegisteredStrategy(
            "dfal_batch", DFALMargin, dfal_margin,
            {"batch_diversity": "features", "diversity_factor": 5, "cold_start": 0},
        ),
        # DFAL margins with a BADGE-style batch: k-means++ over the crossed
        # logit gap's last-layer gradient, weighted by 1/margin (issue 19).
        RegisteredStrategy("dfal_badge", DFALBadge, dfal_badge),
        RegisteredStrategy("dfal_badge_features", DFALBadge, dfal_badge, {"embedding": "features"}),
        # Another library's strategies as rows (pip install 'skdfal[peers]').
        RegisteredStrategy("skal_entropy", SkactivemlStrategy, skactiveml_strategy, {"method": "entropy"},
                           extra="peers", requires=("skactiveml",)),
        RegisteredStrategy("skal_badge", SkactivemlStrategy, skactiveml_strategy, {"method": "badge"},
                           extra="peers", requires=("skactiveml",)),
        RegisteredStrategy("skal_typiclust", SkactivemlStrategy, skactiveml_strategy, {"method": "typiclust"},
                           extra="peers", requires=("skactiveml",)),
        # DFAL over the whole pool at about the cost of one backward pass per
        # sample: first-order screening, exact DeepFool on a shortlist.
        RegisteredStrategy("dfal_screen", DFALMargin, dfal_margin, {"screening": True}),
        # With a semi-supervised trainer (issue 32): the same strategies among
        # the samples the trainer does not already pseudo-label.
    )
}
_REGISTRY.update({
    f"{name}_unconfident": RegisteredStrategy(
        f"{name}_unconfident", Unconfident, unconfident, {"strategy": _REGISTRY[name].make()})
    for name in ("random", "badge", "dfal", "dfal_batch")
})


def all_strategies() -> dict[str, RegisteredStrategy]:
    """Every registered strategy configuration, by name.

    Examples
    --------
    >>> from skdfal import all_strategies
    >>> sorted(all_strategies())[:3]
    ['badge', 'badge_unconfident', 'bald']
    >>> all_strategies()["dfal"].tags.needs_torch
    True
    """
    return dict(_REGISTRY)


def _aliases() -> dict[str, RegisteredStrategy]:
    # Class and function names too (``"DFALMargin"``, ``"dfal_margin"``): the
    # first configuration of a class is the one its names stand for.
    names = {}
    for entry in _REGISTRY.values():
        for key in (entry.name, entry.cls.__name__, entry.function.__name__):
            names.setdefault(key, entry)
    return names


def get_strategy(name: str) -> RegisteredStrategy:
    """The registered strategy called ``name`` (a registry key, class or function name).

    Raises
    ------
    ValueError
        For a name nothing is registered under (the message lists them).

    Examples
    --------
    >>> from skdfal.strategies import get_strategy
    >>> get_strategy("dfal_margin").cls.__name__, get_strategy("DFALMargin").name
    ('DFALMargin', 'dfal')
    """
    names = _aliases()
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"unknown strategy {name!r}; choose from {sorted(_REGISTRY)}")
    return names[name]


def make_strategy(name: str = RECOMMENDED, **params: Any) -> QueryStrategy:
    """A new strategy object of the registered configuration ``name``, in one call.

    ``make_strategy()`` is the DFAL configuration skdfal recommends
    (:data:`RECOMMENDED`, ``"dfal_batch"``: DFAL margins with each batch
    spread by k-means over the ``5 n`` smallest in penultimate features);
    any name of :func:`all_strategies` (or a class or function name) works,
    and ``params`` override the configuration's own.

    Parameters
    ----------
    name : str, default=RECOMMENDED
        A registry key (``"dfal"``, ``"dfal_batch"``, ``"entropy"`` ...).
    **params
        Parameters of the strategy class, over the configuration's.

    Returns
    -------
    QueryStrategy
        Clone-able, for ``ActiveLearner(query_strategy=...)`` or a grid
        search.  A configuration that labels adversarial copies for free
        (``"dfal_adv"``: ``get_strategy(name).adversarial``) needs the
        learner's ``adversarial_augmentation=True`` as well.

    Raises
    ------
    ValueError
        An unknown name (the message lists the registered ones).
    ImportError
        A strategy whose optional extra is not installed, naming it.
    TypeError
        A parameter the strategy does not take.

    Examples
    --------
    >>> from skdfal import make_strategy
    >>> make_strategy()
    DFALMargin(batch_diversity='features', diversity_factor=5)
    >>> make_strategy("bald", n_passes=5)
    BALD(n_passes=5)
    """
    entry = get_strategy(name)
    entry.check_available()
    return entry.make(**params)


def strategy_tags(strategy):
    """Tags of a strategy object, class or registered function; ``None`` for foreign ones."""
    tags = getattr(strategy, "tags", None)
    if tags is not None and isinstance(strategy, QueryStrategy | type):
        return tags
    for entry in _REGISTRY.values():
        if strategy is entry.function:
            return entry.tags
    return None
