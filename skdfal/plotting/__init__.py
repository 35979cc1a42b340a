"""Figures for active learning results (matplotlib; nothing is shown, axes are returned).

Every function draws on an ``ax`` it is given (or a new one) and returns it,
so figures compose in notebooks and scripts alike; none calls ``plt.show``.
"""

from ._curves import plot_learning_curves, plot_paired_differences
from ._images import plot_margin_distribution, plot_query_gallery

__all__ = ["plot_learning_curves", "plot_paired_differences", "plot_query_gallery", "plot_margin_distribution"]
