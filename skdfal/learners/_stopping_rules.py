"""The stopping rules that watch a stop set: stabilising predictions, and DFAL margins that stop moving.

See :mod:`skdfal.learners._stopping` for the protocol and the plain budget.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import cohen_kappa_score

from ..utils._sklearn_compat import Interval
from ..utils._typing import RandomStateLike
from ._stopping import StoppingRule

__all__ = ["MarginPlateau", "StabilizingPredictions"]


class StabilizingPredictions(StoppingRule):
    """Stop when the predictions on a stop set stop changing (Bloodgood & Vijay-Shanker, 2009).

    After each round the model labels a fixed stop set of samples (no oracle
    needed); Cohen's kappa measures the agreement with the previous round's
    labels.  Labeling may stop once the mean kappa of the last ``window``
    rounds reaches ``threshold`` (the paper: 3 rounds, 0.99).

    Parameters
    ----------
    stop_set_size : int, default=1000
        Samples drawn from the first pool given (all of it if smaller).
    window : int, default=3
        Consecutive agreements averaged.
    threshold : float, default=0.99
        Mean kappa at which labeling may stop (in ``(-1, 1]``).
    random_state : int, RandomState or None, default=0
        Draws the stop set.

    Attributes
    ----------
    kappas_ : list of float
        Agreement of each round with the one before (from the second round).
    X_stop_ : ndarray
        The stop set (when predictions are measured by the rule).

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.learners import StabilizingPredictions
    >>> rule = StabilizingPredictions(window=2, threshold=0.99)
    >>> rounds = [[0, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1]]
    >>> [rule.update(predictions=np.array(p)).stop for p in rounds]
    [False, False, False, False, True]
    """

    _parameter_constraints = {
        "stop_set_size": [Interval(Integral, 1, None, closed="left")],
        "window": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, -1, 1, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(self, stop_set_size: int = 1000, window: int = 3, threshold: float = 0.99,
                 random_state: RandomStateLike = 0):
        self.stop_set_size = stop_set_size
        self.window = window
        self.threshold = threshold
        self.random_state = random_state

    def _update(self, learner, X_pool, *, predictions: npt.ArrayLike | None = None):
        if predictions is None:
            if learner is None:
                raise ValueError("StabilizingPredictions.update needs a learner or predictions=")
            predictions = learner.predict(self._stop_set(X_pool))
        current = np.asarray(predictions).ravel()
        self.kappas_ = list(getattr(self, "kappas_", []))
        previous = getattr(self, "predictions_", None)
        if previous is not None:
            if len(previous) != len(current):
                raise ValueError(f"predictions of {len(current)} samples, the previous round had {len(previous)}")
            # Identical rounds agree fully; scikit-learn gives nan when they hold a single class.
            same = np.array_equal(previous, current)
            self.kappas_.append(1.0 if same else float(cohen_kappa_score(previous, current)))
        self.predictions_ = current
        n = len(current)
        if len(self.kappas_) < self.window:
            return False, (f"{len(self.kappas_)} of the {self.window} rounds of agreement on the stop set "
                           f"of {n} samples seen so far")
        mean = float(np.mean(self.kappas_[-self.window:]))
        if mean >= self.threshold:
            return True, (f"the predictions on the stop set of {n} samples have stabilised: mean Cohen's "
                          f"kappa {mean:.4f} >= {self.threshold} between consecutive rounds over the "
                          f"last {self.window} rounds")
        return False, (f"predictions on the stop set of {n} samples still change: mean Cohen's kappa "
                       f"{mean:.4f} < {self.threshold} over the last {self.window} rounds")


def _relative_change(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``|new - old| / max(|old|, |new|)`` elementwise; 0 for equal values (inf included)."""
    old, new = np.asarray(old, dtype=np.float64), np.asarray(new, dtype=np.float64)
    same = old == new
    with np.errstate(invalid="ignore", divide="ignore"):
        change = np.abs(new - old) / np.maximum(np.abs(old), np.abs(new))
    change = np.where(np.isnan(change), 1.0, change)  # one side inf: a full change
    return np.where(same, 0.0, change)


class MarginPlateau(StoppingRule):
    """Stop when the DFAL margins of a stop set stop moving (skdfal's own rule).

    DFAL's margin of a sample is its DeepFool distance to the decision
    boundary.  While labels still teach the model, its boundary moves and the
    stop set's margins change from round to round; the rule watches a summary
    of them:

    * ``threshold=None``: the ``quantiles`` of the margins; a change is the
      largest relative change of a quantile, ``|new - old| / max(old, new)``;
    * ``threshold=t``: the share of the stop set with a margin below ``t``
      (samples near the boundary); a change is the absolute change of that
      share.

    Labeling may stop once the change stays at or below ``tol`` for ``window``
    consecutive rounds.  Samples DeepFool cannot flip have an infinite
    margin (an equal infinite quantile counts as unchanged).

    Parameters
    ----------
    quantiles : tuple of float, default=(0.1, 0.5)
        Margin quantiles watched (in ``[0, 1]``).
    threshold : float or None, default=None
        Watch the share of margins below this instead.
    tol : float, default=0.1
        Largest change counted as "not moving".
    window : int, default=5
        Consecutive rounds without movement needed.  The defaults were
        chosen on validation splits of digits, MNIST and the four MNIST
        variations at once (``benchmarks/stopping_study.py --tune``): the
        most labels saved while giving up at most one point of accuracy on
        every one; the first guess, ``tol=0.05, window=3``, fired at 120
        labels in a rotated-MNIST run that went on to gain 30 points.
    stop_set_size : int, default=500
        Samples drawn from the first pool given (DeepFool runs on them each round).
    deepfool_params : dict or None, default=None
        Passed to :func:`skdfal.deepfool` (``max_iter``, ``overshoot``, ...).
    random_state : int, RandomState or None, default=0
        Draws the stop set.

    Attributes
    ----------
    statistics_ : list of ndarray
        The watched summary, one per round.
    changes_ : list of float
        Its change from the round before (from the second round).

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.learners import MarginPlateau
    >>> rule = MarginPlateau(quantiles=(0.5,), tol=0.05, window=2)
    >>> medians = [0.1, 0.3, 0.5, 0.51, 0.52]
    >>> [rule.update(margins=np.full(10, m)).stop for m in medians]
    [False, False, False, False, True]
    """

    _parameter_constraints = {
        "quantiles": [tuple, list],
        "threshold": [None, Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "window": [Interval(Integral, 1, None, closed="left")],
        "stop_set_size": [Interval(Integral, 1, None, closed="left")],
        "deepfool_params": [None, dict],
        "random_state": ["random_state"],
    }

    def __init__(self, quantiles: tuple[float, ...] = (0.1, 0.5), threshold: float | None = None,
                 tol: float = 0.1, window: int = 5, stop_set_size: int = 500,
                 deepfool_params: dict[str, Any] | None = None, random_state: RandomStateLike = 0):
        self.quantiles = quantiles
        self.threshold = threshold
        self.tol = tol
        self.window = window
        self.stop_set_size = stop_set_size
        self.deepfool_params = deepfool_params
        self.random_state = random_state

    def _margins(self, learner, X_pool):
        from skorch.utils import to_numpy

        from ..strategies import deepfool_pool
        from ..utils._torch import resolve_torch_model

        X_stop = self._stop_set(X_pool)
        model = resolve_torch_model(learner)
        norms = [to_numpy(result.norms) for _, _, result in
                 deepfool_pool(model, X_stop, **dict(self.deepfool_params or {}))]
        return np.concatenate(norms).astype(np.float64)

    def _summary(self, margins):
        if self.threshold is not None:
            return np.array([np.mean(margins < self.threshold)])
        q = np.asarray(self.quantiles, dtype=np.float64)
        if q.size == 0 or ((q < 0) | (q > 1)).any():
            raise ValueError(f"quantiles must be numbers in [0, 1], got {self.quantiles!r}")
        finite = np.where(np.isinf(margins), np.finfo(np.float64).max, margins)
        values = np.quantile(finite, q, method="lower")  # an actual margin: inf stays inf
        return np.where(values == np.finfo(np.float64).max, np.inf, values)

    def _update(self, learner, X_pool, *, margins: npt.ArrayLike | None = None):
        if margins is None:
            if learner is None:
                raise ValueError("MarginPlateau.update needs a learner or margins=")
            margins = self._margins(learner, X_pool)
        margins = np.asarray(margins, dtype=np.float64).ravel()
        if margins.size == 0 or np.isnan(margins).any():
            raise ValueError("margins must be a non-empty array without NaN")
        summary = self._summary(margins)
        self.statistics_ = [*getattr(self, "statistics_", []), summary]
        self.changes_ = list(getattr(self, "changes_", []))
        if len(self.statistics_) > 1:
            old = self.statistics_[-2]
            change = (np.abs(summary - old) if self.threshold is not None
                      else _relative_change(old, summary))
            self.changes_.append(float(np.max(change)))
        what = (f"the share of margins below {self.threshold}" if self.threshold is not None
                else "margin quantiles " + ", ".join(f"q{100 * q:g}" for q in self.quantiles))
        recent = self.changes_[-self.window:]
        if len(recent) == self.window and max(recent) <= self.tol:
            return True, (f"the DFAL margins of the stop set of {margins.size} samples stopped moving: "
                          f"{what} changed by at most {max(recent):.3g} (tol {self.tol}) over the last "
                          f"{self.window} rounds")
        return False, (f"the DFAL margins of the stop set still move ({what}; last change "
                       f"{self.changes_[-1]:.3g} vs tol {self.tol})" if self.changes_ else
                       f"first look at the DFAL margins of the stop set of {margins.size} samples")
