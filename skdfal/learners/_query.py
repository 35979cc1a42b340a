"""The learner's query side: its context for strategies, ``query`` itself, and modAL's transform hook.

:class:`~skdfal.ActiveLearner` inherits these; they read the working model
(``estimator_``) and the labeled set, and never train on an attribute read:
the only training here is the first use of the initial labels
(``_prepare``), which modAL does at construction.
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np

from ..strategies._context import QueryContext
from ..strategies._dfal import dfal_margin
from ..strategies._uncertainty import least_confidence
from ..utils._typing import Pool, Rows
from ._inputs import (
    check_not_regressor,
    cold_start_query,
    pool_sample_shape,
    query_own_strategy,
    requested_count,
    rows,
    strategy_needs_model,
)
from ._state import LearnerState
from ._stopping import update_learner_stopping

__all__ = ["LearnerQueries"]


class LearnerQueries(LearnerState):
    """Base of :class:`~skdfal.ActiveLearner`: querying and reporting (not public)."""

    def _report(self, level: int, message: str) -> None:
        """Write ``message`` when ``verbose >= level`` (through tqdm, which keeps bars intact)."""
        if self.verbose >= level:
            from tqdm.auto import tqdm

            tqdm.write(f"{type(self).__name__}: {message}")

    def _report_round(self, action: str) -> None:
        rnd = self.__dict__["_round"] = self.__dict__.get("_round", -1) + 1
        self._report(
            1, f"round {rnd} ({action}): {self.n_labels_paid_} labels paid, "
            f"{self.n_training_samples_} training samples",
        )


    def query_context(self) -> QueryContext:
        """What a query strategy may know of this learner, in one object.

        Strategies called as ``strategy(learner, X_pool, n_instances)`` ask
        for it once per query and read nothing else of the learner.  The
        working model is made first when it can be (the initial labels are
        fitted, as modAL does at construction; a no-op once :meth:`query` has
        run); otherwise only state is read, never a property that could fit.

        Returns
        -------
        QueryContext
            The working model (the unfitted estimator before any label), the
            labels paid, and the training set with its adversarial flags.
        """
        self._prepare()
        estimator = getattr(self, "estimator_", self.estimator)
        labeled = getattr(self, "labeled_set_", None)
        if labeled is None:
            return QueryContext(estimator=estimator)
        return QueryContext(
            estimator=estimator,
            n_labels_paid=labeled.n_paid,
            X_training=labeled.X,
            y_training=labeled.y,
            is_adversarial=labeled.is_adversarial,
        )

    def _strategy(self):
        strategy = self.query_strategy
        if isinstance(strategy, str) and strategy == "auto":
            return dfal_margin if self._torch() else least_confidence
        if not callable(strategy):
            raise TypeError(
                "query_strategy must be 'auto' or callable as strategy(learner, X_pool, ...), got "
                f"{type(strategy).__name__}"
            )
        return strategy

    @overload
    def query(self, X_pool: Pool, *query_args: Any, return_metrics: Literal[False] = ...,
              **query_kwargs: Any) -> tuple[np.ndarray, Any]: ...
    @overload
    def query(self, X_pool: Pool, *query_args: Any, return_metrics: Literal[True],
              **query_kwargs: Any) -> tuple[np.ndarray, Any, Any]: ...
    @overload
    def query(self, X_pool: Pool, *query_args: Any, return_metrics: bool,
              **query_kwargs: Any) -> tuple[np.ndarray, Any] | tuple[np.ndarray, Any, Any]: ...

    def query(
        self, X_pool: Pool, *query_args: Any, return_metrics: bool = False, **query_kwargs: Any
    ) -> tuple[np.ndarray, Any] | tuple[np.ndarray, Any, Any]:
        """Ask the strategy for the most informative samples of ``X_pool``.

        ``query_args`` and ``query_kwargs`` go to the strategy as given (for
        skdfal's strategies: ``n_instances`` and parameter overrides), so
        modAL's two-argument strategies, ``functools.partial`` objects and
        ``expected_error_reduction`` work unchanged.

        Returns
        -------
        indices : ndarray of int
        instances : rows of ``X_pool`` at ``indices`` (``None`` for a pool
            that cannot be indexed, such as a generator of batches)
        scores : ndarray, only when ``return_metrics=True`` (``None`` when
            the strategy returns indices only)
        """
        strategy = self._strategy()
        check_not_regressor(self.estimator, strategy)
        has_model = self._prepare()
        if has_model:
            self._keep_modal_names()  # after a plain fit too: modAL's strategies read learner.estimator
            self._check_shape(pool_sample_shape(X_pool, net=self._torch()), "X_pool")
            update_learner_stopping(self, X_pool)  # once per round; nothing without ``stopping``
        if not has_model and strategy_needs_model(strategy):
            n_instances = requested_count(strategy, self, X_pool, query_args, query_kwargs)
            result = cold_start_query(X_pool, n_instances, self._rng())
        else:  # skdfal's strategies behind this door (checked once); modAL's and yours as they are
            result = query_own_strategy(strategy, self, X_pool, query_args, query_kwargs)
            if result is None:
                result = strategy(self, X_pool, *query_args, **query_kwargs)
        if isinstance(result, tuple) and len(result) == 2:
            indices, scores = result
        else:  # a strategy returning indices only
            indices, scores = result, None
        indices = np.asarray(indices)
        if indices.dtype.kind in "iu":
            indices = indices.astype(np.int64)
        try:
            # For a net, a list is an iterable of batches (skdfal's pools), not of samples.
            batches = isinstance(X_pool, (list, tuple)) and self._torch()
            instances = None if batches else rows(X_pool, indices)
        except (TypeError, IndexError, KeyError):
            instances = None
        name = getattr(strategy, "__name__", type(strategy).__name__)
        self._report(2, f"query: {indices.size} sample(s) chosen by {name}")
        if return_metrics:
            return indices, instances, scores
        return indices, instances

    def transform_without_estimating(self, X: Rows) -> Any:
        """``X`` as the final estimator sees it: through every step of a ``Pipeline`` but the last.

        modAL's name; its ``on_transformed`` strategies call it.  For an
        ensemble whose members are pipelines the members' transforms are
        stacked side by side; any other model gets ``X`` back.
        """
        from sklearn.pipeline import Pipeline

        model = getattr(self, "estimator_", self.estimator)
        pipes = [model] if isinstance(model, Pipeline) else [
            m for m in (getattr(model, "estimators_", None) or []) if isinstance(m, Pipeline)
        ]
        if not pipes:
            return X
        parts = [pipe[:-1].transform(X) for pipe in pipes]
        if len(parts) == 1:
            return parts[0]
        import scipy.sparse as sp

        return sp.hstack(parts) if any(sp.issparse(p) for p in parts) else np.hstack(parts)

