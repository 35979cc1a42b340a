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
Fine-tuning a ResNet's head with head-space DFAL on colour images
=================================================================

The usual practice: a pretrained backbone, a new head for a new task, and
labels bought a few at a time.  Here, start to finish on a CPU in a few
minutes and without downloading anything:

1. colour images: the colour variant of MNIST's bg-img variation (digits
   over patches of scikit-learn's two sample photographs, 3x28x28);
2. a torchvision ResNet18 "pretrained" briefly on digits 0-4 (a stand-in
   for ImageNet weights, which would need a download);
3. its backbone frozen under a new head for digits 5-9, trained with
   labels chosen by ``DFALMargin(space="head")``: DeepFool on the head
   over the backbone's embeddings, a margin in feature space rather than in
   pixels, at the cost of one forward pass of the pool per query;
4. the same loop with random picks, for comparison.

It runs as a plain script too (``python examples/finetune_resnet_head.py``);
the figure is shown inline in Jupyter and saved to the folder named by
``SKDFAL_EXAMPLES_OUT`` (a temporary folder otherwise).  MNIST's files are
read from ``SKDFAL_MNIST_DIR`` (default: ``shared/data/mnist`` beside the
repository, found from the repository root, ``examples/`` or ``docs/``);
without them, scikit-learn's 8x8 digits on colour noise stand in.
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.models import resnet18

from skdfal import ActiveLearner, BackboneHead, DFALMargin, RandomSampling, make_classifier
from skdfal.datasets import load_mnist_variation

OUT = Path(os.environ.get("SKDFAL_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="skdfal-resnet-head-"))
OUT.mkdir(parents=True, exist_ok=True)
# Run from the repository root, from examples/ (Jupyter) or from docs/ (the gallery).
MNIST_DIR = Path(os.environ.get("SKDFAL_MNIST_DIR") or next(
    (path for path in ("../shared/data/mnist", "../../shared/data/mnist") if Path(path).is_dir()),
    "../shared/data/mnist"))
torch.manual_seed(0)
rng = np.random.RandomState(0)

# %% [markdown]
# Colour images, offline
# ----------------------
#
# ``load_mnist_variation(..., colour=True)`` keeps each digit on all three
# channels and puts a colour photograph patch behind it.

# %%
try:
    # MNIST's 10,000 test images are plenty here (and quick to make).
    X, y = load_mnist_variation("bg-img", MNIST_DIR, split="test", colour=True)
except FileNotFoundError:
    from skdfal import load_digits_images

    digits, y = load_digits_images()
    digits = np.kron(digits, np.ones((1, 1, 3, 3), dtype=np.float32))[:, :, 2:-2, 2:-2]  # 20x20
    noise = rng.rand(len(digits), 3, 20, 20).astype(np.float32)
    X = np.where(digits > 0, np.repeat(digits, 3, axis=1), noise)
print("images:", X.shape, X.dtype)

old, new = rng.permutation(np.flatnonzero(y < 5)), rng.permutation(np.flatnonzero(y >= 5))
# At most 1,500 images to pretrain on and 400 in the pool; 300 to test each (digits have ~900 a task).
source_test, source = old[:300], old[300:1800]  # the "pretraining" task: digits 0-4
test, target = new[:300], new[300:700]          # the new task: a pool of 400, 300 to test on
mean, std = X[source].mean(axis=(0, 2, 3)).tolist(), X[source].std(axis=(0, 2, 3)).tolist()

# %% [markdown]
# A backbone, pretrained on another task
# --------------------------------------
#
# ``make_classifier`` takes the torchvision model as its constructor built it;
# ``input_mean``/``input_std`` normalise each channel inside the net.

# %%
pretrain = make_classifier(resnet18(num_classes=5), n_classes=5, train_steps=100, input_mean=mean,
                           input_std=std, random_state=0)
pretrain.fit(X[source], y[source])
print(f"pretraining accuracy on held-out digits 0-4: {pretrain.score(X[source_test], y[source_test]):.3f}")
backbone = pretrain.module_
backbone.fc = torch.nn.Identity()  # the backbone now returns its 512 features

# %% [markdown]
# A new head, a frozen backbone, DFAL in head space
# -------------------------------------------------
#
# :class:`~skdfal.BackboneHead` puts a fresh ``nn.Linear`` on the backbone;
# ``freeze=True`` trains that head only (the backbone's weights and batch-norm
# statistics never change).  ``DFALMargin(space="head")`` finds the head by the
# same ``backbone``/``head`` convention.


# %%
def run(strategy, rounds=3, start=10, per_round=10):
    torch.manual_seed(0)
    module = BackboneHead(backbone, torch.nn.Linear(512, 5))
    net = make_classifier(module, classes=[5, 6, 7, 8, 9], freeze=True, train_steps=50, input_mean=mean,
                          input_std=std, random_state=0)
    labelled = list(target[:start])
    learner = ActiveLearner(net, query_strategy=strategy).fit(X[labelled], y[labelled])
    curve = [(len(labelled), learner.score(X[test], y[test]))]
    for _ in range(rounds):
        pool = np.setdiff1d(target, labelled)
        picked, _ = learner.query(X[pool], n_instances=per_round)
        new = pool[np.asarray(picked)]
        learner.teach(X[new], y[new])  # the oracle: the true labels
        labelled += new.tolist()
        curve.append((len(labelled), learner.score(X[test], y[test])))
    trained = learner.estimator_.module_.backbone.state_dict()
    frozen = all(torch.equal(value, trained[key]) for key, value in backbone.state_dict().items())
    print(f"{type(strategy).__name__}: {curve[-1][1]:.3f} at {curve[-1][0]} labels; backbone unchanged: {frozen}")
    return np.array(curve)


curves = {
    "DFAL, head space": run(DFALMargin(space="head", random_state=0)),
    "random": run(RandomSampling(random_state=0)),
}

# %% [markdown]
# Learning curves
# ---------------
#
# One seed on a small pool: a sketch of the workflow, not a benchmark
# (``benchmarks/head_space_agreement.py`` compares head-space and pixel
# margins; docs/results.md holds the benchmarks).

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
for name, curve in curves.items():
    ax.plot(curve[:, 0], curve[:, 1], marker="o", label=name)
ax.set_xlabel("labels of the new task")
ax.set_ylabel("test accuracy, digits 5-9")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "finetune_resnet_head.png")
plt.show()
