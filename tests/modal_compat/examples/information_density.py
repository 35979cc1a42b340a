# Adapted from modAL's tests (https://github.com/modAL-python/modAL, tests/example_tests/information_density.py at
# commit bba6f6f, MIT License, Copyright (c) 2017 Tivadar Danka) for skdfal's
# modAL compatibility suite.  Changed: imports only (none: no skdfal counterpart).
from modAL.density import information_density, similarize_distance
from scipy.spatial.distance import euclidean
from sklearn.datasets import make_blobs

X, y = make_blobs(n_features=2, n_samples=10, centers=3, random_state=0, cluster_std=0.7)

cosine_density = information_density(X)
euclidean_density = information_density(X, similarize_distance(euclidean))
