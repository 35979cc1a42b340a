"""Experiment harness: end to end on digits (tiny budget) and MNIST, resume, summaries, plots."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from skdfal.cli import main  # noqa: E402
from skdfal.experiments import COLUMNS, run_benchmark, simulate, summarize, summary_markdown  # noqa: E402  # noqa: E402
from skdfal.experiments import _benchmark as benchmark  # noqa: E402
from skdfal.plotting import plot_learning_curves  # noqa: E402

TINY = dict(n_initial=10, n_instances=10, steps=20, progress=False)


@pytest.mark.slow  # a whole benchmark on digits, then the CLI on the same rows
def test_digits_end_to_end(tmp_path):
    out = tmp_path / "r.csv"
    frame = run_benchmark("digits", ["random", "entropy", "dfal", "dfal_adv"], [0], budget=30,
                          output=out, **TINY)
    assert set(COLUMNS) <= set(frame.columns)
    for name, part in frame.groupby("strategy"):
        assert part["n_labels"].tolist() == [10, 20, 30]
        assert part["round"].tolist() == [0, 1, 2]
        bought = np.concatenate([np.asarray(q.split(), dtype=int) for q in part["queried"]])
        assert len(bought) == 30 and len(set(bought.tolist())) == 30  # never buys a label twice
        assert ((part["accuracy"] >= 0) & (part["accuracy"] <= 1)).all()
        if name == "dfal_adv":  # free adversarial copies enlarge the training set
            assert (part["n_train"].iloc[1:] > part["n_labels"].iloc[1:]).all()
        else:
            assert (part["n_train"] == part["n_labels"]).all()
    # Same seed, same initial labels (one per class) for every strategy.
    firsts = frame[frame["round"] == 0]["queried"].unique()
    assert len(firsts) == 1
    on_disk = pd.read_csv(out)
    assert len(on_disk) == len(frame) and set(on_disk["strategy"]) == set(frame["strategy"])


def test_finished_runs_are_not_recomputed(tmp_path, monkeypatch):
    out = tmp_path / "r.csv"
    first = run_benchmark("digits", ["random", "margin"], [0], budget=20, output=out, **TINY)

    def fail(*args, **kwargs):
        raise AssertionError("a finished run was recomputed")

    monkeypatch.setattr(benchmark, "run_one", fail)
    again = run_benchmark("digits", ["random", "margin"], [0], budget=20, output=out, **TINY)
    pd.testing.assert_frame_equal(first, again, check_dtype=False)


@pytest.mark.slow  # two benchmarks, one cut short (finished runs are checked quickly)
def test_partial_run_is_replayed_to_the_same_result(tmp_path):
    full = tmp_path / "full.csv"
    ref = run_benchmark("digits", ["entropy"], [1], budget=40, output=full, **TINY)
    cut = tmp_path / "cut.csv"
    lines = full.read_text().splitlines()
    cut.write_text("\n".join(lines[:3]) + "\n")  # header + rounds 0 and 1: interrupted
    shutil.copy(str(full) + ".protocol.json", str(cut) + ".protocol.json")
    resumed = run_benchmark("digits", ["entropy"], [1], budget=40, output=cut, **TINY)
    assert resumed["queried"].tolist() == ref["queried"].tolist()
    np.testing.assert_allclose(resumed["accuracy"], ref["accuracy"])
    assert len(pd.read_csv(cut)) == 4


@pytest.mark.slow  # three benchmarks
def test_budget_extension_continues_and_protocol_change_is_refused(tmp_path):
    out = tmp_path / "r.csv"
    run_benchmark("digits", ["coreset"], [0], budget=20, output=out, **TINY)
    extended = run_benchmark("digits", ["coreset"], [0], budget=30, output=out, **TINY)
    direct = run_benchmark("digits", ["coreset"], [0], budget=30, output=tmp_path / "d.csv", **TINY)
    assert extended["queried"].tolist() == direct["queried"].tolist()
    with pytest.raises(ValueError, match="steps"):
        run_benchmark("digits", ["coreset"], [0], budget=30, output=out, **{**TINY, "steps": 30})
    with pytest.raises(ValueError, match="unknown strategy"):
        run_benchmark("digits", ["nope"], [0], budget=30, **TINY)


@pytest.mark.slow  # starts worker processes
def test_parallel_runs_match_serial(tmp_path):
    kw = dict(budget=20, **TINY)
    serial = run_benchmark("digits", ["random", "bald"], [0], **kw)
    parallel = run_benchmark("digits", ["random", "bald"], [0], n_jobs=2, output=tmp_path / "p.csv", **kw)
    assert serial["queried"].tolist() == parallel["queried"].tolist()
    np.testing.assert_allclose(serial["accuracy"], parallel["accuracy"])


@pytest.mark.slow  # reads all of MNIST
def test_mnist_harness(tmp_path, mnist_dir):
    frame = run_benchmark("mnist", ["random", "badge"], [0], data_dir=mnist_dir, pool_size=1000,
                          test_size=300, budget=20, subsample=200, steps=5, progress=False)
    assert frame.groupby("strategy")["n_labels"].max().tolist() == [20, 20]


def _rows():
    # Two strategies, two seeds, hand-made curves.
    curves = {
        ("a", 0): [0.50, 0.80, 0.96], ("a", 1): [0.60, 0.90, 0.98],
        ("b", 0): [0.40, 0.60, 0.70], ("b", 1): [0.40, 0.70, 0.80],
    }
    return [
        {"strategy": s, "seed": k, "round": r, "n_labels": n, "n_train": n, "accuracy": acc,
         "query_time": 1.0, "fit_time": 2.0}
        for (s, k), accs in curves.items() for r, (n, acc) in enumerate(zip((10, 20, 30), accs, strict=True))
    ]


def test_summary_against_hand_computation():
    table = summarize(_rows(), budgets=(20, 25, 100), targets=(0.85, 0.97))
    assert table.index.tolist() == ["a", "b"]  # sorted by area under the curve
    assert table.loc["a", "acc@20"] == pytest.approx(0.85)
    assert table.loc["a", "acc@20_std"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert table.loc["a", "acc@25"] == pytest.approx(0.85)  # last point at or below 25
    assert "acc@100" not in table.columns  # beyond the curves
    short = summarize([r for r in _rows() if not (r["strategy"] == "b" and r["n_labels"] == 30)],
                      budgets=(20, 30), targets=())
    assert np.isnan(short.loc["b", "acc@30"]) and short.loc["a", "acc@30"] == pytest.approx(0.97)
    assert table.loc["a", "labels_to_0.85"] == 20 and table.loc["a", "labels_to_0.97"] == 30
    assert np.isnan(table.loc["b", "labels_to_0.85"])  # never reached
    # Trapezoid of the mean curve (0.40, 0.65, 0.75) over 10..30, divided by 20.
    assert table.loc["b", "aulc"] == pytest.approx((0.40 + 0.65) / 4 + (0.65 + 0.75) / 4)
    text = summary_markdown(table)
    assert "not reached" in text and "0.8500 ± 0.0707" in text


def test_plot_learning_curves_draws_mean_and_band():
    ax = plot_learning_curves(_rows())
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["b"].get_ydata(), [0.40, 0.65, 0.75])
    np.testing.assert_allclose(lines["a"].get_xdata(), [10, 20, 30])
    assert len(ax.collections) == 2  # one band per strategy
    with pytest.raises(ValueError, match="column"):
        plot_learning_curves([{"strategy": "a"}])


@pytest.mark.slow  # a benchmark and its figures through the CLI
def test_cli_benchmark_writes_csv_plot_and_summary(tmp_path, capsys):
    out = tmp_path / "bench.csv"
    assert main(["benchmark", "--dataset", "digits", "--strategies", "random,least_confidence",
                 "--seeds", "0", "--budget", "20", "--steps", "5", "--output", str(out),
                 "--no-progress", "--budgets", "10,20"]) == 0
    for suffix in (".csv", ".png", ".svg", ".summary.md"):
        assert (tmp_path / f"bench{suffix}").is_file()
    assert "least_confidence" in capsys.readouterr().out


@pytest.mark.slow  # two benchmarks and four figures
def test_saved_figures_are_the_same_bytes_for_the_same_rows(tmp_path):
    """Committed figures must not change when their rows do not (no date, no random ids)."""
    from skdfal.experiments import save_learning_curves

    rows = _rows() + [{**row, "strategy": "random"} for row in _rows() if row["strategy"] == "b"]
    first = save_learning_curves(rows, tmp_path / "one", formats=("svg", "png"))
    second = save_learning_curves(rows, tmp_path / "two", formats=("svg", "png"))
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert b"<dc:date>" not in first[0].read_bytes()


def test_simulate_still_runs_with_a_baseline(digits):
    from skdfal import EntropySampling, make_classifier

    X, y = digits
    rows = simulate(lambda seed: make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=1, random_state=seed),
                    EntropySampling(), X[:300], y[:300], X[300:400], y[300:400], n_initial=10, n_rounds=1)
    assert [r["n_labels"] for r in rows] == [10, 20]


def test_simulate_scores_only_the_candidates_asked_for():
    """``subsample=k`` hands the strategy k unlabeled candidates a round; none: the whole unlabeled pool."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    seen = []

    def first_rows(classifier, X_candidates, n_instances=1):
        seen.append(len(X_candidates))
        return np.arange(n_instances), np.zeros(n_instances)

    for subsample in (50, None):
        rows = simulate(lambda seed: LogisticRegression(), first_rows, X[:150], y[:150], X[150:], y[150:],
                        n_initial=10, n_instances=5, n_rounds=2, subsample=subsample)
        assert [r["n_labels"] for r in rows] == [10, 15, 20]
    assert seen == [50, 50, 140, 135]


def test_missing_extra_fails_before_any_run(tmp_path, monkeypatch):
    """Without scikit-activeml a benchmark with a peer row stops at once, naming the extra."""
    import sys

    monkeypatch.setitem(sys.modules, "skactiveml", None)  # `import skactiveml` now fails

    def fail(*args, **kwargs):
        raise AssertionError("a run started although a strategy cannot run")

    monkeypatch.setattr(benchmark, "run_one", fail)
    out = tmp_path / "r.csv"
    with pytest.raises(ImportError, match=r"skal_entropy.*pip install 'skdfal\[peers\]'"):
        run_benchmark("digits", ["random", "skal_entropy"], [0], budget=20, output=out, **TINY)
    assert not out.exists()


@pytest.mark.parametrize("argv, expected", [([], 1000), (["--subsample", "all"], None), (["--subsample", "300"], 300)])
def test_cli_benchmark_candidate_subset(argv, expected, tmp_path, monkeypatch):
    """1,000 candidates a round unless told otherwise ('all': the whole pool)."""
    import skdfal.experiments as experiments

    seen = {}

    def fake_run(*args, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(experiments, "run_benchmark", fake_run)
    with pytest.raises(SystemExit):
        main(["benchmark", "--output", str(tmp_path / "b.csv"), *argv])
    assert seen["subsample"] == expected


def test_query_size_is_the_old_name_of_n_instances_for_one_release(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from skdfal import RandomSampling

    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    args = (lambda seed: LogisticRegression(), RandomSampling(), X[:60], y[:60], X[60:], y[60:])
    new = simulate(*args, n_initial=6, n_instances=4, n_rounds=2)
    with pytest.warns(FutureWarning, match=r"query_size was renamed n_instances .* pass n_instances=4") as caught:
        old = simulate(*args, n_initial=6, query_size=4, n_rounds=2)
    assert caught[0].filename == __file__  # the warning points at the caller
    assert [r["queried"] for r in old] == [r["queried"] for r in new] and old[-1]["n_labels"] == 14
    with pytest.raises(TypeError, match="query_size is the old name of n_instances"):
        simulate(*args, n_instances=4, query_size=4)
    with pytest.warns(FutureWarning, match="query_size was renamed"), pytest.raises(ValueError, match="budget"):
        run_benchmark("digits", ["random"], [0], n_initial=20, budget=10, query_size=5, progress=False)


def test_a_results_file_from_before_the_rename_resumes(tmp_path):
    """Its protocol says query_size; the same protocol says n_instances now."""
    import json

    from skdfal.experiments._results import check_protocol

    out = tmp_path / "rows.csv"
    protocol = {"dataset": "digits", "n_initial": 10, "n_instances": 5, "budget": 30}
    old = {**{k: v for k, v in protocol.items() if k != "n_instances"}, "query_size": 5}
    Path(str(out) + ".protocol.json").write_text(json.dumps(old))
    check_protocol(out, protocol, resume=True)  # no error: the same protocol
    assert json.loads(Path(str(out) + ".protocol.json").read_text()) == protocol
    Path(str(out) + ".protocol.json").write_text(json.dumps({**old, "query_size": 7}))
    with pytest.raises(ValueError, match=r"another protocol \(differs in \['n_instances'\]\)"):
        check_protocol(out, protocol, resume=True)
