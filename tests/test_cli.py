"""The main job: ``skdfal run`` on bundled digits."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

import skdfal
from skdfal.cli import main
from skdfal.strategies import RECOMMENDED


@pytest.mark.slow  # the main job, the recommended DFAL and random, end to end
def test_run_compares_the_recommended_dfal_and_random(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    code = main(
        ["run", "--rounds", "2", "--seeds", "1", "--steps", "20", "--n-instances", "5", "--jobs", "1",
         "--output", str(out), "--no-progress"]
    )
    assert code == 0
    rows = list(csv.DictReader(open(out)))
    assert {r["strategy"] for r in rows} == {RECOMMENDED, "random"}
    for name in (RECOMMENDED, "random"):
        mine = [r for r in rows if r["strategy"] == name]
        assert [int(r["n_labels"]) for r in mine] == [20, 25, 30]
    # Same seed, same initial labels and model: round 0 is identical for both.
    round0 = {r["strategy"]: r["accuracy"] for r in rows if r["round"] == "0"}
    assert round0[RECOMMENDED] == round0["random"]
    table = capsys.readouterr().out
    assert "labels" in table and RECOMMENDED in table and "random" in table
    # The learning curves are drawn beside the CSV, and the command says where.
    figure = tmp_path / "rows.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"learning curves to {figure}" in table
    # ... and so does the protocol file it writes beside the CSV.
    protocol = tmp_path / "rows.csv.protocol.json"
    assert protocol.is_file() and f"their protocol to {protocol}" in table


@pytest.mark.slow  # a short main job, to see every file it writes
def test_git_ignores_every_file_the_main_job_writes_by_default(tmp_path, monkeypatch, capsys):
    root = Path(__file__).resolve().parents[1]
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        pytest.skip("needs git and a git checkout of skdfal")
    monkeypatch.chdir(tmp_path)  # as in the README: `skdfal run` from the checkout's root
    code = main(["run", "--rounds", "1", "--seeds", "1", "--steps", "10", "--n-instances", "5", "--jobs", "1",
                 "--no-progress"])
    assert code == 0
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert "skdfal-run.csv" in written and len(written) >= 3, written  # rows, protocol, figure
    # Each path as if written at the checkout's root: matched against its .gitignore.
    result = subprocess.run([git, "-C", str(root), "check-ignore", "--no-index", "--verbose", "--non-matching",
                             *written], capture_output=True, text=True, check=False)
    assert result.returncode in (0, 1), result.stderr
    not_ignored = [line.split("\t", 1)[1] for line in result.stdout.splitlines() if line.startswith("::")]
    assert not not_ignored, f"skdfal run writes {not_ignored}, which git would offer to commit"


def test_run_takes_any_registered_strategy_and_refuses_others(capsys):
    from skdfal.cli._main import build_parser

    parser = build_parser()
    assert parser.parse_args(["run"]).strategy == RECOMMENDED
    assert parser.parse_args(["run", "--strategy", "dfal"]).strategy == "dfal"
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--strategy", "dfal_typo"])
    assert exit_.value.code == 2 and "invalid choice: 'dfal_typo'" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "run" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"skdfal {skdfal.__version__}"


def test_help_texts_read_as_written(capsys):
    """argparse %-formats help= strings but not descriptions: no stray '%%' on screen."""
    for command in ("run", "benchmark", "label"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "%%" not in capsys.readouterr().out, command


@pytest.mark.parametrize("command", ["run", "benchmark"])
def test_query_size_is_the_old_name_of_n_instances_for_one_release(command, capsys):
    from skdfal.cli import build_parser

    args = build_parser().parse_args([command, "--query-size", "7"])
    assert args.n_instances == 7
    assert "--query-size was renamed --n-instances" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    shown = capsys.readouterr().out
    assert "--n-instances" in shown and "--query-size" not in shown  # hidden: not for new scripts


def test_semi_supervised_is_recorded_in_the_protocol_and_checked(tmp_path, capsys):
    import json

    out = tmp_path / "rows.csv"
    code = main(["benchmark", "--dataset", "digits", "--strategies", "random", "--seeds", "0",
                 "--n-initial", "10", "--n-instances", "5", "--budget", "15", "--steps", "3",
                 "--semi-supervised", "vat", "--output", str(out), "--no-progress"])
    assert code == 0
    protocol = json.loads((tmp_path / "rows.csv.protocol.json").read_text())
    assert protocol["classifier_params"] == {"semi_supervised": "vat"}
    with pytest.raises(SystemExit):
        main(["benchmark", "--semi-supervised", "mixmatch", "--output", str(tmp_path / "x.csv")])
    assert "invalid choice: 'mixmatch'" in capsys.readouterr().err
