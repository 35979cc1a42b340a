"""Studies as data: a protocol file, the harness that runs and resumes it, its report."""

from __future__ import annotations

import json
from dataclasses import replace as dataclasses_replace
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from skdfal.cli import main  # noqa: E402
from skdfal.experiments import _benchmark as benchmark  # noqa: E402
from skdfal.experiments import (  # noqa: E402
    load_study,
    run_study,
    study_report,
    study_rows,
    summarize,
    summary_markdown,
)

STUDIES = Path(__file__).resolve().parents[1] / "benchmarks" / "studies"

TINY = """\
description = "tiny"
datasets = ["digits"]
strategies = ["random"]
seeds = [0]
output = "rows"

[protocol]
n_initial = 20
n_instances = 20
budget = 40
steps = 20
"""


def _write(folder: Path, text: str, name: str = "study.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("change, named", [
    (("budget = 40", "budgett = 40"), "unknown key 'budgett' in [protocol]"),
    (('description = "tiny"', 'descripton = "tiny"'), "unknown key 'descripton'"),
    (('strategies = ["random"]', 'strategies = ["randon"]'), "unknown strategy 'randon' in strategies"),
    (('datasets = ["digits"]', 'datasets = ["digts"]'), "unknown data set 'digts' in datasets"),
    (("seeds = [0]", "seeds = [0.5]"), "seeds must be a non-empty list of integers"),
    (('output = "rows"\n', ""), "'output' is missing"),
    (("budget = 40", "budget = 10"), "budget (10) is smaller than n_initial (20)"),
    (("steps = 20", "steps = 20\n[trainer]\ninput_means = \"auto\""), "unknown key 'input_means' in [trainer]"),
    (("steps = 20", "steps = 20\n[per_dataset.digits]\nvalidation = 300"),
     "unknown key 'validation' in [per_dataset.digits]"),
    (("steps = 20", "steps = 20\n[strategy_params.entropy]\nx = 1"), "unknown key 'entropy' in [strategy_params]"),
    (("budget = 40", "budget = 40 40"), "not a TOML file"),
])
def test_a_bad_study_file_names_what_is_wrong(tmp_path, change, named):
    path = _write(tmp_path, TINY.replace(*change))
    assert TINY.replace(*change) != TINY
    with pytest.raises(ValueError) as info:
        load_study(path)
    assert str(info.value).startswith(f"study {path}: ")
    assert named in str(info.value)


def test_the_command_line_names_a_bad_key_and_a_protocol_option_the_file_sets(tmp_path, capsys):
    bad = _write(tmp_path, TINY.replace("n_instances", "n_instance"), "bad.toml")
    with pytest.raises(SystemExit) as exit_:
        main(["benchmark", "--study", str(bad)])
    assert exit_.value.code == 2
    assert "unknown key 'n_instance' in [protocol]" in capsys.readouterr().err
    good = _write(tmp_path, TINY)
    with pytest.raises(SystemExit):  # the file sets the budget: a second one would be overruled
        main(["benchmark", "--study", str(good), "--budget", "60"])
    assert "argument --budget:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["benchmark", "--report"])
    assert "give its file with --study" in capsys.readouterr().err
    assert not (tmp_path / "rows").exists()  # refused before anything ran


def test_a_study_runs_resumes_without_redoing_runs_and_reports_from_its_rows(tmp_path, monkeypatch, capsys):
    path = _write(tmp_path, TINY)
    study = load_study(path)
    assert study.rows_path("digits") == tmp_path / "rows" / "digits.csv"
    run_study(study, log=lambda line: None)
    rows = pd.read_csv(study.rows_path("digits"))
    assert rows["n_labels"].tolist() == [20, 40] and set(rows["strategy"]) == {"random"}
    protocol = json.loads(Path(f"{study.rows_path('digits')}.protocol.json").read_text())
    assert protocol["budget"] == 40 and protocol["steps"] == 20 and protocol["validation_size"] is None

    def fail(*args, **kwargs):
        raise AssertionError("a finished run was run again")

    monkeypatch.setattr(benchmark, "run_one", fail)
    assert main(["benchmark", "--study", str(path), "--no-progress"]) == 0  # resumes: nothing left to run
    pd.testing.assert_frame_equal(pd.read_csv(study.rows_path("digits")), rows)
    # The report is the summary of the rows on disk (no hook): regenerated, nothing run.
    expected = "#### digits\n\n" + summary_markdown(summarize(rows))
    assert expected in capsys.readouterr().out
    assert study_report(study) == expected
    assert main(["benchmark", "--study", str(path), "--report"]) == 0
    assert capsys.readouterr().out == expected + "\n"


def test_a_study_with_another_trainer_refuses_the_rows_of_the_first(tmp_path):
    path = _write(tmp_path, TINY)
    run_study(load_study(path), log=lambda line: None)
    other = _write(tmp_path, TINY + "[trainer]\ninput_mean = \"auto\"\n", "other.toml")
    with pytest.raises(ValueError, match="another protocol"):
        run_study(load_study(other), log=lambda line: None)


def test_a_report_hook_gets_the_study_its_rows_and_its_options(tmp_path):
    (tmp_path / "hook.py").write_text(
        "def report(study, frames, scale):\n"
        "    return f\"{study.name} {sorted(frames)} {scale * len(frames['digits'])}\"\n")
    rows = tmp_path / "rows"
    rows.mkdir()
    pd.DataFrame({"strategy": ["random"] * 3, "seed": [0] * 3}).to_csv(rows / "digits.csv", index=False)
    study = load_study(_write(tmp_path, TINY + '[report]\nhook = "hook.py:report"\nscale = 10\n'))
    assert study_report(study) == "study ['digits'] 30"
    missing = load_study(_write(tmp_path, TINY + '[report]\nhook = "hook.py:nothing"\n', "missing.toml"))
    with pytest.raises(ValueError, match="hook.py has no function 'nothing'"):
        study_report(missing)


def test_a_run_hook_study_writes_one_file_a_run_and_skips_the_files_there_are(tmp_path):
    (tmp_path / "hook.py").write_text(
        "import pandas as pd\n"
        "CALLS = []\n"
        "def run(study, dataset, seed, data_dir, scale):\n"
        "    CALLS.append((dataset, seed))\n"
        "    open(study.output / 'calls.txt', 'a').write(f'{dataset} {seed}\\n')\n"
        "    return pd.DataFrame({'seed': [seed], 'value': [scale * seed]})\n")
    study = load_study(_write(tmp_path, TINY.replace("seeds = [0]", "seeds = [0, 1, 2]")
                              + '[run]\nhook = "hook.py:run"\nscale = 10\n'))
    (tmp_path / "rows").mkdir()
    pd.DataFrame({"seed": [1], "value": [-1]}).to_csv(study.rows_path("digits", 1), index=False)  # done already
    run_study(study, log=lambda line: None)
    assert (tmp_path / "rows" / "calls.txt").read_text() == "digits 0\ndigits 2\n"
    run_study(study, log=lambda line: None)  # everything there: nothing runs
    assert (tmp_path / "rows" / "calls.txt").read_text() == "digits 0\ndigits 2\n"
    frame = study_rows(study)["digits"]
    assert frame["value"].tolist() == [0, -1, 20]
    with pytest.raises(ValueError, match=r"\[run\] needs its hook"):
        load_study(_write(tmp_path, TINY + "[run]\nscale = 1\n", "nohook.toml"))


def test_a_one_file_study_appends_only_the_runs_rows_it_lacks(tmp_path):
    (tmp_path / "hook.py").write_text(
        "import pandas as pd\n"
        "def run(study, dataset, seed, data_dir, have, sizes, n_jobs=1):\n"
        "    done = set() if have is None else set(have['n'])\n"
        "    open(study.output.parent / 'calls.txt', 'a').write(f'{seed} {sorted(done)} {n_jobs}\\n')\n"
        "    return pd.DataFrame([{'value': 10 * seed + n, 'n': n, 'seed': seed, 'dataset': dataset}\n"
        "                         for n in sizes if n not in done])\n")
    text = (TINY.replace("seeds = [0]", "seeds = [0, 1]").replace('output = "rows"', 'output = "out/rows.csv"')
            + '[run]\nhook = "hook.py:run"\nsizes = [1, 2]\n')
    study = load_study(_write(tmp_path, text))
    assert study.rows_path("digits", 1) == tmp_path / "out" / "rows.csv"
    run_study(study, n_jobs=3, log=lambda line: None)
    assert (tmp_path / "out" / "calls.txt").read_text() == "0 [] 3\n1 [] 3\n"
    rows = pd.read_csv(study.output)
    assert list(rows.columns) == ["value", "n", "seed", "dataset"]
    assert rows["value"].tolist() == [1, 2, 11, 12]
    # A run left part-way (seed 1 lacks n = 2) and a size added: only the missing rows, in the file's columns.
    rows[rows["value"] != 12].to_csv(study.output, index=False)
    bigger = load_study(_write(tmp_path, text.replace("sizes = [1, 2]", "sizes = [1, 2, 3]")))
    run_study(bigger, log=lambda line: None)
    assert (tmp_path / "out" / "calls.txt").read_text().splitlines()[2:] == ["0 [1, 2] 1", "1 [1] 1"]
    assert pd.read_csv(study.output)["value"].tolist() == [1, 2, 11, 3, 12, 13]
    assert study_rows(dataclasses_replace(bigger, seeds=(1,)))["digits"]["value"].tolist() == [11, 12, 13]
    with pytest.raises(ValueError, match="only a \\[run\\] hook's rows go to one file"):
        load_study(_write(tmp_path, TINY.replace('output = "rows"', 'output = "rows.csv"'), "nohook.toml"))


def test_the_trainer_study_report_is_the_mean_of_its_rows():
    """semi_supervised_trainer.toml's report: each cell the mean accuracy of its rows, read independently."""
    import csv
    import statistics

    study = load_study(STUDIES / "semi_supervised_trainer.toml")
    with study.output.open() as f:
        rows = list(csv.DictReader(f))
    lines = study_report(study).split("\n\n")[0].splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        dataset, n = cells[0].strip("()").replace("'", "").split(", ")
        mine = [r for r in rows if r["dataset"] == dataset and r["n_labels"] == n]
        assert int(cells[-1]) == len({r["seed"] for r in mine})
        for trainer, cell in zip(header[1:-1], cells[1:-1], strict=True):
            mean = statistics.fmean(float(r["accuracy"]) for r in mine if r["trainer"] == trainer)
            assert abs(float(cell) - mean) <= 0.0005 + 1e-12, (dataset, n, trainer)  # shown to 3 places
    assert len(lines) == 2 + len(study.datasets) * len(study.run["sizes"])


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.toml")), ids=lambda p: p.stem)
def test_the_published_studies_resume_the_rows_they_wrote(path):
    """Each study file's protocol is, field for field, the record beside every rows file it has.

    run_benchmark resumes rows only under the protocol they were written with:
    a study file that drifted from its rows would start them again.  A study
    with its own runs ([run]: one file a run, kept when there) must at least
    name the columns its rows have: a rule watched for every ``stop_`` column.
    """
    study = load_study(path)
    if study.one_file:  # the trainer study: a rerun fits nothing (every trainer and size of every run there)
        frames = study_rows(study)
        assert set(frames) == set(study.datasets)
        wanted = {(t, n) for t in study.run["trainers"] for n in study.run["sizes"]}
        for dataset, frame in frames.items():
            for seed in study.seeds:
                mine = frame[frame["seed"] == seed]
                assert set(zip(mine["trainer"], mine["n_labels"], strict=True)) == wanted, (dataset, seed)
        return
    if study.run:
        frames = study_rows(study)
        for frame in frames.values():
            assert {c[len("stop_"):] for c in frame.columns if c.startswith("stop_")} == set(study.run["rules"])
        return
    records = [(d, Path(f"{study.rows_path(d)}.protocol.json")) for d in study.datasets]
    found = [(d, r) for d, r in records if r.is_file()]
    assert found, f"{path.name}: no rows yet"
    for dataset, record in found:
        assert json.loads(json.dumps(study.expected_protocol(dataset))) == json.loads(record.read_text()), dataset
