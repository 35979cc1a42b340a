"""Order of the examples in the gallery (sphinx-gallery's ``within_subsection_order``).

A module of its own so that the configuration names it by a string, which
Sphinx can cache (a function defined in ``conf.py`` cannot be pickled).
"""

from pathlib import Path

ORDER = [
    "quick_start.py", "strategy_comparison.py", "pipeline.py", "finetune_resnet_head.py", "labeling_session.py",
]


def example_order(path):
    """Sort key: the examples in ``ORDER`` first, in that order, then the others by name."""
    name = Path(path).name
    return (ORDER.index(name), name) if name in ORDER else (len(ORDER), name)
