# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
"""
Quick start: DFAL on digits, modAL style
========================================

DFAL (Ducoffe & Precioso, 2018) asks the oracle to label the pool samples
closest to the decision boundary, measuring that distance with the DeepFool
attack. This notebook runs the loop by hand, the way modAL users write it:
``query`` the pool, let the oracle (here: the true labels) answer, ``teach``.

It runs as a plain script too (``python examples/quick_start.py``); figures are
shown inline in Jupyter and saved to the folder named by ``SKDFAL_EXAMPLES_OUT``
(a temporary folder otherwise).
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skdfal import ActiveLearner, dfal_margin, load_digits_images, make_classifier
from skdfal.experiments import initial_indices
from skdfal.plotting import plot_margin_distribution, plot_query_gallery

OUT = Path(os.environ.get("SKDFAL_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="skdfal-quick-start-"))
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# Data: a pool to query and a test set to measure
# -----------------------------------------------
#
# scikit-learn's bundled 8x8 digits as ``(n, 1, 8, 8)`` float32 images (no download).

# %%
X, y = load_digits_images()
X_pool, X_test, y_pool, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
X_pool, y_pool = X_pool[:600], y_pool[:600]  # a small pool keeps this fast on a laptop CPU

# 20 initial labels, one per class first.
start = initial_indices(y_pool, 20, random_state=0)
unlabeled = np.setdiff1d(np.arange(len(y_pool)), start)
print(f"pool: {len(y_pool)} images, test: {len(y_test)} images, initial labels: {len(start)}")

# %% [markdown]
# An active learner with DFAL's query strategy
# --------------------------------------------
#
# ``make_classifier`` builds a seeded skorch LeNet-5 sized for 8x8 inputs, with
# the trainer that learns from few labels (a step budget that grows with the
# labeled set, a one-cycle learning rate).

# %%
net = make_classifier("lenet5", input_shape=(1, 8, 8))
learner = ActiveLearner(net, dfal_margin, X_training=X_pool[start], y_training=y_pool[start])
# As in modAL, the first use fits on the initial labels.
print(f"initial model: {learner.score(X_test, y_test):.3f} test accuracy")

# %% [markdown]
# The loop: query, ask the oracle, teach
# --------------------------------------

# %%
for round_ in range(1, 6):
    idx, X_query = learner.query(X_pool[unlabeled], n_instances=10)
    learner.teach(X_query, y_pool[unlabeled[idx]])  # the oracle answers
    unlabeled = np.delete(unlabeled, idx)
    print(
        f"round {round_}: {learner.n_labels_paid_} labels paid, "
        f"test accuracy {learner.score(X_test, y_test):.3f}"
    )

# %% [markdown]
# What DFAL looks at
# ------------------
#
# The DeepFool norm of every unlabeled sample (small: close to the boundary),
# with the next batch DFAL would query marked in red.

# %%
next_idx, margins = dfal_margin(learner, X_pool[unlabeled], n_instances=10)
ax = plot_margin_distribution(learner, X_pool[unlabeled], queried=next_idx)
ax.figure.savefig(OUT / "margins.png", dpi=80)
plt.show()
print(f"next query's margins: {np.round(margins[:5], 3)} ...")

# %% [markdown]
# The first four of that batch (left, with the label the model predicts and
# the true one), the smallest perturbation DeepFool found to flip the
# model's label (middle, on its colour scale) and the adversarial image
# (right, with the label the model now predicts). The two images look alike:
# these samples sit right at the decision boundary.

# %%
axes = plot_query_gallery(learner, X_pool[unlabeled], next_idx[:4], y=y_pool[unlabeled])
axes[0, 0].figure.savefig(OUT / "gallery.png", dpi=80)
plt.show()
print(f"figures saved in {OUT}")

# %% [markdown]
# DFAL's free labels
# ------------------
#
# With ``adversarial_augmentation=True``, every taught sample's DeepFool copy
# joins the training set with the same label: more training data, same cost.

# %%
dfal = ActiveLearner(
    make_classifier("lenet5", input_shape=(1, 8, 8)),
    dfal_margin, adversarial_augmentation=True,
)
dfal.fit(X_pool[start], y_pool[start])
idx, X_query = dfal.query(X_pool[unlabeled], n_instances=10)
dfal.teach(X_query, y_pool[unlabeled[idx]])
print(f"labels paid: {dfal.n_labels_paid_}, training samples: {dfal.n_training_samples_}")
