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
Active learning inside scikit-learn pipelines
=============================================

Two ways to combine preprocessing with active learning:

1. ``Pipeline([scaler, ActiveLearningClassifier(net)])``: the pool is scaled
   once, then the run queries scaled samples.
2. ``ActiveLearningClassifier(Pipeline([scaler, net]))``: the scaler is part
   of the model (refit on every labeled set); DeepFool attacks the net in
   its input space, and DFAL's adversarial copies are mapped back to raw
   pixels through the scaler's ``inverse_transform``.

Both cross-validate, clone and print as any scikit-learn estimator.
Runs as a plain script too; files go to ``SKDFAL_EXAMPLES_OUT`` (a temporary
folder otherwise).
"""

# %%
import os
import tempfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from skdfal import ActiveLearningClassifier, DFALMargin, load_digits_images, make_classifier

OUT = Path(os.environ.get("SKDFAL_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="skdfal-pipeline-"))
OUT.mkdir(parents=True, exist_ok=True)

X, y = load_digits_images()
X = X.reshape(len(X), -1)[:600]  # 64 pixel features, as tabular pipelines see them
y = y[:600]


# %% [markdown]
# A small network on 64 features
# ------------------------------
#
# DeepFool works on any differentiable torch module; a two-layer perceptron
# suits flat features.


# %%
class MLP(nn.Module):
    def __init__(self, n_features=64, n_hidden=64, n_classes=10):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_features, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes))

    def forward(self, x):
        return self.layers(x)


def mlp():
    return make_classifier(MLP, max_epochs=30, lr=1e-2, batch_size=16)


# %% [markdown]
# Way 1: the scaler, then the active learning run
# -----------------------------------------------

# %%
pipe = Pipeline([
    ("scale", StandardScaler()),
    ("al", ActiveLearningClassifier(mlp(), DFALMargin(), n_initial=20, n_instances=20, budget=80, random_state=0)),
])
cv = cross_validate(pipe, X, y, cv=3, return_estimator=True)
print("cross-validated accuracy with 80 labels:", np.round(cv["test_score"], 3))
print("labels paid per fold:", [est.named_steps["al"].n_labels_paid_ for est in cv["estimator"]])

# %% [markdown]
# Way 2: the scaler inside the model, with DFAL's free adversarial labels
# -----------------------------------------------------------------------

# %%
clf = ActiveLearningClassifier(
    make_pipeline(StandardScaler(), mlp()), DFALMargin(),
    n_initial=20, n_instances=20, budget=80, adversarial_augmentation=True,
    validation_size=0.3, random_state=0,
).fit(X, y)
print(
    f"labels paid: {clf.n_labels_paid_}, training samples: {clf.n_training_samples_} "
    f"({int(clf.learner_.is_adversarial_.sum())} adversarial copies)"
)
for row in clf.learning_curve_:
    print(f"  round {row['round']}: {row['n_labels']} labels, held-out accuracy {row['accuracy']:.3f}")

# %% [markdown]
# The estimator as a diagram
# --------------------------
#
# In Jupyter, estimators display as scikit-learn's interactive diagram
# (here also written to an HTML file).

# %%
(OUT / "pipeline.html").write_text(pipe._repr_html_())
print(f"HTML diagram in {OUT / 'pipeline.html'}")
pipe  # noqa: B018 - Jupyter (and the documentation) display the diagram
