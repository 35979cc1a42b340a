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
Comparing query strategies with ``GridSearchCV``
================================================

``ActiveLearningClassifier`` turns a whole simulated active learning run into
one scikit-learn estimator: ``fit(X, y)`` uses ``y`` as the oracle, reveals only
the labels its strategy queries (up to ``budget``), and keeps the final model.
So scikit-learn's model selection compares strategies *at a fixed labeling
cost*: here DFAL, random sampling and entropy sampling, 80 labels each, on
digits.

Runs as a plain script too; figures are shown inline in Jupyter and saved to
``SKDFAL_EXAMPLES_OUT`` (a temporary folder otherwise).
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, train_test_split

from skdfal import (
    ActiveLearningClassifier,
    DFALMargin,
    EntropySampling,
    RandomSampling,
    load_digits_images,
    make_classifier,
)
from skdfal.plotting import plot_learning_curves

OUT = Path(os.environ.get("SKDFAL_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="skdfal-strategies-"))
OUT.mkdir(parents=True, exist_ok=True)

X, y = load_digits_images()
X, _, y, _ = train_test_split(X, y, train_size=600, random_state=0, stratify=y)

# %% [markdown]
# One estimator, three strategies
# -------------------------------
#
# The net is a seeded skorch LeNet-5; every fit starts from the same 20
# random labels (``random_state``), then buys 20 labels a round up to 80.

# %%
net = make_classifier("lenet5", input_shape=(1, 8, 8))  # the few-labels trainer
al = ActiveLearningClassifier(net, n_initial=20, n_instances=20, budget=80, random_state=0)
strategies = [DFALMargin(), RandomSampling(), EntropySampling()]
# n_jobs=-1 would run the fits in parallel processes (nets and strategies
# pickle); starting them costs more than this small search takes.
search = GridSearchCV(al, {"query_strategy": strategies}, cv=2, n_jobs=1)
search.fit(X, y)

table = pd.DataFrame({
    "strategy": [type(p["query_strategy"]).__name__ for p in search.cv_results_["params"]],
    "mean accuracy": search.cv_results_["mean_test_score"],
    "std": search.cv_results_["std_test_score"],
    "fit seconds": search.cv_results_["mean_fit_time"],
})
print(table.round(3).to_string(index=False))
print("best:", type(search.best_params_["query_strategy"]).__name__)

# %% [markdown]
# Nested parameters tune a strategy or the net inside the run, e.g.
# ``{"query_strategy__overshoot": [0.02, 0.5], "estimator__module__dropout": [0.0, 0.25]}``.

# %% [markdown]
# Learning curves
# ---------------
#
# With ``validation_size``, each run holds out samples it never queries and
# scores every round on them; ``plot_learning_curves`` draws fitted estimators.

# %%
runs = [
    ActiveLearningClassifier(
        net, strategy, n_initial=20, n_instances=20, budget=80, validation_size=0.3, random_state=seed
    ).fit(X, y)
    for strategy in strategies
    for seed in (0, 1)
]
ax = plot_learning_curves(runs, markers=True)
ax.set_ylabel("held-out accuracy")
ax.figure.savefig(OUT / "learning_curves.png", dpi=80)
plt.show()
final = pd.DataFrame([run.learning_curve_[-1] for run in runs])
print(final.groupby("strategy")["accuracy"].mean().round(3).to_string())
assert np.all(final["n_labels"] == 80)
print(f"figure in {OUT}")
