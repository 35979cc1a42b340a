"""Uncertainty sampling: least confidence, smallest margin, largest entropy.

All three read only the predicted class probabilities, so they work with any
scikit-learn classifier that has ``predict_proba`` (and with a bare torch
module, through a softmax of its logits).  As in modAL, a model that is not
fitted yet finds every sample equally informative: each gets modAL's neutral
score (least confidence 1, margin 0, entropy 0), so a learner without labels
still gets an answer, the first samples of the pool.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import entr
from sklearn.exceptions import NotFittedError
from skorch.utils import to_numpy

from ..utils._pool import iter_batches
from ..utils._torch import final_step, is_torch_net, resolve_torch_model, unwrap_learner
from ._base import SampledStrategy, StrategyTags, as_function

__all__ = [
    "LeastConfidence",
    "MarginSampling",
    "EntropySampling",
    "least_confidence",
    "margin_sampling",
    "entropy_sampling",
]


#: Fewest pool rows a scikit-learn (non-torch) model is asked to score at once.
SKLEARN_CHUNK = 8192


def _iter_probabilities(classifier, X_pool, batch_size):
    """``(n_rows, probabilities)`` of the pool, one batch at a time.

    Anything with ``predict_proba`` (after unwrapping an active learner) is
    asked directly; a bare torch module gets a softmax over its outputs.
    The probabilities are ``None`` when the model is not fitted yet (its
    ``predict_proba`` raised ``NotFittedError`` on the first batch).
    """
    est = unwrap_learner(classifier)
    if hasattr(est, "predict_proba"):
        torch_net = is_torch_net(est)
        if not torch_net:
            # A scikit-learn model's per-call overhead dominates small chunks
            # (a 10-tree forest: 2 s for 250,000 rows in chunks of 256, 0.1 s
            # in chunks of 8192); torch nets keep the memory bound.
            batch_size = max(batch_size, SKLEARN_CHUNK)
        fitted = None  # not known before the first batch
        for _, batch in iter_batches(X_pool, batch_size):
            if torch_net and getattr(batch, "dtype", None) == np.float64:
                batch = batch.astype(np.float32)  # torch nets run in float32
            if fitted is False:
                yield batch.shape[0], None
                continue
            try:
                proba = est.predict_proba(batch)
            except NotFittedError:
                if fitted:  # fitted for the first batches: not modAL's case, a real error
                    raise
                fitted = False
                yield batch.shape[0], None
                continue
            fitted = True
            yield batch.shape[0], np.asarray(proba, dtype=np.float64)
        return
    model = resolve_torch_model(classifier)  # TypeError for anything else
    for _, x in iter_batches(X_pool, batch_size, model=model):
        # Eval mode per batch, restored before yielding.
        was_training = model.module.training
        model.module.eval()
        try:
            with torch.no_grad():
                proba = torch.softmax(model.module(x), dim=1)
        finally:
            model.module.train(was_training)
        yield x.shape[0], to_numpy(proba).astype(np.float64)


def _check_has_probabilities(classifier, strategy):
    """Refuse a model that gives no class probabilities, naming the fix.

    Without ``predict_proba`` only a torch model (whose logits give them)
    qualifies; anything else would fail as "DFAL needs a differentiable
    torch model", which is not what an uncertainty strategy needs.
    """
    from torch import nn

    est = unwrap_learner(classifier)
    if est is None or hasattr(est, "predict_proba") or isinstance(est, nn.Module) or is_torch_net(est):
        return  # None: resolve_torch_model says what is missing
    final = final_step(est)
    params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
    name = type(final).__name__
    fix = (f"build it with {name}(probability=True)" if "probability" in params else
           "use a classifier that has predict_proba (or wrap this one in CalibratedClassifierCV), "
           "a skorch net or a torch module")
    raise TypeError(f"{strategy} needs predicted class probabilities, but {name} has no predict_proba: {fix}")


class _ProbabilityStrategy(SampledStrategy):
    """Shared body: utility = a function of each sample's probability vector."""

    tags = StrategyTags(pointwise=True)

    #: modAL's score for every sample of a model that is not fitted yet.
    neutral: float = 0.0

    @staticmethod
    def utility(proba: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _iter_scores(self, classifier, X_pool):
        _check_has_probabilities(classifier, type(self).__name__)
        for n_rows, proba in _iter_probabilities(classifier, X_pool, self.batch_size):
            yield np.full(n_rows, self.neutral) if proba is None else self.utility(proba)


class LeastConfidence(_ProbabilityStrategy):
    """Query the samples whose top class probability is lowest.

    Utility ``1 - max_k p_k`` (larger = more informative).

    Parameters
    ----------
    subsample : int, float or None, default=None
        Score only a random subset of the pool (int: that many, float: that share).
    random_state : int, RandomState or None, default=None
        Draws the subset.
    batch_size : int, default=256
        Pool samples a torch net scores at once (a scikit-learn model gets
        chunks of at least 8192).

    Examples
    --------
    >>> import numpy as np
    >>> LeastConfidence.utility(np.array([[0.9, 0.1], [0.6, 0.4]])).round(2).tolist()
    [0.1, 0.4]
    """

    largest = True
    neutral = 1.0  # modAL's classifier_uncertainty of an unfitted model

    @staticmethod
    def utility(proba: np.ndarray) -> np.ndarray:
        return 1.0 - proba.max(axis=1)


class MarginSampling(_ProbabilityStrategy):
    """Query the samples with the smallest gap between the two most probable classes.

    Scores are the margins ``p_(1) - p_(2)`` (smaller = more informative).

    Parameters
    ----------
    subsample : int, float or None, default=None
        Score only a random subset of the pool (int: that many, float: that share).
    random_state : int, RandomState or None, default=None
        Draws the subset.
    batch_size : int, default=256
        Pool samples a torch net scores at once (a scikit-learn model gets
        chunks of at least 8192).

    Examples
    --------
    >>> import numpy as np
    >>> MarginSampling.utility(np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])).round(2).tolist()
    [0.5, 0.05]
    """

    largest = False

    @staticmethod
    def utility(proba: np.ndarray) -> np.ndarray:
        if proba.shape[1] < 2:
            return np.zeros(len(proba))
        top2 = np.partition(proba, proba.shape[1] - 2, axis=1)[:, -2:]
        return top2[:, 1] - top2[:, 0]


class EntropySampling(_ProbabilityStrategy):
    """Query the samples whose predictive distribution has the largest entropy (nats).

    Parameters
    ----------
    subsample : int, float or None, default=None
        Score only a random subset of the pool (int: that many, float: that share).
    random_state : int, RandomState or None, default=None
        Draws the subset.
    batch_size : int, default=256
        Pool samples a torch net scores at once (a scikit-learn model gets
        chunks of at least 8192).

    Examples
    --------
    >>> import numpy as np
    >>> EntropySampling.utility(np.array([[1.0, 0.0], [0.5, 0.5]])).round(4).tolist()
    [0.0, 0.6931]
    """

    largest = True

    @staticmethod
    def utility(proba: np.ndarray) -> np.ndarray:
        # Shannon entropy in nats (entr(0) = 0); "+ 0.0" turns -0.0 (a certain prediction) into 0.0.
        return entr(np.asarray(proba, dtype=np.float64)).sum(axis=-1) + 0.0


least_confidence = as_function(
    LeastConfidence, "least_confidence", "Least-confidence sampling: lowest top-class probability."
)
margin_sampling = as_function(
    MarginSampling, "margin_sampling", "Margin sampling: smallest gap between the two top classes."
)
entropy_sampling = as_function(
    EntropySampling, "entropy_sampling", "Entropy sampling: largest predictive entropy."
)
