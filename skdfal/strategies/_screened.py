"""``Screened(scorer)``: DFAL's best margins found by first-order screening, not by attacking the pool.

The wrapped scorer (:class:`~skdfal.strategies.DFALMargin`) still defines
the margin; the wrapper only changes how the ``n`` smallest are found: a
first-order pass over the whole pool, exact DeepFool on a shortlist grown
until no other sample is expected to beat the exact ``n``-th norm
(:func:`~skdfal.strategies.screen_pool`).  Every selector that keeps the
best margins (:class:`~skdfal.strategies.TopN`,
:class:`~skdfal.strategies.SpreadBatch`) takes the screened ones.
"""

from __future__ import annotations

from numbers import Integral

import torch

from ..utils._pool import iter_batches, take_rows
from ..utils._sklearn_compat import HasMethods, Interval
from ..utils._typing import RandomStateLike
from ._screening import _screen_pool, sort_key
from ._wrapped import ScorerWrapper

__all__ = ["Screened"]


class Screened(ScorerWrapper):
    """``scorer``'s smallest DeepFool margins, found by first-order screening of the whole pool.

    Parameters
    ----------
    scorer : DFALMargin
        The DFAL scorer whose margins are screened (its DeepFool parameters,
        ``batch_size``, ``progress`` and ``space`` are used; its own
        ``screening`` flag is not read).
    screening_candidates : int, default=2
        Classes measured by the first-order margin (the prediction
        included): one backward pass per sample with 2.
    random_state : int, RandomState or None, default=None
        Overrides the scorer's for the query (``None``: the scorer's).

    Notes
    -----
    The picks carry their exact DeepFool norms, as without screening.  With
    a spread batch the ``factor * n`` smallest of the whole pool are kept,
    then spread (the pool must then be indexable: an array, tensor,
    DataFrame or Dataset).  Only ``query`` screens: ``score`` (and Dask
    scoring) still attack every sample.  ``DFALMargin(screening=True)``
    is this wrapper, spelt as a flag.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdfal.strategies import DFALMargin, Screened
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    ...     _ = lin.bias.zero_()
    >>> X = np.array([[3.0, 0.0], [0.2, 1.0], [-1.0, 0.0]], dtype=np.float32)
    >>> Screened(DFALMargin())(lin, X, n_instances=2)[0].tolist()
    [1, 2]
    """

    _parameter_constraints = {
        "scorer": [HasMethods(["_iter_attacks", "_torch_model", "_deepfool_params"])],
        "screening_candidates": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, scorer, *, screening_candidates: int = 2, random_state: RandomStateLike = None):
        self.scorer = scorer
        self.screening_candidates = screening_candidates
        self.random_state = random_state

    def _selector(self):
        return self.scorer._selector()

    def _iter_scored_batches(self, classifier, X_pool, *, rng, payload, notes):
        return self._scorer()._iter_scored_batches(classifier, X_pool, rng=rng, payload=payload, notes=notes)

    def _finish_selection(self, keys, notes, n_seen, n_instances):
        return self._scorer()._finish_selection(keys, notes, n_seen, n_instances)

    def _kept_features(self, classifier, inputs):
        return self._scorer()._kept_features(classifier, inputs)

    def _screened_best(self, classifier, X_pool, n_keep, n_instances, *, rng, payload):
        """The ``n_keep`` smallest norms of the whole pool: ``(indices, norms, sort keys, embeddings)``.

        The last two are ``None`` when there is nothing to spread.
        """
        scorer = self._scorer()
        # _screen_pool keeps at most the whole pool (the door checked n_instances against it).
        result = _screen_pool(
            scorer._torch_model(classifier), X_pool, n_keep, screening_candidates=self.screening_candidates,
            batch_size=scorer.batch_size, random_state=scorer.random_state, progress=scorer.progress,
            **scorer._deepfool_params(),
        )
        if payload is None or len(result.indices) <= n_instances:
            return result.indices, result.margins, None, None
        kept = take_rows(X_pool, result.indices)
        if payload == "features":
            # Features need the kept rows as the net sees them, not an attack.
            model = scorer._torch_model(classifier)
            inputs = torch.cat([x for _, x in iter_batches(kept, scorer.batch_size, model=model)])
            embeddings = scorer._kept_features(classifier, inputs)
        else:
            # Screening's exact pass keeps norms only: the few kept rows are
            # attacked again for their directions (cheap next to the pool's pass).
            embeddings = torch.cat([scorer._payload(x, attack, "directions") for x, attack in
                                    scorer._iter_attacks(classifier, kept, directions=True)])
        return result.indices, result.margins, sort_key(result.margins, rng), embeddings
