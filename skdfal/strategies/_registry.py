"""Every query strategy skdfal ships, by name, with what it can do.

One list for the whole package: labeling sessions rebuild a strategy from
its name, the benchmark runs strategies by name, Dask scoring asks whether a
strategy is pointwise, and the contract tests run over all of them.  Code
asks a strategy's :class:`StrategyTags` instead of testing its class.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator, clone

from ._base import QueryStrategy
from ._bayesian import BALD, bald
from ._compose import ComposedStrategy
from ._dfal import DFALMargin, dfal_margin
from ._dfal_badge import DFALBadge, dfal_badge
from ._diversity import BADGE, CoreSet, badge, coreset
from ._peers import SkactivemlStrategy, skactiveml_strategy
from ._random import RandomSampling, random_sampling
from ._screened import Screened
from ._selectors import (
    SELECTOR_CONSTRAINTS,
    KCenter,
    Selector,
    SpreadBatch,
    TopN,
    WeightedSeeding,
    same_selector,
)
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
    """A named strategy: a configured scorer and the selector that picks from its scores.

    Built by :func:`pair`, which checks that the selector gets what it needs
    of the scorer (DeepFool directions, embeddings) when the pair is made.

    Attributes
    ----------
    name : str
        Its key in :func:`all_strategies` (``"dfal"``, ``"entropy"`` ...).
    scorer : QueryStrategy
        The configured scorer (a template: :meth:`make` copies it).
    selector : Selector or None
        What picks the batch from the scores; ``None`` for a strategy that
        chooses by itself (a wrapper around a registered pair, another
        library's strategy).
    adversarial : bool
        Whether the learner also labels the DeepFool copies of the queried
        samples (DFAL's free labels, ``dfal_adv``): the learner's
        ``adversarial_augmentation``, not the strategy's.
    extra : str or None
        The optional extra whose modules it needs (``"peers"``), if any.
    requires : tuple of str
        Those modules' import names.
    """

    name: str
    scorer: QueryStrategy
    selector: Selector | None
    adversarial: bool = False
    extra: str | None = None
    requires: tuple[str, ...] = ()

    @property
    def cls(self) -> type:
        """The scorer's class (its name and function form name the entry too)."""
        return type(self.scorer)

    @property
    def function(self) -> Callable | None:
        """The modAL-style function form of the scorer's class (``dfal_margin`` ...); ``None`` for a wrapper's."""
        return _FUNCTION_FORMS.get(self.cls)

    @property
    def tags(self):
        """The :class:`~skdfal.strategies.StrategyTags` of the scorer."""
        return self.scorer.tags

    @property
    def composed(self) -> bool:
        """Whether the selector is not the scorer's own, so that :meth:`make` composes the two."""
        return not (self.selector is None or same_selector(self.scorer._selector(), self.selector))

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

    def make(self, **params) -> QueryStrategy:
        """A new strategy object of this pair; ``params`` set the scorer's (``selector__x`` the selector's).

        The scorer alone where the selector is its own (``BADGE()`` with
        :class:`~skdfal.strategies.WeightedSeeding`), else
        ``ComposedStrategy(scorer, selector)``.
        """
        selector_params = {key[len("selector__"):]: params.pop(key) for key in
                           [key for key in params if key.startswith("selector__")]}
        spelt = sorted(set(params) & set(SELECTOR_CONSTRAINTS))
        scorer = _built(self.scorer, params)
        if not self.composed:
            if selector_params:
                raise TypeError(f"strategy {self.name!r} selects by its scorer's own parameters: "
                                f"{sorted(selector_params)} are not among them")
            return scorer  # its parameters may spell another selector of its own (DFAL's flat ones)
        selector = clone(self.selector).set_params(**selector_params)
        if spelt:
            if same_selector(scorer._selector(), selector):
                return scorer  # this very pair, spelt flat (as sessions saved it)
            raise TypeError(
                f"strategy {self.name!r} pairs {self.cls.__name__} with {self.selector!r}: set the selector's "
                f"parameters as selector__<name> (selector__factor=...), not as the scorer's {spelt}"
            )
        return ComposedStrategy(scorer, selector)


def _built(template, params):
    """A copy of ``template`` with ``params``; those it does not take go to the scorer it wraps.

    ``Screened(DFALMargin())`` takes ``max_iter`` for its DFAL scorer, as
    ``DFALMargin(screening=True)`` did.  An unknown parameter is a TypeError.
    """
    # A strategy given as a parameter (a wrapper's) is copied: makes share nothing.
    own = {key: clone(value) if isinstance(value, BaseEstimator) else value
           for key, value in template.get_params(deep=False).items()}
    inner = {key: params[key] for key in params if key not in own and "scorer" in own}
    if inner:
        own["scorer"] = _built(own["scorer"], inner)
    return type(template)(**{**own, **{key: value for key, value in params.items() if key not in inner}})


def pair(name, scorer, selector, *, adversarial=False, extra=None, requires=()) -> RegisteredStrategy:
    """Register ``scorer`` with ``selector`` as ``name``, refusing a selector the scorer cannot feed.

    ``selector`` must get what it needs of the scorer (its
    :meth:`~skdfal.strategies.Selector.needs` among the scorer's
    ``provides``): checked here, when the pair is made, not at its first query.
    """
    if selector is not None:
        selector._validate_params()
        selector.check_scorer(scorer)
    return RegisteredStrategy(name, scorer, selector, adversarial, extra, requires)


# Each class's modAL-style function form, for the entries' ``function`` and ``strategy_tags``.
_FUNCTION_FORMS = {
    RandomSampling: random_sampling, LeastConfidence: least_confidence, MarginSampling: margin_sampling,
    EntropySampling: entropy_sampling, BALD: bald, CoreSet: coreset, BADGE: badge, DFALMargin: dfal_margin,
    DFALBadge: dfal_badge, SkactivemlStrategy: skactiveml_strategy, Unconfident: unconfident,
}

_REGISTRY = {
    entry.name: entry
    for entry in (
        pair("random", RandomSampling(), TopN()),
        pair("least_confidence", LeastConfidence(), TopN()),
        pair("margin", MarginSampling(), TopN()),
        pair("entropy", EntropySampling(), TopN()),
        pair("bald", BALD(n_passes=20), TopN()),
        pair("coreset", CoreSet(), KCenter()),
        pair("badge", BADGE(), WeightedSeeding()),
        # DFAL as the paper ran it: queried samples only, and queried samples
        # plus their DeepFool adversarial copies labelled for free (by the learner).
        pair("dfal", DFALMargin(), TopN()),
        pair("dfal_adv", DFALMargin(), TopN(), adversarial=True),
        # DFAL as a batch strategy: each batch spread over the 5 n smallest
        # margins in penultimate features (chosen on MNIST and digits with
        # validation splits: benchmarks/choose_dfal.py, docs/results.md).
        pair("dfal_batch", DFALMargin(), SpreadBatch("features", factor=5)),
        # DFAL margins with a BADGE-style batch: k-means++ over the crossed
        # logit gap's last-layer gradient, weighted by 1/margin (issue 19).
        pair("dfal_badge", DFALBadge(), WeightedSeeding()),
        pair("dfal_badge_features", DFALBadge(embedding="features"), WeightedSeeding()),
        # Another library's strategies as rows (pip install 'skdfal[peers]'): it chooses the batch.
        *(pair(f"skal_{method}", SkactivemlStrategy(method), None, extra="peers", requires=("skactiveml",))
          for method in ("entropy", "badge", "typiclust")),
        # DFAL over the whole pool at about the cost of one backward pass per
        # sample: first-order screening, exact DeepFool on a shortlist.
        pair("dfal_screen", Screened(DFALMargin()), TopN()),
    )
}
# With a semi-supervised trainer (issue 32): the same strategies among the
# samples the trainer does not already pseudo-label.
_REGISTRY.update({
    f"{name}_unconfident": pair(f"{name}_unconfident", Unconfident(_REGISTRY[name].make()), None)
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
        for key in (entry.name, entry.cls.__name__, getattr(entry.function, "__name__", None)):
            if key is not None:
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
    """A new strategy object of the registered pair ``name``, in one call.

    ``make_strategy()`` is the DFAL configuration skdfal recommends
    (:data:`RECOMMENDED`, ``"dfal_batch"``: DFAL margins with each batch
    spread by k-means over the ``5 n`` smallest in penultimate features);
    any name of :func:`all_strategies` (or a class or function name) works,
    and ``params`` override the scorer's own parameters.

    Parameters
    ----------
    name : str, default=RECOMMENDED
        A registry key (``"dfal"``, ``"dfal_batch"``, ``"entropy"`` ...).
    **params
        Parameters of the scorer, over the pair's; ``selector__<name>``
        sets one of a composed pair's selector (``selector__factor=3``).

    Returns
    -------
    QueryStrategy
        The scorer itself where the selector is its own (``BALD``, ``BADGE``
        ...), else a :class:`~skdfal.strategies.ComposedStrategy` of the two.
        Clone-able, for ``ActiveLearner(query_strategy=...)`` or a grid
        search.  A pair that labels adversarial copies for free
        (``"dfal_adv"``: ``get_strategy(name).adversarial``) needs the
        learner's ``adversarial_augmentation=True`` as well.

    Raises
    ------
    ValueError
        An unknown name (the message lists the registered ones).
    ImportError
        A strategy whose optional extra is not installed, naming it.
    TypeError
        A parameter the scorer does not take, or a composed pair's selector
        spelt through the scorer's flat parameters (``diversity_factor``).

    Examples
    --------
    >>> from skdfal import make_strategy
    >>> make_strategy()
    ComposedStrategy(scorer=DFALMargin(), selector=SpreadBatch(factor=5))
    >>> make_strategy("dfal_batch", selector__factor=3).selector
    SpreadBatch(factor=3)
    >>> make_strategy("bald", n_passes=5)
    BALD(n_passes=5)
    """
    entry = get_strategy(name)
    entry.check_available()
    return entry.make(**params)


def registered_as(strategy) -> tuple[RegisteredStrategy, dict] | None:
    """``(entry, parameters)`` that rebuild ``strategy`` with ``entry.make(**parameters)``; ``None`` if none can.

    A function form gives its class's first entry and no parameters; an
    object its scorer's parameters, with the entry whose pair it is (a
    :class:`~skdfal.strategies.ComposedStrategy` by its selector), or else
    the first of its class (its own parameters then choose its selector).
    """
    entries = list(_REGISTRY.values())
    for entry in entries:
        if strategy is entry.function:
            return entry, {}
    composed = isinstance(strategy, ComposedStrategy)
    scorer = strategy.scorer if composed else strategy
    same_class = [entry for entry in entries if type(scorer) is entry.cls]
    paired = [entry for entry in same_class if entry.selector is not None
              and same_selector(strategy._selector(), entry.selector) and entry.composed == composed]
    if not (paired or same_class and not composed):
        return None
    params = _flat_params(scorer)
    if composed and strategy.random_state is not None and "random_state" in params:
        params["random_state"] = strategy.random_state  # the query's seed: what make() hands the scorer
    return (paired or same_class)[0], params


def _flat_params(scorer):
    """A scorer's parameters, a wrapped scorer's among them (what :func:`_built` routes back)."""
    params = scorer.get_params(deep=False)
    if "scorer" not in params:
        return params
    inner = _flat_params(params.pop("scorer"))
    # A wrapper's random_state of None stands for its scorer's.
    return {**inner, **{key: value for key, value in params.items() if key != "random_state" or value is not None}}


def strategy_tags(strategy):
    """Tags of a strategy object, class or registered function; ``None`` for foreign ones."""
    tags = getattr(strategy, "tags", None)
    if tags is not None and isinstance(strategy, QueryStrategy | type):
        return tags
    for entry in _REGISTRY.values():
        if strategy is entry.function:
            return entry.tags
    return None
