"""Learning-curve studies as data: a protocol file, one harness that runs it, its report.

A study file (TOML) names everything a study's rows depend on: the data
sets, strategies and seeds, the protocol of :func:`run_benchmark` (labels,
rounds, candidates, steps, held-out samples), the trainer (keywords of
:func:`skdfal.make_classifier`) and the folder the rows go to, one
``<dataset>.csv`` each with the protocol beside it.  Paths are relative to
the study file::

    description = "Random and DFAL on digits"
    datasets = ["digits"]
    strategies = ["random", "dfal_batch"]
    seeds = [0, 1, 2]
    output = "results/digits"          # rows: results/digits/digits.csv

    [protocol]                         # run_benchmark's keywords
    n_initial = 20
    n_instances = 20
    budget = 300
    subsample = 1000
    validation_size = 5000             # omitted: the test set

    [per_dataset.digits]               # protocol keys that differ on one data set
    validation_size = 300

    [trainer]                          # make_classifier's keywords
    semi_supervised = "fixmatch"

    [strategy_params.dfal_batch]       # a strategy's parameters
    diversity_factor = 5

    [report]                           # optional
    hook = "my_study.py:report"        # report(study, frames, **options) -> markdown
    budgets = [60, 100]                # options: the hook's, or the summary's below

The runs go one seed more on every data set in turn, so that a study stopped
part-way still compares every data set on the same seeds; each data set's
benchmark resumes (finished runs kept, a partial one replayed).  Without a
hook the report is :func:`summarize`'s table per data set (options
``budgets``, ``targets``).

A study whose runs are not :func:`run_benchmark`'s (stopping rules watching
every round, say) names its own run in a ``[run]`` table: ``hook =
"FILE.py:FUNCTION"``, called as ``hook(study, dataset, seed, data_dir,
**options)`` with the table's other keys as options, returns one run's rows
(a DataFrame), written when complete to ``<output>/<dataset>-s<seed>.csv``;
a rerun skips the files there are.  With ``output = "FILE.csv"`` every run's
rows go to that one file instead (a ``dataset`` and a ``seed`` column
telling them apart): the hook also gets ``have``, the rows the file already
has of that data set and seed (``None`` before the file's first rows), returns only those missing, and they are
appended.  A hook with an ``n_jobs`` parameter gets the harness's.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models import make_classifier
from ._benchmark import benchmark_protocol
from ._data import DATASETS
from ._protocol import PROTOCOL_KEYS, STRATEGIES

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Study", "load_study", "run_study", "study_rows", "study_report", "each_seed_in_turn"]

_TOP = {"description", "datasets", "strategies", "seeds", "output", "protocol", "per_dataset", "trainer",
        "strategy_params", "run", "report"}
_REQUIRED = ("datasets", "strategies", "seeds", "output")
#: The protocol's keys: run_benchmark's (its trainer's are the [trainer] table).
_PROTOCOL = tuple(key for key in PROTOCOL_KEYS if key != "classifier_params")
#: The trainer's keys: make_classifier's keywords, less those the protocol sets for every run.
_TRAINER = tuple(p for p in inspect.signature(make_classifier).parameters
                 if p not in ("module", "input_shape", "n_classes", "classes", "lr", "batch_size", "device",
                              "random_state", "kwargs"))


@dataclasses.dataclass(frozen=True)
class Study:
    """A learning-curve study read from its file (see :func:`load_study`).

    ``datasets``, ``strategies`` and ``seeds`` may be narrowed with
    :func:`dataclasses.replace` (a few seeds first, one data set); the rows
    stay the study's.
    """

    path: Path
    description: str
    datasets: tuple[str, ...]
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    output: Path
    protocol: Mapping[str, Any]
    per_dataset: Mapping[str, Mapping[str, Any]]
    trainer: Mapping[str, Any]
    strategy_params: Mapping[str, Mapping[str, Any]]
    run: Mapping[str, Any]
    report: Mapping[str, Any]

    @property
    def one_file(self) -> bool:
        """Whether every run's rows go to one file (``output = "FILE.csv"``, a ``[run]`` hook's)."""
        return self.output.suffix == ".csv"

    @property
    def name(self) -> str:
        """The file's stem: ``hard_data_comparison`` for ``studies/hard_data_comparison.toml``."""
        return self.path.stem

    def resolve(self, path: str | Path) -> Path:
        """A path of the study file, relative to the file's folder."""
        return (self.path.parent / path).resolve()

    def rows_path(self, dataset: str, seed: int | None = None) -> Path:
        """The results file of one data set, ``<output>/<dataset>.csv`` (a ``[run]`` hook's: of one seed).

        A one-file study's (``output = "FILE.csv"``) is that file, whatever the data set and seed.
        """
        if self.one_file:
            return self.output
        return self.output / (f"{dataset}.csv" if seed is None else f"{dataset}-s{seed}.csv")

    def benchmark_kwargs(self, dataset: str) -> dict[str, Any]:
        """The keywords of :func:`run_benchmark` (protocol and trainer) on ``dataset``."""
        return {**self.protocol, **self.per_dataset.get(dataset, {}), "classifier_params": dict(self.trainer),
                "strategy_params": {k: dict(v) for k, v in self.strategy_params.items()}}

    def expected_protocol(self, dataset: str) -> dict[str, Any]:
        """The protocol record (``.protocol.json``) this study's rows of ``dataset`` are kept with."""
        kwargs = self.benchmark_kwargs(dataset)
        params = kwargs.pop("strategy_params")
        return {**benchmark_protocol(dataset, **kwargs), "strategy_params": params}


def _fail(path, message):
    raise ValueError(f"study {path}: {message}")


def _table(path, raw, key, known=None, label=None):
    """``raw[key]`` as a table (``{}`` when absent), its keys among ``known``."""
    value, label = raw.get(key, {}), label or key
    if not isinstance(value, dict):
        _fail(path, f"[{label}] must be a table, got {value!r}")
    if known is not None:
        for name in value:
            if name not in known:
                _fail(path, f"unknown key {name!r} in [{label}]; known: {', '.join(known)}")
    return value


def _names(path, raw, key, known, one):
    value = raw[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        _fail(path, f"{key} must be a non-empty list of names, got {value!r}")
    for name in value:
        if name not in known:
            _fail(path, f"unknown {one} {name!r} in {key}; choose from {', '.join(known)}")
    return tuple(value)


def load_study(path: str | Path) -> Study:
    """Read and check a study file; every unknown key or value is a ``ValueError`` naming it.

    Parameters
    ----------
    path : str or Path
        A TOML file (format in :mod:`skdfal.experiments._study`'s docstring).

    Returns
    -------
    Study

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skdfal.experiments import load_study
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "tiny.toml").write_text(
    ...     'datasets = ["digits"]\\nstrategies = ["random"]\\nseeds = [0]\\noutput = "rows"\\n'
    ...     '[protocol]\\nbudget = 40\\nsteps = 20\\n')
    >>> study = load_study(folder / "tiny.toml")
    >>> study.name, study.protocol["budget"], study.rows_path("digits").name
    ('tiny', 40, 'digits.csv')
    >>> _ = (folder / "typo.toml").write_text(
    ...     'datasets = ["digits"]\\nstrategies = ["random"]\\nseeds = [0]\\noutput = "rows"\\n'
    ...     '[protocol]\\nbudgett = 40\\n')
    >>> load_study(folder / "typo.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: study .../typo.toml: unknown key 'budgett' in [protocol]; known: n_initial, ...
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the same parser, before it joined the standard library
        import tomli as tomllib

    path = Path(path).resolve()
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        _fail(path, f"cannot read it ({exc.strerror or exc})")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        _fail(path, f"not a TOML file ({exc})")
    for key in raw:
        if key not in _TOP:
            _fail(path, f"unknown key {key!r}; known: {', '.join(sorted(_TOP))}")
    for key in _REQUIRED:
        if key not in raw:
            _fail(path, f"{key!r} is missing")
    seeds = raw["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(type(s) is int and s >= 0 for s in seeds):
        _fail(path, f"seeds must be a non-empty list of integers >= 0, got {seeds!r}")
    if not isinstance(raw["output"], str) or not raw["output"]:
        _fail(path, f"output must be a folder (a string), got {raw['output']!r}")
    datasets = _names(path, raw, "datasets", DATASETS, "data set")
    strategies = _names(path, raw, "strategies", STRATEGIES, "strategy")
    per_dataset = _table(path, raw, "per_dataset", DATASETS)
    for dataset in per_dataset:
        _table(path, per_dataset, dataset, _PROTOCOL, f"per_dataset.{dataset}")
    study = Study(
        path=path, description=str(raw.get("description", "")), datasets=datasets, strategies=strategies,
        seeds=tuple(seeds), output=(path.parent / raw["output"]).resolve(),
        protocol=_table(path, raw, "protocol", _PROTOCOL), per_dataset=per_dataset,
        trainer=_table(path, raw, "trainer", _TRAINER),
        strategy_params=_table(path, raw, "strategy_params", strategies),
        run=_table(path, raw, "run"), report=_table(path, raw, "report"),
    )
    if study.run and "hook" not in study.run:
        _fail(path, "[run] needs its hook: 'FILE.py:FUNCTION'")
    if study.one_file and not study.run:
        _fail(path, f"output {raw['output']!r} is one file: only a [run] hook's rows go to one file "
                    "(run_benchmark writes one a data set)")
    for dataset in datasets:  # the protocol's values, checked as run_benchmark checks them
        try:
            study.expected_protocol(dataset)
        except (TypeError, ValueError) as exc:
            _fail(path, f"[protocol] on {dataset}: {exc}")
    return study


def each_seed_in_turn(datasets: Sequence[str], seeds: Sequence[int],
                      run: Callable[[str, Sequence[int]], object], log: Callable[[str], None] = print) -> None:
    """``run(dataset, seeds[:k])`` for k = 1, 2, ...: one seed more on every data set in turn.

    A study stopped part-way still compares every data set on the same
    seeds; ``run`` is expected to resume (finished runs kept).  Logs each
    call's wall time.

    Examples
    --------
    >>> from skdfal.experiments import each_seed_in_turn
    >>> each_seed_in_turn(["a", "b"], [0, 1], lambda d, s: print(d, list(s)), log=lambda line: None)
    a [0]
    b [0]
    a [0, 1]
    b [0, 1]
    """
    for last in range(1, len(seeds) + 1):
        for dataset in datasets:
            started = time.perf_counter()
            run(dataset, seeds[:last])
            log(f"{dataset} to seed {seeds[last - 1]}: {time.perf_counter() - started:.0f} s")


def run_study(study: Study, *, data_dir: str | Path | None = None, n_jobs: int = 1, threads: int = 1,
              progress: bool = False, log: Callable[[str], None] = print) -> None:
    """Run (or resume) every run of ``study``: rows to ``study.rows_path(dataset)``.

    Parameters
    ----------
    study : Study
    data_dir : str or Path, optional
        Folder of MNIST's IDX files (every data set but digits).
    n_jobs, threads, progress
        As :func:`run_benchmark`'s.
    log : callable, default=print
        Gets one line per data set and seed (its wall time).
    """
    from ._benchmark import run_benchmark

    (study.output.parent if study.one_file else study.output).mkdir(parents=True, exist_ok=True)
    if study.run:  # the hook's options: the [run] table's, and n_jobs where the hook takes it
        hook, options = _hook(study, "run"), {k: v for k, v in study.run.items() if k != "hook"}
        if "n_jobs" in inspect.signature(hook).parameters:
            options["n_jobs"] = n_jobs
    if study.run and study.one_file:
        asked = set()  # each_seed_in_turn asks for the seeds before again: their runs are complete

        def run(dataset, seeds):
            for seed in seeds:
                if (dataset, seed) in asked:
                    continue
                asked.add((dataset, seed))
                have = _one_file_rows(study)
                if have is not None:
                    have = have[(have["dataset"] == dataset) & (have["seed"] == seed)].reset_index(drop=True)
                rows = hook(study, dataset, seed, data_dir, have=have, **options)
                if len(rows):
                    # Appended a run at a time, in the file's column order (a killed run keeps the runs before).
                    header = None if have is None else list(_one_file_rows(study, nrows=0).columns)
                    rows = rows if header is None else rows[header]
                    rows.to_csv(study.output, mode="a", header=header is None, index=False)
    elif study.run:
        def run(dataset, seeds):
            for seed in seeds:
                path = study.rows_path(dataset, seed)
                if not path.exists():
                    rows = hook(study, dataset, seed, data_dir, **options)
                    tmp = path.with_suffix(".csv.tmp")
                    rows.to_csv(tmp, index=False)
                    os.replace(tmp, path)  # complete runs only: a killed run starts again
    else:
        def run(dataset, seeds):
            run_benchmark(dataset, study.strategies, seeds, data_dir=data_dir, output=study.rows_path(dataset),
                          n_jobs=n_jobs, threads=threads, progress=progress, **study.benchmark_kwargs(dataset))

    each_seed_in_turn(study.datasets, study.seeds, run, log=lambda line: log(f"{study.name}: {line}"))


def study_rows(study: Study, datasets: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """The rows there are, per data set of the study (those without a results file left out)."""
    import pandas as pd

    names = study.datasets if datasets is None else datasets
    if study.one_file:
        frame = _one_file_rows(study)
        if frame is None:
            return {}
        frame = frame[frame["seed"].isin(study.seeds)]
        return {d: frame[frame["dataset"] == d].reset_index(drop=True) for d in names
                if (frame["dataset"] == d).any()}
    if not study.run:
        return {d: pd.read_csv(study.rows_path(d)) for d in names if study.rows_path(d).is_file()}
    files = {d: [p for p in (study.rows_path(d, seed) for seed in study.seeds) if p.is_file()] for d in names}
    return {d: pd.concat([pd.read_csv(p) for p in paths], ignore_index=True) for d, paths in files.items() if paths}


def _one_file_rows(study: Study, **read_options) -> pd.DataFrame | None:
    """A one-file study's rows (``None`` before the first run's)."""
    import pandas as pd

    return pd.read_csv(study.output, **read_options) if study.output.is_file() else None


def _hook(study: Study, table: str):
    """The function a study's ``[run]`` or ``[report]`` names, ``FILE.py:FUNCTION`` relative to the study file."""
    spec = getattr(study, table)["hook"]
    if not isinstance(spec, str) or spec.count(":") != 1:
        _fail(study.path, f"[{table}] hook must be 'FILE.py:FUNCTION', got {spec!r}")
    file, name = spec.split(":")
    file = study.resolve(file)
    if not file.is_file():
        _fail(study.path, f"[{table}] hook: no file {file}")
    # The hook's folder first on the path, so that it imports its neighbours (benchmarks/_setup.py).
    sys.path.insert(0, str(file.parent))
    try:
        module_spec = importlib.util.spec_from_file_location(f"_skdfal_study_{file.stem}", file)
        module = importlib.util.module_from_spec(module_spec)
        # Known by its name, so that a hook's functions pickle (its worker processes, n_jobs).
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(file.parent))
    if not callable(getattr(module, name, None)):
        _fail(study.path, f"[{table}] hook: {file.name} has no function {name!r}")
    return getattr(module, name)


def study_report(study: Study) -> str:
    """The study's tables (markdown) from the rows there are; its hook also writes its figures."""
    from ._report import summarize, summary_markdown

    options = {k: v for k, v in study.report.items() if k != "hook"}
    frames = study_rows(study)
    if "hook" in study.report:
        return _hook(study, "report")(study, frames, **options)
    unknown = sorted(set(options) - {"budgets", "targets"})
    if unknown:
        _fail(study.path, f"unknown key {unknown[0]!r} in [report]; known: hook, budgets, targets")
    if not frames:
        return "no rows yet"
    return "\n\n".join(f"#### {dataset}\n\n" + summary_markdown(summarize(frame, **options))
                       for dataset, frame in frames.items())
