"""DFAL on a toy problem: DeepFool's distance to the boundary picks the queries.

Drawn at documentation build time by the ``.. plot::`` directive (a few
seconds on a CPU): a small network is trained on six labels of a 2-D,
three-class problem; DeepFool attacks every unlabeled sample; DFAL queries the
ones with the smallest perturbation, and each queried sample's adversarial
copy (just across the boundary) would join the training set with the same
label, for free.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from sklearn.datasets import make_blobs

from skdfal import deepfool
from skdfal.plotting import plot_margin_distribution

COLOURS = ["tab:blue", "tab:orange", "tab:green"]
torch.manual_seed(0)
X, y = make_blobs(n_samples=240, centers=[(-2, -1), (2, -1), (0, 2.2)], cluster_std=1.0, random_state=3)
X = X.astype(np.float32)
labeled = np.concatenate([np.flatnonzero(y == k)[:2] for k in range(3)])  # two labels per class
pool = np.setdiff1d(np.arange(len(X)), labeled)

net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
Xl, yl = torch.from_numpy(X[labeled]), torch.from_numpy(y[labeled])
for _ in range(200):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(net(Xl), yl).backward()
    optimizer.step()

result = deepfool(net, torch.from_numpy(X[pool]))
norms = result.norms.numpy()
adversarial = X[pool] + result.perturbations.numpy()
queried = np.argsort(norms)[:8]  # DFAL's next batch: the 8 smallest perturbations

fig, (ax, ax_hist) = plt.subplots(1, 2, figsize=(10, 4.8), gridspec_kw={"width_ratios": [1.25, 1]})
# Decision regions of the network trained on the six labels.
xx, yy = np.meshgrid(np.linspace(-5.5, 5.5, 300), np.linspace(-4.5, 5.5, 300))
grid = torch.from_numpy(np.c_[xx.ravel(), yy.ravel()].astype(np.float32))
with torch.no_grad():
    regions = net(grid).argmax(1).numpy().reshape(xx.shape)
ax.contourf(xx, yy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap=ListedColormap(COLOURS), alpha=0.12)
ax.contour(xx, yy, regions, levels=[0.5, 1.5], colors="0.3", linewidths=1)
ax.scatter(*X[pool].T, s=10, c="0.55", label="unlabeled")
for k in range(3):
    ax.scatter(*X[labeled][y[labeled] == k].T, s=90, c=COLOURS[k], edgecolors="k", marker="s",
               label="labeled" if k == 0 else None)
# DeepFool's step from a sample to just across the boundary (for a share of the pool).
for i in np.random.RandomState(0).choice(len(pool), 30, replace=False):
    ax.annotate("", xy=adversarial[i], xytext=X[pool][i],
                arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 0.8, "shrinkA": 0, "shrinkB": 0})
ax.scatter(*X[pool][queried].T, s=60, facecolors="none", edgecolors="tab:red", linewidths=1.5,
           label="queried by DFAL")
ax.scatter(*adversarial[queried].T, s=30, c="tab:red", marker="x", label="adversarial copies")
ax.plot([], [], color="0.35", lw=0.8, marker=">", ms=4, label="DeepFool step")
ax.set(xlim=(-5.5, 5.5), ylim=(-4.5, 5.5), xticks=[], yticks=[],
       title="DFAL queries the samples nearest the boundary")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize="small", frameon=False)
plot_margin_distribution(None, X[pool], norms=norms, queried=queried, bins=25, ax=ax_hist)
ax_hist.set_title("DeepFool norms of the pool")
fig.tight_layout()
