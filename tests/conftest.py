"""Shared fixtures: small trained nets on bundled digits (no downloads), MNIST's folder when present."""

from __future__ import annotations

import os

import numpy as np
import pytest
import threadpoolctl
import torch
from _data import find_mnist_dir

# Tests share 2 cores with each other's processes; one intra-op thread keeps
# timings stable and avoids oversubscription.
torch.set_num_threads(int(os.environ.get("SKDFAL_TEST_THREADS", "1")))
# Same for BLAS/OpenMP: on tiny problems (LogisticRegression in scikit-learn's
# checks) a spinning OpenBLAS thread pool on busy cores made fits ~25x slower.
# Libraries loaded later (scipy's own OpenBLAS) read the variables; those
# already loaded are limited by threadpoolctl.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, os.environ.get("SKDFAL_TEST_THREADS", "1"))
threadpoolctl.threadpool_limits(int(os.environ.get("SKDFAL_TEST_THREADS", "1")))


@pytest.fixture
def mnist_dir():
    """MNIST's IDX files: ``SKDFAL_MNIST_DIR``, else ``shared/data/mnist`` beside the repository.

    The test is skipped when the default folder is absent, and fails when the
    variable names a folder that is not there (see ``_data.find_mnist_dir``).
    """
    return find_mnist_dir()


@pytest.fixture(scope="session")
def digits():
    from skdfal import load_digits_images

    return load_digits_images()


@pytest.fixture(scope="session")
def fitted_net(digits):
    """LeNet5 trained on 600 digits: a real CNN with non-trivial boundaries.

    Its inputs are not standardised, so that its module takes the pool as it
    is and tests can attack ``net.module_`` directly for reference answers
    (tests/test_input_stats.py covers standardised nets).
    """
    from skdfal import make_classifier

    X, y = digits
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=15, random_state=0,
                          input_mean=None, input_std=None)
    net.fit(X[:600], y[:600])
    return net


@pytest.fixture
def rng():
    return np.random.RandomState(0)
