"""Simulated active learning: one run, a benchmark of strategies x seeds, its reports."""

from ..learners._curves import drop_rates, paired_differences
from ..learners._loop import COLUMNS, initial_indices
from ._benchmark import benchmark_protocol, run_benchmark, run_one
from ._data import DATASETS, load_benchmark_data
from ._protocol import STRATEGIES, make_strategy
from ._report import save_learning_curves, summarize, summary_markdown
from ._results import ROW_COLUMNS
from ._simulate import simulate
from ._study import Study, each_seed_in_turn, load_study, run_study, study_report, study_rows

__all__ = [
    "COLUMNS",
    "DATASETS",
    "ROW_COLUMNS",
    "STRATEGIES",
    "Study",
    "benchmark_protocol",
    "drop_rates",
    "each_seed_in_turn",
    "initial_indices",
    "load_benchmark_data",
    "load_study",
    "make_strategy",
    "paired_differences",
    "run_benchmark",
    "run_one",
    "run_study",
    "save_learning_curves",
    "simulate",
    "summarize",
    "study_report",
    "study_rows",
    "summary_markdown",
]
