"""The batch spread's cluster of each pick, in Label Studio predictions' ``cluster`` (issue 33 item 6).

``cluster_smallest`` gives each pick's k-means cluster on request, with the
same picks; a spreading strategy leaves them in ``last_clusters_``; the
session's :meth:`~skdfal.LabelingSession.rank` puts the spread batch first
with its clusters; the backend writes them in ``cluster`` (and nothing for
a strategy that spreads nothing).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from test_labelstudio_backend import CLASSES, created, digits, setup, task, write_images  # noqa: F401

from skdfal import DFALMargin, LabelStudioBackend
from skdfal.strategies._dfal_batch import cluster_smallest


def _same_cluster(labels):
    """The partition ``labels`` make, as a matrix: which pairs share a cluster."""
    labels = np.asarray(labels)
    return labels[:, None] == labels[None, :]


@pytest.mark.parametrize("case", ["separated", "coinciding"])
def test_the_clusters_of_the_picks_are_a_k_means_assignment_and_the_picks_do_not_change(case):
    rng = np.random.RandomState(0)
    if case == "separated":  # four blobs far apart: one pick each
        centers = np.array([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0], [50.0, 50.0]])
        points = np.concatenate([c + rng.normal(scale=0.5, size=(12, 2)) for c in centers])
        n, k = 4, 4
    else:  # two places, every point on one of them: a third cluster stays empty, its pick is a fill-in
        points = np.repeat(np.array([[0.0, 0.0], [10.0, 10.0]]), 10, axis=0)
        n, k = 3, 2
    margins = rng.uniform(size=len(points))
    embeddings = torch.as_tensor(points)
    picks = cluster_smallest(embeddings, margins, n, np.random.RandomState(1))
    again, clusters = cluster_smallest(embeddings, margins, n, np.random.RandomState(1), return_clusters=True)
    assert again.tolist() == picks.tolist()
    assert clusters.shape == picks.shape and set(clusters.tolist()) <= set(range(n))
    # Independent truth: scikit-learn's k-means of the same points, the picks' clusters compared as partitions.
    truth = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(points)[picks]
    np.testing.assert_array_equal(_same_cluster(clusters), _same_cluster(truth))
    if case == "coinciding":
        assert len(set(clusters.tolist())) == 2  # the fill-in shares its place's cluster
    # Nothing clustered (as many picks as samples): no clusters.
    assert cluster_smallest(embeddings[:3], margins[:3], 3, np.random.RandomState(1), return_clusters=True)[1] is None


def test_a_spreading_strategy_records_its_picks_clusters(digits):  # noqa: F811
    from skdfal import ActiveLearner, make_classifier

    X, y = digits
    learner = ActiveLearner(make_classifier(input_shape=X.shape[1:], max_epochs=2, random_state=0), DFALMargin(batch_diversity="features",
                                                                                       random_state=0),
                            X_training=X[:20], y_training=y[:20])
    picks, _ = learner.query(X[20:], n_instances=4)
    clusters = learner.query_strategy.last_clusters_
    assert clusters.shape == picks.shape and set(clusters.tolist()) <= set(range(4))
    learner.query_strategy.set_params(batch_diversity=None)
    learner.query(X[20:], n_instances=4)
    assert learner.query_strategy.last_clusters_ is None


@pytest.mark.slow
def test_predictions_carry_the_spread_batchs_clusters(tmp_path, digits):  # noqa: F811
    X, y = digits
    write_images(tmp_path / "pool", X)
    uploads = tmp_path / "lsdata" / "media" / "upload" / "3"
    uploads.mkdir(parents=True)
    for i in range(len(X)):
        (uploads / f"ab12cd{i:02d}-{i:04d}.png").write_bytes((tmp_path / "pool" / f"{i:04d}.png").read_bytes())
    with LabelStudioBackend.create(tmp_path / "backend", tmp_path / "pool", CLASSES, estimator={"max_epochs": 2},
                                   n_instances=5, query_strategy="dfal_batch", label_studio_data=tmp_path / "lsdata",
                                   retrain_every=10, stopping=None) as backend:
        for i in range(10):
            backend.webhook(created(i, y[i]))
        assert backend.wait_until_trained(120)
        body = json.loads(json.dumps(backend.predict({"tasks": [task(i) for i in range(len(X))]})))
        results = body["results"]
        clustered = {i: r["cluster"] for i, r in enumerate(results) if "cluster" in r}
        # The next batch of 5, each pick standing for its own cluster, scored lowest (labeled first).
        assert len(clustered) == 5 and not set(clustered) & set(range(10))
        assert sorted(clustered.values()) == list(range(5))
        scores = np.array([r["score"] for r in results])
        assert set(np.argsort(scores, kind="stable")[:5].tolist()) == set(clustered)


@pytest.mark.slow
def test_no_cluster_field_without_a_spread(setup, digits):  # noqa: F811
    backend, X, y, _ = setup  # dfal_margin: the n smallest margins, nothing clustered
    for i in range(5):
        backend.webhook(created(i, y[i]))
    assert backend.wait_until_trained(120)
    results = backend.predict({"tasks": [task(i) for i in range(len(X))]})["results"]
    assert results and not any("cluster" in r for r in results)
    assert backend.session.rank().clusters == {}
