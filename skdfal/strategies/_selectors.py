"""Selectors: objects that turn a scorer's scored batches into a batch of picks.

A strategy is a scorer (a :class:`~skdfal.strategies.QueryStrategy` that
scores samples: DFAL's DeepFool margin, entropy, BALD ...) and a selector:

* :class:`TopN`: the ``n`` best scores, holding only ``n`` while the pool
  streams by (the default, and the paper's DFAL);
* :class:`SpreadBatch`: the ``factor * n`` best scores clustered into ``n``
  groups (k-means, seeded by k-means++) in the net's penultimate features
  or along their DeepFool directions, each group giving its best-scored
  sample: a batch that covers different parts of the boundary;
* :class:`ColdStart`: at random while the learner has paid fewer labels
  than a threshold, then another selector;
* :class:`WeightedSeeding`: BADGE's k-means++ seeding over embeddings
  whose length stands for informativeness;
* :class:`KCenter`: core-set's greedy k-center over embeddings.

A selector says what it needs of the scorer besides sort keys
(:meth:`Selector.needs`: ``"directions"``, ``"embeddings"``); a scorer says
what it can give (:attr:`QueryStrategy.provides`); the pair is checked at
the door of every query, before any sample is scored.  :func:`run_selector`
runs a selector on a scorer from the query's one ``RandomState``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state

from ..utils._pool import take_rows
from ..utils._sklearn_compat import HasMethods, Interval, StrOptions
from ._context import query_context
from ._dfal_batch import cluster_smallest
from ._embeddings import k_center_greedy, kmeans_pp_seeding, penultimate_features
from ._selection import BestScores, random_scores, top_streamed

__all__ = ["ColdStart", "KCenter", "Selector", "SpreadBatch", "TopN", "WeightedSeeding", "same_selector", "selector_of"]


class Selector(BaseEstimator):
    """Base class of the selectors: :meth:`select` picks, :meth:`needs` says what of the scorer.

    ``select(scorer, context, X_pool, n_instances, *, rng, random_tie_break)``
    returns ``(positions, scores, clusters)``: ``clusters`` is each pick's
    k-means cluster when the selector spread the batch (front-ends show it:
    Label Studio's ``cluster``), else ``None``.  ``rng`` is the query's one
    ``RandomState`` (from the scorer's ``random_state``): the cold start, the
    scorer's own draws, modAL's tie breaks and the seedings draw from it, in
    that order, so a seed repeats a query.
    """

    _parameter_constraints: dict = {}

    def needs(self) -> frozenset:
        """Payloads the scorer must hand over with its keys (none by default)."""
        return frozenset()

    def check_scorer(self, scorer) -> None:
        """Refuse a scorer that cannot give what this selector needs, naming both."""
        missing = self.needs() - frozenset(getattr(scorer, "provides", ()))
        if missing:
            raise ValueError(
                f"{self!r} needs {' and '.join(sorted(missing))} of its scorer, which {type(scorer).__name__} "
                f"does not provide (it provides {sorted(getattr(scorer, 'provides', ())) or 'sort keys only'}): "
                "choose another selector or a scorer that provides them (DFALMargin gives directions)"
            )

    def spreads(self) -> bool:
        """Whether its picks carry k-means clusters (front-ends show them; none by default)."""
        return False

    def select(self, scorer, context, X_pool, n_instances, *, rng, random_tie_break=False):
        raise NotImplementedError(f"{type(self).__name__} does not implement select")  # pragma: no cover


def same_selector(a, b) -> bool:
    """Whether two selectors (or ``None``) pick alike: the same class with the same parameters.

    Examples
    --------
    >>> from skdfal.strategies import ColdStart, SpreadBatch, TopN
    >>> from skdfal.strategies._selectors import same_selector
    >>> same_selector(SpreadBatch(factor=5), SpreadBatch("features", 5)), same_selector(TopN(), SpreadBatch())
    (True, False)
    >>> same_selector(ColdStart(3, then=TopN()), ColdStart(3, then=TopN()))
    True
    """
    if a is None or b is None:
        return a is b
    if type(a) is not type(b):
        return False
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    return pa.keys() == pb.keys() and all(
        same_selector(pa[k], pb[k]) if isinstance(pa[k], Selector) else pa[k] == pb[k] for k in pa)


def _best(scorer, context, X_pool, n_keep, rng, payload, random_tie_break):
    """The ``n_keep`` best keys of the scorer's batches (and their payload rows), with its notes."""
    # modAL's random_tie_break: equal scores in random order, not pool order.
    best = BestScores(n_keep, largest=scorer.largest, tie_rng=rng if random_tie_break else None)
    notes: dict = {}
    for keys, rows in scorer._iter_scored_batches(context, X_pool, rng=rng, payload=payload, notes=notes):
        best.push(keys, payload=rows)
    return best, notes


class TopN(Selector):
    """The ``n_instances`` best scores (only those are held while the pool streams by).

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.strategies import RandomSampling, TopN
    >>> TopN().select(RandomSampling(random_state=0), None, np.zeros((5, 1)), 2,
    ...               rng=np.random.RandomState(0))[0].tolist()
    [1, 2]
    """

    def select(self, scorer, context, X_pool, n_instances, *, rng, random_tie_break=False):
        screened = scorer._screened_best(context, X_pool, n_instances, n_instances, rng=rng, payload=None)
        if screened is not None:  # an exact accelerator found the best (DFAL's screening)
            return screened[0], screened[1], None
        best, notes = _best(scorer, context, X_pool, n_instances, rng, None, random_tie_break)
        return best.indices, scorer._finish_selection(best.scores, notes, best.n_seen, n_instances), None


class SpreadBatch(Selector):
    """Spread the batch over the ``factor * n`` best scores: k-means in a named space.

    Parameters
    ----------
    space : {"features", "directions"}, default="features"
        ``"features"``: the net's penultimate features (a torch net);
        ``"directions"``: the unit DeepFool directions (a scorer that
        provides them: DFAL).
    factor : int, default=10
        How many times ``n_instances`` best-scored samples are clustered.

    Each of the ``n_instances`` clusters gives its best-scored sample; the
    scores reported are the scorer's.
    """

    _parameter_constraints = {
        "space": [StrOptions({"features", "directions"})],
        "factor": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, space="features", factor=10):
        self.space = space
        self.factor = factor

    def needs(self):
        return frozenset({"directions"}) if self.space == "directions" else frozenset()

    def spreads(self):
        return True

    def select(self, scorer, context, X_pool, n_instances, *, rng, random_tie_break=False):
        n_keep = self.factor * n_instances
        screened = scorer._screened_best(context, X_pool, n_keep, n_instances, rng=rng, payload=self.space)
        if screened is not None:
            picked, scores, key, embeddings = screened
            if key is None:
                return picked, scores, None
            chosen, clusters = cluster_smallest(embeddings, -key if scorer.largest else key, n_instances, rng,
                                                return_clusters=True)
            return picked[chosen], scores[chosen], clusters
        best, notes = _best(scorer, context, X_pool, n_keep, rng, self.space, random_tie_break)
        picked, key, clusters = best.indices, best.scores, None
        if len(picked) > n_instances:
            embeddings = self._embeddings(scorer, context, X_pool, picked, best.payload)
            chosen, clusters = cluster_smallest(embeddings, -key if scorer.largest else key, n_instances, rng,
                                                return_clusters=True)
            picked, key = picked[chosen], key[chosen]
        return picked, scorer._finish_selection(key, notes, best.n_seen, n_instances), clusters

    def _embeddings(self, scorer, context, X_pool, picked, payload):
        """Rows clustered: the kept directions, or the penultimate features of the kept samples."""
        if self.space == "directions":
            return payload
        if payload is not None:  # the kept samples as the net sees them
            return scorer._kept_features(context, payload)
        # A scorer that kept no inputs: read the few kept rows again (indexable pools only).
        try:
            rows = take_rows(X_pool, picked)
        except TypeError as exc:
            raise ValueError(
                "SpreadBatch(space='features') reads the kept samples again: the pool must be indexable "
                f"(an array, tensor, DataFrame or Dataset): {exc}"
            ) from None
        return torch.as_tensor(penultimate_features(context, rows, batch_size=getattr(scorer, "batch_size", 256)))


class ColdStart(Selector):
    """At random while the learner has paid fewer than ``n_labels`` labels, then ``then``.

    Parameters
    ----------
    n_labels : int, default=0
        Labels paid before ``then`` takes over (scores are NaN before).
        Needs an active learner as the classifier (skdfal's or modAL's);
        ignored otherwise.
    then : Selector, default=TopN()
    """

    _parameter_constraints = {
        "n_labels": [Interval(Integral, 0, None, closed="left")],
        "then": [HasMethods(["select", "needs"])],
    }

    def __init__(self, n_labels=0, then=None):
        self.n_labels = n_labels
        self.then = then

    def _then(self):
        return TopN() if self.then is None else self.then

    def _validate_params(self):
        super()._validate_params()
        self._then()._validate_params()

    def needs(self):
        return self._then().needs()

    def spreads(self):
        return self._then().spreads()

    def select(self, scorer, context, X_pool, n_instances, *, rng, random_tie_break=False):
        paid = context.n_labels_paid
        if self.n_labels and paid is not None and paid < self.n_labels:
            # Random sampling's own picks from this RandomState (the pool is
            # still read, so a NaN pool is refused here too).
            picked, _ = top_streamed(random_scores(X_pool, rng), n_instances, largest=True)
            return picked, np.full(len(picked), np.nan), None
        return self._then().select(scorer, context, X_pool, n_instances, rng=rng,
                                   random_tie_break=random_tie_break)


def _whole(scorer, context, X_pool, rng):
    """Every key and embedding of the pool (set-choosing selectors see it all), with the notes."""
    notes: dict = {}
    keys, rows = [], []
    for k, r in scorer._iter_scored_batches(context, X_pool, rng=rng, payload="embeddings", notes=notes):
        keys.append(np.asarray(k, dtype=np.float64).ravel())
        rows.append(r.numpy() if isinstance(r, torch.Tensor) else np.asarray(r))
    return np.concatenate(keys), np.concatenate(rows), notes


class WeightedSeeding(Selector):
    """BADGE's rule: k-means++ seeding over the scorer's embeddings, whose length is informativeness.

    The first pick is the longest embedding; each next one is drawn with
    probability proportional to its squared distance to the nearest pick.
    The scores reported are the scorer's (BADGE: gradient norms; DFAL-BADGE:
    DeepFool margins).
    """

    def needs(self):
        return frozenset({"embeddings"})

    def select(self, scorer, context, X_pool, n_instances, *, rng, random_tie_break=False):
        keys, embeddings, notes = _whole(scorer, context, X_pool, rng)
        n_instances = min(n_instances, len(keys))  # a short stream: _query_validated says so
        picked, _ = kmeans_pp_seeding(embeddings, n_instances, rng)
        return picked, scorer._finish_selection(keys[picked], notes, len(keys), n_instances), None


class KCenter(Selector):
    """Core-set's rule: greedy k-center over the scorer's embeddings.

    Each pick is the sample farthest from the centers (``notes["centers"]``
    left by the scorer: the labeled set's embeddings) and the earlier picks;
    the scores reported are those distances when picked.
    """

    def needs(self):
        return frozenset({"embeddings"})

    def select(self, scorer, context, X_pool, n_instances, *, rng, random_tie_break=False):
        keys, embeddings, notes = _whole(scorer, context, X_pool, rng)
        n_instances = min(n_instances, len(keys))
        return (*k_center_greedy(embeddings, notes.get("centers"), n_instances, rng), None)


def run_selector(strategy, selector, scorer, classifier, X_pool, n_instances):
    """``selector``'s picks and scores from ``scorer``; the spread's clusters left on ``strategy``.

    ``strategy.last_clusters_`` is each pick's k-means cluster, ``None`` when
    this query spread nothing (the picks are the same either way).
    """
    strategy.last_clusters_ = None
    rng = check_random_state(query_seed(strategy))
    picked, scores, strategy.last_clusters_ = selector.select(
        scorer, query_context(classifier), X_pool, n_instances, rng=rng,
        random_tie_break=getattr(strategy, "_random_tie_break", False))
    return picked, scores


def query_seed(strategy):
    """The ``random_state`` a query draws from: the strategy's own, else (a wrapper's) its scorer's."""
    seed = getattr(strategy, "random_state", None)
    inner = getattr(strategy, "scorer", None)
    return query_seed(inner) if seed is None and inner is not None else seed


def seeded_scorer(scorer, random_state):
    """``scorer`` as a wrapper with its own ``random_state`` runs it: that seed when one is set.

    The same RandomState object, not a copy: the scorer's draws and the
    selector's continue one stream, as in a plain strategy.
    """
    if random_state is None or "random_state" not in scorer.get_params(deep=False):
        return scorer
    return clone(scorer).set_params(random_state=random_state)


def selector_of(batch_diversity=None, diversity_factor=10, cold_start=0) -> Selector:
    """The selector that DFALMargin's (and ComposedStrategy's) flat parameters stand for."""
    selector = TopN() if batch_diversity is None else SpreadBatch(batch_diversity, diversity_factor)
    return ColdStart(cold_start, then=selector) if cold_start else selector


#: The flat parameters of :func:`selector_of`: the selectors' own constraints.
SELECTOR_CONSTRAINTS = {
    "batch_diversity": [None, *SpreadBatch._parameter_constraints["space"]],
    "diversity_factor": SpreadBatch._parameter_constraints["factor"],
    "cold_start": ColdStart._parameter_constraints["n_labels"],
}
