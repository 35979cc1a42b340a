"""scikit-activeml's strategies in skdfal's protocol: another library's rows in our benchmark.

``pip install 'skdfal[peers]'`` brings scikit-activeml.  The wrapped strategy
sees what skdfal's own strategies see: the learner's paid labels, the
candidate pool and the fitted network (it does not refit it), with images
flattened to rows as scikit-learn style libraries expect.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..utils._extras import import_extra
from ..utils._pool import iter_batches
from ..utils._sklearn_compat import StrOptions
from ._base import COMMON_CONSTRAINTS, QueryStrategy, StrategyTags, as_function
from ._context import query_context
from ._embeddings import penultimate_features

__all__ = ["SkactivemlStrategy", "skactiveml_strategy"]


def _import_skactiveml():
    needs = "scikit-activeml's strategies need scikit-activeml"
    return import_extra("skactiveml.pool", "peers", needs), import_extra("skactiveml.base", "peers", needs).SkactivemlClassifier


def _fitted_classifier(estimator, input_shape, classes):
    """A scikit-activeml classifier that answers with an already fitted skdfal estimator."""
    _, SkactivemlClassifier = _import_skactiveml()

    class FittedClassifier(SkactivemlClassifier):
        # Built per query around the learner's fitted model; scikit-activeml
        # never refits it (fit_clf=False), so fit only records the classes.
        def __init__(self, classes=None, missing_label=np.nan, cost_matrix=None, random_state=None):
            super().__init__(classes=classes, missing_label=missing_label,
                             cost_matrix=cost_matrix, random_state=random_state)

        def fit(self, X, y, sample_weight=None):
            self.classes_ = np.asarray(self.classes)
            return self

        def predict_proba(self, X, return_embeddings=False):
            rows = np.asarray(X, dtype=np.float32).reshape((-1, *input_shape))
            proba = np.asarray(estimator.predict_proba(rows), dtype=np.float64)
            if return_embeddings:
                return proba, penultimate_features(estimator, rows).astype(np.float64)
            return proba

        def predict(self, X):
            return self.classes_[self.predict_proba(X).argmax(1)]

    return FittedClassifier(classes=classes)


class SkactivemlStrategy(QueryStrategy):
    """A scikit-activeml pool strategy, run on skdfal's learner and pool.

    Parameters
    ----------
    method : {"entropy", "badge", "typiclust"}, default="entropy"
        scikit-activeml's ``UncertaintySampling(method="entropy")``, its
        ``Badge`` (gradient embeddings from the net's penultimate features)
        or its ``TypiClust`` (typical samples of k-means clusters of the raw
        input: model-free diversity).
    subsample : int, float or None, default=None
    random_state : int, RandomState or None, default=None
    batch_size : int, default=256
        Samples read at once while the pool is checked.

    Notes
    -----
    Scores are scikit-activeml's utilities of the picks where it returns
    them, else NaN.
    """

    largest = True
    tags = StrategyTags(needs_torch=True)
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "method": [StrOptions({"entropy", "badge", "typiclust"})],
    }

    def __init__(self, method="entropy", *, subsample=None, random_state=None, batch_size=256):
        self.method = method
        self.subsample = subsample
        self.random_state = random_state
        self.batch_size = batch_size

    def _selector(self):
        return None  # scikit-activeml chooses the batch

    def _iter_scores(self, classifier, X_pool):
        raise NotImplementedError("scikit-activeml strategies choose a set: use query, not score")

    def _select(self, classifier, X_pool, n_instances):
        pool_module, _ = _import_skactiveml()
        pool = np.concatenate([np.asarray(b) for _, b in iter_batches(X_pool, self.batch_size)])
        if len(pool) < n_instances:  # a stream shorter than the query: _query_validated says so
            return np.arange(len(pool), dtype=np.int64), np.full(len(pool), np.nan)
        context = query_context(classifier)
        labeled, y_labeled = context.labeled_set()
        if labeled is None or y_labeled is None:
            labeled, y_labeled = pool[:0], np.zeros(0)
        input_shape = pool.shape[1:]
        estimator = context.estimator
        classes = np.asarray(getattr(estimator, "classes_", np.unique(y_labeled)))
        X = np.concatenate([np.asarray(labeled, dtype=np.float32), pool]).reshape(len(labeled) + len(pool), -1)
        y = np.concatenate([np.asarray(y_labeled, dtype=np.float64), np.full(len(pool), np.nan)])
        candidates = np.arange(len(labeled), len(X))
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        if self.method == "typiclust":
            strategy = pool_module.TypiClust(random_state=seed)
            picked, utilities = strategy.query(X, y, candidates=candidates, batch_size=n_instances,
                                               return_utilities=True)
        else:
            clf = _fitted_classifier(estimator, input_shape, classes).fit(X, y)
            if self.method == "entropy":
                strategy = pool_module.UncertaintySampling(method="entropy", random_state=seed)
            else:
                strategy = pool_module.Badge(clf_embedding_flag_name="return_embeddings", random_state=seed)
            picked, utilities = strategy.query(X, y, clf, fit_clf=False, candidates=candidates,
                                               batch_size=n_instances, return_utilities=True)
        picked = np.asarray(picked, dtype=np.int64)
        utilities = np.asarray(utilities, dtype=np.float64)
        # utilities[i] are the utilities of every sample when pick i was made.
        if utilities.ndim == 2:
            scores = utilities[np.arange(len(picked)), picked]
        else:
            scores = np.full(len(picked), np.nan)
        return picked - len(labeled), scores


skactiveml_strategy = as_function(
    SkactivemlStrategy, "skactiveml_strategy", "A scikit-activeml pool strategy in modAL's protocol."
)
