"""Simulated active learning: one run, a benchmark of strategies x seeds, its reports."""

from ..learners._curves import drop_rates, paired_differences
from ..learners._loop import COLUMNS, initial_indices
from ._benchmark import STRATEGIES, make_strategy, run_benchmark, run_one
from ._data import DATASETS, load_benchmark_data
from ._report import save_learning_curves, summarize, summary_markdown
from ._results import ROW_COLUMNS
from ._simulate import simulate

__all__ = [
    "COLUMNS",
    "DATASETS",
    "ROW_COLUMNS",
    "STRATEGIES",
    "drop_rates",
    "initial_indices",
    "load_benchmark_data",
    "make_strategy",
    "paired_differences",
    "run_benchmark",
    "run_one",
    "save_learning_curves",
    "simulate",
    "summarize",
    "summary_markdown",
]
