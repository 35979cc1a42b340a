"""DFAL's view of a pool: queried images beside their DeepFool attacks, and the margins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..utils._typing import Pool, Rows

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_query_gallery", "plot_margin_distribution"]


def _image(sample, image_shape):
    """One sample as something ``imshow`` draws: (H, W) or (H, W, 3)."""
    arr = np.asarray(sample, dtype=np.float64)
    if image_shape is not None:
        arr = arr.reshape(image_shape)
    elif arr.ndim == 1:
        side = int(round(np.sqrt(arr.size)))
        if side * side != arr.size:
            raise ValueError(
                f"cannot show a flat sample of {arr.size} values as a square image; pass image_shape"
            )
        arr = arr.reshape(side, side)
    if arr.ndim == 3 and arr.shape[0] in (1, 3):  # channels first, as torch has it
        arr = arr[0] if arr.shape[0] == 1 else np.moveaxis(arr, 0, -1)
    if arr.ndim not in (2, 3):
        raise ValueError(f"cannot show samples of shape {np.shape(sample)} as images; pass image_shape")
    return arr


def _class_labels(model, codes, class_names):
    """Class labels for the module's output positions ``codes``."""
    classes = getattr(model.net, "classes_", None)
    labels = [classes[c] if classes is not None and c < len(classes) else c for c in codes]
    if class_names is not None:
        labels = [class_names[label] if not isinstance(class_names, dict) else class_names.get(label, label)
                  for label in labels]
    return labels



def plot_query_gallery(
    classifier: Any, X: Rows, indices: npt.ArrayLike | None = None, *, n_images: int = 6,
    y: npt.ArrayLike | None = None, image_shape: tuple[int, ...] | None = None,
    deepfool_params: dict[str, Any] | None = None, class_names: Sequence[str] | Mapping[Any, str] | None = None,
    axes: np.ndarray | Sequence[Any] | None = None, cmap: str = "gray",
) -> np.ndarray:
    """Queried images beside their DeepFool perturbation and adversarial image.

    One row per sample: the image with the label the model predicts (and the
    true label when ``y`` is given; a title in red marks a wrong
    prediction), the perturbation DeepFool found (its norm in the title, its
    values on a diverging colour scale with a colour bar), and the adversarial
    image with the label the model predicts for it.  With a ``Pipeline`` the
    attack runs in the net's input space and is shown in raw input space when
    every step has an ``inverse_transform``.

    Parameters
    ----------
    classifier : fitted classifier with a torch model
        skorch net, ``Pipeline`` ending in one, :class:`skdfal.ActiveLearner`
        or :class:`skdfal.ActiveLearningClassifier`.
    X : array-like
        Samples (raw input space), e.g. the pool a classifier was fitted on.
    indices : array-like of int, optional
        Rows of ``X`` to show.  Default: the first ``n_images`` of a fitted
        ``ActiveLearningClassifier``'s ``queried_indices_`` (``X`` must be
        the data it was fitted on), else the ``n_images`` rows with the
        smallest DeepFool norm (DFAL's next query).
    n_images : int, default=6
    y : array-like of shape (len(X),), optional
        True labels of ``X`` (the oracle's answers), shown beside the
        predicted ones.
    image_shape : tuple, optional
        Shape to reshape each sample to (default: channels-first images are
        understood, flat square samples are made square).
    deepfool_params : dict, optional
        Passed to :func:`skdfal.deepfool` (``max_iter``, ``overshoot`` ...).
    class_names : sequence or dict, optional
        Display names of the class labels.
    axes : array of Axes of shape (n, 3), optional
    cmap : str, default="gray"

    Returns
    -------
    ndarray of matplotlib Axes, shape (n, 3)

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> from skdfal.plotting import plot_query_gallery
    >>> lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> X = torch.randn(5, 1, 2, 2).numpy()
    >>> plot_query_gallery(lin, X, n_images=2).shape
    (2, 3)
    """
    import matplotlib.pyplot as plt
    from skorch.utils import to_numpy

    from ..strategies._dfal import DFALMargin, deepfool_pool
    from ..utils._pool import take_rows
    from ..utils._torch import resolve_torch_model

    params = dict(deepfool_params or {})
    model = resolve_torch_model(classifier)
    if indices is None:
        queried = getattr(classifier, "queried_indices_", None)
        if queried is not None and len(queried):
            indices = np.asarray(queried)[:n_images]
        else:
            strategy = DFALMargin(**{k: v for k, v in params.items() if k in DFALMargin().get_params()})
            indices, _ = strategy(classifier, X, n_instances=min(n_images, len(X)))
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim != 1 or len(indices) == 0:
        raise ValueError("indices must be a non-empty 1-D array of row numbers")
    raw = np.asarray(take_rows(X, indices))
    (_, x, result), *_ = list(deepfool_pool(model, raw, batch_size=len(raw), return_perturbations=True, **params))
    adversarial = to_numpy(x + result.perturbations)
    clean = to_numpy(x)
    space = "net input"
    if model.transform is not None and model.inverse_transform is not None:
        clean, adversarial, space = raw, np.asarray(model.inverse_transform(adversarial)), "raw input"
    elif model.transform is None:
        space = "raw input"
    perturbation = adversarial.reshape(len(raw), -1) - clean.reshape(len(raw), -1)

    if axes is None:
        _, axes = plt.subplots(
            len(indices), 3, figsize=(7.0, 2.1 * len(indices) + 0.5), squeeze=False, layout="constrained"
        )
    axes = np.asarray(axes, dtype=object).reshape(len(indices), 3)
    before = _class_labels(model, to_numpy(result.labels).tolist(), class_names)
    after = _class_labels(model, to_numpy(result.adversarial_labels).tolist(), class_names)
    truth = None
    if y is not None:
        truth = np.asarray(take_rows(np.asarray(y), indices)).tolist()
        if class_names is not None:
            truth = [class_names.get(t, t) if isinstance(class_names, dict) else class_names[t] for t in truth]
    norms = to_numpy(result.norms)
    flipped = to_numpy(result.converged)
    for row, idx in enumerate(indices):
        ax_x, ax_r, ax_a = axes[row]
        # One grey scale for both images, so that only the attack differs.
        low = float(min(clean[row].min(), adversarial[row].min()))
        high = float(max(clean[row].max(), adversarial[row].max()))
        image, adv_image = _image(clean[row], image_shape), _image(adversarial[row], image_shape)
        if image.ndim == 3:  # RGB ignores vmin/vmax: rescale to [0, 1] by hand
            span = (high - low) or 1.0
            image, adv_image = (image - low) / span, (adv_image - low) / span
        ax_x.imshow(image, cmap=cmap, vmin=low, vmax=high)
        if truth is None:
            ax_x.set_title(f"#{idx}: predicted {before[row]}", fontsize="small")
        else:
            wrong = str(truth[row]) != str(before[row])
            ax_x.set_title(
                f"#{idx}: predicted {before[row]}\ntrue {truth[row]}" + (" (wrong)" if wrong else ""),
                fontsize="small", **({"color": "tab:red"} if wrong else {}),
            )
        pert = _image(perturbation[row].reshape(clean[row].shape), image_shape)
        if pert.ndim == 3:  # RGB: show the mean over channels
            pert = pert.mean(axis=-1)
        scale = float(np.abs(pert).max()) or 1.0
        shown = ax_r.imshow(pert, cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax_r.set_title(f"perturbation |r|={norms[row]:.3g}", fontsize="small")
        bar = ax_r.figure.colorbar(shown, ax=ax_r, fraction=0.046, pad=0.04, ticks=[-scale, 0.0, scale])
        bar.ax.set_yticklabels([f"{-scale:.2g}", "0", f"{scale:.2g}"], fontsize="x-small")
        ax_a.imshow(adv_image, cmap=cmap, vmin=low, vmax=high)
        ax_a.set_title(
            f"adversarial: predicted {after[row]}" if flipped[row] else f"not flipped: predicted {after[row]}",
            fontsize="small",
        )
        for ax in (ax_x, ax_r, ax_a):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].figure.suptitle(f"Queried samples and their DeepFool attacks ({space} space)", fontsize="medium")
    return axes


def plot_margin_distribution(
    classifier: Any, X_pool: Pool, *, queried: npt.ArrayLike | None = None, norms: npt.ArrayLike | None = None,
    bins: int | Sequence[float] = 30, deepfool_params: dict[str, Any] | None = None, ax: Axes | None = None,
) -> Axes:
    """Histogram of the DeepFool perturbation norms (DFAL's margins) of a pool.

    Small norms are samples near the decision boundary, the ones DFAL
    queries.  Samples DeepFool could not flip (infinite norm) are counted in
    the title, not drawn.

    Parameters
    ----------
    classifier : fitted classifier with a torch model
        As for :class:`skdfal.DFALMargin`.
    X_pool : array-like
        The pool.
    queried : array-like of int, optional
        Rows of ``X_pool`` to overlay as a second histogram (e.g. a batch
        just chosen by DFAL).
    norms : array-like, optional
        Precomputed norms of ``X_pool`` (skips the attack).
    bins : int or sequence, default=30
    deepfool_params : dict, optional
        :class:`skdfal.DFALMargin` parameters (``max_iter``, ``norm`` ...).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdfal.plotting import plot_margin_distribution
    >>> ax = plot_margin_distribution(None, np.zeros((4, 2)), norms=[0.1, 0.2, 0.2, np.inf], bins=2)
    >>> int(sum(p.get_height() for p in ax.patches))
    3
    """
    import matplotlib.pyplot as plt

    from ..strategies._dfal import DFALMargin

    if norms is None:
        norms = DFALMargin(**(deepfool_params or {})).score(classifier, X_pool)
    norms = np.asarray(norms, dtype=np.float64)
    finite = np.isfinite(norms)
    if not finite.any():
        raise ValueError("no finite DeepFool norm: DeepFool flipped none of the pool's samples")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    _, edges, _ = ax.hist(norms[finite], bins=bins, color="0.6", label=f"pool ({int(finite.sum())})")
    if queried is not None:
        picked = norms[np.asarray(queried, dtype=np.int64)]
        picked = picked[np.isfinite(picked)]
        ax.hist(picked, bins=edges, color="tab:red", alpha=0.8, label=f"queried ({len(picked)})")
    title = f"DeepFool margins of {len(norms)} samples"
    if not finite.all():
        title += f" ({int((~finite).sum())} never flipped)"
    ax.set_title(title)
    ax.set_xlabel("DeepFool perturbation norm")
    ax.set_ylabel("samples")
    ax.legend(fontsize="small")
    return ax
